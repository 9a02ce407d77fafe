package metrics

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestCalls(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)

	m.CallStarted(DirectionInbound)
	m.CallStarted(DirectionInbound)
	m.CallStarted(DirectionOutbound)
	m.CallStarted("sideways") // counted as other
	m.CallEnded(DirectionInbound, ResultAnswered)
	m.CallEnded(DirectionOutbound, "exploded") // result counted as other
	m.CallEnded("sideways", ResultFailed)

	active := []struct {
		direction string
		want      float64
	}{
		{DirectionInbound, 1},
		{DirectionOutbound, 0},
		{Other, 0},
	}
	for _, tt := range active {
		if got := testutil.ToFloat64(m.callsActive.WithLabelValues(tt.direction)); got != tt.want {
			t.Errorf("obzvon_calls_active{direction=%q} = %v, want %v", tt.direction, got, tt.want)
		}
	}
	total := []struct {
		direction, result string
		want              float64
	}{
		{DirectionInbound, ResultAnswered, 1},
		{DirectionOutbound, Other, 1},
		{Other, ResultFailed, 1},
		{DirectionOutbound, ResultAnswered, 0},
	}
	for _, tt := range total {
		if got := testutil.ToFloat64(m.callsTotal.WithLabelValues(tt.direction, tt.result)); got != tt.want {
			t.Errorf("obzvon_calls_total{direction=%q,result=%q} = %v, want %v", tt.direction, tt.result, got, tt.want)
		}
	}
	// The series set is fixed at New: 3 directions, 3×9 direction/result pairs.
	if n := testutil.CollectAndCount(m.callsActive); n != 3 {
		t.Errorf("obzvon_calls_active has %d series, want 3", n)
	}
	if n := testutil.CollectAndCount(m.callsTotal); n != 3*9 {
		t.Errorf("obzvon_calls_total has %d series, want %d", n, 3*9)
	}
}

func TestSIPRequestLabel(t *testing.T) {
	tests := []struct {
		method string
		label  string
	}{
		{"INVITE", "INVITE"},
		{"ACK", "ACK"},
		{"REGISTER", "REGISTER"},
		{"UPDATE", "UPDATE"},
		{"invite", Other}, // methods are case-sensitive (RFC 3261 §7.1)
		{"FOO", Other},
		{"", Other},
		{"INVITE\x00", Other},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			m := New(prometheus.NewPedanticRegistry())
			m.SIPRequest(tt.method)
			if got := testutil.ToFloat64(m.sipRequests[tt.label]); got != 1 {
				t.Errorf("SIPRequest(%q): obzvon_sip_requests_total{method=%q} = %v, want 1", tt.method, tt.label, got)
			}
		})
	}
}

func TestSIPResponseLabel(t *testing.T) {
	tests := []struct {
		code  int
		label string
	}{
		{100, "100"},
		{180, "180"},
		{200, "200"},
		{486, "486"},
		{699, "699"},
		{99, Other},
		{700, Other},
		{0, Other},
		{-200, Other},
		{2000, Other},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			m := New(prometheus.NewPedanticRegistry())
			m.SIPResponse(tt.code)
			if got := testutil.ToFloat64(m.sipResponses.WithLabelValues(tt.label)); got != 1 {
				t.Errorf("SIPResponse(%d): obzvon_sip_responses_total{code=%q} = %v, want 1", tt.code, tt.label, got)
			}
		})
	}
}

// TestLabelsBounded feeds every int code and a flood of junk methods: the
// number of series must stay at the bounded maximum.
func TestLabelsBounded(t *testing.T) {
	m := New(prometheus.NewPedanticRegistry())
	for code := -1000; code < 10000; code++ {
		m.SIPResponse(code)
	}
	for i := range 1000 {
		m.SIPRequest(strings.Repeat("X", i))
		m.CallStarted(strings.Repeat("d", i))
		m.CallEnded(strings.Repeat("d", i), strings.Repeat("r", i))
	}
	if got, want := testutil.CollectAndCount(m.sipResponses), 600+1; got != want {
		t.Errorf("obzvon_sip_responses_total has %d series, want %d", got, want)
	}
	if got, want := len(m.sipRequests), len(sipMethods)+1; got != want {
		t.Errorf("obzvon_sip_requests_total has %d series, want %d", got, want)
	}
	if got := testutil.ToFloat64(m.sipRequests[Other]); got != 1000 {
		t.Errorf("obzvon_sip_requests_total{method=other} = %v, want 1000", got)
	}
	if got, want := testutil.CollectAndCount(m.callsTotal), 3*9; got != want {
		t.Errorf("obzvon_calls_total has %d series, want %d", got, want)
	}
}

