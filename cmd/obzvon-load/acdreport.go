package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/obzvon/obzvon/acd"
)

// obzvon-load acd-report: the figures of make bench-acd, from one run's
// directory (what scripts/bench-acd.sh leaves there):
//
//	bench.json            the run's parameters and the load phase's start and end
//	acd-events.jsonl      `obzvon journal events --stream acd`
//	calls.json            `obzvon journal calls --json`
//	callers.events.jsonl  the load phase's callers (--events): one line per caller
//	callers.json          their report (--json)
//	phones.events.jsonl   the operator phones' customer audio segments (--events)
//	phones.json           their report
//	metrics-before.prom   /metrics at the load phase's start and end, each with a
//	metrics-after.prom    first line "# scraped_unix_ns N"
//	sample-*.json         obzvon-load sample of the phases idle, operators,
//	                      waiting, load and after
//
// It writes summary.json there and prints a table; with --combine DIR…
// it prints the ranges over several runs' summaries.

// benchConfig is bench.json.
type benchConfig struct {
	Run            int      `json:"run"`
	Commit         string   `json:"commit"`
	Quick          bool     `json:"quick"`
	Operators      int      `json:"operators"`
	Queues         []string `json:"queues"`
	Callers        int      `json:"callers"`
	Rate           float64  `json:"rate"`
	DurationS      float64  `json:"duration_s"`
	Talk           string   `json:"talk"`
	Patience       string   `json:"patience"`
	WrapUp         string   `json:"wrap_up"`
	WaitingCallers int      `json:"waiting_callers"`
	LoadStartNs    int64    `json:"load_start_unix_ns"`
	LoadEndNs      int64    `json:"load_end_unix_ns"`
}

// acdSummary is summary.json: every figure of one run.
type acdSummary struct {
	Config    benchConfig       `json:"config"`
	Decisions decisionFigures   `json:"routing_decisions"`
	Connect   connectFigures    `json:"connect"`
	Callers   callerFigures     `json:"callers"`
	Resources resourceFigures   `json:"resources"`
	Estimator estimatorFigures  `json:"wait_estimator"`
	Machine   map[string]phaseM `json:"machine"`
	// Starvation: signs of a starved machine during the load, from the
	// generator's and the appliance's own reports.
	Starvation starvation      `json:"starvation_during_load"`
	Goals      map[string]bool `json:"goals_met"`
	Notes      []string        `json:"notes,omitempty"`
}

// decisionFigures come from obzvon_acd_decision_seconds scraped at the
// load phase's start and end: a decision is one routing pass that
// offered at least one call.
type decisionFigures struct {
	WindowS float64 `json:"window_s"`
	Count   float64 `json:"count"`
	// PerS is over the placing period (PlacingS, PlacingCount) when it was
	// scraped, else over the window.
	PerS         float64 `json:"per_s"`
	PlacingS     float64 `json:"placing_window_s,omitempty"`
	PlacingCount float64 `json:"placing_count,omitempty"`
	Offers       int     `json:"offers_in_window"`
	PerPass      float64 `json:"offers_per_decision"`
	MeanUs       float64 `json:"mean_us"`
	P50Us        float64 `json:"p50_us"`
	P99Us        float64 `json:"p99_us"`
	Le1msPct     float64 `json:"within_1ms_pct"`
	P99Bucket    string  `json:"p99_bucket"`
	Error        string  `json:"error,omitempty"`
}

// connectFigures: for each customer connected to an operator (the
// appliance's connect event), from the moment the match became possible —
// the operator's last change to ready, or the caller's entry if later — to
// the first packet of that customer's audio arriving at the operator's
// phone (kernel arrival time on the phone's socket, from its events file:
// the first customer segment that starts after the offer and before the
// next offer to that operator).
type connectFigures struct {
	Definition string `json:"definition"`
	// ByOperator: the caller was waiting when the operator became ready
	// (the goal's case); ByCaller: the operator was ready when the caller
	// arrived.
	ByOperator latencySummary `json:"operator_ready_to_audio"`
	ByCaller   latencySummary `json:"caller_entry_to_audio"`
	All        latencySummary `json:"match_to_audio"`
	// Parts of the operator-ready case.
	ReadyToOffer   latencySummary `json:"ready_to_offer"`
	OfferToConnect latencySummary `json:"offer_to_connect_event"`
	OfferToAudio   latencySummary `json:"offer_to_audio"`
	ConnectToAudio latencySummary `json:"connect_event_to_audio"`
	Connects       int            `json:"connects"`
	NoAudio        int            `json:"connects_without_audio_at_phone"`
	NoReady        int            `json:"connects_without_ready_event"`
	Requeues       int            `json:"requeues"`
	NoAudioSample  []string       `json:"no_audio_sample,omitempty"`
	// NoAudioCallerLeft: connects without audio whose caller hung up
	// within noAudioCallerLeft of the connect (its patience ran out as the
	// operator came: it sent no more audio).
	NoAudioCallerLeft int `json:"connects_without_audio_caller_left"`
	// Appliance is the appliance's own timing of the same connects
	// (obzvon_acd_connect_seconds and its stages over the load): from
	// the offer to the first customer packet sent to the phone.
	Appliance map[string]histFigure `json:"appliance_connect,omitempty"`
}

// noAudioCallerLeft: a connect without audio at the phone whose caller
// hung up this soon after it is the caller leaving, not a lost connect.
const noAudioCallerLeft = 100 * time.Millisecond

