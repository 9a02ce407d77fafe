package dialer

// The inbound ACD with real peers: baresip operators on session legs (or
// ring mode), SIPp callers, and a test phone made of a second dialer and
// media engine that records what a caller hears.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// acdEnv is an appliance with the ACD, its operators' accounts and a
// copy of every ACD event.
type acdEnv struct {
	*testAppliance
	desk *Desk
	reg  *prometheus.Registry

	mu     sync.Mutex
	events []acd.Event
	notify chan struct{}
}

// acdPorts returns a 160-port RTP range in the ACD tests' band
// (30000–33999), apart per process and per use within it.
func acdPorts(slot int) (int, int) {
	base := 30000 + ((os.Getpid()%12)*2+slot)*160
	return base, base + 159
}

type operator struct {
	login, ext, secret string
	level              int
	queues             []string
}

func ops(n int, queues ...string) []operator {
	var out []operator
	for i := 1; i <= n; i++ {
		out = append(out, operator{login: fmt.Sprintf("op%d", i), ext: strconv.Itoa(1000 + i),
			secret: fmt.Sprintf("tq8Vz-3nRw-%d", i*7919), level: 1, queues: queues})
	}
	return out
}

// startACD starts an appliance whose route 8800 queues callers in "main"
// (and 8801 in "l2"), with accounts for operators.
func startACD(t *testing.T, operators []operator, tweak func(*config.Config)) *acdEnv {
	t.Helper()
	e := &acdEnv{reg: prometheus.NewPedanticRegistry(), notify: make(chan struct{}, 1)}
	routes := []config.Route{
		{Name: "in", Match: "8800", Action: config.ActionQueue, Queue: "main"},
		{Name: "in2", Match: "8801", Action: config.ActionQueue, Queue: "l2"},
		{Name: "agent", Match: "1XXX", Action: config.ActionDial, Target: "reg:${number}"},
	}
	desk := &DeskOptions{Metrics: metrics.NewACD(e.reg), OnEvent: e.record}
	e.testAppliance = startApplianceDesk(t, routes, desk, func(c *config.Config) {
		c.RTP.PortMin, c.RTP.PortMax = acdPorts(0)
		c.Queues = []config.Queue{
			{Name: "main", WrapUp: config.Duration{Duration: time.Second}, ServiceLevel: "80/20", MaxWait: config.Duration{Duration: 2 * time.Minute},
				Overflow: "message"},
			{Name: "l2", WrapUp: config.Duration{Duration: time.Second}},
		}
		c.ACD.SessionRingTimeout = config.Duration{Duration: 10 * time.Second}
		c.ACD.RingTimeout = config.Duration{Duration: 3 * time.Second}
		c.ACD.AgentRTPTimeout = config.Duration{Duration: 3 * time.Second}
		if tweak != nil {
			tweak(c)
		}
	}, func(jr *journal.Journal) {
		admin := journal.Actor{Login: "root", Role: journal.RoleAdmin}
		for _, o := range operators {
			role := journal.RoleOperatorL1
			if o.level == 2 {
				role = journal.RoleOperatorL2
			}
			if _, err := jr.AddAccount(context.Background(), admin, journal.NewAccount{Login: o.login, DisplayName: "Оператор " + o.login,
				Roles: []journal.Role{role}, Extension: o.ext, Queues: o.queues, SIPRealm: "obzvon", SIPSecret: o.secret}); err != nil {
				t.Fatal(err)
			}
		}
	})
	e.desk = e.srv.Desk()
	return e
}

