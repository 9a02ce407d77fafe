package dialer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// Who ended a call, as kept in the call record.
const (
	hangupCaller = "caller"
	hangupCallee = "callee"
	hangupSystem = "system"
)

// hangupCause is the cancel cause of a call's context when our side ends it.
type hangupCause struct{ by string }

func (h hangupCause) Error() string { return "hung up by " + h.by }

// call is one inbound call from INVITE to the written record.
type call struct {
	s   *Server
	in  *diago.DialogServerSession
	id  string
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc

	rec journal.CallRecord

	mu       sync.Mutex // guards the fields below and SDP renegotiation
	leg      *media.Leg
	sess     *sdpSession
	codec    CodecPT
	eventPT  uint8
	answered bool
	held     bool        // the caller put us on hold (sendonly/inactive)
	ackSDP   chan []byte // a delayed offer's answer, from the ACK
	out      *OutboundLeg
	outRec   *journal.LegRecord
	queue    *queueCall // the call's stay in the ACD, for queue routes
	// consulting is the operator (login) an attended transfer of the
	// call consults now, for the desktop.
	consulting string

	queueResult string // metrics result of a queue route (set by runQueue)

	cmds chan callCmd // transfers and other commands from the API

	// trusted: the caller came from a route's network or authenticated
	// as an account (see admitInvite).
	trusted bool
	// unrecorded: the INVITE was refused before any route ran: counted
	// and logged, not journaled (admitInvite refuses most such INVITEs
	// before a call exists).
	unrecorded bool

	// released: the far leg was handed to another call (an attended
	// transfer by REFER with Replaces); freed is closed once this call
	// no longer uses it.
	released bool
	freed    chan struct{}
}

// endOut ends the far leg when the call is done with it: BYE, unless it
// was handed over, in which case the taker is told it is free.
func (c *call) endOut(out *OutboundLeg) {
	c.mu.Lock()
	released, freed := c.released, c.freed
	c.mu.Unlock()
	if released {
		close(freed)
		return
	}
	out.Hangup(context.Background())
}

// takeOut hands this call's far leg to another call: this call ends (BYE
// to its caller) without hanging the far leg up, and takeOut returns the
// leg once it is free of this call's bridge.
func (c *call) takeOut(ctx context.Context) (*OutboundLeg, error) {
	c.mu.Lock()
	out := c.out
	if out == nil || c.released {
		c.mu.Unlock()
		return nil, fmt.Errorf("call %s: %w: no connected far leg", c.rec.ID, ErrBadTarget)
	}
	c.released, c.freed = true, make(chan struct{})
	freed := c.freed
	c.mu.Unlock()
	c.hangup(hangupSystem)
	select {
	case <-freed:
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hangup ends the call from our side.
func (c *call) hangup(by string) { c.cancel(hangupCause{by}) }

// serveInvite runs one inbound call; diago hangs up when it returns.
func (s *Server) serveInvite(in *diago.DialogServerSession) {
	now := time.Now()
	ctx, cancel := context.WithCancelCause(in.Context())
	c := &call{
		s: s, in: in, id: in.ID, ctx: ctx, cancel: cancel, cmds: make(chan callCmd),
		log: s.log.With(attrCallID, in.InviteRequest.CallID().Value()),
		rec: journal.CallRecord{
			ID:        journal.NewID(now),
			Direction: "inbound",
			From:      in.FromUser(),
			// Route on the Request-URI, never on To: a proxy or filter in
			// front sees and forwards by the Request-URI (RFC 3261 §8.2.2.1).
			To:      in.InviteRequest.Recipient.User,
			Arrived: now,
		},
	}
	defer cancel(nil)

	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		s.metrics.CallRejected(metrics.RejectDraining)
		res := sip.NewResponseFromRequest(in.InviteRequest, sip.StatusServiceUnavailable, "Service Unavailable (shutting down)", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", "30"))
		_ = in.WriteResponse(res)
		return
	}
	s.handlers.Add(1)
	s.calls[c.id] = c
	s.mu.Unlock()
	s.metrics.CallStarted(metrics.DirectionInbound)
	defer func() {
		s.release(c)
		s.handlers.Done()
	}()

	if max := s.cfg.Calls.MaxDuration.Duration; max > 0 {
		t := time.AfterFunc(max, func() { c.hangup(hangupSystem) })
		defer t.Stop()
	}

	if d := s.cfg.Calls.RTPTimeout.Duration; d > 0 {
		go c.watchRTP(d)
	}
	result := c.run()
	c.bye()
	c.finish(result)
}

// watchRTP hangs up the call when the caller's RTP stops for longer than
// timeout while the call is answered and not on hold: a phone that lost
// power or a gateway that dropped the call without BYE would otherwise
// hold the line until max_duration.
func (c *call) watchRTP(timeout time.Duration) {
	t := time.NewTicker(min(timeout/4, 5*time.Second))
	defer t.Stop()
	var since time.Time // when the caller's media was last seen alive
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-t.C:
			c.mu.Lock()
			leg, answered, held := c.leg, c.answered, c.held
			c.mu.Unlock()
			if leg == nil || !answered || held {
				since = time.Time{}
				continue
			}
			if last := leg.Stats().LastReceived; last.After(since) {
				since = last
			}
			if since.IsZero() {
				since = now
			}
			if now.Sub(since) > timeout {
				c.log.Info("no RTP from the caller; hanging up", "timeout", timeout.String())
				c.hangup(hangupSystem)
				return
			}
		}
	}
}

