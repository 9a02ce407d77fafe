package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
)

// acdRun writes a small run directory as scripts/bench-acd.sh leaves it.
type acdRun struct {
	t   *testing.T
	dir string
	t0  time.Time
	acd []acd.Event
}

func (r *acdRun) at(d time.Duration) time.Time { return r.t0.Add(d) }

func (r *acdRun) ev(d time.Duration, e acd.Event) {
	e.Time = r.at(d)
	r.acd = append(r.acd, e)
}

func (r *acdRun) write(name string, v any) {
	r.t.Helper()
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(r.dir, name), b, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *acdRun) lines(name string, vs ...any) {
	r.t.Helper()
	var b bytes.Buffer
	for _, v := range vs {
		js, err := json.Marshal(v)
		if err != nil {
			r.t.Fatal(err)
		}
		b.Write(js)
		b.WriteByte('\n')
	}
	r.write(name, b.String())
}

// The report joins the journal's ACD events and call records with the
// generator's callers and the phones' customer audio: the connect time
// from the operator becoming ready (or the caller entering) to the audio
// at the phone, callers lost by either side's account, ACD entries left
// open, the wait estimate's error, the decisions from /metrics and the
// cost per operator and per waiting caller from the phases' samples.
func TestACDReport(t *testing.T) {
	ms := time.Millisecond
	r := &acdRun{t: t, dir: t.TempDir(), t0: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	r.write("bench.json", benchConfig{Run: 1, Operators: 2, Queues: []string{"q1", "q2"}, Callers: 6, Rate: 1, DurationS: 10,
		LoadStartNs: r.t0.UnixNano(), LoadEndNs: r.at(20 * time.Second).UnixNano()})
	st := func(d time.Duration, agent string, s acd.State) {
		r.ev(d, acd.Event{Kind: acd.EventAgentState, Agent: agent, State: s})
	}
	st(0, "op001", acd.StateReady)
	st(0, "op002", acd.StateReady)
	// A enters q1 while op001 is ready: audio 12 ms after its entry.
	r.ev(time.Second, acd.Event{Kind: acd.EventEnter, Queue: "q1", Call: "A", Position: 1})
	r.ev(time.Second, acd.Event{Kind: acd.EventOffer, Queue: "q1", Call: "A", Agent: "op001"})
	r.ev(time.Second+2*ms, acd.Event{Kind: acd.EventConnect, Queue: "q1", Call: "A", Agent: "op001", Wait: 2 * ms})
	// C enters q2 and is connected to op002, whose phone hears nothing.
	r.ev(2*time.Second, acd.Event{Kind: acd.EventEnter, Queue: "q2", Call: "C", Position: 1})
	r.ev(2*time.Second, acd.Event{Kind: acd.EventOffer, Queue: "q2", Call: "C", Agent: "op002"})
	r.ev(2*time.Second+ms, acd.Event{Kind: acd.EventConnect, Queue: "q2", Call: "C", Agent: "op002", Wait: ms})
	// D gives up; E enters and is never heard of again in the ACD.
	r.ev(3*time.Second, acd.Event{Kind: acd.EventEnter, Queue: "q2", Call: "D", Position: 1})
	r.ev(4*time.Second, acd.Event{Kind: acd.EventAbandon, Queue: "q2", Call: "D", Wait: time.Second})
	r.ev(4*time.Second, acd.Event{Kind: acd.EventEnter, Queue: "q2", Call: "E", Position: 1})
	// A ends; B enters q1 (estimate 2 s) and waits for op001's wrap-up.
	r.ev(6*time.Second, acd.Event{Kind: acd.EventComplete, Queue: "q1", Call: "A", Agent: "op001", Talk: 5 * time.Second})
	st(6*time.Second, "op001", acd.StateWrapUp)
	r.ev(7*time.Second, acd.Event{Kind: acd.EventEnter, Queue: "q1", Call: "B", Position: 1, Wait: 2 * time.Second})
	st(8*time.Second, "op001", acd.StateReady)
	r.ev(8*time.Second, acd.Event{Kind: acd.EventOffer, Queue: "q1", Call: "B", Agent: "op001"})
	st(8*time.Second, "op001", acd.StateReserved)
	r.ev(8*time.Second+ms, acd.Event{Kind: acd.EventConnect, Queue: "q1", Call: "B", Agent: "op001", Wait: time.Second + ms})
	r.ev(12*time.Second, acd.Event{Kind: acd.EventComplete, Queue: "q1", Call: "B", Agent: "op001"})
	// C's caller hung up 30 ms after the connect (its patience ran out).
	r.ev(2*time.Second+31*ms, acd.Event{Kind: acd.EventComplete, Queue: "q2", Call: "C", Agent: "op002", Reason: "caller"})
	r.lines("acd-events.jsonl", func() []any {
		var out []any
		for _, e := range r.acd {
			out = append(out, e)
		}
		return out
	}()...)

	type leg struct {
		Role   string `json:"role"`
		CallID string `json:"call_id"`
	}
	rec := func(id, result string, arrived time.Duration, wait int64) map[string]any {
		return map[string]any{"id": id, "arrived": r.at(arrived), "queue": "q1", "queue_result": result, "wait_ms": wait,
			"legs": []leg{{"caller", "sip" + id}}}
	}
	r.write("calls.json", []map[string]any{rec("A", "answered", time.Second, 2), rec("B", "answered", 7*time.Second, 1001),
		rec("C", "answered", 2*time.Second, 1), rec("D", "abandoned", 3*time.Second, 1000), rec("E", "timeout", 4*time.Second, 0),
		// a call of the window no caller of the load placed
		{"id": "Z", "arrived": r.at(5 * time.Second), "queue": "q2", "queue_result": "answered"},
		// G cancelled before the appliance answered (its patience ran out
		// during the setup): abandoned, not lost
		{"id": "G", "arrived": r.at(5 * time.Second), "hangup_by": "caller", "sip_code": 487, "legs": []leg{{"caller", "sipG"}}}})
	caller := func(n int, id, outcome string) event {
		return event{Role: "caller", ID: fmt.Sprint(n), Event: "call_end", CallID: "sip" + id, Outcome: outcome}
	}
	r.lines("callers.events.jsonl", caller(1, "A", outConnected), caller(2, "C", outConnected), caller(3, "D", outAbandoned),
		caller(4, "E", outLost), caller(5, "B", outConnected), caller(7, "G", outAbandoned),
		event{Role: "caller", ID: "6", Event: "setup_failed", Outcome: "sip_503"})
	seg := func(agent string, at time.Duration) event {
		return event{Role: "phone", ID: agent, Event: "customer_audio", Start: r.at(at).UnixNano(), End: r.at(at + time.Second).UnixNano()}
	}
	r.lines("phones.events.jsonl", seg("op001", time.Second+12*ms), seg("op001", 8*time.Second+15*ms),
		event{Role: "phone", ID: "op002", Event: "answered"})
	prom := func(at time.Duration, count int, buckets ...int) string {
		les := []string{"1e-05", "0.0001", "0.001", "0.01", "+Inf"}
		var b strings.Builder
		fmt.Fprintf(&b, "# scraped_unix_ns %d\n# HELP x\n", r.at(at).UnixNano())
		for i, le := range les {
			fmt.Fprintf(&b, "obzvon_acd_decision_seconds_bucket{le=%q} %d\n", le, buckets[i])
		}
		fmt.Fprintf(&b, "obzvon_acd_decision_seconds_sum %g\nobzvon_acd_decision_seconds_count %d\n", float64(count)*1e-4, count)
		return b.String()
	}
	r.write("metrics-before.prom", prom(0, 0, 0, 0, 0, 0, 0))
	r.write("metrics-placed.prom", prom(10*time.Second, 2, 2, 2, 2, 2, 2))
	r.write("metrics-after.prom", prom(20*time.Second, 4, 2, 2, 3, 4, 4))
	sample := func(name string, cpu, rss float64, waiting float64) {
		s := sampleReport{Label: name, Seconds: 10, CPUPct: cpu, RSSkB: stat{N: 1, Mean: rss}, HeapMB: stat{N: 1, Mean: rss / 1024},
			Goroutine: stat{N: 1, Mean: 10, End: 10}, Waiting: map[string]stat{"q1": {Mean: waiting / 2}, "q2": {Mean: waiting / 2}}}
		r.write("sample-"+name+".json", s)
	}
	sample("idle", 1, 1000, 0)
	sample("operators", 2, 1200, 0)
	sample("waiting", 4, 2200, 10)
	sample("load", 30, 5000, 0)
	sample("after", 2, 1300, 0)

	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"acd-report", "--dir", r.dir}, &out, &errb); code != exitOK {
		t.Fatalf("acd-report = %d: %s", code, errb.String())
	}
	var s acdSummary
	if err := readJSON(filepath.Join(r.dir, "summary.json"), &s); err != nil {
		t.Fatal(err)
	}
	cn := s.Connect
	if cn.Connects != 3 || cn.NoAudio != 1 || cn.ByOperator.N != 1 || cn.ByOperator.P50ms != 15 || cn.ByCaller.N != 1 || cn.ByCaller.P50ms != 12 ||
		cn.OfferToConnect.P50ms != 1 || cn.ConnectToAudio.P50ms != 14 {
		t.Errorf("connect = %+v; want 3 connects: B 15 ms after op001's ready (1 ms to connect, 14 more to audio), A 12 ms after its entry, C without audio", cn)
	}
	if cn.NoAudioCallerLeft != 1 {
		t.Errorf("connects without audio whose caller left = %d, want 1 (C hung up 30 ms after its connect)", cn.NoAudioCallerLeft)
	}
	cl := s.Callers
	if cl.Placed != 7 || cl.Lost != 2 || cl.Answered != 3 || cl.Abandoned != 2 || cl.Unterminated != 1 || cl.RecordsWithout != 1 ||
		cl.Cross["lost/timeout"] != 1 || cl.Cross["setup_failed:sip_503/no_record"] != 1 || cl.Cross["abandoned/cancelled"] != 1 {
		t.Errorf("callers = %+v; want 7 placed, E and the 503 lost, 3 answered, D and G (cancelled before the answer) abandoned, E left open in the ACD, Z without a caller", cl)
	}
	if e := s.Estimator; e.N != 1 || e.MAEs != 0.999 || e.Biass != 0.999 || e.NoHistory != 2 {
		t.Errorf("estimator = %+v; want B alone (A and C entered before their queues had history): 2 s estimated, 1.001 s waited", e)
	}
	if d := s.Decisions; d.Count != 4 || d.PerS != 0.2 || d.Le1msPct != 75 || d.Offers != 3 || d.P99Bucket != "1ms..10ms" {
		t.Errorf("decisions = %+v; want 4 in the window, 2 over the 10 s of placing (0.2/s), 3 of 4 within 1 ms, p99 in 1..10 ms", d)
	}
	res := s.Resources
	if res.PerOperator.CPUPct != 0.5 || res.PerOperator.RSSkB != 100 || res.WaitingN != 10 || res.PerWaiting.CPUPct != 0.2 || res.PerWaiting.RSSkB != 100 {
		t.Errorf("resources = %+v; want per operator 0.5%% and 100 kB, per waiting caller (10) 0.2%% and 100 kB", res)
	}
	if s.Goals["lost_0"] || !s.Goals["connect_p99_le_50ms"] || s.Goals["decision_p99_le_1ms"] {
		t.Errorf("goals = %v", s.Goals)
	}
	for _, want := range []string{"callers lost", "2 of 7 placed", "operator ready → customer audio", "p50 15.0 ms", "per waiting caller"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}

	// Two runs: the ranges.
	second := filepath.Join(t.TempDir(), "run2")
	if err := os.MkdirAll(second, 0o755); err != nil {
		t.Fatal(err)
	}
	s.Callers.Lost = 5
	b, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(second, "summary.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(t.Context(), []string{"acd-report", "--combine", r.dir, second}, &out, &errb); code != exitOK {
		t.Fatalf("acd-report --combine = %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "callers lost") || !strings.Contains(out.String(), "2..5") {
		t.Errorf("combined table lacks the lost range 2..5:\n%s", out.String())
	}
}