func (e *acdEnv) record(ev acd.Event) {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	select {
	case e.notify <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds, re-checking whenever an ACD event
// arrives (and every 50 ms, for states that change without one).
func (e *acdEnv) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-e.notify:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

func (e *acdEnv) eventsOf(kind acd.EventKind) []acd.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []acd.Event
	for _, ev := range e.events {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func (e *acdEnv) state(login string) acd.State { return e.desk.Agent(login).State }

// startOperators registers a baresip per operator and starts their work.
func (e *acdEnv) startOperators(t *testing.T, operators []operator, delivery acd.Delivery, mic int) map[string]*peertest.Baresip {
	t.Helper()
	phones := map[string]*peertest.Baresip{}
	for _, o := range operators {
		phones[o.login] = peertest.StartBaresip(t, peertest.BaresipOptions{User: o.ext, Password: o.secret,
			Registrar: e.target(), MicSeconds: mic})
	}
	for _, o := range operators {
		e.waitFor(t, 20*time.Second, o.login+" registered", func() bool { return len(e.srv.Registrar().Lookup(o.login)) > 0 })
		if err := e.desk.StartWork(context.Background(), o.login, delivery); err != nil {
			t.Fatalf("StartWork(%s) = %v", o.login, err)
		}
	}
	for _, o := range operators {
		e.waitFor(t, 20*time.Second, o.login+" ready", func() bool { return e.state(o.login) == acd.StateReady })
	}
	return phones
}

// TestACDTenCallersThreeOperators: three baresip operators on session
// legs take ten SIPp callers who call at once. Each operator ends each
// call from the desktop after a short talk; every caller reaches an
// operator, audio passes both ways, and the journal's events, call
// records and /metrics agree.
func TestACDTenCallersThreeOperators(t *testing.T) {
	operators := ops(3, "main")
	e := startACD(t, operators, nil)
	phones := e.startOperators(t, operators, acd.DeliverySession, 120)

	// Operators end each call 1.5 s after it connects ("завершить звонок").
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		seen := map[string]bool{}
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, ev := range e.eventsOf(acd.EventConnect) {
				if seen[ev.Call] || time.Since(ev.Time) < 1500*time.Millisecond {
					continue
				}
				seen[ev.Call] = true
				if err := e.desk.HangupCall(ev.Agent); err != nil {
					t.Errorf("HangupCall(%s) for %s: %v", ev.Agent, ev.Call, err)
				}
			}
		}
	}()

	callers := peertest.StartSIPp(t, "uac_inbound.xml", e.target(), "-s", "8800", "-d", "60000",
		"-m", "10", "-r", "10", "-l", "10", "-timeout", "60s",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := callers.Wait(60 * time.Second); code != 0 {
		t.Fatalf("callers exit %d:\n%s\n%s", code, callers.Output(), callers.Logs())
	}
	calls := e.waitCalls(t, 10)
	for _, o := range operators {
		e.waitFor(t, 10*time.Second, o.login+" ready after wrap-up", func() bool { return e.state(o.login) == acd.StateReady })
	}

	served := map[string]int{}
	for _, c := range calls {
		if c.Queue != "main" || c.QueueResult != metrics.QueueAnswered || len(c.Agents) != 1 {
			t.Errorf("call %s: queue %q result %q agents %+v; want answered by one operator", c.ID, c.Queue, c.QueueResult, c.Agents)
			continue
		}
		a := c.Agents[0]
		served[a.Login]++
		if a.EndedBy != hangupAgent || c.HangupBy != hangupAgent {
			t.Errorf("call %s ended by %q/%q, want the operator", c.ID, a.EndedBy, c.HangupBy)
		}
		if !c.QueueEntered.Before(a.Connected) || !a.Connected.Before(a.Ended) || a.Ended.After(c.Ended) {
			t.Errorf("call %s: times out of order: entered %v connected %v ended %v record ended %v", c.ID, c.QueueEntered, a.Connected, a.Ended, c.Ended)
		}
		if w := a.Connected.Sub(c.QueueEntered).Milliseconds(); c.WaitMillis < w-5 || c.WaitMillis > w+5 {
			t.Errorf("call %s: wait %d ms, want %d", c.ID, c.WaitMillis, w)
		}
		wav := peertest.ReadStereoWAV(t, c.Recording)
		if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 40 {
			t.Errorf("call %s left (caller): 1 kHz share %.2f over %d blocks, want the caller's tone", c.ID, share, n)
		}
		if share, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); share > 0.3 || n < 30 {
			t.Errorf("call %s right (operator): 1 kHz share %.2f over %d blocks, want the operator's speech", c.ID, share, n)
		}
	}
	if len(served) != 3 {
		t.Errorf("calls per operator %v: want all three operators used", served)
	}

	// The journal's events: ten enters, ten connects, ten completes, each
	// call's in order with the times of its record.
	var stored []acd.Event
	err := e.journal.Events(context.Background(), ACDStream, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), func(ev journal.Event) error {
		var a acd.Event
		if err := json.Unmarshal(ev.Data, &a); err != nil {
			return err
		}
		stored = append(stored, a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	count := map[acd.EventKind]int{}
	byCall := map[string][]acd.Event{}
	for _, ev := range stored {
		count[ev.Kind]++
		if ev.Call != "" {
			byCall[ev.Call] = append(byCall[ev.Call], ev)
		}
	}
	if count[acd.EventEnter] != 10 || count[acd.EventConnect] != 10 || count[acd.EventComplete] != 10 || count[acd.EventAbandon] != 0 {
		t.Errorf("stored events %v; want 10 enter, 10 connect, 10 complete", count)
	}
	for _, c := range calls {
		evs := byCall[c.ID]
		var kinds []string
		for _, ev := range evs {
			kinds = append(kinds, ev.Kind.String())
		}
		if fmt.Sprint(kinds) != "[enter offer connect complete]" {
			t.Errorf("call %s events %v", c.ID, kinds)
			continue
		}
		if d := evs[2].Time.Sub(c.Agents[0].Connected); d < -50*time.Millisecond || d > 50*time.Millisecond {
			t.Errorf("call %s: connect event at %v, record says %v", c.ID, evs[2].Time, c.Agents[0].Connected)
		}
	}

	// /metrics agrees with the journal.
	if got := testutil.ToFloat64(e.metric(t, "obzvon_queue_calls_total", "main", "answered")); got != 10 {
		t.Errorf("obzvon_queue_calls_total{main,answered} = %v, want 10", got)
	}
	inSL := 0
	for _, c := range calls {
		if c.WaitMillis <= 20000 {
			inSL++
		}
	}
	if got, want := e.gauge(t, "obzvon_queue_service_level_ratio", "main"), float64(inSL)/10; math.Abs(got-want) > 1e-9 {
		t.Errorf("service level %v, want %v from the records", got, want)
	}
	if got := e.gauge(t, "obzvon_queue_waiting", "main"); got != 0 {
		t.Errorf("waiting = %v", got)
	}
	if got := e.gauge(t, "obzvon_agents", "ready"); got != 3 {
		t.Errorf("obzvon_agents{ready} = %v, want 3", got)
	}
	if n := testutil.CollectAndCount(e.reg, "obzvon_queue_wait_seconds"); n != 2 {
		t.Errorf("obzvon_queue_wait_seconds series = %d, want 2 (main, l2)", n)
	}
	if problems, err := testutil.GatherAndLint(e.reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	// The appliance timed each connect onto a session leg, from the
	// offer to the first customer packet it sent to the phone.
	if n, sum := e.histogram(t, "obzvon_acd_connect_seconds", ""); n != 10 || sum <= 0 {
		t.Errorf("obzvon_acd_connect_seconds: %d connects, %v s in all; want the 10, each taking some time", n, sum)
	}
	for _, st := range []string{metrics.ConnectSwitch, metrics.ConnectSource, metrics.ConnectRead, metrics.ConnectSend} {
		if n, _ := e.histogram(t, "obzvon_acd_connect_stage_seconds", st); n != 10 {
			t.Errorf("obzvon_acd_connect_stage_seconds{stage=%q}: %d observations, want 10", st, n)
		}
	}

	// What the operators heard: the callers' tone, on their session legs.
	for login, ph := range phones {
		ph.Stop()
		heard, _ := ph.Recordings()
		if len(heard) != 1 {
			t.Errorf("%s: %d recordings of what it heard, want 1 (one session leg)", login, len(heard))
			continue
		}
		x, rate := peertest.ReadMonoWAV(t, heard[0])
		if share, n := peertest.ToneShare(x, rate, 1000); share < 0.9 || n < 40 {
			t.Errorf("%s heard: 1 kHz share %.2f over %d blocks, want the callers' tone", login, share, n)
		}
	}
}

func (e *acdEnv) metric(t *testing.T, name string, labels ...string) prometheus.Collector {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i, lp := range m.GetLabel() {
				if i < len(labels) && lp.GetValue() != labels[i] {
					continue next
				}
			}
			v := m.GetCounter().GetValue()
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return v })
		}
	}
	t.Fatalf("no %s%v in the exposition", name, labels)
	return nil
}

// histogram returns the sample count and sum of histogram name (with
// its only label equal to label, when label is set).
func (e *acdEnv) histogram(t *testing.T, name, label string) (uint64, float64) {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
		}
	}
	t.Fatalf("no %s{%s} in the exposition", name, label)
	return 0, 0
}

func (e *acdEnv) gauge(t *testing.T, name string, label string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s} in the exposition", name, label)
	return 0
}

// testPhone is a caller made of a second dialer and media engine: it
// calls the appliance, sends a tone and records what it hears (left
// channel of Recording).
type testPhone struct {
	srv    *Server
	engine *media.Engine
	out    *OutboundLeg
	rec    *media.Recorder
	bridge *media.Bridge
	sink   *media.Leg
	stop   context.CancelFunc
	played chan struct{}
	path   string
}

