package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// Campaign calls: the SIP side of campaigns.Runner. A call goes out
// through the trunks (Trunks.Dial); on answer, answering-machine
// detection runs when the campaign has it (media's Engine.DetectMachine)
// and its action applies; a person (or a machine passed on) then waits
// for an operator: the Connector (the ACD's desk) switches the call onto
// a ready operator's session leg within the grace period. If no operator
// is connected safeHarborAfter after the person's answer, the campaign's
// safe-harbor message starts, so that it is heard within a second; an
// operator who comes before the grace period ends stops it and takes the
// call, otherwise the call is abandoned: the message plays to its end and
// the call is hung up. Agentless campaigns play the script's IVR instead
// (campaigns.IVR). Every step is reported to the runner, which writes the
// attempt.

// safeHarborAfter is how long a live answer waits for an operator before
// the safe-harbor message starts (the grace period goes on meanwhile).
const safeHarborAfter = 500 * time.Millisecond

// ivrKeyTimeout is how long the IVR waits for a key after a question's
// prompt; ivrDigitTimeout between the digits of a number.
const (
	ivrKeyTimeout   = 6 * time.Second
	ivrDigitTimeout = 4 * time.Second
)

// Connector connects an answered campaign call to an operator: it queues
// leg in campaign's outbound queue and switches it onto a ready
// operator's session leg within grace (agent, when set: that operator
// only — the one who asked for the call), recording the call with rec
// (nil: none); an error means no operator took it in time (leg is left
// alone).
// DeskConnector adapts the ACD's desk.
type Connector interface {
	Connect(ctx context.Context, leg *media.Leg, campaign, attempt, caller, agent string, grace time.Duration, rec *media.Recorder) (Connected, error)
}

// Connected is a campaign call on an operator's session leg.
type Connected interface {
	// Agent is the operator's login.
	Agent() string
	// Done is closed when the operator's part ends (the operator hung up,
	// the operator's phone went away, or End).
	Done() <-chan struct{}
	// End ends the operator's part (the customer hung up: "caller").
	End(by string)
}

// DeskConnector connects campaign calls through the ACD's desk
// (Desk.ConnectOutbound).
func DeskConnector(d *Desk) Connector { return deskConnector{d} }

type deskConnector struct{ d *Desk }

func (c deskConnector) Connect(ctx context.Context, leg *media.Leg, campaign, attempt, caller, agent string, grace time.Duration, rec *media.Recorder) (Connected, error) {
	oc, err := c.d.ConnectOutbound(ctx, leg, campaign, attempt, caller, agent, grace, rec)
	if err != nil {
		return nil, err
	}
	return oc, nil
}

// PromptSource returns a prompt by name (loaded once, kept).
type PromptSource func(name string) (*media.Prompt, error)

// CampaignDialer places campaign calls; it implements campaigns.Dialer.
type CampaignDialer struct {
	s       *Server
	trunks  *Trunks
	prompts PromptSource
	metrics *metrics.Campaigns
	log     *slog.Logger

	calls sync.WaitGroup

	mu      sync.Mutex
	connect Connector
}

// Wait waits until every call placed has ended (cancel the runners' ctx
// first to hang them up).
func (cd *CampaignDialer) Wait() { cd.calls.Wait() }

// NewCampaignDialer returns the campaign side of s over trunks. prompts
// finds the campaigns' prompts; m counts AMD decisions (nil: none).
func NewCampaignDialer(s *Server, trunks *Trunks, prompts PromptSource, m *metrics.Campaigns) *CampaignDialer {
	return &CampaignDialer{s: s, trunks: trunks, prompts: prompts, metrics: m, log: s.log}
}

// SetConnector sets the ACD's desk that connects live answers to
// operators (nil: none, every live answer is abandoned).
func (cd *CampaignDialer) SetConnector(c Connector) {
	cd.mu.Lock()
	cd.connect = c
	cd.mu.Unlock()
}

func (cd *CampaignDialer) connector() Connector {
	cd.mu.Lock()
	defer cd.mu.Unlock()
	return cd.connect
}

// Capacity implements campaigns.Dialer.
func (cd *CampaignDialer) Capacity(trunk string) (campaigns.Trunk, bool) {
	if down, _ := cd.trunks.Down(trunk); down {
		return campaigns.Trunk{}, false
	}
	return cd.trunks.Capacity(trunk), true
}

// Place implements campaigns.Dialer.
func (cd *CampaignDialer) Place(ctx context.Context, d *campaigns.DialRequest, report func(campaigns.CallEvent)) {
	cd.calls.Add(1)
	go func() {
		defer cd.calls.Done()
		c := &campaignCall{cd: cd, d: d, report: report, log: cd.log.With("campaign", d.Campaign, "attempt", d.Attempt)}
		e := c.run(ctx)
		if e.Ended.IsZero() {
			e.Ended = time.Now()
		}
		report(campaigns.CallEvent{Attempt: d.Attempt, Kind: campaigns.CallEnded, At: e.Ended, End: &e})
	}()
}

