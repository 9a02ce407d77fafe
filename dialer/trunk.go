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
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// Trunk dialing: outbound campaign calls go to the carrier through the
// [[trunk]]s of the configuration, over Server.Dial. Each trunk has a
// channel limit (calls ringing or answered), a calls-per-second limit
// enforced by spacing starts 1/max_cps apart (so 0.5 is one call every
// 2 s), digest credentials for the carrier's 401/407 challenge, the
// caller ID and the prefix rewriting of the number. A trunk that answers
// 5xx or nothing at all is backed off (its back-off doubling on each
// failure in a row, up to 16 times the first) and the call goes to the
// next trunk in the configured order; any other final answer (busy, no
// answer, not found) is the called number's, not the trunk's.

// trunkResponseTimeout is how long a trunk may leave an INVITE without
// any response (not even 100 Trying) before it counts as down and the
// call fails over. RFC 3261 §17.1.1.2 would wait 32 s (Timer B).
const trunkResponseTimeout = 4 * time.Second

// maxBackoffFactor caps a trunk's back-off at this multiple of its first.
const maxBackoffFactor = 16

// ErrNoTrunk is wrapped by the *DialError (code 503) of a call that no
// trunk could take: every trunk is backed off or has no channel free.
var ErrNoTrunk = errors.New("no trunk available")

// Trunks dials through the configured trunks. It is safe for concurrent
// use.
type Trunks struct {
	s       *Server
	trunks  []*trunkState
	metrics *metrics.Campaigns
	log     *slog.Logger
	now     func() time.Time
	// respTimeout is trunkResponseTimeout (tests shorten it).
	respTimeout time.Duration
}

// trunkState is one trunk's configuration and live counters.
type trunkState struct {
	cfg      config.Trunk
	password string
	interval time.Duration // 1/max_cps, 0: no limit

	mu        sync.Mutex
	inUse     int
	nextStart time.Time   // the earliest start the CPS spacing allows
	starts    []time.Time // starts of the last second
	failures  int         // failures in a row
	downUntil time.Time   // backed off until
	lastCode  int
}

// NewTrunks prepares dialing over the server's [[trunk]]s, reading
// password files now. m counts trunk channels and attempts (nil: none).
func NewTrunks(s *Server, m *metrics.Campaigns) (*Trunks, error) {
	t := &Trunks{s: s, metrics: m, log: s.log, now: time.Now, respTimeout: trunkResponseTimeout}
	for _, c := range s.cfg.Trunks {
		ts := &trunkState{cfg: c, password: c.Password}
		if c.PasswordFile != "" {
			b, err := os.ReadFile(c.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("trunk %s: password_file: %w", c.Name, err)
			}
			ts.password = strings.TrimRight(string(b), "\r\n")
		}
		if c.MaxCPS > 0 {
			ts.interval = time.Duration(float64(time.Second) / c.MaxCPS)
		}
		t.trunks = append(t.trunks, ts)
		m.TrunkChannels(c.Name, 0)
	}
	return t, nil
}

// Names returns the trunks' names in the order they are tried.
func (t *Trunks) Names() []string {
	out := make([]string, len(t.trunks))
	for i, ts := range t.trunks {
		out[i] = ts.cfg.Name
	}
	return out
}

// Has reports whether a trunk of that name is configured.
func (t *Trunks) Has(name string) bool { return t.byName(name) != nil }

func (t *Trunks) byName(name string) *trunkState {
	for _, ts := range t.trunks {
		if ts.cfg.Name == name {
			return ts
		}
	}
	return nil
}

// order returns the trunks to try: first (when named and configured),
// then the others in configured order.
func (t *Trunks) order(first string) []*trunkState {
	out := make([]*trunkState, 0, len(t.trunks))
	if ts := t.byName(first); ts != nil {
		out = append(out, ts)
	}
	for _, ts := range t.trunks {
		if ts.cfg.Name != first {
			out = append(out, ts)
		}
	}
	return out
}