// bye hangs up an answered call that the caller has not hung up, before
// the handler returns: Drain and Close wait for handlers, so the BYE must
// be out (and answered, or timed out) by then.
func (c *call) bye() {
	c.mu.Lock()
	answered := c.answered
	c.mu.Unlock()
	if !answered || c.in.Context().Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.in.Hangup(ctx); err != nil {
		c.log.Debug("bye failed", "error", err)
	}
}

// run answers (or refuses) the call and carries out its route. It returns
// the result label for metrics.
func (c *call) run() string {
	route, ok := c.s.cfg.MatchRoute(c.rec.To)
	if !ok {
		c.unrecorded = true
		c.reject(sip.StatusNotFound, "Not Found")
		return metrics.ResultRejected
	}
	c.trusted = c.s.takeTrusted(c.in.InviteRequest)
	c.rec.Route = route.Name
	c.log = c.log.With(attrRoute, route.Name)

	if len(c.in.InviteRequest.Body()) == 0 {
		return c.runDelayedOffer(route)
	}
	off, err := ParseSDP(c.in.InviteRequest.Body())
	if err != nil {
		c.log.Info("invite refused", "error", err)
		c.reject(sip.StatusBadRequest, "Bad Request (malformed SDP)")
		return metrics.ResultRejected
	}
	choice, err := off.Choose()
	if err != nil {
		c.reject(488, "Not Acceptable Here")
		return metrics.ResultRejected
	}
	sess, ok := c.answerSession(off)
	if !ok {
		return metrics.ResultRejected
	}
	_ = c.in.Trying()

	leg, err := c.s.engine.NewLeg()
	if err != nil {
		c.log.Warn("no media port", "error", err, attrHint, "widen rtp.port_min..rtp.port_max or lower calls.max_concurrent")
		c.s.metrics.CallRejected(metrics.RejectNoMediaPorts)
		c.reject(sip.StatusServiceUnavailable, "Service Unavailable (no media ports)", retryAfterBusy())
		return metrics.ResultFailed
	}
	c.mu.Lock()
	c.leg, c.sess, c.codec, c.eventPT = leg, sess, choice, off.EventPT
	c.rec.Codec = choice.Codec.String()
	c.mu.Unlock()
	defer leg.Close()
	// An untrusted caller gets media only once its RTP arrives (RTP
	// reflection: its SDP may name someone else's address).
	params := media.LegParams{Remote: off.Addr, Codec: choice.Codec, PayloadType: choice.PT, EventPT: off.EventPT, WaitForPeer: !c.trusted,
		SRTP: sess.srtp.params()}
	answer := c.sess.writeSDP(leg.LocalAddr(), []CodecPT{choice}, off.EventPT, off.Direction.answerTo())

	if route.Action == config.ActionDial {
		return c.dial(route, func() error { return c.answer(params, answer, off.Direction, nil) }, &earlyAnswer{params, answer})
	}
	if route.Action == config.ActionEcho && route.Prompt == "" {
		return c.runEcho(params, answer, off.Direction)
	}
	if err := c.answer(params, answer, off.Direction, nil); err != nil {
		return answerResult(err, metrics.ResultFailed)
	}
	c.runRoute(route, 0)
	return c.result()
}

