package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// DialOptions tune one outbound leg.
type DialOptions struct {
	// From is the caller number shown to the far end; empty sends "obzvon".
	From string
	// RingTimeout overrides calls.ring_timeout; on expiry we CANCEL.
	RingTimeout time.Duration
	// SRTP offers RTP/SAVP with SDES keys (route.srtp); an answer without
	// SRTP fails the leg with 488.
	SRTP bool
	// OnProgress sees every provisional response's code. early is the
	// leg's media, given once, with the first 183 whose SDP started it
	// (early media: ringback, announcements); nil otherwise. It runs in
	// the dialing goroutine: don't block.
	OnProgress func(code int, early *media.Leg)
	// Username and Password answer a 401 or 407 digest challenge of the
	// far end (a carrier trunk), at most twice (RFC 3261 §22.2).
	Username, Password string
	// ResponseTimeout, when set, gives up an INVITE that got no response
	// at all (not even 100 Trying) within it: the far end is down. The
	// error wraps ErrNoResponse. Zero waits for the transaction's Timer B.
	ResponseTimeout time.Duration
	// Headers are added to the INVITE (e.g. auto-answer hints).
	Headers []sip.Header
}

// ErrNoResponse is wrapped by the *DialError of an INVITE that got no
// response at all (RFC 3261 §17.1.1.2 Timer B, or DialOptions.ResponseTimeout).
var ErrNoResponse = errors.New("no response from the far end")

// Dial failure codes that never came from the far end.
const (
	codeRingTimeout = 408 // we gave up ringing and sent CANCEL
	codeNoResponse  = 408 // no response at all (Timer B)
	codeCancelled   = 487 // our side cancelled (the caller hung up)
	codeLocalError  = 500
)

// DialError is a failed outbound leg with the SIP code that ended it.
type DialError struct {
	Target string
	Code   int    // final SIP code (from the far end, or 408/487 from us)
	Reason string // reason phrase or what happened
	Err    error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("dial %s: %d %s", e.Target, e.Code, e.Reason)
}

func (e *DialError) Unwrap() error { return e.Err }

// OutboundLeg is an answered outbound call leg with its media.
type OutboundLeg struct {
	s       *Server
	d       *diago.DialogClientSession
	leg     *media.Leg
	sess    *sdpSession
	target  string
	invited time.Time

	// referred is when the phone on this leg last had a REFER accepted
	// (unix ns): its hang-up soon after ends the transfer, not the call.
	referred atomic.Int64

	mu       sync.Mutex
	codec    CodecPT
	eventPT  uint8
	answered time.Time
	ended    time.Time
	code     int
	byUs     bool
}

// Leg is the leg's media.
func (o *OutboundLeg) Leg() *media.Leg { return o.leg }

// referPending reports whether the phone on o had a REFER accepted in
// the last 10 s (its hang-up is then part of the transfer).
func (o *OutboundLeg) referPending() bool {
	t := o.referred.Load()
	return t != 0 && time.Since(time.Unix(0, t)) < 10*time.Second
}

// Done is closed when the far end hangs up or the leg is hung up.
func (o *OutboundLeg) Done() <-chan struct{} { return o.d.Context().Done() }

// byeTimeout bounds how long a BYE to a peer that may be gone is waited
// for (UDP retransmits it until Timer F, 32 s, otherwise).
const byeTimeout = 5 * time.Second

// Hangup sends BYE (once) and frees the media. It waits for the BYE's
// answer at most until ctx ends, and never longer than 5 s.
func (o *OutboundLeg) Hangup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, byeTimeout)
	defer cancel()
	o.mu.Lock()
	if !o.ended.IsZero() {
		o.mu.Unlock()
		return
	}
	o.byUs = o.d.Context().Err() == nil
	o.ended = time.Now()
	o.mu.Unlock()
	if o.byUs {
		if err := o.d.Hangup(ctx); err != nil {
			o.s.log.Debug("bye failed", attrCallID, o.d.InviteRequest.CallID().Value(), "error", err)
		}
	}
	o.s.unregisterLeg(o.d.ID)
	o.d.Close()
	o.leg.Close()
	o.s.metrics.CallEnded(metrics.DirectionOutbound, metrics.ResultAnswered)
}

