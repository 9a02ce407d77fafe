//go:build linux

package media

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// TestPingSeesAStuckWorker holds one worker in the middle of a batch (its
// lock taken, as a packet path that never returns would hold it): Ping
// must then fail with its deadline, and answer again once released.
func TestPingSeesAStuckWorker(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 20900, PortMax: 20919, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ { // idle workers answer every time
		if err := e.Ping(ctx); err != nil {
			t.Fatalf("Ping of idle workers = %v", err)
		}
	}
	w := e.workers[1]
	w.mu.Lock()
	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = e.Ping(pctx)
	w.mu.Unlock()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping with a worker stuck in a batch = %v, want the deadline", err)
	}
	if err := e.Ping(ctx); err != nil {
		t.Errorf("Ping after the worker moved on = %v", err)
	}
	e.Close()
	if err := e.Ping(ctx); err != nil {
		t.Errorf("Ping after Close = %v, want nil (no worker left to be stuck)", err)
	}
}