// runEcho answers with an echo that starts with our 200, not when the
// ACK arrives: it returns only what the caller sends, and what the caller
// sends proves it has our answer (RFC 3264 §5 lets the answerer send media
// once the answer is out). Waiting for the ACK left a caller whose ACK
// was late or lost without audio: sipgo re-sends the 200, and the caller
// its ACK, after 0.5 s and then 4 s (make overload, issue 10: 337 of 383
// silent calls of a loaded run were callers that hung up before their
// ACK got through).
func (c *call) runEcho(params media.LegParams, sdp []byte, dir Direction) string {
	var stop func()
	start := func() (err error) {
		stop, err = c.s.engine.StartEcho(c.leg)
		return err
	}
	if err := c.answer(params, sdp, dir, start); err != nil {
		return answerResult(err, metrics.ResultFailed)
	}
	defer stop()
	<-c.ctx.Done()
	return c.result()
}

// result is the metrics result of an answered call: a queue call's own
// (abandoned when no operator took it), else answered.
func (c *call) result() string {
	if c.queueResult != "" {
		return c.queueResult
	}
	return metrics.ResultAnswered
}

// earlyAnswer is what early media needs to answer the caller with 183.
type earlyAnswer struct {
	params media.LegParams
	sdp    []byte
}

// runDelayedOffer serves an INVITE without SDP (RFC 3261 §13.2.1, RFC
// 3264 §5): our 200 carries the offer and the caller's ACK the answer.
// A dial route then gets no early media: the caller is answered only
// when the far end answers.
func (c *call) runDelayedOffer(route config.Route) string {
	leg, err := c.s.engine.NewLeg()
	if err != nil {
		c.log.Warn("no media port", "error", err, attrHint, "widen rtp.port_min..rtp.port_max or lower calls.max_concurrent")
		c.s.metrics.CallRejected(metrics.RejectNoMediaPorts)
		c.reject(sip.StatusServiceUnavailable, "Service Unavailable (no media ports)", retryAfterBusy())
		return metrics.ResultFailed
	}
	defer leg.Close()
	_ = c.in.Trying()
	c.mu.Lock()
	c.leg, c.sess = leg, c.s.newSession()
	c.ackSDP = make(chan []byte, 1)
	c.mu.Unlock()
	offer := c.sess.writeSDP(leg.LocalAddr(), offerCodecs, defaultEventPT, DirSendRecv)
	answer := func() error {
		if err := c.respondSDP(offer); err != nil {
			c.log.Info("answer failed", "error", err)
			c.rec.SIPCode, c.rec.HangupBy = 487, hangupCaller
			return err
		}
		c.rec.SIPCode, c.rec.Answered = 200, time.Now()
		var body []byte
		select {
		case body = <-c.ackSDP:
		case <-time.After(time.Second):
		}
		off, err := ParseSDP(body)
		var choice CodecPT
		if err == nil {
			choice, err = off.Choose()
		}
		if err != nil {
			// The call is up but has no usable media: end it (RFC 3264 §6.1).
			c.log.Info("no usable SDP answer in the ACK", "error", err)
			c.hangup(hangupSystem)
			return err
		}
		if err := leg.Start(media.LegParams{Remote: off.Addr, Codec: choice.Codec, PayloadType: choice.PT, EventPT: off.EventPT, WaitForPeer: !c.trusted}); err != nil {
			c.hangup(hangupSystem)
			return err
		}
		leg.SetHold(!off.Direction.peerReceives())
		c.mu.Lock()
		c.answered, c.codec, c.eventPT = true, choice, off.EventPT
		c.mu.Unlock()
		c.rec.Codec = choice.Codec.String()
		return nil
	}
	if route.Action == config.ActionDial {
		return c.dial(route, answer, nil)
	}
	if err := answer(); err != nil {
		return metrics.ResultFailed
	}
	c.runRoute(route, 0)
	return c.result()
}

