package main

import (
	"math"
	"strings"
	"testing"
)

const expoA = `# HELP obzvon_rtp_packets_total RTP packets.
# TYPE obzvon_rtp_packets_total counter
obzvon_rtp_packets_total{dir="in"} 1000
obzvon_rtp_packets_total{dir="out"} 990
obzvon_rtp_lost_packets_total 2
go_goroutines 50
x_delay_seconds_bucket{le="1e-05"} 10
x_delay_seconds_bucket{le="5e-05"} 20
x_delay_seconds_bucket{le="0.001"} 30
x_delay_seconds_bucket{le="+Inf"} 30
`

const expoB = `obzvon_rtp_packets_total{dir="in"} 2000
obzvon_rtp_packets_total{dir="out"} 1990
obzvon_rtp_lost_packets_total 2
go_goroutines 70
x_delay_seconds_bucket{le="1e-05"} 60
x_delay_seconds_bucket{le="5e-05"} 110
x_delay_seconds_bucket{le="0.001"} 129
x_delay_seconds_bucket{le="+Inf"} 130
`

func TestDiffMetrics(t *testing.T) {
	a, err := parseExposition(strings.NewReader(expoA))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseExposition(strings.NewReader(expoB))
	if err != nil {
		t.Fatal(err)
	}
	r := diffMetrics(a, b)
	want := map[string]float64{`obzvon_rtp_packets_total{dir="in"}`: 1000, `obzvon_rtp_packets_total{dir="out"}`: 1000, "obzvon_rtp_lost_packets_total": 0}
	for k, v := range want {
		if r.Counters[k] != v {
			t.Errorf("counter %s = %v, want %v", k, r.Counters[k], v)
		}
	}
	if _, ok := r.Counters["go_goroutines"]; ok {
		t.Error("go_goroutines reported as an obzvon counter")
	}
	// Window: 50 up to 10 µs, 40 in 10–50 µs, 9 in 50 µs–1 ms, 1 above.
	h, ok := r.Histograms["x_delay_seconds"]
	if !ok {
		t.Fatalf("no x_delay_seconds histogram in %+v", r)
	}
	if h.Count != 100 {
		t.Errorf("count = %v, want 100", h.Count)
	}
	if math.Abs(h.P50us-10) > 0.01 {
		t.Errorf("p50 = %v µs, want 10", h.P50us)
	}
	// Rank 99 is the 9th of the 9 in the 50 µs–1 ms bucket: its top.
	if want := 1000.0; math.Abs(h.P99us-want) > 0.01 {
		t.Errorf("p99 = %v µs, want %v", h.P99us, want)
	}
}

func TestParseExpositionErrors(t *testing.T) {
	for _, in := range []string{"a_total\n", "a{x=\"1\" 5\n", "a_total zzz\n"} {
		if _, err := parseExposition(strings.NewReader(in)); err == nil {
			t.Errorf("parseExposition(%q) = nil error, want one", in)
		}
	}
	s, err := parseExposition(strings.NewReader(`a{path="/x y"} 3 1700000000` + "\n"))
	if err != nil || s[`a{path="/x y"}`] != 3 {
		t.Errorf("parseExposition(label with space, timestamp) = %v, %v; want 3", s, err)
	}
}

func TestCheckMetricsURL(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"http://127.0.0.1:8080/metrics", true},
		{"http://[::1]:8080/metrics", true},
		{"http://192.0.2.1:8080/metrics", false},
		{"https://127.0.0.1/metrics", false},
		{"http://localhost:8080/metrics", false},
	} {
		if err := checkMetricsURL(tt.in); (err == nil) != tt.ok {
			t.Errorf("checkMetricsURL(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}
