package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// obzvon-load sample: what the appliance uses over a window while
// something else drives it (make bench-acd's phases: idle, operators on
// session legs, callers waiting, full load): its CPU from /proc/PID/stat,
// its RSS every --every, and, from its /metrics every --scrape-every, the
// Go heap and goroutines and the ACD's gauges (callers waiting per
// queue, operators per state); with the machine's CPU pressure and load
// average, because on a shared machine they say how much of a figure is
// the machine.

// sampleReport is the JSON of one sample window.
type sampleReport struct {
	Label   string    `json:"label"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	// CPU is the appliance's user+system time in the window.
	CPUs   float64 `json:"cpu_s"`
	CPUPct float64 `json:"cpu_pct_of_core"`
	// RunWaitS is the time the appliance's threads spent runnable but
	// waiting for a CPU (schedstat) in the window; RunWaitPerCPU that per
	// second of CPU they got: how much the machine held the appliance back.
	RunWaitS      float64 `json:"runqueue_wait_s"`
	RunWaitPerCPU float64 `json:"runqueue_wait_per_cpu_s"`
	RSSkB         stat    `json:"rss_kb"`
	HeapMB        stat    `json:"heap_inuse_mb"`
	Goroutine     stat    `json:"goroutines"`
	// Waiting is obzvon_queue_waiting by queue; Agents obzvon_agents by
	// state (over the scrapes).
	Waiting map[string]stat `json:"queue_waiting,omitempty"`
	Agents  map[string]stat `json:"agents,omitempty"`
	// RTPIn and RTPOut are obzvon_rtp_packets_total's increase per
	// second between the first and the last scrape; USPerPacket is the
	// window's CPU per RTP packet received or sent (the generator, when
	// the machine starves it, sends fewer: this keeps the appliance's
	// cost comparable).
	RTPIn       float64 `json:"rtp_in_per_s,omitempty"`
	RTPOut      float64 `json:"rtp_out_per_s,omitempty"`
	USPerPacket float64 `json:"cpu_us_per_rtp_packet,omitempty"`
	Scrapes     int     `json:"scrapes"`
	rtp0, rtp1  [2]float64
	rtpT0       time.Time
	rtpT1       time.Time
	// ScrapeErrors are scrapes that failed (a starved appliance may not
	// answer within 10 s); the first one's error is in ScrapeError.
	ScrapeErrors int           `json:"scrape_errors,omitempty"`
	ScrapeError  string        `json:"scrape_error,omitempty"`
	Machine      machineReport `json:"machine"`
	Error        string        `json:"error,omitempty"`
}

// machineReport is the machine's state over a window.
type machineReport struct {
	PSIStart  float64    `json:"cpu_pressure_some_avg10_start"`
	PSIEnd    float64    `json:"cpu_pressure_some_avg10_end"`
	PSIMax    float64    `json:"cpu_pressure_some_avg10_max"`
	PSI60End  float64    `json:"cpu_pressure_some_avg60_end"`
	LoadStart [3]float64 `json:"loadavg_start"`
	LoadEnd   [3]float64 `json:"loadavg_end"`
	CPUs      int        `json:"cpus"`
}

// stat summarizes samples of one quantity.
type stat struct {
	N     int     `json:"n"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	Max   float64 `json:"max"`
	sum   float64
}

func (s *stat) add(v float64) {
	if s.N == 0 {
		s.Start, s.Min, s.Max = v, v, v
	}
	s.N++
	s.End = v
	s.sum += v
	s.Min, s.Max = math.Min(s.Min, v), math.Max(s.Max, v)
	s.Mean = round3(s.sum / float64(s.N))
}

// sampleOptions are the flags of obzvon-load sample.
type sampleOptions struct {
	pid         int
	window      time.Duration
	every       time.Duration
	scrapeEvery time.Duration
	metricsURL  string
	label       string
	jsonOut     string
}

func parseSampleFlags(args []string, stderr io.Writer) (*sampleOptions, error) {
	fs := flag.NewFlagSet("obzvon-load sample", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &sampleOptions{}
	fs.IntVar(&o.pid, "pid", 0, "the appliance's process id (required)")
	fs.DurationVar(&o.window, "for", 30*time.Second, "length of the window (1s..2h)")
	fs.DurationVar(&o.every, "every", time.Second, "RSS and CPU pressure sampling period")
	fs.DurationVar(&o.scrapeEvery, "scrape-every", 5*time.Second, "scrape --metrics-url this often (and at both ends)")
	fs.StringVar(&o.metricsURL, "metrics-url", "", "the appliance's `URL` (http://127.0.0.1:PORT/metrics): heap, goroutines, queue and agent gauges")
	fs.StringVar(&o.label, "label", "", "name of the window in the report")
	fs.StringVar(&o.jsonOut, "json", "", "write the report to `FILE` (- or empty: stdout)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	switch {
	case o.pid <= 0:
		return nil, errors.New("--pid: give the appliance's process id")
	case o.window < time.Second || o.window > 2*time.Hour:
		return nil, fmt.Errorf("--for %s: must be 1s..2h", o.window)
	case o.every < 100*time.Millisecond || o.every > o.window:
		return nil, fmt.Errorf("--every %s: must be 100ms..--for", o.every)
	case o.scrapeEvery < time.Second:
		return nil, fmt.Errorf("--scrape-every %s: must be at least 1s", o.scrapeEvery)
	}
	if o.metricsURL != "" {
		if err := checkMetricsURL(o.metricsURL); err != nil {
			return nil, fmt.Errorf("--metrics-url %w", err)
		}
	}
	return o, nil
}

// runSample is `obzvon-load sample ARGS`.
func runSample(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseSampleFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "obzvon-load sample: %v\n", err)
		return exitUsage
	}
	r := sampleWindow(ctx, o)
	b, _ := json.MarshalIndent(r, "", "  ")
	b = append(b, '\n')
	if o.jsonOut == "" || o.jsonOut == "-" {
		_, _ = stdout.Write(b)
	} else if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
		fmt.Fprintf(stderr, "obzvon-load sample: %v\n", err)
		return exitFailure
	}
	if r.Error != "" {
		fmt.Fprintf(stderr, "obzvon-load sample: %s\n", r.Error)
		return exitFailure
	}
	return exitOK
}

