package journal

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestPingSeesAStuckCommitter blocks the committer inside a transaction:
// Ping must then fail with its context's deadline, and succeed again once
// the committer moves on.
func TestPingSeesAStuckCommitter(t *testing.T) {
	j, err := Open(DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	if err := j.Ping(ctx); err != nil {
		t.Fatalf("Ping on an idle journal = %v", err)
	}
	before := j.Stats()
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- j.update(ctx, func(*badger.Txn) error {
			close(entered)
			<-release
			return nil
		})
	}()
	<-entered
	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := j.Ping(pctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping with the committer stuck = %v, want the deadline", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := j.Ping(ctx); err != nil {
		t.Errorf("Ping after the committer moved on = %v", err)
	}
	if after := j.Stats(); after.Writes != before.Writes+1 {
		t.Errorf("Stats().Writes went from %d to %d over one write and probes: probes must not count", before.Writes, after.Writes)
	}
	j.Close()
	if err := j.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}