// Capacity returns what the trunks tried for a campaign preferring first
// can take now, for the pacer: channels of the trunks not backed off
// (0 when one of them has no limit), those in use, the calls-per-second
// limit (0 when one has none) and the calls started in the last second.
// When every trunk is backed off, Channels is -1.
func (t *Trunks) Capacity(first string) campaigns.Trunk {
	now := t.now()
	var c campaigns.Trunk
	unlimitedCh, unlimitedCPS, up := false, false, 0
	for _, ts := range t.order(first) {
		ts.mu.Lock()
		ts.trim(now)
		c.StartedLastSecond += len(ts.starts)
		if now.Before(ts.downUntil) {
			ts.mu.Unlock()
			continue
		}
		up++
		c.InUse += ts.inUse
		if ts.cfg.MaxChannels == 0 {
			unlimitedCh = true
		}
		c.Channels += ts.cfg.MaxChannels
		if ts.cfg.MaxCPS == 0 {
			unlimitedCPS = true
		}
		c.CPS += ts.cfg.MaxCPS
		ts.mu.Unlock()
	}
	switch {
	case up == 0:
		c.Channels, c.CPS = -1, 0
	case unlimitedCh:
		c.Channels = 0
	}
	if unlimitedCPS {
		c.CPS = 0
	}
	return c
}

// Down reports whether every trunk tried for first is backed off now, and
// the last final code seen on them.
func (t *Trunks) Down(first string) (bool, int) {
	now := t.now()
	code := 0
	for _, ts := range t.order(first) {
		ts.mu.Lock()
		down := now.Before(ts.downUntil)
		if ts.lastCode != 0 {
			code = ts.lastCode
		}
		ts.mu.Unlock()
		if !down {
			return false, 0
		}
	}
	return len(t.trunks) > 0, code
}

// trim drops starts older than a second; ts.mu is held.
func (ts *trunkState) trim(now time.Time) {
	k := 0
	for _, s := range ts.starts {
		if now.Sub(s) < time.Second {
			ts.starts[k] = s
			k++
		}
	}
	ts.starts = ts.starts[:k]
}

// take reserves a channel and the next start slot the CPS spacing allows;
// it returns when the slot begins, or false when the trunk is backed off
// or full.
func (ts *trunkState) take(now time.Time) (time.Time, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if now.Before(ts.downUntil) || (ts.cfg.MaxChannels > 0 && ts.inUse >= ts.cfg.MaxChannels) {
		return time.Time{}, false
	}
	ts.inUse++
	at := now
	if ts.interval > 0 {
		if ts.nextStart.After(at) {
			at = ts.nextStart
		}
		ts.nextStart = at.Add(ts.interval)
	}
	return at, true
}

// TrunkDial is one call to place through the trunks.
type TrunkDial struct {
	// Number is the called number, E.164 ("+79123456789").
	Number string
	// Trunk is the trunk to try first (empty: the first configured).
	Trunk string
	// CallerID overrides the trunk's caller_id in From.
	CallerID string
	// RingTimeout overrides calls.ring_timeout.
	RingTimeout time.Duration
	// OnProgress sees provisional responses (see DialOptions).
	OnProgress func(code int, early *media.Leg)
	// OnInvite, when set, is called each time an INVITE is about to go
	// to a trunk (failover calls it again), with the trunk's name.
	OnInvite func(trunk string)
}

// TrunkCall is an answered call through a trunk. Hangup ends it and frees
// its channel; so does the far end's BYE.
type TrunkCall struct {
	*OutboundLeg
	// Trunk is the trunk that carried it.
	Trunk string

	release func()
}

// Hangup sends BYE (once), frees the media and the trunk's channel.
func (c *TrunkCall) Hangup(ctx context.Context) {
	c.OutboundLeg.Hangup(ctx)
	c.release()
}

// trunkFailed reports whether a dial's failure is the trunk's (5xx or no
// response at all): the next trunk is tried and this one backed off.
func trunkFailed(err error) bool {
	var de *DialError
	if !errors.As(err, &de) {
		return false
	}
	if errors.Is(err, ErrNoResponse) {
		return true
	}
	switch de.Code {
	case 500, 502, 503, 504:
		return true
	}
	return false
}