// sampleWindow measures o.pid for o.window (or until ctx ends).
func sampleWindow(ctx context.Context, o *sampleOptions) sampleReport {
	r := sampleReport{Label: o.label, PID: o.pid, Started: time.Now().UTC(), Waiting: map[string]stat{}, Agents: map[string]stat{}}
	r.Machine.begin()
	cpu0, err := procCPU(o.pid)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	wait0, waitErr := procRunDelay(o.pid)
	t0 := time.Now()
	scrape := func() {
		if o.metricsURL == "" {
			return
		}
		ps, err := scrapeMetricsWithin(o.metricsURL, 10*time.Second)
		if err != nil {
			r.ScrapeErrors++
			if r.ScrapeError == "" {
				r.ScrapeError = err.Error()
			}
			return
		}
		r.Scrapes++
		r.addScrape(ps)
		in, okIn := ps[`obzvon_rtp_packets_total{dir="in"}`]
		out, okOut := ps[`obzvon_rtp_packets_total{dir="out"}`]
		if okIn && okOut {
			if r.rtpT0.IsZero() {
				r.rtp0, r.rtpT0 = [2]float64{in, out}, time.Now()
			}
			r.rtp1, r.rtpT1 = [2]float64{in, out}, time.Now()
		}
	}
	sample := func() bool {
		v, err := procRSS(o.pid)
		if err != nil {
			r.Error = err.Error()
			return false
		}
		r.RSSkB.add(float64(v))
		r.Machine.note()
		return true
	}
	scrape()
	sample()
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	end := time.NewTimer(o.window)
	defer end.Stop()
	lastScrape := time.Now()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end.C:
			break loop
		case now := <-tick.C:
			if !sample() {
				return r
			}
			if now.Sub(lastScrape) >= o.scrapeEvery {
				lastScrape = now
				scrape()
			}
		}
	}
	sample()
	scrape()
	cpu1, err := procCPU(o.pid)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	secs := time.Since(t0).Seconds()
	r.Seconds = round3(secs)
	r.CPUs = round3((cpu1 - cpu0).Seconds())
	if wait1, err := procRunDelay(o.pid); err == nil && waitErr == nil {
		r.RunWaitS = round3((wait1 - wait0).Seconds())
		if d := (cpu1 - cpu0).Seconds(); d > 0 {
			r.RunWaitPerCPU = round3((wait1 - wait0).Seconds() / d)
		}
	}
	r.CPUPct = round3(100 * r.CPUs / secs)
	r.Machine.finish()
	if w := r.rtpT1.Sub(r.rtpT0).Seconds(); w > 0 {
		r.RTPIn = round3((r.rtp1[0] - r.rtp0[0]) / w)
		r.RTPOut = round3((r.rtp1[1] - r.rtp0[1]) / w)
		if pkts := (r.RTPIn + r.RTPOut) * secs; pkts > 0 {
			r.USPerPacket = round3(r.CPUs * 1e6 / pkts)
		}
	}
	if o.metricsURL != "" && r.Scrapes == 0 {
		r.Error = "metrics: no scrape succeeded: " + r.ScrapeError
	}
	return r
}

// addScrape folds one scrape of the appliance's metrics into r.
func (r *sampleReport) addScrape(ps promSamples) {
	if v, ok := ps["go_memstats_heap_inuse_bytes"]; ok {
		r.HeapMB.add(round3(v / (1 << 20)))
	}
	if v, ok := ps["go_goroutines"]; ok {
		r.Goroutine.add(v)
	}
	for k, v := range ps {
		switch seriesName(k) {
		case "obzvon_queue_waiting":
			if q, ok := labelValue(k, "queue"); ok {
				s := r.Waiting[q]
				s.add(v)
				r.Waiting[q] = s
			}
		case "obzvon_agents":
			if st, ok := labelValue(k, "state"); ok {
				s := r.Agents[st]
				s.add(v)
				r.Agents[st] = s
			}
		}
	}
}

func (m *machineReport) begin() {
	m.CPUs = runtime.NumCPU()
	m.PSIStart = cpuPressure()
	m.PSIMax = m.PSIStart
	m.LoadStart = loadAvg()
}

func (m *machineReport) note() {
	if p := cpuPressure(); p > m.PSIMax {
		m.PSIMax = p
	}
}

func (m *machineReport) finish() {
	m.PSIEnd = cpuPressure()
	m.PSIMax = math.Max(m.PSIMax, m.PSIEnd)
	m.LoadEnd = loadAvg()
	m.PSI60End = cpuPressureAvg60()
}

// loadAvg returns the 1, 5 and 15 minute load averages (/proc/loadavg),
// zeros when unreadable.
func loadAvg() [3]float64 {
	var out [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		out[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return out
}

// cpuPressureAvg60 returns "some avg60" of /proc/pressure/cpu, or -1.
func cpuPressureAvg60() float64 {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "some ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "avg60="); ok {
				if x, err := strconv.ParseFloat(v, 64); err == nil {
					return x
				}
			}
		}
	}
	return -1
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
