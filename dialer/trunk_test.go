package dialer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// campaignRTPBand returns this process's RTP range inside the campaign
// peer tests' band (32000-33999): 200 ports per slot, by PID, so that
// concurrent test binaries rarely meet (and the engine skips ports that
// another process holds).
func campaignRTPBand() (int, int) {
	base := 32000 + (os.Getpid()%10)*200
	return base, base + 199
}

// trunkRig is an appliance with trunks pointing at SIPp peers.
type trunkRig struct {
	a      *testAppliance
	trunks *Trunks
	reg    *prometheus.Registry
}

func startTrunkRig(t *testing.T, trunks ...config.Trunk) *trunkRig {
	t.Helper()
	a := startAppliance(t, nil, func(c *config.Config) {
		c.RTP.PortMin, c.RTP.PortMax = campaignRTPBand()
		c.Trunks = trunks
	})
	reg := prometheus.NewPedanticRegistry()
	tr, err := NewTrunks(a.srv, metrics.NewCampaigns(reg))
	if err != nil {
		t.Fatal(err)
	}
	return &trunkRig{a: a, trunks: tr, reg: reg}
}

// metricValue returns the value of the series of family name whose labels
// include want, and whether it exists.
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			return value(m), true
		}
	}
	return 0, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// sippTrunk starts a SIPp trunk on a free port and returns it with the