// campaignCall is one call of a campaign.
type campaignCall struct {
	cd     *CampaignDialer
	d      *campaigns.DialRequest
	report func(campaigns.CallEvent)
	log    *slog.Logger
	call   *TrunkCall
	// agent is the operator's part of the call and recording the file
	// it was recorded to, for the call's record (none: no operator took
	// it).
	agent     *journal.AgentSpan
	recording string
}

func (c *campaignCall) event(k campaigns.CallEventKind, f func(*campaigns.CallEvent)) time.Time {
	ev := campaigns.CallEvent{Attempt: c.d.Attempt, Kind: k, At: time.Now()}
	if f != nil {
		f(&ev)
	}
	c.report(ev)
	return ev.At
}

// run places the call and returns how the attempt ended.
func (c *campaignCall) run(ctx context.Context) campaigns.AttemptEnd {
	set := c.d.Settings
	call, err := c.cd.trunks.Dial(ctx, TrunkDial{Number: c.d.Phone, Trunk: set.Settings.Trunk, CallerID: set.Settings.CallerID,
		RingTimeout: set.Ring})
	if err != nil {
		e := campaigns.AttemptEnd{Result: campaigns.ResultFailed, SIPCode: codeLocalError, Note: err.Error()}
		var de *DialError
		if errors.As(err, &de) {
			e.SIPCode = de.Code
			e.Result = campaigns.ResultOfSIP(de.Code)
			e.TrunkFailure = trunkFailed(err) || errors.Is(err, ErrNoTrunk)
			if e.TrunkFailure {
				e.Result = campaigns.ResultFailed
			}
			if ctx.Err() != nil {
				e.Result, e.Note = campaigns.ResultFailed, "stopped with the dialer"
			}
		}
		return e
	}
	c.call = call
	answered := time.Now()
	e := campaigns.AttemptEnd{SIPCode: 200, Answered: answered, CallID: call.d.InviteRequest.CallID().Value()}
	c.event(campaigns.CallAnswered, nil)
	// The call ends when the far end hangs up, or ctx is done (the
	// runner stops): lctx.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-call.Done():
			cancel()
		case <-lctx.Done():
		}
	}()
	defer func() {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		call.Hangup(hctx)
		hcancel()
		c.record()
	}()

	// A person must hear the safe-harbor message within a second of the
	// answer unless an operator took the call: its clock starts now, also
	// while answering-machine detection listens.
	var sh *safeHarbor
	if c.d.Mode != campaigns.ModeAgentless {
		sh = c.newSafeHarbor(lctx, answered)
		defer sh.stop()
	}
	if set.AMD != campaigns.AMDOff {
		res, err := c.cd.s.engine.DetectMachine(lctx, call.Leg(), media.AMDConfig{InitialSilence: set.AMDInitialSilence})
		if err != nil {
			return c.cut(&e, lctx, "hung up during answering-machine detection")
		}
		c.cd.metrics.AMDDecision(res.Verdict.String(), time.Since(answered).Seconds())
		e.AMD, e.AMDTime = res.Verdict.String(), time.Since(answered)
		if res.Verdict == media.AMDMachine {
			if sh != nil && set.AMD != campaigns.AMDOperator {
				sh.stop()
			}
			c.event(campaigns.CallMachine, func(ev *campaigns.CallEvent) { ev.AMD, ev.AMDTime = e.AMD, e.AMDTime })
			switch set.AMD {
			case campaigns.AMDHangup:
				e.Result, e.Note = campaigns.ResultMachine, "answering machine: hung up ("+res.Reason+")"
				return e
			case campaigns.AMDMessage:
				e.Result, e.Note = campaigns.ResultMachine, "answering machine: message left ("+res.Reason+")"
				if err := c.play(lctx, set.Settings.MachinePrompt); err != nil {
					e.Note = "answering machine: the message was cut off (" + err.Error() + ")"
				}
				return e
			}
			// AMDOperator: on to an operator like a person.
		}
	}
	c.event(campaigns.CallLive, func(ev *campaigns.CallEvent) { ev.AMD, ev.AMDTime = e.AMD, e.AMDTime })
	if c.d.Mode == campaigns.ModeAgentless {
		return c.ivr(lctx, e)
	}
	return c.operator(lctx, e, sh)
}

