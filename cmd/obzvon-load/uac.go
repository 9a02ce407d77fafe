package main

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// uacConfig says what calls the caller role places.
type uacConfig struct {
	Target       netip.AddrPort
	Number       string        // Numbers[0], for the report
	Numbers      []string      // call n dials Numbers[n % len]
	Rate         float64       // calls per second
	Concurrent   int           // at most this many calls at once (0: no limit)
	Total        int           // stop after this many calls (0: no limit)
	Hold         time.Duration // talk time before BYE
	SetupTimeout time.Duration // INVITE without final answer → timeout
	RTP          bool          // stream the tone while up
	PTs          []byte        // payload types offered
	// Queue mode (Talk or Patience set, or Queue): the caller sends the
	// callers' 400 Hz tone, waits for an operator's tone, talks for a
	// drawn time (or until the far end hangs up when Talk is not set) and
	// gives up after a drawn patience while no operator is heard.
	Queue    bool
	Talk     dist
	Patience dist
	// Audio, when set, replaces the tone the caller sends.
	Audio *audioSrc
}

// uac places calls (RFC 3261 §13 UAC INVITE, §15 BYE) and counts outcomes.
type uac struct {
	cfg uacConfig
	sip *sipEndpoint
	rtp *engine
	dc  *sipgo.DialogClientCache

	attempted, answered, timeouts, errs atomic.Uint64
	remoteBye, localBye, byeFailed      atomic.Uint64
	sdpErrors                           atomic.Uint64
	strayByes                           atomic.Uint64 // BYE for no dialog of ours (481)
	active                              atomic.Int64  // answered, not ended
	setups                              atomic.Int64  // INVITE sent, no final answer yet

	events *eventLog
	q      queueStats

	mu        sync.Mutex
	setup     []time.Duration
	byCode    map[int]uint64
	retryBy   map[int]uint64 // refusals that carried a valid Retry-After, by code
	errSample []string
	placedAt  time.Time // when placing stopped
}

func newUAC(cfg uacConfig, ep *sipEndpoint, rtp *engine) *uac {
	u := &uac{cfg: cfg, sip: ep, rtp: rtp, byCode: map[int]uint64{}, retryBy: map[int]uint64{}}
	u.dc = sipgo.NewDialogClientCache(ep.client, ep.contact)
	ep.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := u.dc.ReadBye(req, tx); err != nil {
			u.strayByes.Add(1)
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}
	})
	ep.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	return u
}

// run places calls at cfg.Rate until placeUntil, cfg.Total calls or ctx
// ends, then waits for the calls in progress (each bounded by ctx).
func (u *uac) run(ctx context.Context, placeUntil time.Time) {
	interval := time.Duration(float64(time.Second) / u.cfg.Rate)
	var sem chan struct{}
	if u.cfg.Concurrent > 0 {
		sem = make(chan struct{}, u.cfg.Concurrent)
	}
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	<-timer.C
	start := time.Now()
place:
	for i := 0; u.cfg.Total == 0 || i < u.cfg.Total; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(placeUntil) {
			break
		}
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break place
			}
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break place
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sem != nil {
				defer func() { <-sem }()
			}
			u.call(ctx, i)
		}()
	}
	u.mu.Lock()
	u.placedAt = time.Now()
	u.mu.Unlock()
	wg.Wait()
}

// call is one call: INVITE, 200, ACK, tone for Hold, BYE.
func (u *uac) call(ctx context.Context, n int) {
	u.attempted.Add(1)
	l := u.rtp.newLeg(u.cfg.RTP)
	if u.cfg.Queue {
		l.src = toneSrc(clsCaller)
		l.watch = newAudioWatch(audioClass.isOperator)
	}
	if u.cfg.Audio != nil {
		l.src = u.cfg.Audio
	}
	defer l.stop()
	body := buildSDP(u.rtp.ip, l.port(), uint64(n)+1, u.cfg.PTs)
	number := u.cfg.Number
	if len(u.cfg.Numbers) > 0 {
		number = u.cfg.Numbers[n%len(u.cfg.Numbers)]
	}
	recipient := sip.Uri{Scheme: "sip", User: number, Host: u.cfg.Target.Addr().String(), Port: int(u.cfg.Target.Port())}

	sctx, cancel := context.WithTimeoutCause(ctx, u.cfg.SetupTimeout, sipgo.WaitAnswerForceCancelErr)
	defer cancel()
	u.setups.Add(1)
	setupDone := sync.OnceFunc(func() { u.setups.Add(-1) })
	defer setupDone()
	t0 := time.Now()
	d, err := u.dc.Invite(sctx, recipient, body, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		u.failCall(sctx, n, "", err)
		return
	}
	defer d.Close()
	callID := d.InviteRequest.CallID().Value()
	if err := d.WaitAnswer(sctx, sipgo.AnswerOptions{}); err != nil {
		u.failCall(sctx, n, callID, err)
		return
	}
	setup := time.Since(t0)
	if err := d.Ack(ctx); err != nil {
		u.failCall(ctx, n, callID, err)
		return
	}
	u.answered.Add(1)
	u.active.Add(1)
	defer u.active.Add(-1)
	setupDone()
	u.mu.Lock()
	u.setup = append(u.setup, setup)
	u.mu.Unlock()

	md, err := parseSDP(d.InviteResponse.Body())
	if err == nil {
		pt, ok := pickG711(md.pts)
		if !ok {
			err = errors.New("answer has no PCMU/PCMA")
		} else {
			err = l.start(md.addr, pt)
		}
	}
	if err != nil {
		u.sdpErrors.Add(1)
		u.noteErr("answer SDP: " + err.Error())
	}

	if u.cfg.Queue {
		u.queueCall(ctx, d, l, time.Now(), n)
		return
	}
	hold := time.NewTimer(u.cfg.Hold)
	defer hold.Stop()
	select {
	case <-d.Context().Done():
		u.remoteBye.Add(1)
		return
	case <-hold.C:
	case <-ctx.Done():
	}
	l.stop()
	bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer bcancel()
	if err := d.Bye(bctx); err != nil {
		if d.Context().Err() != nil && d.LoadState() == sip.DialogStateEnded {
			u.remoteBye.Add(1) // BYE crossed the peer's
			return
		}
		u.byeFailed.Add(1)
		u.noteErr("BYE: " + err.Error())
		return
	}
	u.localBye.Add(1)
}

