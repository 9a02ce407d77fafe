package api

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiterBoundedUnderAFlood fails logins from 100000 distinct source
// addresses within one second (no bucket refills): the set of buckets
// must stay within maxBuckets, and the address that used up its bucket
// before the flood must still be refused after it.
func TestLimiterBoundedUnderAFlood(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	l := newLimiter(clock.Now, 5, time.Minute)
	for i := 0; i < 5; i++ {
		if ok, _ := l.take("198.51.100.7"); !ok {
			t.Fatalf("take %d of a fresh bucket refused", i)
		}
	}
	for i := 0; i < 100000; i++ {
		l.take(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
		if n := len(l.buckets); n > maxBuckets {
			t.Fatalf("after %d distinct addresses the limiter holds %d buckets, want at most %d", i+1, n, maxBuckets)
		}
	}
	if ok, _ := l.take("198.51.100.7"); ok {
		t.Errorf("the address that used up its bucket was let in after a flood of other addresses")
	}
	t.Logf("%d buckets after 100000 addresses", len(l.buckets))
}