// dialResult is the metrics result of a failed outbound attempt.
func dialResult(code int) string {
	switch code {
	case 486, 600:
		return metrics.ResultBusy
	case codeRingTimeout, 480:
		return metrics.ResultNoAnswer
	case codeCancelled:
		return metrics.ResultCancelled
	case 403, 404, 488, 603:
		return metrics.ResultRejected
	}
	return metrics.ResultFailed
}

// HungUpByUs reports whether our side ended the leg.
func (o *OutboundLeg) HungUpByUs() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byUs
}

// record describes the leg for the call record.
func (o *OutboundLeg) record() journal.LegRecord {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.leg.Stats()
	return journal.LegRecord{
		Role:         "callee",
		CallID:       o.d.InviteRequest.CallID().Value(),
		RemoteURI:    o.target,
		Codec:        o.codec.Codec.String(),
		SIPCode:      o.code,
		Answered:     o.answered,
		Ended:        o.ended,
		PacketsIn:    st.PacketsIn,
		PacketsOut:   st.PacketsOut,
		PacketsLost:  uint64(max(st.Lost, 0)),
		JitterMillis: float64(st.Jitter) / float64(time.Millisecond),
	}
}

func (o *OutboundLeg) handleReInvite(req *sip.Request, tx sip.ServerTransaction) {
	if err := o.d.ReadRequest(req, tx); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	o.mu.Lock()
	res, err := renegotiate(req, o.leg, o.sess, &o.codec, &o.eventPT)
	o.mu.Unlock()
	if err != nil {
		o.s.log.Info("re-INVITE refused", attrCallID, req.CallID().Value(), "error", err)
	}
	res.AppendHeader(o.s.contactFor(&o.d.UA.ContactHDR, &o.d.InviteRequest.Recipient, o.d.InviteRequest.Transport()))
	_ = tx.Respond(res)
}

// Dial places an outbound call to target (a SIP URI) and returns once it
// is answered and acknowledged. A failed attempt returns a *DialError
// with the final SIP code; cancelling ctx while ringing sends CANCEL.
//
// A target "reg:USER" calls the newest registered contact of USER (an
// agent's softphone), sent to the address the registration came from so
// that phones behind NAT are reached. A phone registered over TLS is
// offered SRTP when rtp.srtp allows it (tls or any), though opt.SRTP is
// not set: the operators' legs of the ACD (session, ring, transfer,
// supervision) are then encrypted like the phone's signalling. A phone
// that refuses it (488, or an answer without SRTP) is called again at
// once with plain RTP; opt.SRTP = true makes SRTP a must instead.
func (s *Server) Dial(ctx context.Context, target string, opt DialOptions) (*OutboundLeg, error) {
	if opt.SRTP || !s.prefersSRTP(target) {
		return s.dial(ctx, target, opt)
	}
	secure := opt
	secure.SRTP = true
	leg, err := s.dial(ctx, target, secure)
	var de *DialError
	if err == nil || !errors.As(err, &de) || de.Code != 488 || ctx.Err() != nil {
		return leg, err
	}
	s.log.Info("phone refused SRTP; calling it again with plain RTP", "target", target, "reason", de.Reason)
	return s.dial(ctx, target, opt)
}

// prefersSRTP reports whether target is a phone registered over TLS
// (its newest binding) and rtp.srtp allows SRTP over TLS.
func (s *Server) prefersSRTP(target string) bool {
	user, ok := strings.CutPrefix(target, "reg:")
	if !ok || s.reg == nil || srtpAllowed(s.cfg.RTP.SRTP, "TLS") != nil {
		return false
	}
	b := s.reg.Lookup(user)
	return len(b) > 0 && strings.EqualFold(b[0].Transport, "TLS")
}