// takeACK hands the SDP of the ACK that completes a delayed-offer answer
// to the waiting call; it never blocks.
func (c *call) takeACK(body []byte) {
	c.mu.Lock()
	ch := c.ackSDP
	c.mu.Unlock()
	if ch == nil || len(body) == 0 {
		return
	}
	select {
	case ch <- body:
	default:
	}
}

// reject sends a final error response to the INVITE. The call stops
// counting against calls.max_concurrent first: the response waits for the
// caller's ACK, up to 32 s (Timer H) when a flood never sends one.
func (c *call) reject(code int, reason string, headers ...sip.Header) {
	c.rec.SIPCode = code
	c.rec.HangupBy = hangupSystem
	c.s.release(c)
	if err := c.in.Respond(code, reason, nil, headers...); err != nil {
		c.log.Debug("respond failed", "error", err)
	}
}

// answer starts the caller's media, then started (when not nil: media the
// route runs before the ACK), and sends 200 with our SDP; it returns once
// the ACK has arrived.
func (c *call) answer(p media.LegParams, sdp []byte, dir Direction, started func() error) error {
	c.mu.Lock()
	already := c.answered
	c.mu.Unlock()
	if !already {
		if err := c.leg.Start(p); err != nil {
			c.log.Warn("media start failed", "error", err, attrHint, "the SDP address of the caller cannot be used: check its network or NAT settings")
			c.reject(sip.StatusInternalServerError, "Server Internal Error")
			return err
		}
		c.leg.SetHold(!dir.peerReceives())
	}
	if started != nil {
		if err := started(); err != nil {
			c.log.Warn("media start failed", "error", err, attrHint, "a bug: report it with the log around this line")
			c.reject(sip.StatusInternalServerError, "Server Internal Error")
			return err
		}
	}
	sent := time.Now()
	if err := c.respondSDP(sdp); err != nil {
		if c.in.LoadState() == sip.DialogStateEnded {
			// The caller's BYE came before its ACK (lost, or late under
			// load): it had our 200, so the call was answered.
			c.log.Info("the caller hung up before its ACK arrived")
			c.rec.SIPCode, c.rec.Answered, c.rec.HangupBy = 200, sent, hangupCaller
			return errByeBeforeACK
		}
		// The caller cancelled or never acknowledged.
		c.log.Info("answer failed", "error", err)
		c.rec.SIPCode = 487
		c.rec.HangupBy = hangupCaller
		return err
	}
	c.mu.Lock()
	c.answered = true
	c.mu.Unlock()
	c.rec.SIPCode = 200
	c.rec.Answered = time.Now()
	return nil
}

// errByeBeforeACK: the caller hung up an answered call before its ACK
// arrived; the route does not run, the call counts as answered.
var errByeBeforeACK = errors.New("the caller hung up before its ACK arrived")

// answerResult is the metrics result of a call whose answer failed with
// err.
func answerResult(err error, otherwise string) string {
	if errors.Is(err, errByeBeforeACK) {
		return metrics.ResultAnswered
	}
	return otherwise
}

// maxMenuDepth bounds menu → route → menu chains.
const maxMenuDepth = 8

// runRoute carries out an answered route until it ends or the call does.
func (c *call) runRoute(r config.Route, depth int) {
	switch r.Action {
	case config.ActionEcho:
		if r.Prompt != "" {
			if err := c.s.engine.Play(c.ctx, c.leg, c.s.prompts[r.Prompt]); err != nil {
				return
			}
		}
		_ = c.s.engine.Echo(c.ctx, c.leg)
	case config.ActionPlayback:
		if err := c.s.engine.Play(c.ctx, c.leg, c.s.prompts[r.Prompt]); err == nil {
			c.hangup(hangupSystem)
		}
	case config.ActionMenu:
		c.menu(r, depth)
	case config.ActionDial:
		// A dial reached from a menu: the caller is answered already.
		c.dialAnswered(r)
	case config.ActionQueue:
		c.queueResult = c.runQueue(r)
	}
}

