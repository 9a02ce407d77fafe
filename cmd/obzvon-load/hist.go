package main

import (
	"math/bits"
	"time"
)

// delayHist is a log-linear histogram of durations in nanoseconds: 8
// buckets per power of two (at most 12.5 % wide), exact below 8 ns. One
// goroutine adds; merge after it stopped.
type delayHist struct {
	b   [histBuckets]uint64
	n   uint64
	max int64
}

const (
	histSub     = 8
	histBuckets = 48 * histSub // up to 2^50 ns (13 days); more is clamped
)

// histIndex maps ns >= 0 to its bucket.
func histIndex(ns int64) int {
	if ns < histSub {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - 1 // >= 3
	sub := int(ns>>(e-3)) & (histSub - 1)
	i := (e-2)*histSub + sub
	return min(i, histBuckets-1)
}

// histLower is the smallest value of bucket i.
func histLower(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := i/histSub + 2
	return int64(histSub+i%histSub) << (e - 3)
}

func (h *delayHist) add(ns int64) {
	h.b[histIndex(ns)]++
	h.n++
	h.max = max(h.max, ns)
}

func (h *delayHist) merge(o *delayHist) {
	for i := range h.b {
		h.b[i] += o.b[i]
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the middle of the bucket holding the q-th quantile
// (nearest rank), 0 when empty.
func (h *delayHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var cum uint64
	for i, c := range h.b {
		cum += c
		if cum >= rank {
			lo := histLower(i)
			hi := lo + 1
			if i+1 < histBuckets {
				hi = histLower(i + 1)
			}
			return time.Duration(min((lo+hi)/2, h.max))
		}
	}
	return time.Duration(h.max)
}

// delaySummary is what the report says about a delayHist.
type delaySummary struct {
	What     string  `json:"what"`
	N        uint64  `json:"n"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
	MaxUs    float64 `json:"max_us"`
	Rejected uint64  `json:"rejected,omitempty"`
}

func (h *delayHist) summary(what string, rejected uint64) *delaySummary {
	us := func(d time.Duration) float64 { return round3(float64(d) / 1e3) }
	return &delaySummary{What: what, N: h.n, P50us: us(h.quantile(0.50)), P99us: us(h.quantile(0.99)),
		MaxUs: us(time.Duration(h.max)), Rejected: rejected}
}

// bucketMid is the middle of bucket i, at most the largest value seen.
func (h *delayHist) bucketMid(i int) int64 {
	lo := histLower(i)
	hi := lo + 1
	if i+1 < histBuckets {
		hi = histLower(i + 1)
	}
	return min((lo+hi)/2, h.max)
}

// residualQuantile treats the values as consecutive gaps covering a
// stretch of time and returns the q-th quantile of the wait from a moment
// picked uniformly in that time to the end of its gap: P(wait > x) =
// Σ max(g − x, 0) / Σ g. (For gaps of 20 ms it is uniform on 0..20 ms.)
func (h *delayHist) residualQuantile(q float64) time.Duration {
	var total float64
	for i, c := range h.b {
		total += float64(c) * float64(h.bucketMid(i))
	}
	if total == 0 {
		return 0
	}
	over := func(x int64) float64 {
		var s float64
		for i, c := range h.b {
			if g := h.bucketMid(i); c > 0 && g > x {
				s += float64(c) * float64(g-x)
			}
		}
		return s / total
	}
	// P(wait > x) falls as x grows: bisect for the smallest x with
	// P(wait > x) ≤ 1 − q.
	lo, hi := int64(0), h.max
	for hi-lo > 1000 { // 1 µs
		mid := lo + (hi-lo)/2
		if over(mid) <= 1-q {
			hi = mid
		} else {
			lo = mid
		}
	}
	return time.Duration(hi)
}

// shareOver is the share of the time covered by the gaps that is in gaps
// longer than d (the part of each beyond d).
func (h *delayHist) shareOver(d time.Duration) float64 {
	var total, over float64
	for i, c := range h.b {
		g := float64(h.bucketMid(i))
		total += float64(c) * g
		if g > float64(d) {
			over += float64(c) * (g - float64(d))
		}
	}
	if total == 0 {
		return 0
	}
	return over / total
}