// histFigure summarizes a histogram's growth over the load.
type histFigure struct {
	N      float64 `json:"n"`
	MeanMs float64 `json:"mean_ms"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	// P99Bucket is the bucket holding the p99 ("5ms..10ms").
	P99Bucket string `json:"p99_bucket"`
}

// histDelta is the growth of histogram name (series with label
// sel=val when sel is set) between the scrapes before and after the load.
func histDelta(d *runData, name, sel, val string) (histFigure, bool) {
	var f histFigure
	if d.before == nil || d.after == nil {
		return f, false
	}
	match := func(k string) bool {
		if sel == "" {
			return true
		}
		v, ok := labelValue(k, sel)
		return ok && v == val
	}
	sums := map[float64]float64{}
	var count, sum float64
	for k, v := range d.after {
		switch seriesName(k) {
		case name + "_count":
			if match(k) {
				count += v - d.before[k]
			}
		case name + "_sum":
			if match(k) {
				sum += v - d.before[k]
			}
		case name + "_bucket":
			if !match(k) {
				continue
			}
			le, ok := labelValue(k, "le")
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			sums[x] += v - d.before[k]
		}
	}
	if count <= 0 || len(sums) == 0 {
		return f, false
	}
	les := make([]float64, 0, len(sums))
	for le := range sums {
		les = append(les, le)
	}
	sort.Float64s(les)
	cum := make([]float64, len(les))
	for i, le := range les {
		cum[i] = sums[le]
	}
	f.N = count
	f.MeanMs = round3(sum / count * 1e3)
	f.P50ms = round3(histQuantile(les, cum, 0.50) * 1e3)
	f.P99ms = round3(histQuantile(les, cum, 0.99) * 1e3)
	for i, le := range les {
		if cum[i] >= 0.99*count {
			lo := "0"
			if i > 0 {
				lo = fmtSeconds(les[i-1])
			}
			f.P99Bucket = lo + ".." + fmtSeconds(le)
			break
		}
	}
	return f, true
}

// applianceConnect reads the appliance's connect histograms.
func applianceConnect(d *runData) map[string]histFigure {
	out := map[string]histFigure{}
	if f, ok := histDelta(d, "obzvon_acd_connect_seconds", "", ""); ok {
		out["total"] = f
	}
	for _, st := range []string{"switch", "source", "read", "send"} {
		if f, ok := histDelta(d, "obzvon_acd_connect_stage_seconds", "stage", st); ok {
			out[st] = f
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// callerFigures cross-check the generator's callers with the journal.
type callerFigures struct {
	Placed int `json:"placed"`
	// Generator is each caller's outcome as the generator saw it
	// (connected, abandoned, lost, cut, setup_failed:…); Journal the call
	// record's queue_result; Cross both ("connected/answered" …).
	Generator map[string]int `json:"generator"`
	Journal   map[string]int `json:"journal"`
	Cross     map[string]int `json:"generator_x_journal"`
	// Lost: callers that did not hang up themselves and reached no
	// operator, by either side's account.
	Lost       int      `json:"lost"`
	LostSample []string `json:"lost_sample,omitempty"`
	// Unterminated: calls whose last ACD event leaves them in the ACD.
	Unterminated int `json:"acd_unterminated"`
	// RecordsWithout: call records of the load window no caller placed.
	RecordsWithout int `json:"records_without_caller"`
	Answered       int `json:"answered"`
	Abandoned      int `json:"abandoned_by_caller"`
	// WaitP50/P99 of answered callers (journal's wait_ms).
	Wait latencySummary `json:"answered_wait"`
	// QueueWaiting is obzvon_queue_waiting over the load phase.
	QueueWaiting map[string]stat `json:"queue_waiting_during_load"`
	// AgentsAfter is obzvon_agents at the end (all ready, none stuck).
	AgentsAfter  map[string]float64 `json:"agents_after"`
	WaitingAfter float64            `json:"waiting_after"`
}

// resourceFigures: CPU and memory of the appliance per operator and per
// waiting caller, from the differences between the phases.
type resourceFigures struct {
	Phases       map[string]phaseR `json:"phases"`
	PerOperator  perUnit           `json:"per_operator"`
	PerWaiting   perUnit           `json:"per_waiting_caller"`
	WaitingN     float64           `json:"waiting_callers_measured"`
	LoadCPUPct   float64           `json:"load_cpu_pct_of_core"`
	LoadMsPerAns float64           `json:"load_cpu_ms_per_answered_call"`
	// Leak: the phase after the load against the phase before it (same
	// operators on session legs, no callers).
	GoroutinesBefore float64 `json:"goroutines_before_load"`
	GoroutinesAfter  float64 `json:"goroutines_after_load"`
	HeapBeforeMB     float64 `json:"heap_before_load_mb"`
	HeapAfterMB      float64 `json:"heap_after_load_mb"`
	// LiveHeap*: HeapAlloc right after a forced GC.
	LiveHeapBeforeMB float64 `json:"live_heap_before_load_mb"`
	LiveHeapAfterMB  float64 `json:"live_heap_after_load_mb"`
}

type phaseR struct {
	Seconds float64 `json:"seconds"`
	CPUPct  float64 `json:"cpu_pct_of_core"`
	// RunWaitPerCPU: seconds the appliance waited for a CPU per second it ran.
	RunWaitPerCPU float64 `json:"runqueue_wait_per_cpu_s"`
	RTPIn         float64 `json:"rtp_in_per_s"`
	RTPOut        float64 `json:"rtp_out_per_s"`
	USPerPkt      float64 `json:"cpu_us_per_rtp_packet"`
	RSSMeanMB     float64 `json:"rss_mean_mb"`
	RSSMaxMB      float64 `json:"rss_max_mb"`
	HeapMeanMB    float64 `json:"heap_inuse_mean_mb"`
	Goroutines    float64 `json:"goroutines_mean"`
}

type perUnit struct {
	CPUPct     float64 `json:"cpu_pct_of_core"`
	RTPPerS    float64 `json:"rtp_packets_per_s"`
	RSSkB      float64 `json:"rss_kb"`
	HeapkB     float64 `json:"heap_inuse_kb"`
	Goroutines float64 `json:"goroutines"`
}

// starvation are the signs that the machine, not the appliance, set a
// latency: the generator's 20 ms ticker running late (packets sent late
// or skipped) and the appliance's own forwarding delay (receive → send
// of an RTP packet, its histogram over the load).
type starvation struct {
	ForwardP50us    float64 `json:"appliance_forward_delay_p50_us"`
	ForwardP99us    float64 `json:"appliance_forward_delay_p99_us"`
	CallerLateTicks uint64  `json:"callers_late_ticks"`
	CallerSkipped   uint64  `json:"callers_packets_skipped"`
	CallerSentPct   float64 `json:"callers_sent_pct_of_schedule"`
	// CallerNextSend*: from a random moment (a connect) to the callers'
	// generator's next packet; CallerStalledPct: its time in gaps > 40 ms.
	CallerNextSendP50ms float64        `json:"callers_wait_for_next_send_p50_ms"`
	CallerNextSendP99ms float64        `json:"callers_wait_for_next_send_p99_ms"`
	CallerStalledPct    float64        `json:"callers_stalled_pct"`
	PhoneLateTicks      uint64         `json:"phones_late_ticks"`
	PhoneSkipped        uint64         `json:"phones_packets_skipped"`
	CallersCPUPct       float64        `json:"callers_generator_cpu_pct_of_core"`
	PhonesCPUPct        float64        `json:"phones_generator_cpu_pct_of_core"`
	GoroutineGrowth     map[string]int `json:"goroutine_stacks_grown,omitempty"`
}

// phaseM is the machine during a phase.
type phaseM struct {
	PSIStart float64    `json:"psi_some_avg10_start"`
	PSIMax   float64    `json:"psi_some_avg10_max"`
	PSIEnd   float64    `json:"psi_some_avg10_end"`
	Load     [3]float64 `json:"loadavg_end"`
	// GenCPUPct is the load generator's CPU (callers and phones) where known.
	GenCPUPct float64 `json:"generator_cpu_pct_of_core,omitempty"`
}

// estimatorFigures compare the estimate each answered caller got at entry
// (the enter event's wait: acd.EstimateWait) with its actual wait.
type estimatorFigures struct {
	Definition string  `json:"definition"`
	N          int     `json:"n"`
	NoHistory  int     `json:"excluded_no_history"`
	MAEs       float64 `json:"mean_abs_error_s"`
	Biass      float64 `json:"mean_error_s"`
	RelPct     float64 `json:"abs_error_pct_of_actual"`
	MedRelPct  float64 `json:"median_rel_error_pct"`
	MeanActual float64 `json:"mean_actual_wait_s"`
	MeanEst    float64 `json:"mean_estimate_s"`
	// ByQueue are the same per queue.
	ByQueue map[string]estimatorQueue `json:"by_queue,omitempty"`
}

type estimatorQueue struct {
	N          int     `json:"n"`
	MAEs       float64 `json:"mean_abs_error_s"`
	Biass      float64 `json:"mean_error_s"`
	RelPct     float64 `json:"abs_error_pct_of_actual"`
	MeanActual float64 `json:"mean_actual_wait_s"`
}

// callRec is the part of a call record (journal.CallRecord's JSON) the
// report reads.
type callRec struct {
	ID          string    `json:"id"`
	Arrived     time.Time `json:"arrived"`
	Queue       string    `json:"queue"`
	QueueResult string    `json:"queue_result"`
	WaitMs      int64     `json:"wait_ms"`
	Answered    time.Time `json:"answered"`
	HangupBy    string    `json:"hangup_by"`
	Agents      []struct {
		Login string `json:"login"`
	} `json:"agents"`
	Legs []struct {
		Role   string `json:"role"`
		CallID string `json:"call_id"`
	} `json:"legs"`
}

// runACDReport is `obzvon-load acd-report ARGS`.
func runACDReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("obzvon-load acd-report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "a run's `DIR` (see the package comment); writes DIR/summary.json")
	combine := fs.Bool("combine", false, "print the ranges over the summary.json of each DIR given as arguments")
	jsonOut := fs.String("json", "", "with --combine: also write the ranges as JSON to `FILE`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *combine {
		if fs.NArg() == 0 {
			fmt.Fprintln(stderr, "obzvon-load acd-report --combine: give the runs' directories")
			return exitUsage
		}
		var sums []acdSummary
		for _, d := range fs.Args() {
			var s acdSummary
			if err := readJSON(filepath.Join(d, "summary.json"), &s); err != nil {
				fmt.Fprintf(stderr, "obzvon-load acd-report: %v\n", err)
				return exitFailure
			}
			sums = append(sums, s)
		}
		rows := combineSummaries(sums)
		writeCombined(stdout, sums, rows)
		if *jsonOut != "" {
			b, _ := json.MarshalIndent(map[string]any{"runs": sums, "ranges": rows}, "", "  ")
			if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
				fmt.Fprintf(stderr, "obzvon-load acd-report: %v\n", err)
				return exitFailure
			}
		}
		return exitOK
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "obzvon-load acd-report: give --dir DIR (or --combine DIR...)")
		return exitUsage
	}
	s, err := analyzeRun(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "obzvon-load acd-report: %v\n", err)
		return exitFailure
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(filepath.Join(*dir, "summary.json"), append(b, '\n'), 0o644); err != nil {
		fmt.Fprintf(stderr, "obzvon-load acd-report: %v\n", err)
		return exitFailure
	}
	writeSummary(stdout, s)
	return exitOK
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readLines calls fn with each non-empty line of a JSON-lines file.
func readLines(path string, fn func(n int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := fn(n, sc.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// runData is everything read from a run's directory.
type runData struct {
	cfg     benchConfig
	events  []acd.Event
	calls   []callRec
	callers []event // role caller: call_end and setup_failed
	segs    map[string][]event
	samples map[string]*sampleReport
	callRep *report
	phRep   *report
	before  promSamples
	placed  promSamples
	after   promSamples
	tBefore time.Time
	tPlaced time.Time
	tAfter  time.Time
	// goroutine profiles (debug=1) before and after the load
	grBefore, grAfter map[string]int
	// live heap (HeapAlloc right after a GC) before and after the load
	heapBefore, heapAfter float64
}

func loadRun(dir string) (*runData, error) {
	d := &runData{segs: map[string][]event{}, samples: map[string]*sampleReport{}}
	p := func(name string) string { return filepath.Join(dir, name) }
	if err := readJSON(p("bench.json"), &d.cfg); err != nil {
		return nil, err
	}
	if err := readLines(p("acd-events.jsonl"), func(_ int, b []byte) error {
		var e acd.Event
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		d.events = append(d.events, e)
		return nil
	}); err != nil {
		return nil, err
	}
	sort.SliceStable(d.events, func(i, j int) bool { return d.events[i].Time.Before(d.events[j].Time) })
	if err := readJSON(p("calls.json"), &d.calls); err != nil {
		return nil, err
	}
	if err := readLines(p("callers.events.jsonl"), func(_ int, b []byte) error {
		var e event
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if e.Role == "caller" {
			d.callers = append(d.callers, e)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readLines(p("phones.events.jsonl"), func(_ int, b []byte) error {
		var e event
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if e.Role == "phone" && e.Event == "customer_audio" {
			d.segs[e.ID] = append(d.segs[e.ID], e)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, s := range d.segs {
		sort.Slice(s, func(i, j int) bool { return s[i].Start < s[j].Start })
	}
	for _, name := range []string{"idle", "operators", "waiting", "load", "after"} {
		var s sampleReport
		if err := readJSON(p("sample-"+name+".json"), &s); err == nil {
			d.samples[name] = &s
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	for name, dst := range map[string]**report{"callers.json": &d.callRep, "phones.json": &d.phRep} {
		var r report
		if err := readJSON(p(name), &r); err == nil {
			*dst = &r
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	var err error
	if d.before, d.tBefore, err = readScrape(p("metrics-before.prom")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if d.placed, d.tPlaced, err = readScrape(p("metrics-placed.prom")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if d.after, d.tAfter, err = readScrape(p("metrics-after.prom")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if d.grBefore, err = readGoroutines(p("goroutines-before.txt")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if d.grAfter, err = readGoroutines(p("goroutines-after.txt")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if d.heapBefore, err = readHeapAlloc(p("heap-before.txt")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if d.heapAfter, err = readHeapAlloc(p("heap-after.txt")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return d, nil
}

// readScrape reads a saved exposition whose first line is
// "# scraped_unix_ns N".
func readScrape(path string) (promSamples, time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	v, ok := strings.CutPrefix(first, "# scraped_unix_ns ")
	ns, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if !ok || err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: first line %q: want \"# scraped_unix_ns N\"", path, first)
	}
	ps, err := parseExposition(strings.NewReader(string(b)))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	return ps, time.Unix(0, ns), nil
}

// readGoroutines reads a goroutine profile in its debug=1 text form
// (/debug/pprof/goroutine?debug=1): blocks of "N @ 0x…" followed by
// "#\t0x…\tfunction+0x…\tfile:line" frames, innermost first. It returns
// the count per goroutine's entry function (its outermost frame: where
// the goroutine was started, stable whatever it is blocked in).
func readGoroutines(path string) (map[string]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	n, frames := 0, []string(nil)
	flush := func() {
		if n > 0 {
			entry := "(no frames)"
			if len(frames) > 0 {
				entry = frames[len(frames)-1]
			}
			out[entry] += n
		}
		n, frames = 0, nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.Contains(line, " @ 0x"):
			flush()
			c, _, _ := strings.Cut(line, " @ ")
			n, _ = strconv.Atoi(strings.TrimSpace(c))
		case strings.HasPrefix(line, "#\t") && n > 0:
			f := strings.Split(line, "\t")
			if len(f) >= 3 {
				name, _, _ := strings.Cut(f[2], "+0x")
				frames = append(frames, name)
			}
		case strings.TrimSpace(line) == "":
			flush()
		}
	}
	flush()
	return out, nil
}

// readHeapAlloc reads "# HeapAlloc = N" of a heap profile's debug=1 text
// (/debug/pprof/heap?gc=1&debug=1: taken right after a GC, so it is the
// live heap), in MB.
func readHeapAlloc(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "# HeapAlloc = "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %q: %w", path, line, err)
			}
			return round3(n / (1 << 20)), nil
		}
	}
	return 0, fmt.Errorf("%s: no \"# HeapAlloc = \" line", path)
}

// analyzeRun computes one run's summary.
func analyzeRun(dir string) (*acdSummary, error) {
	d, err := loadRun(dir)
	if err != nil {
		return nil, err
	}
	s := &acdSummary{Config: d.cfg, Machine: map[string]phaseM{}, Goals: map[string]bool{}}
	loadStart, loadEnd := time.Unix(0, d.cfg.LoadStartNs), time.Unix(0, d.cfg.LoadEndNs)

	// The load phase's calls: the records of the callers it placed.
	bySIP := map[string]*callRec{}
	for i := range d.calls {
		for _, l := range d.calls[i].Legs {
			if l.Role == "caller" && l.CallID != "" {
				bySIP[l.CallID] = &d.calls[i]
			}
		}
	}
	inLoad := map[string]bool{} // record ids
	for _, c := range d.callers {
		if r := bySIP[c.CallID]; r != nil && c.CallID != "" {
			inLoad[r.ID] = true
		}
	}

	s.Decisions = decisions(d, loadStart, loadEnd)
	s.Connect = connects(d, inLoad)
	s.Callers = callers(d, bySIP, inLoad, loadStart, loadEnd)
	s.Estimator = estimator(d, inLoad)
	s.Resources, s.Machine = resources(d, s.Callers.Answered)
	s.Starvation = starved(d)

	s.Goals["decision_p99_le_1ms"] = s.Decisions.Count > 0 && s.Decisions.Le1msPct >= 99
	s.Goals["connect_p99_le_50ms"] = s.Connect.ByOperator.N > 0 && s.Connect.ByOperator.P99ms <= 50
	s.Goals["lost_0"] = s.Callers.Placed > 0 && s.Callers.Lost == 0 && s.Callers.Unterminated == 0
	if n := s.Connect.ByOperator.N + s.Connect.ByCaller.N; n > 0 && s.Connect.ByOperator.N < n*9/10 {
		s.Notes = append(s.Notes, fmt.Sprintf("only %d of %d connects found a caller waiting when the operator became ready: the queues were not loaded all the time", s.Connect.ByOperator.N, n))
	}
	return s, nil
}

// decisions reads the decision-time histogram's increase over the load
// phase.
func decisions(d *runData, loadStart, loadEnd time.Time) decisionFigures {
	var f decisionFigures
	if d.before == nil || d.after == nil {
		f.Error = "no metrics-before.prom / metrics-after.prom"
		return f
	}
	const name = "obzvon_acd_decision_seconds"
	f.WindowS = round3(d.tAfter.Sub(d.tBefore).Seconds())
	f.Count = d.after[name+"_count"] - d.before[name+"_count"]
	sum := d.after[name+"_sum"] - d.before[name+"_sum"]
	sums := map[float64]float64{}
	for k, v := range d.after {
		if seriesName(k) != name+"_bucket" {
			continue
		}
		le, ok := labelValue(k, "le")
		if !ok {
			continue
		}
		x, err := strconv.ParseFloat(le, 64)
		if err != nil {
			continue
		}
		sums[x] += v - d.before[k]
	}
	les := make([]float64, 0, len(sums))
	for le := range sums {
		les = append(les, le)
	}
	sort.Float64s(les)
	cum := make([]float64, len(les))
	for i, le := range les {
		cum[i] = sums[le]
	}
	if f.Count <= 0 || len(les) == 0 {
		f.Error = "no routing decisions in the window"
		return f
	}
	if f.WindowS > 0 {
		f.PerS = round3(f.Count / f.WindowS)
	}
	// The rate over the placing period (the tail of the load, callers
	// finishing, routes fewer calls).
	if d.placed != nil {
		if w := d.tPlaced.Sub(d.tBefore).Seconds(); w > 0 {
			f.PlacingS = round3(w)
			f.PlacingCount = d.placed[name+"_count"] - d.before[name+"_count"]
			f.PerS = round3(f.PlacingCount / w)
		}
	}
	f.MeanUs = round3(sum / f.Count * 1e6)
	f.P50Us = round3(histQuantile(les, cum, 0.50) * 1e6)
	f.P99Us = round3(histQuantile(les, cum, 0.99) * 1e6)
	for i, le := range les {
		if le == 1e-3 {
			f.Le1msPct = round3(100 * cum[i] / f.Count)
		}
		if cum[i] >= 0.99*f.Count && f.P99Bucket == "" {
			lo := "0"
			if i > 0 {
				lo = fmtSeconds(les[i-1])
			}
			f.P99Bucket = lo + ".." + fmtSeconds(le)
		}
	}
	for _, e := range d.events {
		if e.Kind == acd.EventOffer && !e.Time.Before(d.tBefore) && e.Time.Before(d.tAfter) {
			f.Offers++
		}
	}
	f.PerPass = round3(float64(f.Offers) / f.Count)
	return f
}

func fmtSeconds(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "+Inf"
	case x < 1e-3:
		return strconv.FormatFloat(x*1e6, 'g', -1, 64) + "µs"
	case x < 1:
		return strconv.FormatFloat(x*1e3, 'g', -1, 64) + "ms"
	}
	return strconv.FormatFloat(x, 'g', -1, 64) + "s"
}

// connects joins the connect events with the phones' customer segments.
func connects(d *runData, inLoad map[string]bool) connectFigures {
	f := connectFigures{Definition: "per customer connected (connect event, not a transfer): from max(the operator's last agent_state→ready, the caller's enter) " +
		"to the kernel arrival time at that operator's phone of the first packet of the first customer-audio segment that starts after the offer and before the next offer to that operator"}
	readyAt := map[string][]time.Time{} // agent → times it became ready
	offers := map[string][]acd.Event{}  // agent → offers
	type ck struct{ call, agent string }
	lastOffer := map[ck]acd.Event{}
	lastEnter := map[string]time.Time{}
	// The end of each call's stay with its operator.
	ended := map[ck]acd.Event{}
	for _, e := range d.events {
		if e.Kind == acd.EventComplete && e.Agent != "" {
			ended[ck{e.Call, e.Agent}] = e
		}
	}
	var byOp, byCaller, all, r2o, o2c, o2a, c2a []time.Duration
	// Every offer first: the next offer to an operator bounds the segment
	// of the call before it.
	for _, e := range d.events {
		if e.Kind == acd.EventOffer {
			offers[e.Agent] = append(offers[e.Agent], e)
		}
	}
	for _, e := range d.events {
		switch e.Kind {
		case acd.EventAgentState:
			if e.State == acd.StateReady {
				readyAt[e.Agent] = append(readyAt[e.Agent], e.Time)
			}
		case acd.EventEnter:
			lastEnter[e.Call] = e.Time
		case acd.EventOffer:
			lastOffer[ck{e.Call, e.Agent}] = e
		case acd.EventRequeue:
			if inLoad[e.Call] {
				f.Requeues++
			}
		case acd.EventConnect:
			if e.Consult || e.Reason == "transfer" || !inLoad[e.Call] {
				continue
			}
			f.Connects++
			o, ok := lastOffer[ck{e.Call, e.Agent}]
			if !ok {
				f.NoReady++
				continue
			}
			rs := readyAt[e.Agent]
			i := sort.Search(len(rs), func(i int) bool { return rs[i].After(o.Time) })
			if i == 0 {
				f.NoReady++
				continue
			}
			ready := rs[i-1]
			enter := lastEnter[e.Call]
			start, byOperator := ready, true
			if enter.After(ready) {
				start, byOperator = enter, false
			}
			// The next offer to this operator bounds the segment's start.
			os := offers[e.Agent]
			j := sort.Search(len(os), func(j int) bool { return os[j].Time.After(o.Time) })
			var until int64 = math.MaxInt64
			if j < len(os) {
				until = os[j].Time.UnixNano()
			}
			segs := d.segs[e.Agent]
			from := o.Time.UnixNano()
			k := sort.Search(len(segs), func(k int) bool { return segs[k].Start >= from })
			if k == len(segs) || segs[k].Start >= until {
				f.NoAudio++
				why := "no end with the operator"
				if x, ok := ended[ck{e.Call, e.Agent}]; ok {
					talk := x.Time.Sub(e.Time)
					why = fmt.Sprintf("ended by %s %.1f ms after the connect", x.Reason, float64(talk)/1e6)
					if x.Reason == "caller" && talk <= noAudioCallerLeft {
						f.NoAudioCallerLeft++
					}
				}
				if len(f.NoAudioSample) < 10 {
					f.NoAudioSample = append(f.NoAudioSample, e.Call+" "+e.Agent+" "+e.Time.UTC().Format(time.RFC3339Nano)+" ("+why+")")
				}
				continue
			}
			audio := time.Unix(0, segs[k].Start)
			lat := audio.Sub(start)
			all = append(all, lat)
			if byOperator {
				byOp = append(byOp, lat)
				r2o = append(r2o, o.Time.Sub(ready))
				o2c = append(o2c, e.Time.Sub(o.Time))
				o2a = append(o2a, audio.Sub(o.Time))
				c2a = append(c2a, audio.Sub(e.Time))
			} else {
				byCaller = append(byCaller, lat)
			}
		}
	}
	f.Appliance = applianceConnect(d)
	f.ByOperator, f.ByCaller, f.All = summarize(byOp), summarize(byCaller), summarize(all)
	f.ReadyToOffer, f.OfferToConnect, f.OfferToAudio, f.ConnectToAudio = summarize(r2o), summarize(o2c), summarize(o2a), summarize(c2a)
	return f
}

// terminal reports whether an ACD event ends a call's stay in the ACD.
func terminal(k acd.EventKind) bool {
	switch k {
	case acd.EventComplete, acd.EventAbandon, acd.EventTimeout, acd.EventFull, acd.EventTransfer:
		return true
	}
	return false
}

// callers cross-checks each caller's outcome with its call record.
func callers(d *runData, bySIP map[string]*callRec, inLoad map[string]bool, loadStart, loadEnd time.Time) callerFigures {
	f := callerFigures{Generator: map[string]int{}, Journal: map[string]int{}, Cross: map[string]int{}, AgentsAfter: map[string]float64{}}
	lost := func(why string) {
		f.Lost++
		if len(f.LostSample) < 20 {
			f.LostSample = append(f.LostSample, why)
		}
	}
	var waits []time.Duration
	for _, c := range d.callers {
		f.Placed++
		g := c.Outcome
		if c.Event == "setup_failed" {
			g = "setup_failed:" + c.Outcome
		}
		f.Generator[g]++
		r := bySIP[c.CallID]
		j := "no_record"
		if r != nil && c.CallID != "" {
			j = r.QueueResult
			switch {
			case j == "" && r.Answered.IsZero() && r.HangupBy == "caller":
				// The caller hung up before the appliance answered
				// (CANCEL: its patience ran out during the setup).
				j = "cancelled"
			case j == "":
				j = "none"
			}
		}
		f.Journal[j]++
		f.Cross[g+"/"+j]++
		switch {
		case g == outConnected && j == "answered":
			f.Answered++
			waits = append(waits, time.Duration(r.WaitMs)*time.Millisecond)
		case g == outAbandoned && (j == "abandoned" || j == "answered" || j == "cancelled"):
			// The caller gave up (an answer in the same instant is a
			// race, and a cancel before the answer its patience running
			// out during the setup: not lost).
			f.Abandoned++
		default:
			lost(fmt.Sprintf("caller %s (%s): generator %s, journal %s", c.ID, c.CallID, g, j))
		}
	}
	f.Wait = summarize(waits)
	// Calls whose last ACD event leaves them waiting, offered or talking.
	last := map[string]acd.EventKind{}
	for _, e := range d.events {
		if e.Call != "" && e.Kind != acd.EventAgentState {
			last[e.Call] = e.Kind
		}
	}
	for id := range inLoad {
		if k, ok := last[id]; ok && !terminal(k) {
			f.Unterminated++
		}
	}
	for _, r := range d.calls {
		if r.Arrived.Before(loadStart) || r.Arrived.After(loadEnd) {
			continue
		}
		if !inLoad[r.ID] && r.Queue != "" {
			f.RecordsWithout++
		}
	}
	if s := d.samples["load"]; s != nil {
		f.QueueWaiting = s.Waiting
	}
	if s := d.samples["after"]; s != nil {
		for st, v := range s.Agents {
			f.AgentsAfter[st] = v.End
		}
		for _, v := range s.Waiting {
			f.WaitingAfter += v.End
		}
	}
	return f
}

// estimator compares each answered caller's wait estimate at entry with
// the wait it had.
func estimator(d *runData, inLoad map[string]bool) estimatorFigures {
	f := estimatorFigures{Definition: "answered callers of the load phase with one queue entry, entered after their queue's first completed call " +
		"(before it the estimator has no history and announces none): estimate = the enter event's wait (acd.EstimateWait at entry; absent = 0), " +
		"actual = the connect event's wait; error = estimate - actual", ByQueue: map[string]estimatorQueue{}}
	firstComplete := map[string]time.Time{}
	type ent struct {
		q      string
		at     time.Time
		est    time.Duration
		enters int
		actual time.Duration
		done   bool
	}
	calls := map[string]*ent{}
	for _, e := range d.events {
		switch e.Kind {
		case acd.EventComplete:
			if _, ok := firstComplete[e.Queue]; !ok && !e.Consult {
				firstComplete[e.Queue] = e.Time
			}
		case acd.EventEnter:
			if !inLoad[e.Call] {
				continue
			}
			c := calls[e.Call]
			if c == nil {
				c = &ent{q: e.Queue, at: e.Time, est: e.Wait}
				calls[e.Call] = c
			}
			c.enters++
		case acd.EventConnect:
			if c := calls[e.Call]; c != nil && !c.done && !e.Consult {
				c.actual, c.done = e.Wait, true
			}
		}
	}
	type acc struct {
		n                      int
		abs, signed, act, estS float64
		rel                    []float64
	}
	all := &acc{}
	byQ := map[string]*acc{}
	for _, c := range calls {
		if !c.done || c.enters != 1 {
			continue
		}
		fc, ok := firstComplete[c.q]
		if !ok || !c.at.After(fc) {
			f.NoHistory++
			continue
		}
		err := (c.est - c.actual).Seconds()
		for _, a := range []*acc{all, byQ[c.q]} {
			if a == nil {
				a = &acc{}
				byQ[c.q] = a
			}
			a.n++
			a.abs += math.Abs(err)
			a.signed += err
			a.act += c.actual.Seconds()
			a.estS += c.est.Seconds()
			if c.actual >= time.Second {
				a.rel = append(a.rel, math.Abs(err)/c.actual.Seconds())
			}
		}
	}
	if all.n == 0 {
		return f
	}
	f.N = all.n
	f.MAEs = round3(all.abs / float64(all.n))
	f.Biass = round3(all.signed / float64(all.n))
	f.MeanActual = round3(all.act / float64(all.n))
	f.MeanEst = round3(all.estS / float64(all.n))
	if all.act > 0 {
		f.RelPct = round3(100 * all.abs / all.act)
	}
	if len(all.rel) > 0 {
		slices.Sort(all.rel)
		f.MedRelPct = round3(100 * all.rel[(len(all.rel)-1)/2])
	}
	for q, a := range byQ {
		eq := estimatorQueue{N: a.n, MAEs: round3(a.abs / float64(a.n)), Biass: round3(a.signed / float64(a.n)), MeanActual: round3(a.act / float64(a.n))}
		if a.act > 0 {
			eq.RelPct = round3(100 * a.abs / a.act)
		}
		f.ByQueue[q] = eq
	}
	return f
}

// resources derives the per-operator and per-waiting-caller costs from
// the phases' samples.
func resources(d *runData, answered int) (resourceFigures, map[string]phaseM) {
	f := resourceFigures{Phases: map[string]phaseR{}}
	m := map[string]phaseM{}
	for name, s := range d.samples {
		f.Phases[name] = phaseR{Seconds: s.Seconds, CPUPct: s.CPUPct, RunWaitPerCPU: s.RunWaitPerCPU, RTPIn: s.RTPIn, RTPOut: s.RTPOut, USPerPkt: s.USPerPacket,
			RSSMeanMB: round3(s.RSSkB.Mean / 1024), RSSMaxMB: round3(s.RSSkB.Max / 1024),
			HeapMeanMB: s.HeapMB.Mean, Goroutines: s.Goroutine.Mean}
		m[name] = phaseM{PSIStart: s.Machine.PSIStart, PSIMax: s.Machine.PSIMax, PSIEnd: s.Machine.PSIEnd, Load: s.Machine.LoadEnd}
	}
	if lm, ok := m["load"]; ok {
		var gen float64
		for _, r := range []*report{d.callRep, d.phRep} {
			if r != nil {
				gen += r.Generator.PctAvg
			}
		}
		lm.GenCPUPct = round3(gen)
		m["load"] = lm
	}
	diff := func(a, b *sampleReport, n float64) perUnit {
		if a == nil || b == nil || n <= 0 {
			return perUnit{}
		}
		return perUnit{CPUPct: round3((b.CPUPct - a.CPUPct) / n), RTPPerS: round3((b.RTPIn + b.RTPOut - a.RTPIn - a.RTPOut) / n),
			RSSkB:  round3((b.RSSkB.Mean - a.RSSkB.Mean) / n),
			HeapkB: round3((b.HeapMB.Mean - a.HeapMB.Mean) * 1024 / n), Goroutines: round3((b.Goroutine.Mean - a.Goroutine.Mean) / n)}
	}
	idle, ops, wait := d.samples["idle"], d.samples["operators"], d.samples["waiting"]
	f.PerOperator = diff(idle, ops, float64(d.cfg.Operators))
	if wait != nil {
		for _, w := range wait.Waiting {
			f.WaitingN += w.Mean
		}
	}
	f.PerWaiting = diff(ops, wait, f.WaitingN)
	if l := d.samples["load"]; l != nil {
		f.LoadCPUPct = l.CPUPct
		if answered > 0 {
			f.LoadMsPerAns = round3(l.CPUs * 1e3 / float64(answered))
		}
	}
	if ops != nil {
		f.GoroutinesBefore, f.HeapBeforeMB = ops.Goroutine.End, ops.HeapMB.End
	}
	if a := d.samples["after"]; a != nil {
		f.GoroutinesAfter, f.HeapAfterMB = a.Goroutine.End, a.HeapMB.End
	}
	f.LiveHeapBeforeMB, f.LiveHeapAfterMB = d.heapBefore, d.heapAfter
	return f, m
}

// starved collects the machine's signs of starvation and the goroutine
// stacks that grew over the load.
func starved(d *runData) starvation {
	var f starvation
	if r := d.callRep; r != nil {
		if r.UAC != nil {
			f.CallerLateTicks, f.CallerSkipped, f.CallerSentPct = r.UAC.RTP.LateTicks, r.UAC.RTP.Skipped, r.UAC.RTP.SentPct
			if t := r.UAC.RTP.NextSend; t != nil {
				f.CallerNextSendP50ms, f.CallerNextSendP99ms = round3(t.P50us/1e3), round3(t.P99us/1e3)
			}
			f.CallerStalledPct = r.UAC.RTP.StalledPct
		}
		f.CallersCPUPct = r.Generator.PctAvg
		if r.Metrics != nil {
			if h, ok := r.Metrics.Histograms["obzvon_rtp_forward_delay_seconds"]; ok {
				f.ForwardP50us, f.ForwardP99us = h.P50us, h.P99us
			}
		}
	}
	if r := d.phRep; r != nil {
		if r.Phones != nil {
			f.PhoneLateTicks, f.PhoneSkipped = r.Phones.RTP.LateTicks, r.Phones.RTP.Skipped
		}
		f.PhonesCPUPct = r.Generator.PctAvg
	}
	// Stacks that grew are listed only when the total grew: the same total
	// with different stacks is goroutines caught in other states (and the
	// profile's own request).
	total := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	if d.grBefore != nil && d.grAfter != nil && total(d.grAfter) > total(d.grBefore) {
		for k, n := range d.grAfter {
			if n > d.grBefore[k] {
				if f.GoroutineGrowth == nil {
					f.GoroutineGrowth = map[string]int{}
				}
				f.GoroutineGrowth[k] = n - d.grBefore[k]
			}
		}
	}
	return f
}

// writeSummary prints one run's figures for people.
func writeSummary(w io.Writer, s *acdSummary) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	c := s.Config
	p("bench-acd run %d (%s): %d callers over %.0f s (%.3g/s) into %s, %d operators on session legs serving both; talk %s, patience %s, wrap-up %s",
		c.Run, c.Commit, c.Callers, c.DurationS, c.Rate, strings.Join(c.Queues, ", "), c.Operators, c.Talk, c.Patience, c.WrapUp)
	dd := s.Decisions
	p("%-44s %s", "routing decisions (passes that offered)", fmt.Sprintf("%.2f/s over %.0f s (%.0f passes, %.2f offers each)", dd.PerS, dd.WindowS, dd.Count, dd.PerPass))
	p("%-44s %s", "decision time p50 / p99 / mean", fmt.Sprintf("%.1f / %.1f / %.1f µs; %.2f%% within 1 ms; p99 in bucket %s  [goal p99 ≤ 1 ms: %s]", dd.P50Us, dd.P99Us, dd.MeanUs, dd.Le1msPct, dd.P99Bucket, met(s.Goals["decision_p99_le_1ms"])))
	cn := s.Connect
	p("%-44s %s", "operator ready → customer audio at phone", fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)  [goal p99 ≤ 50 ms: %s]", cn.ByOperator.P50ms, cn.ByOperator.P99ms, cn.ByOperator.MaxMs, cn.ByOperator.N, met(s.Goals["connect_p99_le_50ms"])))
	p("%-44s %s", "  of which ready → offer", lat(cn.ReadyToOffer))
	p("%-44s %s", "  of which offer → connect event", lat(cn.OfferToConnect))
	p("%-44s %s", "  of which offer → audio at phone", lat(cn.OfferToAudio))
	p("%-44s %s", "  (connect event → audio at phone)", lat(cn.ConnectToAudio))
	p("%-44s %s", "caller entry → audio (operator was ready)", lat(cn.ByCaller))
	if ap := cn.Appliance; ap != nil {
		hf := func(f histFigure) string {
			return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms (bucket %s), mean %.1f ms (n=%.0f)", f.P50ms, f.P99ms, f.P99Bucket, f.MeanMs, f.N)
		}
		p("%-44s %s", "appliance: offer → customer packet sent", hf(ap["total"]))
		p("%-44s %s", "  offer → media switch", hf(ap["switch"]))
		p("%-44s %s", "  switch → caller's next packet (kernel)", hf(ap["source"]))
		p("%-44s %s", "  kernel arrival → read by the appliance", hf(ap["read"]))
		p("%-44s %s", "  read → sent to the phone", hf(ap["send"]))
	}
	p("%-44s %d connects, %d without audio at the phone (%d: the caller hung up within %s of the connect), %d without a ready event, %d requeues", "joins",
		cn.Connects, cn.NoAudio, cn.NoAudioCallerLeft, noAudioCallerLeft, cn.NoReady, cn.Requeues)
	cl := s.Callers
	p("%-44s %s", "callers lost", fmt.Sprintf("%d of %d placed; %d answered, %d abandoned by the caller; ACD entries left open %d  [goal 0: %s]", cl.Lost, cl.Placed, cl.Answered, cl.Abandoned, cl.Unterminated, met(s.Goals["lost_0"])))
	p("%-44s %s", "  generator × journal", mapLine(cl.Cross))
	p("%-44s %s", "  answered callers' wait (journal)", lat(cl.Wait))
	var ql []string
	for _, q := range sortedKeys(cl.QueueWaiting) {
		v := cl.QueueWaiting[q]
		ql = append(ql, fmt.Sprintf("%s min %.0f mean %.1f max %.0f", q, v.Min, v.Mean, v.Max))
	}
	p("%-44s %s", "  callers waiting during the load", strings.Join(ql, "; "))
	p("%-44s %s; waiting %.0f", "  after the load: operators by state", mapLineF(cl.AgentsAfter), cl.WaitingAfter)
	r := s.Resources
	for _, ph := range []string{"idle", "operators", "waiting", "load", "after"} {
		x, ok := r.Phases[ph]
		if !ok {
			continue
		}
		mm := s.Machine[ph]
		gen := ""
		if mm.GenCPUPct > 0 {
			gen = fmt.Sprintf(", generator %.1f%%", mm.GenCPUPct)
		}
		p("%-44s %s", "appliance in phase "+ph, fmt.Sprintf("%.0f s: CPU %.2f%% of a core (RTP in %.0f/s, out %.0f/s: %.1f µs per packet), RSS %.1f MB (max %.1f), heap %.1f MB, %.0f goroutines | machine: psi %.0f/%.0f/%.0f %%, load %.1f%s; appliance waited for a CPU %.2f s per CPU-second it ran",
			x.Seconds, x.CPUPct, x.RTPIn, x.RTPOut, x.USPerPkt, x.RSSMeanMB, x.RSSMaxMB, x.HeapMeanMB, x.Goroutines, mm.PSIStart, mm.PSIMax, mm.PSIEnd, mm.Load[0], gen, x.RunWaitPerCPU))
	}
	p("%-44s %s", "per operator on a session leg", unit(r.PerOperator))
	p("%-44s %s (N = %.0f)", "per waiting caller (operators paused)", unit(r.PerWaiting), r.WaitingN)
	p("%-44s %.1f%% of a core, %.2f ms CPU per answered call", "under the full load", r.LoadCPUPct, r.LoadMsPerAns)
	p("%-44s goroutines %.0f → %.0f, heap in use %.1f → %.1f MB, live heap after a GC %.1f → %.1f MB", "leak check (before → after the load)",
		r.GoroutinesBefore, r.GoroutinesAfter, r.HeapBeforeMB, r.HeapAfterMB, r.LiveHeapBeforeMB, r.LiveHeapAfterMB)
	e := s.Estimator
	p("%-44s %s", "wait estimate at entry vs actual", fmt.Sprintf("n=%d: mean abs error %.1f s, mean error %+.1f s, |error| %.0f%% of the actual wait (median per call %.0f%%); mean actual %.1f s, mean estimate %.1f s",
		e.N, e.MAEs, e.Biass, e.RelPct, e.MedRelPct, e.MeanActual, e.MeanEst))
	for _, q := range sortedKeys(e.ByQueue) {
		x := e.ByQueue[q]
		p("%-44s n=%d: MAE %.1f s, mean error %+.1f s, %.0f%% of actual %.1f s", "  queue "+q, x.N, x.MAEs, x.Biass, x.RelPct, x.MeanActual)
	}
	st := s.Starvation
	p("%-44s %s", "machine: appliance RTP forwarding delay", fmt.Sprintf("p50 %.0f µs, p99 %.0f µs (receive → send, its histogram over the load)", st.ForwardP50us, st.ForwardP99us))
	p("%-44s %s", "machine: generator starved", fmt.Sprintf("from a moment (a connect) to the callers' next packet p50 %.1f ms, p99 %.1f ms (20 ms if it kept time); callers stalled %.2f%% of the time; %d packets skipped (sent %.1f%% of schedule); phones skipped %d; generator CPU callers %.1f%%, phones %.1f%% of a core",
		st.CallerNextSendP50ms, st.CallerNextSendP99ms, st.CallerStalledPct, st.CallerSkipped, st.CallerSentPct, st.PhoneSkipped, st.CallersCPUPct, st.PhonesCPUPct))
	for _, k := range sortedKeys(st.GoroutineGrowth) {
		p("goroutines grown over the load: +%d %s", st.GoroutineGrowth[k], k)
	}
	for _, n := range s.Notes {
		p("note: %s", n)
	}
	for _, l := range cl.LostSample {
		p("lost: %s", l)
	}
	for _, l := range cn.NoAudioSample {
		p("connect without audio: %s", l)
	}
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func lat(l latencySummary) string {
	return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)", l.P50ms, l.P99ms, l.MaxMs, l.N)
}

func unit(u perUnit) string {
	return fmt.Sprintf("CPU %.3f%% of a core, RTP %.1f packets/s, RSS %.1f kB, heap %.1f kB, %.2f goroutines", u.CPUPct, u.RTPPerS, u.RSSkB, u.HeapkB, u.Goroutines)
}

func mapLine(m map[string]int) string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

func mapLineF(m map[string]float64) string {
	var out []string
	for _, k := range sortedKeys(m) {
		if m[k] != 0 {
			out = append(out, fmt.Sprintf("%s %.0f", k, m[k]))
		}
	}
	return strings.Join(out, ", ")
}

// rangeRow is one figure over the runs.
type rangeRow struct {
	Figure string    `json:"figure"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Goal   string    `json:"goal,omitempty"`
}

