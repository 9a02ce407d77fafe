package dialer

import (
	"testing"
	"time"
)

// TestSetupLimiter: a second's worth in a burst, then one call per 1/rate.
func TestSetupLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newSetupLimiter(4, func() time.Time { return now })
	for i := range 4 {
		if !l.allow() {
			t.Fatalf("call %d of the burst of 4 refused", i+1)
		}
	}
	if l.allow() {
		t.Fatal("a fifth call in the same instant admitted at rate 4")
	}
	now = now.Add(250 * time.Millisecond)
	if !l.allow() {
		t.Fatal("a call 250 ms later (one token at rate 4) refused")
	}
	if l.allow() {
		t.Fatal("a second call in that instant admitted")
	}
	now = now.Add(time.Hour)
	n := 0
	for l.allow() && n < 100 {
		n++
	}
	if n != 4 {
		t.Errorf("after an hour idle the burst is %d calls, want 4 (one second's worth)", n)
	}
	if newSetupLimiter(0, time.Now) != nil || !(*setupLimiter)(nil).allow() {
		t.Error("rate 0 must mean no limit")
	}
}