// failCall counts a failed setup and, in queue mode, writes its event
// (setup_failed, outcome "sip_NNN", "timeout" or "error"), so that every
// caller placed has a line in the events file.
func (u *uac) failCall(ctx context.Context, n int, callID string, err error) {
	outcome := u.fail(ctx, err)
	if u.cfg.Queue {
		u.events.write(event{Role: "caller", ID: strconv.Itoa(n + 1), Event: "setup_failed", CallID: callID, Outcome: outcome})
	}
}

// fail classifies a failed setup: a final SIP response by its code, our
// setup timeout, anything else as an error. It returns the class.
func (u *uac) fail(ctx context.Context, err error) string {
	var rp *sipgo.ErrDialogResponse
	var rv sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &rp):
		u.countCode(rp.Res)
		return "sip_" + strconv.Itoa(rp.Res.StatusCode)
	case errors.As(err, &rv):
		u.countCode(rv.Res)
		return "sip_" + strconv.Itoa(rv.Res.StatusCode)
	case errors.Is(context.Cause(ctx), sipgo.WaitAnswerForceCancelErr) || errors.Is(err, context.DeadlineExceeded):
		u.timeouts.Add(1)
		return "timeout"
	default:
		u.errs.Add(1)
		u.noteErr(err.Error())
		return "error"
	}
}

// countCode counts a final refusal by its code, and apart those that say
// when to try again (Retry-After, RFC 3261 §20.33).
func (u *uac) countCode(res *sip.Response) {
	retry := hasRetryAfter(res)
	u.mu.Lock()
	u.byCode[res.StatusCode]++
	if retry {
		u.retryBy[res.StatusCode]++
	}
	u.mu.Unlock()
}

// hasRetryAfter reports whether res carries a Retry-After whose value
// starts with delta-seconds (RFC 3261 §20.33: "Retry-After: 18000;duration=3600"
// or "120 (I'm in a meeting)").
func hasRetryAfter(res *sip.Response) bool {
	h := res.GetHeader("Retry-After")
	if h == nil {
		return false
	}
	v := strings.TrimSpace(h.Value())
	end := strings.IndexAny(v, " \t;(")
	if end < 0 {
		end = len(v)
	}
	_, err := strconv.ParseUint(v[:end], 10, 32)
	return end > 0 && err == nil
}

func (u *uac) noteErr(s string) {
	u.mu.Lock()
	if len(u.errSample) < 5 {
		u.errSample = append(u.errSample, s)
	}
	u.mu.Unlock()
}

// uacReport is the caller role's part of the report.
type uacReport struct {
	Attempted   uint64            `json:"attempted"`
	Answered    uint64            `json:"answered"`
	FailedCodes map[string]uint64 `json:"failed_by_code"`
	// RetryAfter counts, by code, the refusals that carried a valid
	// Retry-After (an overloaded appliance must say when to come back).
	RetryAfter map[string]uint64 `json:"failed_with_retry_after_by_code"`
	Failed     uint64            `json:"failed"`
	Timeouts   uint64            `json:"timeouts"`
	Errors     uint64            `json:"errors"`
	RemoteBye  uint64            `json:"remote_bye"`
	LocalBye   uint64            `json:"local_bye"`
	ByeFailed  uint64            `json:"bye_failed"`
	SDPErrors  uint64            `json:"sdp_errors"`
	// StrayByes are BYEs for no call of ours, answered 481: typically
	// the peer hanging up a call we had given up on (setup timeout).
	StrayByes   uint64         `json:"stray_byes"`
	PlaceRate   float64        `json:"placed_per_s"`
	Setup       latencySummary `json:"setup"`
	ErrorSample []string       `json:"error_sample,omitempty"`
	Queue       *queueReport   `json:"queue,omitempty"`
	RTP         rtpReport      `json:"rtp"`
}

func (u *uac) report(start time.Time) uacReport {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := uacReport{
		Attempted: u.attempted.Load(), Answered: u.answered.Load(),
		Timeouts: u.timeouts.Load(), Errors: u.errs.Load(),
		RemoteBye: u.remoteBye.Load(), LocalBye: u.localBye.Load(), ByeFailed: u.byeFailed.Load(),
		SDPErrors: u.sdpErrors.Load(), StrayByes: u.strayByes.Load(), Setup: summarize(u.setup),
		FailedCodes: map[string]uint64{}, RetryAfter: map[string]uint64{}, ErrorSample: u.errSample, Queue: u.queueReport(),
	}
	codes := make([]int, 0, len(u.byCode))
	for c := range u.byCode {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		r.FailedCodes[strconv.Itoa(c)] = u.byCode[c]
		r.Failed += u.byCode[c]
		if n := u.retryBy[c]; n > 0 {
			r.RetryAfter[strconv.Itoa(c)] = n
		}
	}
	if !u.placedAt.IsZero() {
		if s := u.placedAt.Sub(start).Seconds(); s > 0 {
			r.PlaceRate = float64(r.Attempted) / s
		}
	}
	return r
}