// cut ends an attempt whose call went away early.
func (c *campaignCall) cut(e *campaigns.AttemptEnd, lctx context.Context, note string) campaigns.AttemptEnd {
	e.Result, e.Note = campaigns.ResultFailed, note
	if lctx.Err() != nil {
		select {
		case <-c.call.Done():
			e.Note += " (far end)"
		default:
			e.Note += " (stopped)"
		}
	}
	return *e
}

// operator connects a live answer to an operator, or abandons it with the
// safe-harbor message sh (already counting since the answer).
func (c *campaignCall) operator(lctx context.Context, e campaigns.AttemptEnd, sh *safeHarbor) campaigns.AttemptEnd {
	type connected struct {
		call Connected
		err  error
	}
	res := make(chan connected, 1)
	cctx, ccancel := context.WithCancel(lctx)
	defer ccancel()
	var rec *media.Recorder
	if conn := c.cd.connector(); conn != nil {
		// The call is recorded from the operator's connection on; the
		// file of a call no operator took is removed.
		r, err := c.cd.s.engine.NewCallRecorder(time.Now().Format("150405")+"-"+c.d.Campaign+"-"+c.d.Attempt, time.Now())
		if err != nil {
			c.log.Warn("campaign call not recorded", "error", err, "hint", "check data.dir/recordings (space, permissions)")
		} else {
			rec = r
		}
		go func() {
			oc, err := conn.Connect(cctx, c.call.Leg(), c.d.Campaign, c.d.Attempt, c.d.Phone, c.d.Agent, c.d.Grace, rec)
			res <- connected{oc, err}
		}()
	} else {
		res <- connected{err: errors.New("no operator desk")}
	}
	defer func() {
		if rec == nil {
			return
		}
		_ = rec.Close()
		if e.Agent == "" {
			_ = os.Remove(rec.Path())
		}
	}()
	var got connected
	select {
	case got = <-res:
	case <-lctx.Done():
		ccancel()
		got = <-res
		if got.err != nil {
			return c.cut(&e, lctx, "the far end hung up waiting for an operator")
		}
	}
	if got.err == nil {
		sh.stop()
		e.Agent = got.call.Agent()
		span := &journal.AgentSpan{Login: e.Agent, Queue: c.d.Campaign, Connected: time.Now()}
		c.agent = span
		if rec != nil {
			c.recording = rec.Path()
		}
		c.event(campaigns.CallConnected, func(ev *campaigns.CallEvent) { ev.Agent = e.Agent })
		select {
		case <-got.call.Done():
			e.Note = "the operator ended the call"
			span.EndedBy = hangupAgent
			if eb, ok := got.call.(interface{ EndedBy() string }); ok {
				span.EndedBy = eb.EndedBy()
			}
		case <-lctx.Done():
			got.call.End(hangupCaller)
			span.EndedBy = hangupCaller
		}
		span.Ended = time.Now()
		e.Result = campaigns.ResultReached
		return e
	}
	// Abandoned: nobody within the grace period.
	sh.start()
	c.event(campaigns.CallAbandoned, nil)
	e.Result = campaigns.ResultAbandoned
	if at := sh.startedAt(); !at.IsZero() {
		e.SafeHarbor = at.Sub(e.Answered)
		switch err := sh.wait(); {
		case errors.Is(err, context.Canceled):
			e.Note = "the far end hung up during the safe-harbor message"
		case err != nil:
			e.Note = "safe-harbor message cut off: " + err.Error()
		}
	}
	return e
}

// safeHarbor is a call's safe-harbor message: it starts safeHarborAfter
// the answer unless stopped first (an operator took the call, a machine
// answered), or at once on start.
type safeHarbor struct {
	c      *campaignCall
	prompt *media.Prompt
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer
	done   chan error

	mu      sync.Mutex
	started time.Time
	stopped bool
}

func (c *campaignCall) newSafeHarbor(lctx context.Context, answered time.Time) *safeHarbor {
	name := c.d.Settings.Settings.SafeHarborPrompt
	p, err := c.cd.prompts(name)
	if err != nil {
		c.log.Error("safe-harbor prompt missing: an abandoned call hears nothing", "prompt", name, "error", err, "hint", "add the prompt (prompts.dir or prompts.files) or fix the campaign's safe_harbor_prompt")
	}
	h := &safeHarbor{c: c, prompt: p, done: make(chan error, 1)}
	h.ctx, h.cancel = context.WithCancel(lctx)
	h.timer = time.AfterFunc(max(safeHarborAfter-time.Since(answered), 0), h.start)
	return h
}

// start starts the message now unless it started or was stopped.
func (h *safeHarbor) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prompt == nil || h.stopped || !h.started.IsZero() {
		return
	}
	h.started = time.Now()
	go func() { h.done <- h.c.cd.s.engine.Play(h.ctx, h.c.call.Leg(), h.prompt) }()
}