func TestMediaCounters(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	names := []string{"obzvon_rtp_packets_total", "obzvon_rtp_lost_packets_total", "obzvon_recording_bytes_total"}

	if n, err := testutil.GatherAndCount(reg, names...); err != nil || n != 0 {
		t.Fatalf("before RegisterMediaCounters: %d media series, err %v; want 0, nil", n, err)
	}

	snap := MediaCounters{PacketsIn: 1 << 40, PacketsOut: 7, PacketsLost: 3, RecordingBytes: 123456789}
	m.RegisterMediaCounters(func() MediaCounters { return snap })
	want := `
# HELP obzvon_recording_bytes_total Bytes written to call recordings.
# TYPE obzvon_recording_bytes_total counter
obzvon_recording_bytes_total 1.23456789e+08
# HELP obzvon_rtp_lost_packets_total RTP packets lost on the way in, from gaps in sequence numbers.
# TYPE obzvon_rtp_lost_packets_total counter
obzvon_rtp_lost_packets_total 3
# HELP obzvon_rtp_packets_total RTP packets received (in) and sent (out) by the media engine.
# TYPE obzvon_rtp_packets_total counter
obzvon_rtp_packets_total{dir="in"} 1.099511627776e+12
obzvon_rtp_packets_total{dir="out"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// The snapshot is read at every scrape.
	snap.PacketsOut = 8
	if err := testutil.GatherAndCompare(reg, strings.NewReader(strings.Replace(want, `{dir="out"} 7`, `{dir="out"} 8`, 1)), names...); err != nil {
		t.Errorf("after the counter grew: %v", err)
	}

	// A later call replaces the source.
	m.RegisterMediaCounters(func() MediaCounters { return MediaCounters{PacketsLost: 42} })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "obzvon_rtp_lost_packets_total" {
			if got := mf.GetMetric()[0].GetCounter().GetValue(); got != 42 {
				t.Errorf("after replacing the source: obzvon_rtp_lost_packets_total = %v, want 42", got)
			}
		}
	}

	// nil removes it.
	m.RegisterMediaCounters(nil)
	if n, err := testutil.GatherAndCount(reg, names...); err != nil || n != 0 {
		t.Errorf("after RegisterMediaCounters(nil): %d media series, err %v; want 0, nil", n, err)
	}
}

// TestConcurrent runs the helpers, source swaps and scrapes at once; with
// -race it checks the Metrics is safe for concurrent use, and the counts
// must come out exact.
func TestConcurrent(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	const workers, calls = 4, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				m.CallStarted(DirectionOutbound)
				m.SIPRequest("INVITE")
				m.SIPResponse(200)
				m.CallEnded(DirectionOutbound, ResultAnswered)
				if i%100 == 0 {
					n := uint64(w*calls + i)
					m.RegisterMediaCounters(func() MediaCounters { return MediaCounters{PacketsIn: n} })
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := reg.Gather(); err != nil {
				t.Errorf("gather during updates: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"obzvon_calls_active{direction=outbound}", m.callsActive.WithLabelValues(DirectionOutbound), 0},
		{"obzvon_calls_total{direction=outbound,result=answered}", m.callsTotal.WithLabelValues(DirectionOutbound, ResultAnswered), workers * calls},
		{"obzvon_sip_requests_total{method=INVITE}", m.sipRequests["INVITE"], workers * calls},
		{"obzvon_sip_responses_total{code=200}", m.sipResponses.WithLabelValues("200"), workers * calls},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNilRegisterer(t *testing.T) {
	m := New(nil)
	m.CallStarted(DirectionOutbound)
	m.SIPRequest("BYE")
	m.SIPResponse(200)
	m.RegisterMediaCounters(func() MediaCounters { return MediaCounters{PacketsIn: 5} })
	if got := testutil.ToFloat64(m.callsActive.WithLabelValues(DirectionOutbound)); got != 1 {
		t.Errorf("New(nil): obzvon_calls_active{direction=outbound} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.sipRequests["BYE"]); got != 1 {
		t.Errorf("New(nil): obzvon_sip_requests_total{method=BYE} = %v, want 1", got)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	// Must not panic: components built without metrics hold a nil *Metrics.
	m.CallStarted(DirectionInbound)
	m.CallEnded(DirectionInbound, ResultAnswered)
	m.SIPRequest("INVITE")
	m.SIPResponse(200)
	m.RegisterMediaCounters(func() MediaCounters { return MediaCounters{} })
}

func TestNewTwicePanics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	New(reg)
	defer func() {
		r := recover()
		err, ok := r.(error)
		var are prometheus.AlreadyRegisteredError
		if !ok || !errors.As(err, &are) {
			t.Errorf("second New on one registry panicked with %v, want an AlreadyRegisteredError", r)
		}
	}()
	New(reg)
}

func TestSetsReturnCopies(t *testing.T) {
	Directions()[0] = "x"
	Results()[0] = "x"
	SIPMethods()[0] = "x"
	if directions[0] != DirectionInbound || results[0] != ResultAnswered || sipMethods[0] != "ACK" {
		t.Error("the exported label sets alias the package's own slices")
	}
}

// populated returns a registry with every obzvon metric carrying data, the
// media source included.
func populated(reg *prometheus.Registry) *prometheus.Registry {
	m := New(reg)
	m.CallStarted(DirectionInbound)
	m.CallStarted(DirectionOutbound)
	m.CallEnded(DirectionOutbound, ResultBusy)
	m.SIPRequest("INVITE")
	m.SIPRequest("INVITE")
	m.SIPRequest("BYE")
	m.SIPResponse(100)
	m.SIPResponse(180)
	m.SIPResponse(200)
	m.SIPResponse(486)
	m.RegisterMediaCounters(func() MediaCounters {
		return MediaCounters{PacketsIn: 1500, PacketsOut: 1499, PacketsLost: 2, RecordingBytes: 48000}
	})
	m.CallRejected(RejectCapacity)
	m.CallRejected("nonsense")
	m.RegisterJournal(func() JournalStats {
		return JournalStats{LSMBytes: 4096, ValueLogBytes: 8192, WALBytes: 1024, OtherBytes: 512}
	})
	d := NewDaemon(reg, "v1.2.3")
	d.SetReady(true)
	d.SetStartUnclean(false)
	return reg
}

func exposition(t *testing.T, g prometheus.Gatherer) []byte {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatalf("encode %s: %v", mf.GetName(), err)
		}
	}
	return buf.Bytes()
}

// TestExpositionGolden pins the exposition of obzvon's own metrics. After
// an intended change: go test ./metrics -run Golden -update.
func TestExpositionGolden(t *testing.T) {
	got := exposition(t, populated(prometheus.NewPedanticRegistry()))
	golden := filepath.Join("testdata", "exposition.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("exposition differs from %s (run with -update if intended):\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

// TestExpositionLint checks the daemon's full exposition (obzvon, Go and
// process metrics) with client_golang's promlint and with Prometheus's own
// promtool.
func TestExpositionLint(t *testing.T) {
	text := exposition(t, populated(NewRegistry()))

	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found under CI=true (apt-get install prometheus): %v", err)
		}
		t.Skipf("promtool not found (apt-get install prometheus): %v", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler(populated(NewRegistry())))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type %q, want text/plain", ct)
	}
	for _, want := range []string{
		`obzvon_calls_total{direction="outbound",result="busy"} 1`,
		`obzvon_sip_requests_total{method="INVITE"} 2`,
		`obzvon_rtp_packets_total{dir="in"} 1500`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("GET /metrics: body lacks %q", want)
		}
	}
}

// A collector that fails must fail the scrape, not hide behind a 200.
func TestHandlerFailingCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(failing{prometheus.NewDesc("obzvon_test_broken", "Broken.", nil, nil)})
	srv := httptest.NewServer(Handler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET /metrics with a failing collector: status %d, want 500", resp.StatusCode)
	}
}

type failing struct{ d *prometheus.Desc }

func (f failing) Describe(ch chan<- *prometheus.Desc) { ch <- f.d }
func (f failing) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(f.d, errors.New("broken on purpose"))
}

func BenchmarkSIPRequest(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	for b.Loop() {
		m.SIPRequest("INVITE")
	}
}

func BenchmarkSIPResponse(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	for b.Loop() {
		m.SIPResponse(200)
	}
}

func BenchmarkCall(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	for b.Loop() {
		m.CallStarted(DirectionOutbound)
		m.CallEnded(DirectionOutbound, ResultAnswered)
	}
}

func BenchmarkScrape(b *testing.B) {
	reg := populated(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestJournalStats(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	if n, _ := testutil.GatherAndCount(reg, "obzvon_journal_size_bytes", "obzvon_journal_write_errors_total"); n != 0 {
		t.Errorf("journal metrics before a source: %d series, want none", n)
	}
	m.RegisterJournal(func() JournalStats {
		return JournalStats{LSMBytes: 1234, ValueLogBytes: 5678, WALBytes: 90, OtherBytes: 12, WriteErrors: 3}
	})
	want := `# HELP obzvon_journal_size_bytes Space the journal's files take on disk: LSM tables (part=lsm), value log (vlog), memtable write-ahead logs (wal), the rest (other).
# TYPE obzvon_journal_size_bytes gauge
obzvon_journal_size_bytes{part="lsm"} 1234
obzvon_journal_size_bytes{part="other"} 12
obzvon_journal_size_bytes{part="vlog"} 5678
obzvon_journal_size_bytes{part="wal"} 90
# HELP obzvon_journal_write_errors_total Journal writes that failed in storage (disk full, I/O error); invalid records refused are not counted.
# TYPE obzvon_journal_write_errors_total counter
obzvon_journal_write_errors_total 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "obzvon_journal_size_bytes", "obzvon_journal_write_errors_total"); err != nil {
		t.Error(err)
	}
}