func (s *Server) dial(ctx context.Context, target string, opt DialOptions) (*OutboundLeg, error) {
	uriText, dest, regTransport := target, "", ""
	if user, ok := strings.CutPrefix(target, "reg:"); ok {
		var b []Binding
		if s.reg != nil {
			b = s.reg.Lookup(user)
		}
		if len(b) == 0 {
			s.metrics.CallStarted(metrics.DirectionOutbound)
			s.metrics.CallEnded(metrics.DirectionOutbound, metrics.ResultFailed)
			return nil, &DialError{Target: target, Code: sip.StatusTemporarilyUnavailable, Reason: "not registered"}
		}
		uriText, dest, regTransport = b[0].Contact, b[0].Source, b[0].Transport
		if b[0].Restored {
			// Its connection died with a restart: the Contact, if it
			// listens, else 480 now (restored.go).
			dest = ""
			if err := s.reachContact(ctx, b[0]); err != nil {
				s.metrics.CallStarted(metrics.DirectionOutbound)
				s.metrics.CallEnded(metrics.DirectionOutbound, metrics.ResultFailed)
				s.log.Info("restored registration not reachable", "user", b[0].User, "transport", b[0].Transport, "error", err)
				return nil, &DialError{Target: target, Code: sip.StatusTemporarilyUnavailable, Reason: reasonReRegister, Err: err}
			}
		}
	}
	var uri sip.Uri
	if err := sip.ParseUri(uriText, &uri); err != nil {
		return nil, &DialError{Target: target, Code: codeLocalError, Reason: "bad target URI", Err: err}
	}
	transport := dialTransport(&uri, regTransport)
	if opt.SRTP {
		if err := srtpAllowed(s.cfg.RTP.SRTP, transport); err != nil {
			return nil, &DialError{Target: target, Code: 488, Reason: reason488(err), Err: err}
		}
	}
	d, err := s.dg.NewDialog(uri, diago.NewDialogOptions{Transport: transport})
	if err != nil {
		return nil, &DialError{Target: target, Code: codeLocalError, Reason: "no transport " + transport, Err: err}
	}
	if dest != "" {
		d.InviteRequest.SetDestination(dest)
	}
	leg, err := s.engine.NewLeg()
	if err != nil {
		return nil, &DialError{Target: target, Code: 503, Reason: "no media port", Err: err}
	}
	o := &OutboundLeg{s: s, d: d, leg: leg, sess: s.newSession(), target: target, invited: time.Now()}
	s.metrics.CallStarted(metrics.DirectionOutbound)
	fail := func(code int, reason string, err error) (*OutboundLeg, error) {
		o.code = code
		leg.Close()
		d.Close()
		s.metrics.CallEnded(metrics.DirectionOutbound, dialResult(code))
		s.log.Debug("dial failed", "code", code, "reason", reason, "error", err)
		return nil, &DialError{Target: target, Code: code, Reason: reason, Err: err}
	}

	from := opt.From
	if from == "" {
		from = "obzvon"
	}
	req := d.InviteRequest
	host := s.cfg.SIP.ExternalHost
	if host == "" {
		host = s.cfg.SIP.Host
	}
	req.AppendHeader(&sip.FromHeader{
		Address: sip.Uri{Scheme: "sip", User: from, Host: host},
		Params:  sip.NewParams(),
	})
	req.From().Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(s.contactFor(&d.UA.ContactHDR, &uri, transport))
	for _, h := range opt.Headers {
		req.AppendHeader(h)
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if opt.SRTP {
		if err := offerSRTP(o.sess); err != nil {
			return fail(codeLocalError, "SRTP key", err)
		}
	}
	req.SetBody(o.sess.writeSDP(leg.LocalAddr(), offerCodecs, defaultEventPT, DirSendRecv))
	if err := sipgo.ClientRequestBuild(d.UA.Client, req); err != nil {
		return fail(codeLocalError, "build INVITE", err)
	}

	ring := opt.RingTimeout
	if ring <= 0 {
		ring = s.cfg.Calls.RingTimeout.Duration
	}
	rctx, cancel := context.WithTimeoutCause(ctx, ring, errRingTimeout)
	defer cancel()
	// A far end that sends nothing at all is given up without CANCEL
	// (RFC 3261 §9.1: no CANCEL before a provisional response).
	var responded atomic.Bool
	var silent atomic.Bool
	if opt.ResponseTimeout > 0 && opt.ResponseTimeout < ring {
		var cancelSilent context.CancelCauseFunc
		rctx, cancelSilent = context.WithCancelCause(rctx)
		defer cancelSilent(nil)
		t := time.AfterFunc(opt.ResponseTimeout, func() {
			if !responded.Load() {
				silent.Store(true)
				cancelSilent(sipgo.WaitAnswerForceCancelErr)
			}
		})
		defer t.Stop()
	}
	log := s.log.With(attrCallID, req.CallID().Value())

	if err := d.DialogClientSession.Invite(rctx); err != nil {
		return fail(codeLocalError, "send INVITE", err)
	}
	var started bool
	onResponse := func(r *sip.Response) error {
		responded.Store(true)
		if !r.IsProvisional() {
			return nil
		}
		var early *media.Leg
		if r.StatusCode == 183 && len(r.Body()) > 0 {
			if off, err := ParseSDP(r.Body()); err == nil {
				if c, err := off.Choose(); err == nil {
					p := media.LegParams{Remote: off.Addr, Codec: c.Codec, PayloadType: c.PT, EventPT: off.EventPT}
					p.SRTP, err = takeSRTPAnswer(o.sess, off) // no early media without the keys
					switch {
					case err != nil:
					case !started:
						err = leg.Start(p)
					default:
						err = leg.Update(p)
					}
					if err == nil {
						if !started {
							early = leg
						}
						started = true
						o.codec, o.eventPT = c, off.EventPT
					}
				}
			}
		}
		if opt.OnProgress != nil {
			opt.OnProgress(r.StatusCode, early)
		}
		return nil
	}
	// sipgo gives up a wait after 11 responses of any kind, yet gateways
	// repeat 180/183 during long ringing; the transaction is still alive,
	// so wait again (its counter starts over), within the ring timeout.
	for waits := 0; ; waits++ {
		err = d.DialogClientSession.WaitAnswer(rctx, sipgo.AnswerOptions{OnResponse: onResponse,
			Username: opt.Username, Password: opt.Password})
		if err == nil || waits >= 50 || !strings.Contains(err.Error(), "more than 10 responses") {
			break
		}
	}
	if err != nil {
		var re *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &re):
			return fail(re.Res.StatusCode, re.Res.Reason, err)
		case silent.Load():
			return fail(codeNoResponse, "no response", ErrNoResponse)
		case errors.Is(context.Cause(rctx), errRingTimeout):
			return fail(codeRingTimeout, "ring timeout", err)
		case ctx.Err() != nil:
			return fail(codeCancelled, "cancelled", err)
		case errors.Is(err, sip.ErrTransactionTimeout):
			return fail(codeNoResponse, "no response", errors.Join(ErrNoResponse, err))
		default:
			return fail(codeLocalError, "invite failed", err)
		}
	}
	res := d.InviteResponse
	off, perr := ParseSDP(res.Body())
	var choice CodecPT
	var keys *media.SRTP
	if perr == nil {
		choice, perr = off.Choose()
	}
	if perr == nil {
		keys, perr = takeSRTPAnswer(o.sess, off)
	}
	if perr != nil {
		// Answered with nothing we can use: ACK, then BYE (RFC 3264 §6.1).
		_ = d.Ack(ctx)
		_ = d.Hangup(ctx)
		return fail(488, "unusable SDP answer", perr)
	}
	p := media.LegParams{Remote: off.Addr, Codec: choice.Codec, PayloadType: choice.PT, EventPT: off.EventPT, SRTP: keys}
	if started {
		err = leg.Update(p)
	} else {
		err = leg.Start(p)
	}
	if err != nil {
		_ = d.Ack(ctx)
		_ = d.Hangup(ctx)
		return fail(codeLocalError, "start media", err)
	}
	o.codec, o.eventPT, o.code, o.answered = choice, off.EventPT, res.StatusCode, time.Now()
	if err := d.Ack(ctx); err != nil {
		_ = d.Hangup(ctx)
		return fail(codeLocalError, "send ACK", err)
	}
	s.registerLeg(d.ID, o)
	log.Debug("outbound leg answered", "codec", choice.Codec.String(), slog.Int(attrCode, res.StatusCode))
	return o, nil
}

var errRingTimeout = errors.New("ring timeout")
