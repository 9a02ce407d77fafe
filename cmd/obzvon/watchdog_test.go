package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestWatchdogStopsWhenAComponentIsStuck runs the watchdog in fake time
// with three components: while all answer, systemd is notified every
// round; while one is stuck (its ping blocks), no notification at all;
// once it answers again, notifications resume.
func TestWatchdogStopsWhenAComponentIsStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var notified atomic.Int64
		stuck := make(chan struct{})
		close(stuck) // not stuck yet
		var gate atomic.Pointer[chan struct{}]
		gate.Store(&stuck)
		blocking := func(ctx context.Context) error {
			select {
			case <-*gate.Load():
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		ok := func(context.Context) error { return nil }
		// A component that ignores its context while stuck, like a probe
		// blocked on a lock: it must not be pinged again meanwhile.
		var calls atomic.Int64
		deaf := func(context.Context) error {
			calls.Add(1)
			<-*gate.Load()
			return nil
		}
		w := &watchdog{
			hearts: []*heart{{name: "dialer", ping: blocking}, {name: "media", ping: ok}, {name: "journal", ping: deaf}},
			every:  10 * time.Second, notify: func() error { notified.Add(1); return nil }, log: slog.New(slog.DiscardHandler),
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go w.run(ctx)

		time.Sleep(61 * time.Second) // fake time: 6 rounds
		synctest.Wait()
		if n := notified.Load(); n != 6 {
			t.Fatalf("%d notifications in 6 healthy rounds, want 6", n)
		}
		blocked := make(chan struct{})
		gate.Store(&blocked)
		notified.Store(0)
		before := calls.Load()
		time.Sleep(60 * time.Second) // 6 rounds with two components stuck
		synctest.Wait()
		if n := notified.Load(); n != 0 {
			t.Errorf("%d notifications while components were stuck, want 0", n)
		}
		if c := calls.Load() - before; c != 1 {
			t.Errorf("the stuck component that ignores its context was pinged %d times in 6 rounds, want 1 (no pile of probes)", c)
		}
		close(blocked)
		synctest.Wait()
		notified.Store(0)
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if n := notified.Load(); n != 6 {
			t.Errorf("%d notifications in 6 rounds after recovery, want 6", n)
		}
		cancel()
	})
}