// menu plays the prompt and waits for a digit; a digit pressed during
// the prompt stops it (barge-in).
func (c *call) menu(r config.Route, depth int) {
	if depth >= maxMenuDepth {
		c.log.Warn("menu nesting too deep; hanging up", attrHint, "menus of the routes call each other in a loop: fix the [[route]] choices")
		c.hangup(hangupSystem)
		return
	}
	digits := c.leg.DTMF()
	wait := r.DigitTimeout.Duration
	if wait <= 0 {
		wait = 5 * time.Second
	}
	for attempt := 0; attempt <= r.Repeats; attempt++ {
		digit, ok := c.playAndCollect(c.s.prompts[r.Prompt], digits, wait)
		if c.ctx.Err() != nil {
			return
		}
		if !ok {
			continue
		}
		name, valid := r.Choices[string(digit)]
		if !valid {
			if p := c.s.prompts["invalid"]; p != nil {
				_ = c.s.engine.Play(c.ctx, c.leg, p)
			}
			continue
		}
		next, _ := c.s.cfg.RouteByName(name)
		c.log.Debug("menu choice", "digit", string(digit), "next", name)
		c.rec.Route = c.rec.Route + ">" + next.Name
		c.runRoute(next, depth+1)
		return
	}
	c.hangup(hangupSystem)
}

// playAndCollect plays p and returns the first digit pressed during it or
// within wait after it.
func (c *call) playAndCollect(p *media.Prompt, digits <-chan rune, wait time.Duration) (rune, bool) {
	pctx, stop := context.WithCancel(c.ctx)
	defer stop()
	played := make(chan struct{})
	go func() {
		defer close(played)
		_ = c.s.engine.Play(pctx, c.leg, p)
	}()
	var timeout <-chan time.Time
	for {
		select {
		case d := <-digits:
			stop()
			<-played
			return d, true
		case <-played:
			played = nil
			timeout = time.After(wait)
		case <-timeout:
			return 0, false
		case <-c.ctx.Done():
			stop()
			if played != nil {
				<-played
			}
			return 0, false
		}
	}
}