func TestForwardDelayHistogram(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	m.RegisterForwardDelay(func(bounds []time.Duration) ([]uint64, uint64, time.Duration) {
		cum := make([]uint64, len(bounds))
		for i, b := range bounds {
			if b >= 50*time.Microsecond {
				cum[i] = 3
			}
		}
		return cum, 4, 120 * time.Microsecond
	})
	n, err := testutil.GatherAndCount(reg, "obzvon_rtp_forward_delay_seconds")
	if err != nil || n != 1 {
		t.Fatalf("forward delay histogram: %d series, %v", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "obzvon_rtp_forward_delay_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 4 || h.GetSampleSum() != 120e-6 || len(h.GetBucket()) != len(ForwardDelayBounds) {
			t.Errorf("histogram = count %d sum %g buckets %d", h.GetSampleCount(), h.GetSampleSum(), len(h.GetBucket()))
		}
	}
}

func TestDaemonMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	d := NewDaemon(reg, "v9")
	d.WatchFilesystem(t.TempDir())
	if v := testutil.ToFloat64(d.ready); v != 0 {
		t.Errorf("obzvon_ready before SetReady = %v, want 0", v)
	}
	d.SetReady(true)
	d.SetStartUnclean(true)
	if testutil.ToFloat64(d.ready) != 1 || testutil.ToFloat64(d.unclean) != 1 {
		t.Errorf("ready %v, unclean %v; want 1, 1", testutil.ToFloat64(d.ready), testutil.ToFloat64(d.unclean))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	if got["obzvon_data_filesystem_size_bytes"] <= 0 || got["obzvon_data_filesystem_avail_bytes"] <= 0 ||
		got["obzvon_data_filesystem_avail_bytes"] > got["obzvon_data_filesystem_size_bytes"] {
		t.Errorf("data filesystem avail %v size %v, want 0 < avail <= size", got["obzvon_data_filesystem_avail_bytes"], got["obzvon_data_filesystem_size_bytes"])
	}
	if got["obzvon_build_info"] != 1 {
		t.Errorf("obzvon_build_info = %v, want 1", got["obzvon_build_info"])
	}
	var nilD *Daemon
	nilD.SetReady(true) // no panic
	if n := Names(); len(n) < 20 || n[0] > n[len(n)-1] {
		t.Errorf("Names() = %v, want every family, sorted", n)
	}
}