// combineSummaries lists the headline figures of every run.
func combineSummaries(sums []acdSummary) []rangeRow {
	type fig struct {
		name, unit, goal string
		get              func(s *acdSummary) float64
	}
	figs := []fig{
		{"routing decisions per second", "/s", "", func(s *acdSummary) float64 { return s.Decisions.PerS }},
		{"decision time p99 (histogram)", "µs", "≤ 1000", func(s *acdSummary) float64 { return s.Decisions.P99Us }},
		{"decisions within 1 ms", "%", "≥ 99", func(s *acdSummary) float64 { return s.Decisions.Le1msPct }},
		{"operator ready → audio p50", "ms", "", func(s *acdSummary) float64 { return s.Connect.ByOperator.P50ms }},
		{"operator ready → audio p99", "ms", "≤ 50", func(s *acdSummary) float64 { return s.Connect.ByOperator.P99ms }},
		{"offer → connect event p99", "ms", "", func(s *acdSummary) float64 { return s.Connect.OfferToConnect.P99ms }},
		{"appliance: offer → packet sent p99", "ms", "", func(s *acdSummary) float64 { return s.Connect.Appliance["total"].P99ms }},
		{"  offer → media switch p99", "ms", "", func(s *acdSummary) float64 { return s.Connect.Appliance["switch"].P99ms }},
		{"  switch → caller's packet arrives p99", "ms", "", func(s *acdSummary) float64 { return s.Connect.Appliance["source"].P99ms }},
		{"  arrival → read by the appliance p99", "ms", "", func(s *acdSummary) float64 { return s.Connect.Appliance["read"].P99ms }},
		{"connects without audio (caller stayed)", "", "0", func(s *acdSummary) float64 { return float64(s.Connect.NoAudio - s.Connect.NoAudioCallerLeft) }},
		{"callers lost", "", "0", func(s *acdSummary) float64 { return float64(s.Callers.Lost) }},
		{"ACD entries left open", "", "0", func(s *acdSummary) float64 { return float64(s.Callers.Unterminated) }},
		{"callers answered", "", "", func(s *acdSummary) float64 { return float64(s.Callers.Answered) }},
		{"callers abandoned (their patience)", "", "", func(s *acdSummary) float64 { return float64(s.Callers.Abandoned) }},
		{"CPU per operator (session leg)", "% core", "", func(s *acdSummary) float64 { return s.Resources.PerOperator.CPUPct }},
		{"RSS per operator", "kB", "", func(s *acdSummary) float64 { return s.Resources.PerOperator.RSSkB }},
		{"heap per operator", "kB", "", func(s *acdSummary) float64 { return s.Resources.PerOperator.HeapkB }},
		{"CPU per waiting caller", "% core", "", func(s *acdSummary) float64 { return s.Resources.PerWaiting.CPUPct }},
		{"RSS per waiting caller", "kB", "", func(s *acdSummary) float64 { return s.Resources.PerWaiting.RSSkB }},
		{"heap per waiting caller", "kB", "", func(s *acdSummary) float64 { return s.Resources.PerWaiting.HeapkB }},
		{"CPU under full load", "% core", "", func(s *acdSummary) float64 { return s.Resources.LoadCPUPct }},
		{"CPU per answered call", "ms", "", func(s *acdSummary) float64 { return s.Resources.LoadMsPerAns }},
		{"wait estimate mean abs error", "s", "", func(s *acdSummary) float64 { return s.Estimator.MAEs }},
		{"wait estimate |error| / actual", "%", "", func(s *acdSummary) float64 { return s.Estimator.RelPct }},
		{"appliance's wait for a CPU per CPU-second (load)", "s", "", func(s *acdSummary) float64 { return s.Resources.Phases["load"].RunWaitPerCPU }},
		{"CPU pressure during load (some avg10 max)", "%", "", func(s *acdSummary) float64 { return s.Machine["load"].PSIMax }},
		{"load average at the load's end", "", "", func(s *acdSummary) float64 { return s.Machine["load"].Load[0] }},
	}
	var rows []rangeRow
	for _, f := range figs {
		r := rangeRow{Figure: f.name, Unit: f.unit, Goal: f.goal}
		for i := range sums {
			v := f.get(&sums[i])
			r.Values = append(r.Values, v)
			if i == 0 || v < r.Min {
				r.Min = v
			}
			if i == 0 || v > r.Max {
				r.Max = v
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func writeCombined(w io.Writer, sums []acdSummary, rows []rangeRow) {
	fmt.Fprintf(w, "bench-acd: %d runs\n", len(sums))
	fmt.Fprintf(w, "%-44s %-10s %-24s %s\n", "figure", "unit", "range (min..max)", "runs; goal")
	for _, r := range rows {
		var vs []string
		for _, v := range r.Values {
			vs = append(vs, strconv.FormatFloat(v, 'g', 4, 64))
		}
		g := ""
		if r.Goal != "" {
			g = "; goal " + r.Goal
		}
		fmt.Fprintf(w, "%-44s %-10s %-24s %s%s\n", r.Figure, r.Unit, strconv.FormatFloat(r.Min, 'g', 4, 64)+".."+strconv.FormatFloat(r.Max, 'g', 4, 64), strings.Join(vs, ", "), g)
	}
}