// dial bridges the caller to a new outbound leg. The caller is answered
// only when the far end answers (or sends early media), and gets the far
// end's failure code otherwise.
func (c *call) dial(r config.Route, answer func() error, early *earlyAnswer) string {
	// The recording starts with the first media, early or answered, so
	// a failed attempt leaves no empty file behind.
	var rec *media.Recorder
	var bridge *media.Bridge
	var out *OutboundLeg
	connect := func(other *media.Leg) error {
		rec = c.newRecorder(r)
		var err error
		bridge, err = c.s.engine.Connect(c.leg, other, rec)
		return err
	}
	defer func() {
		if bridge != nil {
			bridge.Disconnect()
		}
		if rec != nil {
			rec.Close()
		}
		if out != nil {
			c.endOut(out)
		}
	}()
	var earlyErr error
	opt := DialOptions{
		From: c.outCallerID(r),
		SRTP: r.SRTP,
		OnProgress: func(code int, earlyLeg *media.Leg) {
			switch {
			case earlyLeg != nil && early != nil:
				// Early media: connect now, answer the caller with 183.
				if err := c.leg.Start(early.params); err != nil {
					earlyErr = err
					return
				}
				if earlyErr = connect(earlyLeg); earlyErr != nil {
					return
				}
				hdr := sip.NewHeader("Content-Type", "application/sdp")
				if err := c.in.Respond(183, "Session Progress", early.sdp, append([]sip.Header{hdr}, c.contactHeaders()...)...); err != nil {
					earlyErr = err
					return
				}
				c.mu.Lock()
				c.answered = true // media is up; 200 comes later
				c.mu.Unlock()
			case code == 180:
				_ = c.in.Ringing()
			}
		},
	}
	// While ringing, the caller's CANCEL ends c.ctx, and with it the dial.
	out, err := c.s.Dial(c.ctx, c.target(r), opt)
	if earlyErr != nil {
		c.log.Info("early media to caller failed", "error", earlyErr)
	}
	if err != nil {
		code, reason := c.noteFailedDial(r, err)
		c.log.Info("dial failed", slog.Int(attrCode, code))
		if c.ctx.Err() != nil {
			c.rec.SIPCode = 487
			c.rec.HangupBy = hangupCaller
			return metrics.ResultCancelled
		}
		if code == codeRingTimeout {
			code, reason = sip.StatusTemporarilyUnavailable, "Temporarily Unavailable (no answer)"
		}
		if code < 400 || code > 699 {
			code = sip.StatusInternalServerError
		}
		c.reject(code, reason)
		switch code {
		case sip.StatusBusyHere, 600:
			return metrics.ResultBusy
		case sip.StatusTemporarilyUnavailable, sip.StatusRequestTimeout:
			return metrics.ResultNoAnswer
		}
		return metrics.ResultFailed
	}
	c.mu.Lock()
	c.out = out
	c.mu.Unlock()

	if bridge == nil {
		if err := connect(out.Leg()); err != nil {
			c.log.Warn("bridge failed", "error", err, attrHint, "the media of the far end could not be connected: check its SDP and codecs")
			c.reject(sip.StatusInternalServerError, "Server Internal Error")
			return metrics.ResultFailed
		}
	}
	if err := answer(); err != nil {
		return answerResult(err, metrics.ResultCancelled)
	}
	c.waitEither(out)
	return metrics.ResultAnswered
}

// target is the route's dial target with ${number} replaced by the
// called number (digits, *, # and +: MatchRoute admits nothing else; #
// is escaped for the URI).
func (c *call) target(r config.Route) string {
	return strings.ReplaceAll(r.Target, "${number}", strings.ReplaceAll(c.rec.To, "#", "%23"))
}

// noteFailedDial keeps the failed far leg for the call record and returns
// the code and reason to pass on (500 when the attempt never got a SIP
// code).
func (c *call) noteFailedDial(r config.Route, err error) (int, string) {
	var de *DialError
	if !errors.As(err, &de) {
		return codeLocalError, "Server Internal Error"
	}
	c.outRec = &journal.LegRecord{Role: "callee", RemoteURI: c.target(r), SIPCode: de.Code}
	return de.Code, de.Reason
}

// dialAnswered is a dial route entered from a menu after answer.
func (c *call) dialAnswered(r config.Route) {
	out, err := c.s.Dial(c.ctx, c.target(r), DialOptions{From: c.outCallerID(r), SRTP: r.SRTP})
	if err != nil {
		c.noteFailedDial(r, err)
		if p := c.s.prompts["busy"]; p != nil && c.ctx.Err() == nil {
			_ = c.s.engine.Play(c.ctx, c.leg, p)
		}
		c.hangup(hangupSystem)
		return
	}
	c.mu.Lock()
	c.out = out
	c.mu.Unlock()
	defer c.endOut(out)
	rec := c.newRecorder(r)
	bridge, err := c.s.engine.Connect(c.leg, out.Leg(), rec)
	if err != nil {
		if rec != nil {
			rec.Close()
		}
		c.hangup(hangupSystem)
		return
	}
	defer bridge.Disconnect()
	if rec != nil {
		defer rec.Close()
	}
	c.waitEither(out)
}

// waitEither blocks until the caller or the far end hangs up.
func (c *call) waitEither(out *OutboundLeg) {
	select {
	case <-c.ctx.Done():
	case <-out.Done():
		c.hangup(hangupCallee)
	}
}