// stop cancels the message (and stops it if it plays). Safe on nil.
func (h *safeHarbor) stop() {
	if h == nil {
		return
	}
	h.timer.Stop()
	h.mu.Lock()
	h.stopped = true
	playing := !h.started.IsZero()
	h.mu.Unlock()
	h.cancel()
	if playing {
		<-h.done
		h.done <- context.Canceled
	}
}

func (h *safeHarbor) startedAt() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.started
}

// wait waits for the message to end.
func (h *safeHarbor) wait() error {
	err := <-h.done
	h.done <- err
	return err
}

// ivr runs an agentless campaign's IVR.
func (c *campaignCall) ivr(ctx context.Context, e campaigns.AttemptEnd) campaigns.AttemptEnd {
	sc := c.d.Script
	leg := c.call.Leg()
	digits := leg.DTMF()
	if err := c.play(ctx, sc.IVRPrompt); err != nil {
		return c.cut(&e, ctx, "hung up during the IVR message")
	}
	v := campaigns.NewIVR(sc)
	for q := v.Question(); q != nil; q = v.Question() {
		keys, err := c.ask(ctx, q, digits)
		if err != nil {
			break
		}
		switch {
		case keys == "":
			v.NoAnswer()
		case !v.Answer(keys):
			if v.Question() != nil {
				_ = c.play(ctx, "invalid")
			}
		}
	}
	e.Result, e.Note = campaigns.ResultReached, "IVR: message heard"
	if ans, err := sc.CheckAnswers(v.Answers(), false); err == nil && len(ans) > 0 {
		e.Answers = ans
	}
	if v.Complete() && sc.IVRThanks != "" {
		_ = c.play(ctx, sc.IVRThanks)
	}
	if !v.Complete() {
		e.Note = fmt.Sprintf("IVR: message heard, %d of the questions answered", len(v.Answers()))
	}
	return e
}

// ask plays a question's prompt (a key stops it) and returns the keys
// pressed: one key, or digits up to # for a number; "" when none came.
func (c *campaignCall) ask(ctx context.Context, q *campaigns.Question, digits <-chan rune) (string, error) {
	p, err := c.cd.prompts(q.Prompt)
	if err != nil {
		return "", err
	}
	pctx, cancel := context.WithCancel(ctx)
	played := make(chan error, 1)
	go func() { played <- c.cd.s.engine.Play(pctx, c.call.Leg(), p) }()
	var keys strings.Builder
	timeout := time.NewTimer(time.Hour)
	defer timeout.Stop()
	playing := true
	for {
		select {
		case err := <-played:
			playing = false
			if ctx.Err() != nil {
				cancel()
				return "", ctx.Err()
			}
			_ = err
			timeout.Reset(ivrKeyTimeout)
		case d, ok := <-digits:
			if !ok {
				cancel()
				return "", errors.New("leg closed")
			}
			if playing {
				cancel()
				<-played
				playing = false
			}
			keys.WriteRune(d)
			if !q.DTMFDigits || d == '#' {
				cancel()
				return keys.String(), nil
			}
			timeout.Reset(ivrDigitTimeout)
		case <-timeout.C:
			cancel()
			return keys.String(), nil
		case <-ctx.Done():
			cancel()
			if playing {
				<-played
			}
			return "", ctx.Err()
		}
	}
}

// play plays a prompt by name to its end.
func (c *campaignCall) play(ctx context.Context, name string) error {
	p, err := c.cd.prompts(name)
	if err != nil {
		return err
	}
	return c.cd.s.engine.Play(ctx, c.call.Leg(), p)
}

// record writes the call's record (outbound, route = the campaign).
func (c *campaignCall) record() {
	if c.cd.s.store == nil || c.call == nil {
		return
	}
	leg := c.call.record()
	hangup := "system"
	switch {
	case !c.call.HungUpByUs():
		hangup = "callee"
	case c.agent != nil && c.agent.EndedBy == hangupAgent:
		hangup = hangupAgent
	}
	// An operator's call names the operator and its recording (the file
	// of a call no operator took is removed).
	var agents []journal.AgentSpan
	if c.agent != nil {
		agents = []journal.AgentSpan{*c.agent}
	}
	rec := &journal.CallRecord{Direction: "outbound", Route: c.d.Campaign, To: c.d.Phone, Arrived: c.call.invited,
		Answered: leg.Answered, Ended: leg.Ended, HangupBy: hangup, SIPCode: leg.SIPCode, Codec: leg.Codec,
		Recording: c.recording, Legs: []journal.LegRecord{leg}, Agents: agents}
	if rec.Ended.IsZero() {
		rec.Ended = time.Now()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.cd.s.store.PutCall(ctx, rec); err != nil {
		c.log.Error("campaign call record not saved", "error", err, "hint", "check the journal (disk space)")
	}
}
