package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCallsRoundTrip(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			j := open(t)
			ctx := context.Background()
			base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			// Put out of order; Calls must return them by Arrived.
			var ids []string
			for _, off := range []int{3, 1, 2, 0, 5} {
				c := &CallRecord{
					Direction: "inbound", Route: "hotline", From: "+79001234567", To: "88002000000",
					Arrived: base.Add(time.Duration(off) * time.Minute), HangupBy: "caller", SIPCode: 200, Codec: "PCMA",
					Legs: []LegRecord{{Role: "caller", CallID: "c1", PacketsIn: 100, JitterMillis: 1.5}, {Role: "agent", CallID: "a1"}},
				}
				if err := j.PutCall(ctx, c); err != nil {
					t.Fatalf("PutCall() = %v", err)
				}
				if len(c.ID) != 26 {
					t.Fatalf("PutCall assigned ID %q, want 26 chars", c.ID)
				}
				ids = append(ids, c.ID)
			}
			got, err := j.Calls(ctx, base.Add(time.Minute), base.Add(5*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			var offs []int
			for _, c := range got {
				offs = append(offs, int(c.Arrived.Sub(base)/time.Minute))
			}
			if want := []int{1, 2, 3}; !equalInts(offs, want) {
				t.Fatalf("Calls(1m,5m) arrivals = %v, want %v", offs, want)
			}
			if got[0].Legs[0].JitterMillis != 1.5 || got[0].V != callVersion || got[0].Legs[1].Role != "agent" {
				t.Errorf("Calls()[0] = %+v, lost fields", got[0])
			}
			all, _ := j.Calls(ctx, time.Time{}, time.Time{})
			if len(all) != 5 {
				t.Fatalf("Calls(open) = %d records, want 5", len(all))
			}
			// Replacing a call moves its index entry.
			c, err := j.Call(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			c.Arrived = base.Add(time.Hour)
			if err := j.PutCall(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, _ = j.Calls(ctx, base.Add(time.Hour), time.Time{})
			if len(got) != 1 || got[0].ID != ids[0] {
				t.Fatalf("after move Calls(1h,) = %v, want only %s", got, ids[0])
			}
			all, _ = j.Calls(ctx, time.Time{}, time.Time{})
			if len(all) != 5 {
				t.Fatalf("after move Calls(open) = %d records, want 5", len(all))
			}
			mustHealthy(t, j)
			if _, err := j.Call(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Call(nope) = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestPutCallRejects(t *testing.T) {
	j, _ := Open(Options{InMemory: true})
	defer j.Close()
	now := time.Now()
	tests := []struct {
		name string
		c    CallRecord
		want string
	}{
		{"direction", CallRecord{Direction: "sideways", Arrived: now}, `direction "sideways" is not inbound or outbound`},
		{"arrived", CallRecord{Direction: "inbound"}, "arrived is empty"},
		{"hangup", CallRecord{Direction: "inbound", Arrived: now, HangupBy: "god"}, `hangup_by "god"`},
		{"leg", CallRecord{Direction: "inbound", Arrived: now, Legs: []LegRecord{{Role: "x"}}}, `legs[0].role "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := j.PutCall(context.Background(), &tt.c)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PutCall(%s) = %v, want ErrInvalid mentioning %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestCallIDsIncrease(t *testing.T) {
	s := newIDSource()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := s.next(at)
	for i := 0; i < 1000; i++ {
		id := s.next(at.Add(time.Duration(i/100) * time.Millisecond))
		if id <= prev {
			t.Fatalf("next() = %s after %s, want increasing", id, prev)
		}
		prev = id
	}
}

func TestCloseIdempotent(t *testing.T) {
	j, err := Open(DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	if _, err := j.Calls(context.Background(), time.Time{}, time.Time{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Calls after Close = %v, want ErrClosed", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
