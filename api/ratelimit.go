package api

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per key (an account, a source
// address). A bucket holds up to burst tokens and gains one every refill;
// taking from an empty bucket fails with the wait until the next token.
// Buckets that have refilled completely are forgotten, so the set stays
// as small as the number of keys that failed recently, and never above
// maxBuckets (see cleanup).
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	burst   float64
	refill  time.Duration
	buckets map[string]*bucket
	next    int // size at which take cleans up next (see cleanup)
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(now func() time.Time, burst int, refill time.Duration) *limiter {
	return &limiter{now: now, burst: float64(burst), refill: refill, buckets: map[string]*bucket{}}
}

// level brings b up to date at t and returns it.
func (l *limiter) level(b *bucket, t time.Time) {
	if el := t.Sub(b.at); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(el)/float64(l.refill))
	}
	b.at = t
}

// take removes one token from key's bucket. When the bucket is empty it
// takes nothing and returns false and how long until a token is back.
func (l *limiter) take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= max(l.next, pruneAt) {
			l.cleanup(t)
		}
		b = &bucket{tokens: l.burst, at: t}
		l.buckets[key] = b
	}
	l.level(b, t)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.refill))
	}
	b.tokens--
	return true, 0
}

// give puts back a token taken by take (the attempt it paid for
// succeeded).
func (l *limiter) give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		l.level(b, l.now())
		b.tokens = math.Min(l.burst, b.tokens+1)
		if b.tokens >= l.burst {
			delete(l.buckets, key)
		}
	}
}

// pruneAt is the number of buckets from which take forgets full ones;
// maxBuckets bounds the set: a flood of distinct keys (addresses) can make
// it no larger (at ~100 bytes a bucket, under 2 MB).
const (
	pruneAt    = 4096
	maxBuckets = 16384
)

// cleanup forgets full buckets and, when the set is still near
// maxBuckets, the fullest quarter of it: the keys that failed least
// recently. Depleted buckets, those of keys being refused, are kept, so
// flooding fresh keys cannot reset a guesser's bucket. The next cleanup
// waits until the set has grown again (twice its size, at most
// maxBuckets), so a flood costs O(log n) per new key, not a scan each.
func (l *limiter) cleanup(t time.Time) {
	l.prune(t)
	if n := len(l.buckets); n >= maxBuckets*7/8 {
		type kv struct {
			k      string
			tokens float64
		}
		all := make([]kv, 0, n)
		for k, b := range l.buckets {
			all = append(all, kv{k, b.tokens})
		}
		slices.SortFunc(all, func(a, b kv) int { return cmp.Compare(b.tokens, a.tokens) })
		for _, e := range all[:n-maxBuckets*3/4] {
			delete(l.buckets, e.k)
		}
	}
	l.next = min(maxBuckets, 2*len(l.buckets))
}

// prune forgets full buckets: a fresh bucket is the same as none.
func (l *limiter) prune(t time.Time) {
	for k, b := range l.buckets {
		l.level(b, t)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}
