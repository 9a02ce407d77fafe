package main

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 4 is the 2nd", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p50 of 5 is the 3rd", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is max", ms(1, 2, 3), 100, 3 * time.Millisecond},
		{"p99 of 10 is max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
			}
		})
	}
	s := summarize(ms(5, 1, 3, 2, 4))
	if s.N != 5 || s.P50ms != 3 || s.P99ms != 5 || s.MaxMs != 5 {
		t.Errorf("summarize(5,1,3,2,4 ms) = %+v, want n=5 p50=3 p99=5 max=5", s)
	}
}

func TestParseProcStat(t *testing.T) {
	// Fields after comm: state ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime stime ...
	line := "4242 (obz) von (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 9 0\n"
	got, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; got != want {
		t.Errorf("parseProcStat(...utime 250 stime 75...) = %v, want %v", got, want)
	}
	for _, bad := range []string{"4242 obzvon S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) = nil error, want one", bad)
		}
	}
}

func TestParseStatusKB(t *testing.T) {
	st := "Name:\tobzvon\nVmPeak:\t  900000 kB\nVmRSS:\t   41234 kB\nThreads:\t9\n"
	got, err := parseStatusKB([]byte(st), "VmRSS:")
	if err != nil || got != 41234 {
		t.Errorf("parseStatusKB(VmRSS) = %d, %v, want 41234", got, err)
	}
	if _, err := parseStatusKB([]byte("Name:\tx\n"), "VmRSS:"); err == nil || !strings.Contains(err.Error(), "VmRSS") {
		t.Errorf("parseStatusKB without VmRSS: err = %v, want one naming VmRSS", err)
	}
}

func TestParsePSISome(t *testing.T) {
	in := "some avg10=12.34 avg60=5.00 avg300=1.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	got, err := parsePSISome([]byte(in))
	if err != nil || got != 12.34 {
		t.Errorf("parsePSISome = %v, %v, want 12.34", got, err)
	}
	if _, err := parsePSISome([]byte("full avg10=1.00\n")); err == nil {
		t.Error("parsePSISome without a some line: nil error, want one")
	}
}

// TestProcReadingsOfSelf reads this test process's own /proc entries: the
// parsers must agree with the kernel's real format.
func TestProcReadingsOfSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := procCPU(pid); err != nil {
		t.Errorf("procCPU(self): %v", err)
	}
	rss, err := procRSS(pid)
	if err != nil || rss == 0 {
		t.Errorf("procRSS(self) = %d, %v, want > 0", rss, err)
	}
}

// TestSchedstat reads the run-queue wait of a schedstat line and of this
// process's threads.
func TestSchedstat(t *testing.T) {
	if d, err := parseSchedstat([]byte("123456 7890 12\n")); err != nil || d != 7890*time.Nanosecond {
		t.Errorf("parseSchedstat = %v, %v; want 7.89 µs", d, err)
	}
	if _, err := parseSchedstat([]byte("123456\n")); err == nil {
		t.Errorf("parseSchedstat of one field: no error")
	}
	if runtime.GOOS != "linux" {
		return
	}
	if _, err := procRunDelay(os.Getpid()); err != nil {
		t.Errorf("procRunDelay(self): %v", err)
	}
}
