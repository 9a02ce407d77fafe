package main

import (
	"math"
	"testing"
	"time"
)

func TestHistIndex(t *testing.T) {
	prev := -1
	for _, ns := range []int64{-5, 0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 1000, 1 << 20, 1 << 40, math.MaxInt64} {
		i := histIndex(ns)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d, want >= %d and < %d", ns, i, prev, histBuckets)
		}
		prev = i
		if ns >= 0 && ns < 1<<50 {
			if lo := histLower(i); lo > ns || (i+1 < histBuckets && histLower(i+1) <= ns) {
				t.Errorf("histIndex(%d) = %d whose range starts at %d, next at %d", ns, i, lo, histLower(i+1))
			}
		}
	}
	for i := 1; i < histBuckets; i++ {
		if histLower(i) <= histLower(i-1) {
			t.Fatalf("histLower(%d) = %d, not above histLower(%d) = %d", i, histLower(i), i-1, histLower(i-1))
		}
	}
}

func TestDelayHistQuantile(t *testing.T) {
	var h delayHist
	if got := h.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %v, want 0", got)
	}
	// 1..1000 µs, one each.
	for us := 1; us <= 1000; us++ {
		h.add(int64(us) * 1000)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(tt.q)
		if math.Abs(float64(got-tt.want)) > 0.07*float64(tt.want) {
			t.Errorf("quantile(%v) = %v, want %v ± 7 %%", tt.q, got, tt.want)
		}
	}
	var m delayHist
	m.merge(&h)
	m.merge(&h)
	if m.n != 2000 || m.quantile(0.5) != h.quantile(0.5) {
		t.Errorf("merged twice: n=%d p50=%v, want 2000 and %v", m.n, m.quantile(0.5), h.quantile(0.5))
	}
}

// The wait from a random moment to the end of its gap: uniform on
// 0..20 ms for a generator that keeps time; one gap of 1 s among 20 ms
// ones holds a third of the time, and the tail of the wait is in it.
func TestResidualQuantile(t *testing.T) {
	var h delayHist
	for range 100 {
		h.add(int64(20 * time.Millisecond))
	}
	if p99 := h.residualQuantile(0.99); p99 < 19*time.Millisecond || p99 > 21*time.Millisecond {
		t.Errorf("20 ms gaps: p99 wait %v, want about 19.8 ms", p99)
	}
	if s := h.shareOver(40 * time.Millisecond); s != 0 {
		t.Errorf("20 ms gaps: %v of the time stalled, want 0", s)
	}
	h.add(int64(time.Second)) // 100 × 20 ms = 2 s, then 1 s
	if p99 := h.residualQuantile(0.99); p99 < 900*time.Millisecond {
		t.Errorf("with a 1 s gap: p99 wait %v, want over 0.9 s (1 %% of 3 s falls within 30 ms of its end)", p99)
	}
	if p50 := h.residualQuantile(0.50); p50 > 20*time.Millisecond {
		t.Errorf("with a 1 s gap: median wait %v, want under 20 ms (two thirds of the time is in 20 ms gaps)", p50)
	}
	if s := h.shareOver(40 * time.Millisecond); s < 0.3 || s > 0.34 {
		t.Errorf("with a 1 s gap: %v of the time stalled, want 0.96/3 = 0.32", s)
	}
}