// TestHistDelta checks the appliance's histograms are read as their
// growth over the load, per label value.
func TestHistDelta(t *testing.T) {
	before := promSamples{
		`obzvon_acd_connect_stage_seconds_bucket{stage="read",le="0.001"}`: 10,
		`obzvon_acd_connect_stage_seconds_bucket{stage="read",le="0.01"}`:  10,
		`obzvon_acd_connect_stage_seconds_bucket{stage="read",le="+Inf"}`:  10,
		`obzvon_acd_connect_stage_seconds_count{stage="read"}`:             10,
		`obzvon_acd_connect_stage_seconds_sum{stage="read"}`:               0.005,
		`obzvon_acd_connect_stage_seconds_count{stage="switch"}`:           0,
	}
	after := promSamples{
		`obzvon_acd_connect_stage_seconds_bucket{stage="read",le="0.001"}`:   10,
		`obzvon_acd_connect_stage_seconds_bucket{stage="read",le="0.01"}`:    110,
		`obzvon_acd_connect_stage_seconds_bucket{stage="read",le="+Inf"}`:    110,
		`obzvon_acd_connect_stage_seconds_count{stage="read"}`:               110,
		`obzvon_acd_connect_stage_seconds_sum{stage="read"}`:                 0.505,
		`obzvon_acd_connect_stage_seconds_bucket{stage="switch",le="0.001"}`: 7,
		`obzvon_acd_connect_stage_seconds_bucket{stage="switch",le="+Inf"}`:  7,
		`obzvon_acd_connect_stage_seconds_count{stage="switch"}`:             7,
		`obzvon_acd_connect_stage_seconds_sum{stage="switch"}`:               0.0007,
	}
	d := &runData{before: before, after: after}
	f, ok := histDelta(d, "obzvon_acd_connect_stage_seconds", "stage", "read")
	if !ok || f.N != 100 || f.MeanMs != 5 || f.P99Bucket != "1ms..10ms" || f.P50ms <= 1 || f.P50ms > 10 {
		t.Errorf("read stage = %+v, %v; want the 100 observations of the load, all in 1..10 ms, mean 5 ms", f, ok)
	}
	if f, ok := histDelta(d, "obzvon_acd_connect_stage_seconds", "stage", "switch"); !ok || f.N != 7 || f.P99Bucket != "0..1ms" {
		t.Errorf("switch stage = %+v, %v; want 7 within 1 ms", f, ok)
	}
	if _, ok := histDelta(d, "obzvon_acd_connect_seconds", "", ""); ok {
		t.Errorf("a histogram missing from the scrapes was read")
	}
}