// Dial places req through the trunks: the first one that is up and has a
// channel, after waiting for its calls-per-second slot; on a 5xx or no
// response it backs that trunk off and tries the next. It returns the
// answered call, or the *DialError of the last attempt (code 503 wrapping
// ErrNoTrunk when no trunk could take it). Cancelling ctx while ringing
// sends CANCEL.
func (t *Trunks) Dial(ctx context.Context, req TrunkDial) (*TrunkCall, error) {
	var last error
	for _, ts := range t.order(req.Trunk) {
		at, ok := ts.take(t.now())
		if !ok {
			continue
		}
		name := ts.cfg.Name
		t.metrics.TrunkChannels(name, ts.channels())
		if wait := at.Sub(t.now()); wait > 0 {
			tm := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				tm.Stop()
				ts.free(t.metrics)
				return nil, &DialError{Target: name, Code: codeCancelled, Reason: "cancelled", Err: ctx.Err()}
			case <-tm.C:
			}
		}
		ts.started(t.now())
		if req.OnInvite != nil {
			req.OnInvite(name)
		}
		from := req.CallerID
		if from == "" {
			from = ts.cfg.CallerID
		}
		leg, err := t.s.Dial(ctx, ts.cfg.URI(req.Number), DialOptions{
			From: from, RingTimeout: req.RingTimeout, OnProgress: req.OnProgress, SRTP: ts.cfg.SRTP,
			Username: ts.cfg.Username, Password: ts.password, ResponseTimeout: t.respTimeout,
		})
		if err == nil {
			t.metrics.TrunkAttempt(name, 200)
			ts.result(t.now(), false, 200)
			var once sync.Once
			c := &TrunkCall{OutboundLeg: leg, Trunk: name}
			c.release = func() { once.Do(func() { ts.free(t.metrics) }) }
			go func() {
				<-leg.Done()
				c.release()
			}()
			return c, nil
		}
		code := codeLocalError
		var de *DialError
		if errors.As(err, &de) {
			code = de.Code
		}
		t.metrics.TrunkAttempt(name, code)
		ts.free(t.metrics)
		last = err
		if ctx.Err() != nil || !trunkFailed(err) {
			ts.result(t.now(), false, code)
			return nil, err
		}
		d := ts.result(t.now(), true, code)
		t.log.Warn("trunk failed: backed off", "trunk", name, attrCode, code, "backoff", d.String(), "hint", "check the trunk; calls go to the next trunk meanwhile")
	}
	if last != nil {
		return nil, last
	}
	return nil, &DialError{Target: req.Trunk, Code: 503, Reason: "no trunk available", Err: ErrNoTrunk}
}

// channels returns the channels in use.
func (ts *trunkState) channels() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.inUse
}

// started notes a start for the last-second count; a start later than
// its slot (a timer woken late) pushes the next free slot back, so that
// starts are never closer than the spacing.
func (ts *trunkState) started(now time.Time) {
	ts.mu.Lock()
	ts.trim(now)
	ts.starts = append(ts.starts, now)
	if ts.interval > 0 && ts.nextStart.Before(now.Add(ts.interval)) {
		ts.nextStart = now.Add(ts.interval)
	}
	ts.mu.Unlock()
}

// free gives a channel back.
func (ts *trunkState) free(m *metrics.Campaigns) {
	ts.mu.Lock()
	ts.inUse--
	n := ts.inUse
	ts.mu.Unlock()
	m.TrunkChannels(ts.cfg.Name, n)
}

// result records an attempt's end: a failure of the trunk backs it off
// (doubling per failure in a row) and returns the back-off; anything
// else clears its failures.
func (ts *trunkState) result(now time.Time, failed bool, code int) time.Duration {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.lastCode = code
	if !failed {
		ts.failures = 0
		return 0
	}
	ts.failures++
	f := 1 << min(ts.failures-1, 4) // 1, 2, 4, 8, 16
	d := ts.cfg.Backoff.Duration * time.Duration(min(f, maxBackoffFactor))
	ts.downUntil = now.Add(d)
	return d
}
