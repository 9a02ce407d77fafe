package api

import (
	"math"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per key (an account, a source
// address). A bucket holds up to burst tokens and gains one every refill;
// taking from an empty bucket fails with the wait until the next token.
// Buckets that have refilled completely are forgotten, so the set stays
// as small as the number of keys that failed recently.
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	burst   float64
	refill  time.Duration
	buckets map[string]*bucket
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
		if len(l.buckets) >= 4096 {
			l.prune(t)
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

// prune forgets full buckets: a fresh bucket is the same as none.
func (l *limiter) prune(t time.Time) {
	for k, b := range l.buckets {
		l.level(b, t)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}