// trunk's address.
func sippTrunk(t *testing.T, scenario string, args ...string) (*peertest.SIPp, string) {
	t.Helper()
	port := peertest.FreePort(t)
	s := peertest.StartSIPp(t, scenario, append([]string{"-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(peertest.FreeMediaPort(t)), "-trace_msg"}, args...)...)
	peertest.WaitUDPBound(t, port, 30*time.Second)
	return s, "127.0.0.1:" + strconv.Itoa(port)
}

// messages returns what SIPp logged with -trace_msg so far.
func messages(t *testing.T, s *peertest.SIPp) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(s.Dir(), "*_messages.log"))
	var b strings.Builder
	for _, f := range m {
		d, _ := os.ReadFile(f)
		b.Write(d)
	}
	return b.String()
}

// The SIPp campaign trunk decides each call by the number's last digit:
// 0 live, 4 busy, 6 no answer, 8 an answering machine. Through the trunk
// they come back as an answered leg (a person: AMD says human), 486, a
// ring timeout (408, after our CANCEL) and an answered leg whose audio
// AMD finds to be a machine; the INVITEs carry the rewritten number and
// the caller ID, and the trunk metrics count each final code.
func TestTrunkOutcomesByLastDigit(t *testing.T) {
	sipp, addr := sippTrunk(t, "uas_campaign.xml", "-d", "200")
	r := startTrunkRig(t, config.Trunk{Name: "carrier", Address: addr, Transport: "udp", CallerID: "78652000000",
		StripPrefix: "+7", AddPrefix: "8", Backoff: config.Duration{Duration: time.Second}})
	ctx := context.Background()

	type outcome struct {
		number string
		code   int
		amd    media.AMDVerdict
	}
	cases := []outcome{
		{"+79123456780", 200, media.AMDHuman},
		{"+79123456784", 486, 0},
		{"+79123456786", 408, 0},
		{"+79123456788", 200, media.AMDMachine},
	}
	var wg sync.WaitGroup
	errs := make([]string, len(cases))
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call, err := r.trunks.Dial(ctx, TrunkDial{Number: c.number, RingTimeout: 1500 * time.Millisecond})
			if c.code != 200 {
				var de *DialError
				if !errors.As(err, &de) || de.Code != c.code {
					errs[i] = fmt.Sprintf("Dial(%s) = %v, want a DialError with code %d", c.number, err, c.code)
				}
				return
			}
			if err != nil {
				errs[i] = fmt.Sprintf("Dial(%s) = %v, want answered", c.number, err)
				return
			}
			defer call.Hangup(ctx)
			if call.Trunk != "carrier" {
				errs[i] = fmt.Sprintf("Dial(%s) went through %q, want carrier", c.number, call.Trunk)
			}
			res, err := r.a.srv.engine.DetectMachine(ctx, call.Leg(), media.AMDConfig{})
			if err != nil || res.Verdict != c.amd {
				errs[i] = fmt.Sprintf("AMD on %s = %v (%s), %v; want %v", c.number, res.Verdict, res.Reason, err, c.amd)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
	sipp.Stop()
	msgs := messages(t, sipp)
	for _, c := range cases {
		want := "INVITE sip:8" + strings.TrimPrefix(c.number, "+7") + "@"
		if !strings.Contains(msgs, want) {
			t.Errorf("trunk got no %q (prefix +7 rewritten to 8)", want)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^From: <sip:78652000000@`).FindAllString(msgs, -1)); n < len(cases) {
		t.Errorf("trunk saw From: <sip:78652000000@ in %d messages, want the caller ID in all %d INVITEs", n, len(cases))
	}
	for code, n := range map[string]float64{"200": 2, "486": 1, "408": 1} {
		if got, _ := metricValue(t, r.reg, "obzvon_trunk_attempts_total", map[string]string{"trunk": "carrier", "code": code}); got != n {
			t.Errorf("obzvon_trunk_attempts_total{trunk=carrier,code=%s} = %v, want %v", code, got, n)
		}
	}
	if got, ok := metricValue(t, r.reg, "obzvon_trunk_channels", map[string]string{"trunk": "carrier"}); !ok || got != 0 {
		t.Errorf("obzvon_trunk_channels{trunk=carrier} = %v (present %v), want 0 once every call ended", got, ok)
	}
}

// A trunk answering 503 is backed off and the call fails over to the
// next trunk; while it is backed off, calls go to the next trunk at once.
func TestTrunkFailoverOn503(t *testing.T) {
	bad, badAddr := sippTrunk(t, "uas_trunk_503.xml")
	good, goodAddr := sippTrunk(t, "uas_campaign.xml")
	r := startTrunkRig(t,
		config.Trunk{Name: "first", Address: badAddr, Transport: "udp", Backoff: config.Duration{Duration: time.Minute}},
		config.Trunk{Name: "second", Address: goodAddr, Transport: "udp", Backoff: config.Duration{Duration: time.Minute}})
	ctx := context.Background()
	var invited []string
	for i := range 2 {
		call, err := r.trunks.Dial(ctx, TrunkDial{Number: "+79123456780", OnInvite: func(tr string) { invited = append(invited, tr) }})
		if err != nil {
			t.Fatalf("call %d: Dial = %v, want answered by the second trunk", i, err)
		}
		if call.Trunk != "second" {
			t.Errorf("call %d answered through %q, want second", i, call.Trunk)
		}
		call.Hangup(ctx)
	}
	if want := []string{"first", "second", "second"}; strings.Join(invited, ",") != strings.Join(want, ",") {
		t.Errorf("INVITEs went to %v, want %v (the 503 trunk backed off after its first)", invited, want)
	}
	if down, _ := r.trunks.Down("first"); down {
		t.Error("Down(first) = true, want false: the second trunk is up")
	}
	if c := r.trunks.Capacity("first"); c.Channels != 0 {
		t.Errorf("Capacity = %+v, want the second trunk's (no channel limit)", c)
	}
	bad.Stop()
	good.Stop()
	if got, _ := metricValue(t, r.reg, "obzvon_trunk_attempts_total", map[string]string{"trunk": "first", "code": "503"}); got != 1 {
		t.Errorf("obzvon_trunk_attempts_total{first,503} = %v, want 1", got)
	}
	if got, _ := metricValue(t, r.reg, "obzvon_trunk_attempts_total", map[string]string{"trunk": "second", "code": "200"}); got != 2 {
		t.Errorf("obzvon_trunk_attempts_total{second,200} = %v, want 2", got)
	}
}

// With only a 503 trunk, the call fails with 503 and the trunk is down:
// the next call is refused at once (ErrNoTrunk) without an INVITE.
func TestTrunkAll503IsDown(t *testing.T) {
	bad, addr := sippTrunk(t, "uas_trunk_503.xml")
	r := startTrunkRig(t, config.Trunk{Name: "only", Address: addr, Transport: "udp", Backoff: config.Duration{Duration: time.Minute}})
	ctx := context.Background()
	_, err := r.trunks.Dial(ctx, TrunkDial{Number: "+79123456780"})
	var de *DialError
	if !errors.As(err, &de) || de.Code != 503 {
		t.Fatalf("Dial = %v, want the trunk's 503", err)
	}
	if down, code := r.trunks.Down(""); !down || code != 503 {
		t.Errorf("Down = %v, %d; want true, 503", down, code)
	}
	_, err = r.trunks.Dial(ctx, TrunkDial{Number: "+79123456780"})
	if !errors.Is(err, ErrNoTrunk) {
		t.Errorf("second Dial = %v, want ErrNoTrunk (trunk backed off)", err)
	}
	bad.Stop()
	if n := strings.Count(messages(t, bad), "INVITE sip:"); n != 1 {
		t.Errorf("the 503 trunk got %d INVITEs, want 1", n)
	}
}

// A trunk that never answers (a socket that swallows everything) fails
// over after the response timeout, not after the ring timeout.
func TestTrunkFailoverOnNoResponse(t *testing.T) {
	hole, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	good, goodAddr := sippTrunk(t, "uas_campaign.xml")
	r := startTrunkRig(t,
		config.Trunk{Name: "dead", Address: hole.LocalAddr().String(), Transport: "udp"},
		config.Trunk{Name: "alive", Address: goodAddr, Transport: "udp"})
	r.trunks.respTimeout = 500 * time.Millisecond
	ctx := context.Background()
	call, err := r.trunks.Dial(ctx, TrunkDial{Number: "+79123456781", RingTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("Dial = %v, want answered by the live trunk", err)
	}
	if call.Trunk != "alive" {
		t.Errorf("answered through %q, want alive", call.Trunk)
	}
	call.Hangup(ctx)
	good.Stop()
	if got, _ := metricValue(t, r.reg, "obzvon_trunk_attempts_total", map[string]string{"trunk": "dead", "code": "408"}); got != 1 {
		t.Errorf("obzvon_trunk_attempts_total{dead,408} = %v, want 1 (no response)", got)
	}
}

// A carrier that challenges with 401 gets the trunk's digest credentials;
// a wrong password is refused (403) and that is the call's answer, not a
// trunk failure.
func TestTrunkDigestAuth(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		code           int
	}{{"right", "s3cret-trunk", 200}, {"wrong", "guess", 403}} {
		t.Run(tc.name, func(t *testing.T) {
			sipp, addr := sippTrunk(t, "uas_trunk_auth.xml", "-key", "user", "obzvon01", "-key", "pass", "s3cret-trunk",
				"-key", "realm", "carrier.test", "-m", "1")
			r := startTrunkRig(t, config.Trunk{Name: "carrier", Address: addr, Transport: "udp",
				Username: "obzvon01", Password: tc.password})
			ctx := context.Background()
			call, err := r.trunks.Dial(ctx, TrunkDial{Number: "+79123456780"})
			if tc.code == 200 {
				if err != nil {
					t.Fatalf("Dial = %v, want answered after the 401 challenge", err)
				}
				call.Hangup(ctx)
				if code := sipp.Wait(15 * time.Second); code != 0 {
					t.Errorf("trunk sipp exit %d, want 0; %s", code, sipp.Logs())
				}
				if m := messages(t, sipp); !strings.Contains(m, `Authorization: Digest username="obzvon01"`) {
					t.Errorf("no INVITE with the trunk's digest credentials in:\n%s", m)
				}
				return
			}
			var de *DialError
			if !errors.As(err, &de) || de.Code != tc.code {
				t.Fatalf("Dial = %v, want %d", err, tc.code)
			}
			if down, _ := r.trunks.Down(""); down {
				t.Error("a 403 backed the trunk off; it is the call's answer")
			}
		})
	}
}

// max_channels bounds calls in progress: with both channels taken by
// answered calls a third dial is refused at once; max_cps spaces the
// starts 1/max_cps apart (0.5: one every 2 s).
func TestTrunkChannelsAndCPS(t *testing.T) {
	sipp, addr := sippTrunk(t, "uas_campaign.xml")
	r := startTrunkRig(t, config.Trunk{Name: "small", Address: addr, Transport: "udp", MaxChannels: 2, MaxCPS: 4})
	ctx := context.Background()
	var mu sync.Mutex
	var starts []time.Time
	onInvite := func(string) { mu.Lock(); starts = append(starts, time.Now()); mu.Unlock() }
	var calls []*TrunkCall
	for range 2 {
		c, err := r.trunks.Dial(ctx, TrunkDial{Number: "+79123456782", OnInvite: onInvite})
		if err != nil {
			t.Fatalf("Dial = %v", err)
		}
		calls = append(calls, c)
	}
	if got, _ := metricValue(t, r.reg, "obzvon_trunk_channels", map[string]string{"trunk": "small"}); got != 2 {
		t.Errorf("obzvon_trunk_channels = %v with two calls up, want 2", got)
	}
	if c := r.trunks.Capacity(""); c.Channels != 2 || c.InUse != 2 || c.CPS != 4 {
		t.Errorf("Capacity = %+v, want 2 channels, 2 in use, 4 cps", c)
	}
	if _, err := r.trunks.Dial(ctx, TrunkDial{Number: "+79123456782"}); !errors.Is(err, ErrNoTrunk) {
		t.Errorf("third Dial = %v, want ErrNoTrunk (channels full)", err)
	}
	for _, c := range calls {
		c.Hangup(ctx)
	}
	c, err := r.trunks.Dial(ctx, TrunkDial{Number: "+79123456782", OnInvite: onInvite})
	if err != nil {
		t.Fatalf("Dial after hang-up = %v, want a free channel", err)
	}
	c.Hangup(ctx)
	sipp.Stop()
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 250*time.Millisecond {
			t.Errorf("start %d came %v after the one before, want >= 250 ms (max_cps 4)", i, gap)
		}
	}
}

// The CPS spacing and the back-off, on an injected clock.
func TestTrunkSpacingAndBackoff(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ts := &trunkState{cfg: config.Trunk{Name: "x", MaxCPS: 0.5, MaxChannels: 3, Backoff: config.Duration{Duration: 5 * time.Second}},
		interval: 2 * time.Second}
	var got []time.Duration
	for range 3 {
		at, ok := ts.take(t0)
		if !ok {
			t.Fatal("take refused a free trunk")
		}
		got = append(got, at.Sub(t0))
	}
	if want := []time.Duration{0, 2 * time.Second, 4 * time.Second}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("slots at max_cps 0.5 = %v, want %v", got, want)
	}
	if _, ok := ts.take(t0); ok {
		t.Error("take gave a fourth channel of three")
	}
	var backoffs []time.Duration
	for range 6 {
		backoffs = append(backoffs, ts.result(t0, true, 503))
	}
	if want := "[5s 10s 20s 40s 1m20s 1m20s]"; fmt.Sprint(backoffs) != want {
		t.Errorf("back-offs = %v, want %s (doubling, capped at 16x)", backoffs, want)
	}
	ts.inUse = 0
	if _, ok := ts.take(t0.Add(79 * time.Second)); ok {
		t.Error("take during the back-off succeeded")
	}
	if _, ok := ts.take(t0.Add(81 * time.Second)); !ok {
		t.Error("take after the back-off failed")
	}
	ts.result(t0, false, 200)
	if d := ts.result(t0, true, 503); d != 5*time.Second {
		t.Errorf("back-off after a success = %v, want 5s again", d)
	}
}