// newRecorder opens the call's recording when the route records.
func (c *call) newRecorder(r config.Route) *media.Recorder {
	if !r.Records() {
		return nil
	}
	t := c.rec.Arrived
	rec, err := c.s.engine.NewCallRecorder(c.s.recordingName(t, c.in.InviteRequest.CallID().Value()), t)
	if err != nil {
		c.log.Warn("recording not started", "error", err, attrHint, "check free space and permissions of data.recordings")
		return nil
	}
	c.rec.Recording = rec.Path()
	return rec
}

// finish writes the call record and counts the call.
func (c *call) finish(result string) {
	now := time.Now()
	c.rec.Ended = now
	if c.rec.HangupBy == "" {
		var hc hangupCause
		if errors.As(context.Cause(c.ctx), &hc) {
			c.rec.HangupBy = hc.by
		} else {
			c.rec.HangupBy = hangupCaller
		}
	}
	c.mu.Lock()
	if c.leg != nil {
		st := c.leg.Stats()
		c.rec.Legs = append(c.rec.Legs, journal.LegRecord{
			Role:         "caller",
			CallID:       c.in.InviteRequest.CallID().Value(),
			RemoteURI:    c.in.InviteRequest.From().Address.String(),
			Codec:        c.codec.Codec.String(),
			SIPCode:      c.rec.SIPCode,
			Answered:     c.rec.Answered,
			Ended:        now,
			PacketsIn:    st.PacketsIn,
			PacketsOut:   st.PacketsOut,
			PacketsLost:  uint64(max(st.Lost, 0)),
			JitterMillis: float64(st.Jitter) / float64(time.Millisecond),
		})
	}
	if c.out != nil {
		lr := c.out.record()
		c.rec.Legs = append(c.rec.Legs, lr)
	} else if c.outRec != nil {
		c.rec.Legs = append(c.rec.Legs, *c.outRec)
	}
	c.mu.Unlock()
	c.s.metrics.CallEnded(metrics.DirectionInbound, result)
	if c.unrecorded {
		// Decision (issue 11 item 4): an INVITE refused before any route
		// ran is not a call. Journaling each one let a flood of bogus
		// INVITEs write thousands of records; they are counted in
		// obzvon_calls_total{result="rejected"} and logged at debug.
		c.log.Debug("invite refused", slog.Int(attrCode, c.rec.SIPCode))
		return
	}
	if c.s.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.s.store.PutCall(ctx, &c.rec); err != nil {
			c.log.Error("call record not written", "error", err, attrHint, "check journal write errors and the journal disk")
		}
	}
	c.log.Info("call ended", "result", result, slog.Int(attrCode, c.rec.SIPCode), "hangup_by", c.rec.HangupBy,
		"duration", now.Sub(c.rec.Arrived).Round(time.Millisecond))
}

// handleReInvite renegotiates the caller's media (hold, unhold, move).
func (c *call) handleReInvite(req *sip.Request, tx sip.ServerTransaction) {
	if err := c.in.ReadRequest(req, tx); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	c.mu.Lock()
	if c.leg == nil || !c.answered {
		c.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusRequestPending, "Request Pending", nil))
		return
	}
	res, err := renegotiate(req, c.leg, c.sess, &c.codec, &c.eventPT)
	if err == nil {
		if off, perr := ParseSDP(req.Body()); perr == nil {
			c.held = off.Direction == DirSendOnly || off.Direction == DirInactive
		}
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Info("re-INVITE refused", "error", err)
	}
	if ct := c.in.InviteResponse; ct != nil && ct.Contact() != nil {
		res.AppendHeader(ct.Contact())
	}
	_ = tx.Respond(res)
}

// recordingName names a call's recording: the time, a number unique in
// this process and 4 random bytes, then the Call-ID for people looking
// for a call's file. The caller chooses the Call-ID, so it never makes
// the name unique: two calls with the same Call-ID in one second once
// shared one file (issue 11 item 13).
func (s *Server) recordingName(t time.Time, callID string) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return t.Format("150405") + "-" + strconv.FormatUint(s.seq.Add(1), 36) + hex.EncodeToString(r[:]) + "-" + sanitize(callID)
}

// sanitize keeps a Call-ID usable as a file name.
func sanitize(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