func newPhoneServer(t *testing.T) (*Server, *media.Engine) {
	t.Helper()
	cfg := config.Default()
	cfg.SIP.Port = peertest.FreePort(t)
	cfg.Data.Dir = t.TempDir()
	cfg.RTP.PortMin, cfg.RTP.PortMax = acdPorts(1)
	cfg.Routes, cfg.Queues = nil, nil
	cfg.Calls.RingTimeout = config.Duration{Duration: 20 * time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	engine, err := media.NewEngine(media.EngineConfig{IP: netip.MustParseAddr("127.0.0.1"),
		PortMin: cfg.RTP.PortMin, PortMax: cfg.RTP.PortMax, RecordDir: cfg.Data.RecordingsDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	srv, err := New(Options{Config: cfg, Engine: engine, Prompts: map[string]*media.Prompt{},
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, engine
}

// call dials number at the appliance from caller id from; the phone sends
// a tone of freq Hz until hung up.
func (e *acdEnv) call(t *testing.T, srv *Server, engine *media.Engine, number, from string, freq float64) *testPhone {
	t.Helper()
	out, err := srv.Dial(context.Background(), "sip:"+number+"@"+e.target(), DialOptions{From: from})
	if err != nil {
		var de *DialError
		if errors.As(err, &de) {
			err = fmt.Errorf("%v: %v", err, de.Err)
		}
		t.Fatalf("test phone: dial %s: %v", number, err)
	}
	p := &testPhone{srv: srv, engine: engine, out: out, played: make(chan struct{})}
	// A sink leg that only receives the bridge's copy: the recorder's left
	// channel is what the phone heard.
	sink, err := engine.NewLeg()
	if err != nil {
		t.Fatal(err)
	}
	discard, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { discard.Close() })
	if err := sink.Start(media.LegParams{Remote: discard.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: media.PCMU}); err != nil {
		t.Fatal(err)
	}
	p.sink = sink
	p.path = filepath.Join(t.TempDir(), from+".wav")
	if p.rec, err = media.NewRecorder(p.path); err != nil {
		t.Fatal(err)
	}
	if p.bridge, err = engine.Connect(out.Leg(), sink, p.rec); err != nil {
		t.Fatal(err)
	}
	tone, err := media.ParsePrompt("tone", toneWAV(freq, 2))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go func() {
		defer close(p.played)
		for ctx.Err() == nil {
			if err := engine.Play(ctx, out.Leg(), tone); err != nil {
				return
			}
		}
	}()
	t.Cleanup(p.hangup)
	return p
}

// hangup ends the phone's call (if still up) and closes the recording.
func (p *testPhone) hangup() {
	p.stop()
	<-p.played
	p.out.Hangup(context.Background())
	p.bridge.Disconnect()
	p.sink.Close()
	p.rec.Close()
}

// heard returns what the phone heard so far (closes the recording).
func (p *testPhone) heard(t *testing.T) []float64 {
	t.Helper()
	p.hangup()
	return peertest.ReadStereoWAV(t, p.path).Left
}

// toneWAV is a WAV (8 kHz, 16-bit, mono) of a sine at freq for seconds.
func toneWAV(freq float64, seconds int) []byte {
	n := 8000 * seconds
	b := make([]byte, 44, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		v := int16(12000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

// promptPCM is what a caller hears of a prompt: its samples through
// µ-law and back.
func promptPCM(t *testing.T, name string) []float64 {
	t.Helper()
	p, err := media.LoadPrompt(filepath.Join("..", "prompts", "ru", name+".wav"))
	if err != nil {
		t.Fatal(err)
	}
	ulaw := p.Frames(media.PCMU)
	pcm := media.Decode(nil, ulaw, media.PCMU)
	out := make([]float64, len(pcm))
	for i, v := range pcm {
		out[i] = float64(v) / 32768
	}
	return out
}

// contains reports whether x holds the samples of want exactly (within
// one quantum), somewhere: a prompt the phone heard bit for bit.
func containsSamples(x, want []float64) bool {
	if len(want) == 0 || len(x) < len(want) {
		return false
	}
	// Anchor on the first loud sample of want.
	k := 0
	for k < len(want) && math.Abs(want[k]) < 0.05 {
		k++
	}
	if k == len(want) {
		return false
	}
	for i := k; i+len(want)-k <= len(x); i++ {
		if math.Abs(x[i]-want[k]) > 1e-4 {
			continue
		}
		ok := true
		for j := k; j < len(want); j++ {
			if math.Abs(x[i-k+j]-want[j]) > 1e-4 {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestACDAnnouncementOverflowAndCallerHangsUp: with the one operator
// paused, callers wait: the second hears its position announced ("Ваш
// номер в очереди: два") and the estimated wait; a caller past the
// queue's maximum wait hears the overflow message and is hung up; then
// the operator comes back, takes the first caller, the caller hangs up
// first and the operator is ready again after wrap-up.
func TestACDAnnouncementOverflowAndCallerHangsUp(t *testing.T) {
	operators := ops(1, "main")
	e := startACD(t, operators, func(c *config.Config) {
		q := &c.Queues[0]
		q.AnnouncePosition, q.AnnounceWait = true, true
		q.AnnounceEvery = config.Duration{Duration: 10 * time.Second}
		q.MaxWait = config.Duration{Duration: 12 * time.Second}
		q.Greeting = "queue-greeting"
		q.WrapUp = config.Duration{Duration: 2 * time.Second}
	})
	e.startOperators(t, operators, acd.DeliverySession, 120)
	if err := e.desk.Pause("op1", "обед"); err != nil {
		t.Fatal(err)
	}
	phoneSrv, phoneEngine := newPhoneServer(t)
	first := e.call(t, phoneSrv, phoneEngine, "8800", "79001110001", 700)
	e.waitFor(t, 10*time.Second, "first caller queued", func() bool { return len(e.eventsOf(acd.EventEnter)) == 1 })
	second := e.call(t, phoneSrv, phoneEngine, "8800", "79001110002", 700)
	e.waitFor(t, 10*time.Second, "second caller queued", func() bool { return len(e.eventsOf(acd.EventEnter)) == 2 })

	// The second caller hears its position (two) after the greeting
	// (about 5 s); the operator comes back at 8 s and takes the first
	// caller; the second waits on until the 12 s maximum.
	e.waitFor(t, 12*time.Second, "8 s of waiting", func() bool {
		return time.Since(e.eventsOf(acd.EventEnter)[0].Time) > 8*time.Second
	})
	if err := e.desk.Ready("op1"); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 5*time.Second, "first caller connected", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	if c := e.eventsOf(acd.EventConnect)[0]; c.Agent != "op1" {
		t.Fatalf("connect %+v", c)
	}
	// The second caller times out and gets the overflow message.
	e.waitFor(t, 15*time.Second, "second caller overflowed", func() bool { return len(e.eventsOf(acd.EventTimeout)) == 1 })
	e.waitFor(t, 15*time.Second, "second caller hung up", func() bool {
		select {
		case <-second.out.Done():
			return true
		default:
			return false
		}
	})
	heard2 := second.heard(t)
	// The greeting starts with the answer, before the phone's recorder is
	// connected: look for all of it but its first half second.
	if !containsSamples(heard2, promptPCM(t, "queue-greeting")[4000:]) {
		t.Errorf("second caller did not hear the greeting")
	}
	for _, p := range []string{"queue-position", "n2", "queue-overflow"} {
		if !containsSamples(heard2, promptPCM(t, p)) {
			t.Errorf("second caller did not hear prompt %q", p)
		}
	}
	if containsSamples(heard2, promptPCM(t, "n1")) {
		t.Errorf("second caller heard position one")
	}
	// The first caller hangs up while talking; op1 wraps up, then is ready.
	first.hangup()
	e.waitFor(t, 5*time.Second, "op1 in wrap-up", func() bool { return e.state("op1") == acd.StateWrapUp })
	e.waitFor(t, 5*time.Second, "op1 ready after wrap-up", func() bool { return e.state("op1") == acd.StateReady })
	states := e.eventsOf(acd.EventAgentState)
	last := states[len(states)-2:]
	if last[0].State != acd.StateWrapUp || last[1].State != acd.StateReady || last[1].Time.Sub(last[0].Time) < 2*time.Second {
		t.Errorf("op1's last states %+v: want wrap_up then ready 2 s later", last)
	}

	calls := e.waitCalls(t, 2)
	byFrom := map[string]journal.CallRecord{}
	for _, c := range calls {
		byFrom[c.From] = c
	}
	if c := byFrom["79001110001"]; c.QueueResult != metrics.QueueAnswered || c.HangupBy != hangupCaller || len(c.Agents) != 1 || c.Agents[0].EndedBy != hangupCaller {
		t.Errorf("first call: result %q hangup %q agents %+v", c.QueueResult, c.HangupBy, c.Agents)
	}
	if c := byFrom["79001110002"]; c.QueueResult != metrics.QueueTimeout || len(c.Agents) != 0 || c.WaitMillis < 12000 {
		t.Errorf("second call: result %q agents %+v wait %d ms; want timeout after 12 s", c.QueueResult, c.Agents, c.WaitMillis)
	}
	if got := testutil.ToFloat64(e.metric(t, "obzvon_queue_calls_total", "main", "timeout")); got != 1 {
		t.Errorf("timeouts = %v", got)
	}
}

// TestACDOperatorKilledMidCall: the operator's phone dies mid-call (no
// BYE): its RTP stops, the operator is logged out, and the caller goes
// back to the head of the queue and reaches the other operator.
func TestACDOperatorKilledMidCall(t *testing.T) {
	operators := ops(2, "main")
	e := startACD(t, operators, nil)
	phones := e.startOperators(t, operators, acd.DeliverySession, 120)
	if err := e.desk.Pause("op2", "обучение"); err != nil {
		t.Fatal(err)
	}
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79002220001", 700)
	e.waitFor(t, 10*time.Second, "connected to op1", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	if a := e.eventsOf(acd.EventConnect)[0].Agent; a != "op1" {
		t.Fatalf("connected to %s", a)
	}
	if err := e.desk.Ready("op2"); err != nil {
		t.Fatal(err)
	}
	phones["op1"].Kill()
	e.waitFor(t, 15*time.Second, "requeued and connected to op2", func() bool {
		c := e.eventsOf(acd.EventConnect)
		return len(c) == 2 && c[1].Agent == "op2"
	})
	if got := e.state("op1"); got != acd.StateLoggedOut {
		t.Errorf("op1 after its phone died: %v, want logged_out", got)
	}
	if rq := e.eventsOf(acd.EventRequeue); len(rq) != 1 || rq[0].Agent != "op1" {
		t.Errorf("requeue events %+v", rq)
	}
	// Talk a little with op2, then hang up; the caller heard both
	// operators' speech (the prompt baresip sends), never silence only.
	e.waitFor(t, 5*time.Second, "a second with op2", func() bool { return time.Since(e.eventsOf(acd.EventConnect)[1].Time) > time.Second })
	caller.hangup()
	calls := e.waitCalls(t, 1)
	c := calls[0]
	if len(c.Agents) != 2 || c.Agents[0].Login != "op1" || c.Agents[0].EndedBy != "agent gone" || c.Agents[1].Login != "op2" {
		t.Fatalf("agents of the call: %+v", c.Agents)
	}
	if c.QueueResult != metrics.QueueAnswered {
		t.Errorf("queue result %q", c.QueueResult)
	}
	wav := peertest.ReadStereoWAV(t, c.Recording)
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 700); share < 0.9 || n < 50 {
		t.Errorf("recording left: 700 Hz share %.2f over %d blocks", share, n)
	}
}

// TestACDRingModeNoAnswerPauses: in ring mode each call rings the
// operator's phone; a phone nobody answers puts its operator in the
// pause "не отвечает" and the caller goes on to the next operator.
func TestACDRingModeNoAnswerPauses(t *testing.T) {
	operators := ops(2, "main")
	e := startACD(t, operators, nil)
	silent := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1001", Password: operators[0].secret,
		Registrar: e.target(), AnswerMode: "manual"})
	_ = silent
	answering := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1002", Password: operators[1].secret,
		Registrar: e.target(), MicSeconds: 60})
	_ = answering
	for _, o := range operators {
		e.waitFor(t, 20*time.Second, o.login+" registered", func() bool { return len(e.srv.Registrar().Lookup(o.ext)) > 0 })
	}
	if err := e.desk.StartWork(context.Background(), "op1", acd.DeliveryRing); err != nil {
		t.Fatal(err)
	}
	if got := e.state("op1"); got != acd.StateReady {
		t.Fatalf("op1 in ring mode: %v, want ready at once", got)
	}
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79003330001", 700)
	e.waitFor(t, 10*time.Second, "op1 rang out", func() bool { return len(e.eventsOf(acd.EventNoAnswer)) == 1 })
	v := e.desk.Agent("op1")
	if v.State != acd.StatePaused || v.Reason != acd.PauseNoAnswer {
		t.Fatalf("op1 after no answer: %v %q", v.State, v.Reason)
	}
	if err := e.desk.StartWork(context.Background(), "op2", acd.DeliveryRing); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 10*time.Second, "connected to op2", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	e.waitFor(t, 5*time.Second, "a second with op2", func() bool { return time.Since(e.eventsOf(acd.EventConnect)[0].Time) > time.Second })
	caller.hangup()
	c := e.waitCalls(t, 1)[0]
	if len(c.Agents) != 1 || c.Agents[0].Login != "op2" {
		t.Fatalf("agents %+v", c.Agents)
	}
	var agentLegs int
	for _, l := range c.Legs {
		if l.Role == "agent" {
			agentLegs++
		}
	}
	if agentLegs != 1 {
		t.Errorf("legs %+v: want the ring-mode leg to op2's phone", c.Legs)
	}
	wav := peertest.ReadStereoWAV(t, c.Recording)
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 700); share < 0.9 || n < 30 {
		t.Errorf("recording left: 700 Hz share %.2f over %d blocks", share, n)
	}
	if _, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); n < 30 {
		t.Errorf("recording right: %d blocks of the operator's audio", n)
	}
}

// TestACDTransfers: op1 transfers a caller blind to extension 1002 (op2);
// then op2 transfers it attended to op3: a consultation with op3 first
// (the caller hears the hold music), then complete. The call record holds
// the chain and the appeal; op3's phone hears the caller.
func TestACDTransfers(t *testing.T) {
	operators := ops(3, "main")
	e := startACD(t, operators, nil)
	phones := e.startOperators(t, operators, acd.DeliverySession, 120)
	for _, o := range []string{"op2", "op3"} {
		if err := e.desk.Pause(o, "обучение"); err != nil {
			t.Fatal(err)
		}
	}
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79004440001", 700)
	e.waitFor(t, 10*time.Second, "connected to op1", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	id := e.eventsOf(acd.EventConnect)[0].Call
	ctx := context.Background()

	if err := e.desk.Transfer(ctx, id, "op2", false, "1003", TransferBlind, ""); err == nil {
		t.Fatal("op2 transferred a call that is op1's")
	}
	if err := e.desk.Transfer(ctx, id, "op1", false, "1009", TransferBlind, ""); err == nil {
		t.Fatal("transfer to an unknown extension accepted")
	}
	// op2 is paused: a blind transfer waits for it.
	if err := e.desk.Transfer(ctx, id, "op1", false, "1002", TransferBlind, "APPEAL-1"); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 5*time.Second, "op1 in wrap-up", func() bool { return e.state("op1") == acd.StateWrapUp })
	if err := e.desk.Ready("op2"); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 5*time.Second, "connected to op2", func() bool {
		c := e.eventsOf(acd.EventConnect)
		return len(c) == 2 && c[1].Agent == "op2"
	})
	if info := e.desk.Agent("op2").Call; info == nil || info.CallID != id || info.AppealID != "APPEAL-1" {
		t.Fatalf("op2's call info %+v: want the call with its appeal", info)
	}
	// Attended: op2 consults op3 (ready now), then completes.
	if err := e.desk.Ready("op3"); err != nil {
		t.Fatal(err)
	}
	if err := e.desk.Transfer(ctx, id, "op2", false, "1003", TransferAttended, ""); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 5*time.Second, "op3 in the consultation", func() bool { return e.state("op3") == acd.StateTalking })
	if got := e.state("op2"); got != acd.StateTalking {
		t.Fatalf("op2 during the consultation: %v", got)
	}
	if info := e.desk.Agent("op2").Call; info == nil || info.Consulting != "op3" {
		t.Fatalf("op2's call info during the consultation %+v: want consulting op3", info)
	}
	consultAt := time.Now()
	e.waitFor(t, 5*time.Second, "a second of consultation", func() bool { return time.Since(consultAt) > time.Second })
	completed, err := e.desk.CompleteTransfer(ctx, id, "op2", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if completed.To != "op3" || completed.Appeal != "APPEAL-1" {
		t.Errorf("CompleteTransfer = %+v, want to op3 with APPEAL-1", completed)
	}
	e.waitFor(t, 5*time.Second, "op2 in wrap-up", func() bool { return e.state("op2") == acd.StateWrapUp })
	if v := e.desk.Agent("op3"); v.State != acd.StateTalking || v.Call == nil || v.Call.CallID != id || v.Call.AppealID != "APPEAL-1" || v.Call.Consulting != "" {
		t.Fatalf("op3 after completion: %v %+v; want the call with its appeal", v.State, v.Call)
	}
	done := time.Now()
	e.waitFor(t, 5*time.Second, "two seconds with op3", func() bool { return time.Since(done) > 2*time.Second })
	heard := caller.heard(t)
	if !containsSamples(heard, promptPCM(t, "moh")[:2400]) { // 0.3 s: the waits are short
		t.Error("the caller did not hear the hold music during the transfers")
	}
	c := e.waitCalls(t, 1)[0]
	var logins []string
	for _, a := range c.Agents {
		logins = append(logins, a.Login)
	}
	if fmt.Sprint(logins) != "[op1 op2 op3]" || c.Appeal != "APPEAL-1" || len(c.Transfers) != 2 ||
		c.Transfers[0].Mode != "blind" || c.Transfers[1].Mode != "attended" || c.Transfers[1].To != "op3" {
		t.Fatalf("record: agents %v appeal %q transfers %+v", logins, c.Appeal, c.Transfers)
	}
	phones["op3"].Stop()
	heard3, _ := phones["op3"].Recordings()
	if len(heard3) != 1 {
		t.Fatalf("op3 recordings %v", heard3)
	}
	x, rate := peertest.ReadMonoWAV(t, heard3[0])
	if share, n := peertest.ToneShare(x, rate, 700); share < 0.5 || n < 50 {
		t.Errorf("op3 heard: 700 Hz share %.2f over %d blocks, want the caller", share, n)
	}
	if n := len(e.eventsOf(acd.EventTransfer)); n != 2 {
		t.Errorf("%d transfer events, want 2", n)
	}
}

// TestACDConnectOutbound: a campaign's live answer (the appliance's call
// to a SIPp trunk) is handed to the campaign's operator within the grace,
// the pacer's view shows the operator talking, the desktop's hang-up ends
// the operator's part; with nobody ready the hand-off gives up after the
// grace (the runner's safe-harbor path).
func TestACDConnectOutbound(t *testing.T) {
	operators := ops(1, "survey", "main")
	e := startACD(t, operators, nil)
	e.desk.AddCampaign("survey", time.Second)
	phones := e.startOperators(t, operators, acd.DeliverySession, 120)
	trunkPort := peertest.FreePort(t)
	trunk := peertest.StartSIPp(t, "uas_trunk.xml", "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)), "-m", "2")
	ctx := context.Background()
	dial := func() *OutboundLeg {
		out, err := e.srv.Dial(ctx, fmt.Sprintf("sip:79000000001@127.0.0.1:%d", trunkPort), DialOptions{})
		if err != nil {
			t.Fatalf("dial the trunk: %v\n%s", err, trunk.Output())
		}
		return out
	}
	out := dial()
	start := time.Now()
	oc, err := e.desk.ConnectOutbound(ctx, out.Leg(), "survey", "att-1", "79000000001", "", 2*time.Second, nil)
	if err != nil {
		t.Fatalf("ConnectOutbound = %v", err)
	}
	if oc.Agent() != "op1" || time.Since(start) > time.Second {
		t.Fatalf("connected to %q after %v", oc.Agent(), time.Since(start))
	}
	agents := e.desk.Operators().Agents("survey", nil)
	if len(agents) != 1 || agents[0].State != acd.StateTalking || agents[0].Inbound {
		t.Fatalf("pacer's view %+v: want one operator talking on an outbound call", agents)
	}
	in := e.desk.Operators().Inbound("survey")
	if in == nil || in.Target.Fraction != 0.8 || in.Target.AnswerTime != 20 {
		t.Fatalf("blended inbound %+v: want main's 80/20", in)
	}
	if info := e.desk.Agent("op1").Call; info == nil || info.Direction != "outbound" || info.Campaign != "survey" || info.ContactID != "att-1" {
		t.Fatalf("desktop call info %+v", info)
	}
	e.waitFor(t, 5*time.Second, "two seconds of talk", func() bool { return time.Since(start) > 2*time.Second })
	if err := e.desk.HangupCall("op1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-oc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the operator's hang-up did not end the outbound call")
	}
	if oc.EndedBy() != hangupAgent || e.state("op1") != acd.StateWrapUp {
		t.Fatalf("ended by %q, op1 %v", oc.EndedBy(), e.state("op1"))
	}
	out.Hangup(ctx)

	// Nobody ready: the hand-off gives up after the grace.
	e.waitFor(t, 5*time.Second, "op1 ready", func() bool { return e.state("op1") == acd.StateReady })
	if err := e.desk.Pause("op1", "обед"); err != nil {
		t.Fatal(err)
	}
	out = dial()
	defer out.Hangup(ctx)
	start = time.Now()
	if _, err := e.desk.ConnectOutbound(ctx, out.Leg(), "survey", "att-2", "79000000001", "", 2*time.Second, nil); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("ConnectOutbound with nobody ready = %v, want ErrNoAgent", err)
	}
	if d := time.Since(start); d < 2*time.Second || d > 3*time.Second {
		t.Errorf("gave up after %v, want the 2 s grace", d)
	}
	if ab := e.eventsOf(acd.EventAbandon); len(ab) != 1 || ab[0].Call != "att-2" || !ab[0].Outbound {
		t.Errorf("abandon events %+v", ab)
	}
	phones["op1"].Stop()
	heard, _ := phones["op1"].Recordings()
	if len(heard) != 1 {
		t.Fatalf("recordings %v", heard)
	}
	x, rate := peertest.ReadMonoWAV(t, heard[0])
	if _, n := peertest.ToneShare(x, rate, 1000); n < 50 {
		t.Errorf("op1 heard %d blocks of the called person's audio, want ~2 s", n)
	}
}

// TestACDSupervision: a supervisor's baresip (its microphone a 1500 Hz
// tone) listens to, whispers to and barges into an operator's call with a
// caller sending 700 Hz: the caller hears the supervisor only in barge,
// and every session is in the audit log.
func TestACDSupervision(t *testing.T) {
	operators := ops(1, "main")
	sup := operator{login: "boss", ext: "1900", secret: "Pq7-sup-Xv9r-2", level: 1}
	e := startACD(t, append(operators, sup), nil)
	// The supervisor's account: the test created it as an operator; make a
	// supervisor of it.
	e.startOperators(t, operators, acd.DeliverySession, 120)
	supPhone := peertest.StartBaresip(t, peertest.BaresipOptions{User: sup.ext, Password: sup.secret, Registrar: e.target(),
		MicSeconds: 120, MicTone: 1500})
	e.waitFor(t, 20*time.Second, "supervisor registered", func() bool { return len(e.srv.Registrar().Lookup("boss")) > 0 })
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79005550001", 700)
	e.waitFor(t, 10*time.Second, "connected to op1", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	id := e.eventsOf(acd.EventConnect)[0].Call
	boss := journal.Actor{Login: "boss", Role: journal.RoleSupervisor}
	ctx := context.Background()

	phase := func(mode media.SuperviseMode) {
		t.Helper()
		if err := e.desk.Supervise(ctx, boss, "op1", mode); err != nil {
			t.Fatalf("Supervise(%v) = %v", mode, err)
		}
		at := time.Now()
		e.waitFor(t, 10*time.Second, "3 s of "+mode.String(), func() bool { return time.Since(at) > 3*time.Second })
	}
	phase(media.SuperviseListen)
	phase(media.SuperviseWhisper)
	phase(media.SuperviseBarge)
	if err := e.desk.StopSupervision(ctx, boss); err != nil {
		t.Fatal(err)
	}
	if err := e.desk.StopSupervision(ctx, boss); !errors.Is(err, ErrNotSupervising) {
		t.Fatalf("second stop = %v", err)
	}
	heard := caller.heard(t)
	// The caller's audio in thirds: listen, whisper, barge (3 s each, from
	// the first supervision on). Only barge carries the supervisor's tone.
	// The segments below keep 0.75 s off each edge, so a recording a
	// packet or two short of 9 s (a loaded machine) still places them.
	start := len(heard) - 8000*9
	if start < -4000 {
		t.Fatalf("the caller's recording is too short: %d samples", len(heard))
	}
	for i, mode := range []string{"listen", "whisper", "barge"} {
		seg := heard[start+8000*3*i+6000 : start+8000*3*(i+1)-6000]
		share, _ := peertest.ToneShare(seg, 8000, 1500)
		if mode == "barge" && share < 0.2 || mode != "barge" && share > 0.05 {
			t.Errorf("%s: the caller heard the supervisor's 1500 Hz at share %.2f", mode, share)
		}
	}
	supPhone.Stop()
	supHeard, _ := supPhone.Recordings()
	if len(supHeard) == 0 {
		t.Fatal("the supervisor's phone recorded nothing")
	}
	x, rate := peertest.ReadMonoWAV(t, supHeard[0])
	if share, n := peertest.ToneShare(x, rate, 700); share < 0.2 || n < 200 {
		t.Errorf("supervisor heard the caller's 700 Hz at share %.2f over %d blocks", share, n)
	}
	entries, err := e.journal.Audit(ctx, journal.Actor{Login: "root", Role: journal.RoleAdmin}, journal.AuditQuery{Subject: "call:" + id})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, en := range entries {
		ops = append(ops, en.Op+" "+en.Detail)
	}
	if len(entries) != 4 || entries[0].Account != "boss" {
		t.Fatalf("audit of the call: %v; want 3 supervise and 1 supervise-end by boss", ops)
	}
}

// TestACDTransferByREFER: the operator's baresip transfers the caller to
// extension 1002 with its own transfer command (SIP REFER on the session
// leg): the caller reaches op2, and op1 keeps working (its phone, which
// hangs up after a transfer, is called back for a new session leg).
func TestACDTransferByREFER(t *testing.T) {
	operators := ops(2, "main")
	e := startACD(t, operators, nil)
	phones := e.startOperators(t, operators, acd.DeliverySession, 120)
	if err := e.desk.Pause("op2", "обучение"); err != nil {
		t.Fatal(err)
	}
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79006660001", 700)
	e.waitFor(t, 10*time.Second, "connected to op1", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	if err := e.desk.Ready("op2"); err != nil {
		t.Fatal(err)
	}
	out, err := phones["op1"].Command("transfer", "sip:1002@"+e.target())
	if err != nil {
		t.Fatalf("baresip transfer: %v", err)
	}
	t.Logf("baresip: %s", out)
	e.waitFor(t, 10*time.Second, "connected to op2", func() bool {
		c := e.eventsOf(acd.EventConnect)
		return len(c) == 2 && c[1].Agent == "op2"
	})
	// op1 is still working after its phone's hang-up: wrap-up, then ready,
	// on a new session leg.
	e.waitFor(t, 10*time.Second, "op1 ready again", func() bool { return e.state("op1") == acd.StateReady })
	e.waitFor(t, 10*time.Second, "op1's session leg up", func() bool { return e.desk.Agent("op1").Session == SessionUp })
	caller.hangup()
	c := e.waitCalls(t, 1)[0]
	if len(c.Agents) != 2 || c.Agents[1].Login != "op2" || len(c.Transfers) != 1 || c.Transfers[0].To != "1002" || c.Transfers[0].By != "op1" {
		t.Fatalf("record: agents %+v transfers %+v", c.Agents, c.Transfers)
	}
}

// TestACDOverflowCallback: a caller past the queue's maximum wait with
// the callback overflow hears the callback message; a deferred appeal of
// the caller's number waits for the queue's level-2 operator. A caller
// whose number has an appeal in work goes ahead of an earlier caller.
func TestACDOverflowCallback(t *testing.T) {
	operators := append(ops(1, "main"), operator{login: "senior", ext: "1201", secret: "Hq2-sx7r-Lz8w", level: 2, queues: []string{"main"}})
	e := startACD(t, operators, func(c *config.Config) {
		q := &c.Queues[0]
		q.MaxWait = config.Duration{Duration: 6 * time.Second}
		q.Overflow = "callback"
		q.OpenAppealPriority = 10
	})
	phoneSrv, phoneEngine := newPhoneServer(t)
	ctx := context.Background()
	// The first caller times out and asks for a callback.
	first := e.call(t, phoneSrv, phoneEngine, "8800", "79007770001", 700)
	e.waitFor(t, 15*time.Second, "the caller's overflow", func() bool { return len(e.eventsOf(acd.EventTimeout)) == 1 })
	e.waitFor(t, 15*time.Second, "the caller hung up", func() bool {
		select {
		case <-first.out.Done():
			return true
		default:
			return false
		}
	})
	if !containsSamples(first.heard(t), promptPCM(t, "queue-callback")) {
		t.Error("the caller did not hear the callback message")
	}
	admin := journal.Actor{Login: "root", Role: journal.RoleAdmin}
	refs, err := e.journal.Appeals(ctx, admin, nil, journal.AppealFilter{Assignee: "senior"})
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Status != journal.StatusDeferred {
		t.Fatalf("appeals of senior %+v: want one deferred callback", refs)
	}
	a, err := e.journal.Appeal(ctx, admin, refs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	c := e.waitCalls(t, 1)[0]
	if a.Phone != "+79007770001" || a.Topic != journal.TopicCallback || len(a.Calls) != 1 || a.Calls[0] != c.ID || c.QueueResult != "callback" {
		t.Fatalf("callback appeal %+v / call %s result %q", a, c.ID, c.QueueResult)
	}
	// The same number calls again (an appeal in work: deferred) after an
	// unknown caller: it goes ahead.
	e.startOperators(t, operators[:1], acd.DeliverySession, 60)
	if err := e.desk.Pause("op1", "обед"); err != nil {
		t.Fatal(err)
	}
	other := e.call(t, phoneSrv, phoneEngine, "8800", "79007770002", 700)
	e.waitFor(t, 10*time.Second, "the other caller queued", func() bool { return len(e.eventsOf(acd.EventEnter)) == 2 })
	again := e.call(t, phoneSrv, phoneEngine, "8800", "79007770001", 700)
	e.waitFor(t, 10*time.Second, "the returning caller queued", func() bool { return len(e.eventsOf(acd.EventEnter)) == 3 })
	if pos := e.eventsOf(acd.EventEnter)[2].Position; pos != 1 {
		t.Errorf("the returning caller entered at position %d, want 1 (ahead)", pos)
	}
	if err := e.desk.Ready("op1"); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 10*time.Second, "a caller connected", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	if info := e.desk.Agent("op1").Call; info == nil || info.Caller != "79007770001" {
		t.Errorf("op1 took %+v, want the returning caller", info)
	}
	again.hangup()
	other.hangup()
}

// TestACDTransferToExternalNumber: an operator transfers the caller to an
// external number that acd.transfer_patterns allows; a dial route places
// the call (SIPp as the trunk) and bridges it; a number the patterns do
// not allow is refused.
func TestACDTransferToExternalNumber(t *testing.T) {
	operators := ops(1, "main")
	trunkPort := peertest.FreePort(t)
	e := startACD(t, operators, func(c *config.Config) {
		c.ACD.TransferPatterns = []string{"88XXXX"}
		c.ACD.TransferCallerID = "78652000000"
		c.Routes = append(c.Routes, config.Route{Name: "trunk", Match: "88*", Action: config.ActionDial,
			Target: fmt.Sprintf("sip:${number}@127.0.0.1:%d", trunkPort)})
	})
	e.startOperators(t, operators, acd.DeliverySession, 60)
	trunk := peertest.StartSIPp(t, "uas_trunk.xml", "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)), "-m", "1")
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79008880001", 700)
	e.waitFor(t, 10*time.Second, "connected to op1", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	id := e.eventsOf(acd.EventConnect)[0].Call
	ctx := context.Background()
	if err := e.desk.Transfer(ctx, id, "op1", false, "8812345678", TransferBlind, ""); !errors.Is(err, ErrBadTarget) {
		t.Fatalf("transfer to a number the patterns do not allow = %v, want ErrBadTarget", err)
	}
	if err := e.desk.Transfer(ctx, id, "op1", false, "881234", TransferBlind, ""); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 5*time.Second, "op1 in wrap-up", func() bool { return e.state("op1") == acd.StateWrapUp })
	at := time.Now()
	e.waitFor(t, 10*time.Second, "3 s with the external party", func() bool { return time.Since(at) > 3*time.Second })
	caller.hangup()
	if code := trunk.Wait(15 * time.Second); code != 0 {
		t.Fatalf("trunk exit %d:\n%s\n%s", code, trunk.Output(), trunk.Logs())
	}
	c := e.waitCalls(t, 1)[0]
	if len(c.Transfers) != 1 || c.Transfers[0].To != "881234" || c.QueueResult != metrics.QueueTransferred {
		t.Fatalf("record transfers %+v result %q", c.Transfers, c.QueueResult)
	}
	var callee *journal.LegRecord
	for i := range c.Legs {
		if c.Legs[i].Role == "callee" {
			callee = &c.Legs[i]
		}
	}
	if callee == nil || callee.SIPCode != 200 || callee.PacketsIn < 100 {
		t.Fatalf("the external leg %+v", callee)
	}
	wav := peertest.ReadStereoWAV(t, c.Recording)
	// The last 2 s are the external party's (SIPp's prompt, speech with
	// pauses): audio on the right channel.
	if len(wav.Right) < 16000 {
		t.Fatalf("recording of %d samples", len(wav.Right))
	}
	if _, n := peertest.ToneShare(wav.Right[len(wav.Right)-16000:], wav.Rate, 1000); n < 40 {
		t.Errorf("recording right, last 2 s: %d blocks of audio, want the external party", n)
	}
}

// TestACDAttendedTransferCancelled: the consulted operator declines; the
// operator cancels and is back with the caller, the consulted operator
// wraps up, and the record shows no transfer.
func TestACDAttendedTransferCancelled(t *testing.T) {
	operators := ops(2, "main")
	e := startACD(t, operators, nil)
	e.startOperators(t, operators, acd.DeliverySession, 60)
	if err := e.desk.Pause("op2", "обучение"); err != nil {
		t.Fatal(err)
	}
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79009990001", 700)
	e.waitFor(t, 10*time.Second, "connected to op1", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	id := e.eventsOf(acd.EventConnect)[0].Call
	ctx := context.Background()
	if err := e.desk.CancelTransfer(ctx, id, "op1", false); !errors.Is(err, ErrNoConsultation) {
		t.Fatalf("cancel without a consultation = %v", err)
	}
	if err := e.desk.Ready("op2"); err != nil {
		t.Fatal(err)
	}
	if err := e.desk.Transfer(ctx, id, "op1", false, "1002", TransferAttended, ""); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 5*time.Second, "op2 consulted", func() bool { return e.state("op2") == acd.StateTalking })
	if err := e.desk.CancelTransfer(ctx, id, "op1", false); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 5*time.Second, "op2 in wrap-up", func() bool { return e.state("op2") == acd.StateWrapUp })
	if v := e.desk.Agent("op1"); v.State != acd.StateTalking || v.Call == nil || v.Call.CallID != id || v.Call.Consulting != "" {
		t.Fatalf("op1 after the cancel: %v %+v", v.State, v.Call)
	}
	at := time.Now()
	e.waitFor(t, 5*time.Second, "2 s with op1 again", func() bool { return time.Since(at) > 2*time.Second })
	caller.hangup()
	c := e.waitCalls(t, 1)[0]
	if len(c.Agents) != 1 || c.Agents[0].Login != "op1" || len(c.Transfers) != 0 {
		t.Fatalf("record agents %+v transfers %+v", c.Agents, c.Transfers)
	}
	wav := peertest.ReadStereoWAV(t, c.Recording)
	if _, n := peertest.ToneShare(wav.Right[len(wav.Right)-16000:], wav.Rate, 1000); n < 40 {
		t.Errorf("recording right, last 2 s: %d blocks: op1 is not heard after the cancel", n)
	}
	var consult int
	for _, ev := range e.eventsOf(acd.EventComplete) {
		if ev.Consult {
			consult++
		}
	}
	if consult != 1 {
		t.Errorf("%d completed consultations in the events, want 1", consult)
	}
}

// TestACDAttendedTransferByREFERWithReplaces: the operator's phone (a
// diago phone in ring mode) talks to a caller, calls extension 1002 (a
// baresip) through the appliance, then sends REFER on the caller's call
// with Refer-To carrying Replaces of its call to 1002 (RFC 3891): the
// caller ends up talking to 1002 and both of the operator's calls end.
func TestACDAttendedTransferByREFERWithReplaces(t *testing.T) {
	operators := ops(2, "main")
	e := startACD(t, operators, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	// Phone A: a diago user agent registered as 1001 that answers calls.
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-phone-a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	aPort := peertest.FreePort(t)
	dg := diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: aPort, ExternalHost: "127.0.0.1"}))
	answered := make(chan *diago.DialogServerSession, 1)
	if err := dg.ServeBackground(ctx, func(in *diago.DialogServerSession) {
		if _, err := in.Answer(diago.AnswerOptions{}); err != nil {
			return
		}
		answered <- in
		<-in.Context().Done()
	}); err != nil {
		t.Fatal(err)
	}
	appliance := sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: e.port}
	reg := appliance
	reg.User = "1001"
	go func() {
		_ = dg.Register(ctx, reg, diago.RegisterOptions{Username: "1001", Password: operators[0].secret, Expiry: time.Minute})
	}()
	phoneB := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1002", Password: operators[1].secret, Registrar: e.target(), MicSeconds: 60})
	e.waitFor(t, 20*time.Second, "both phones registered", func() bool {
		return len(e.srv.Registrar().Lookup("op1")) > 0 && len(e.srv.Registrar().Lookup("op2")) > 0
	})
	if err := e.desk.StartWork(ctx, "op1", acd.DeliveryRing); err != nil {
		t.Fatal(err)
	}
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79001230001", 700)
	var d1 *diago.DialogServerSession
	select {
	case d1 = <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("phone A was never rung")
	}
	e.waitFor(t, 10*time.Second, "the caller connected to op1", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	callID := e.eventsOf(acd.EventConnect)[0].Call

	// A calls 1002 through the appliance (route 1XXX → reg:).
	to := appliance
	to.User = "1002"
	d2, _, err := dg.Invite(ctx, to, diago.InviteOptions{})
	if err != nil {
		t.Fatalf("A calls 1002: %v", err)
	}
	fromTag, _ := d2.InviteRequest.From().Params.Get("tag")
	toTag, _ := d2.InviteResponse.To().Params.Get("tag")
	replaces := url.QueryEscape(d2.InviteRequest.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag)
	referTo := sip.NewHeader("Refer-To", "<sip:1002@"+e.target()+"?Replaces="+replaces+">")
	if err := d1.Refer(ctx, to, referTo); err != nil {
		t.Fatalf("REFER with Replaces: %v", err)
	}
	e.waitFor(t, 10*time.Second, "op1 in wrap-up", func() bool { return e.state("op1") == acd.StateWrapUp })
	for name, d := range map[string]interface{ Context() context.Context }{"the caller's call": d1, "the call to 1002": d2} {
		select {
		case <-d.Context().Done():
		case <-time.After(10 * time.Second):
			t.Errorf("A's %s was not ended", name)
		}
	}
	at := time.Now()
	e.waitFor(t, 10*time.Second, "3 s of the caller with 1002", func() bool { return time.Since(at) > 3*time.Second })
	caller.hangup()
	calls := e.waitCalls(t, 2)
	var c journal.CallRecord
	for _, x := range calls {
		if x.ID == callID {
			c = x
		}
	}
	if len(c.Transfers) != 1 || c.Transfers[0].Mode != "attended" || c.Transfers[0].To != "1002" || c.QueueResult != metrics.QueueTransferred {
		t.Fatalf("the caller's record: transfers %+v result %q", c.Transfers, c.QueueResult)
	}
	phoneB.Stop()
	heard, _ := phoneB.Recordings()
	if len(heard) != 1 {
		t.Fatalf("1002's recordings %v", heard)
	}
	x, rate := peertest.ReadMonoWAV(t, heard[0])
	if share, n := peertest.ToneShare(x, rate, 700); share < 0.5 || n < 50 {
		t.Errorf("1002 heard %.1f s: 700 Hz share %.2f over %d blocks, want the caller", float64(len(x))/float64(rate), share, n)
	}
}
