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
