package journal

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Group commit.
//
// Badger with SyncWrites syncs its write-ahead log once per transaction,
// even when it writes several transactions together, so concurrent
// writers pay one fsync each. The journal instead funnels its
// read-write transactions through one committer goroutine that runs every
// transaction waiting at that moment inside a single Badger transaction:
// one commit, one fsync, for all of them. Each caller still gets its own
// result and returns only after the shared commit is durable.
//
// The functions of a group run in order, each seeing the writes of those
// before it, exactly as if they had been committed one after another. If
// one returns an error, that caller gets the error and the group is run
// again without it (its partial writes discarded with the shared
// transaction), so one caller's bad input never fails another's write. If
// the commit itself fails (a conflict with a concurrent transaction, or
// the group grew too big), every function is run again in a transaction
// of its own. Functions passed to update must therefore be safe to run
// more than once: they only read and write through the transaction and
// set their results afresh on each run.

// maxGroup caps how many callers share one commit.
const maxGroup = 128

// commitQueue is how many transactions may wait for the committer
// before senders block.
const commitQueue = 1024

type commitReq struct {
	fn    func(*badger.Txn) error
	done  chan error // update waits on it
	probe bool       // a liveness probe (Ping): no transaction
}

func (r *commitReq) finish(err error) { r.done <- err }

// startCommitter starts the committer goroutine (read-write journals).
func (j *Journal) startCommitter() {
	j.commitCh = make(chan *commitReq, commitQueue)
	j.committerDone = make(chan struct{})
	go func() {
		defer close(j.committerDone)
		for req := range j.commitCh {
			group := []*commitReq{req}
		more:
			for len(group) < maxGroup {
				select {
				case r, ok := <-j.commitCh:
					if !ok {
						break more
					}
					group = append(group, r)
				default:
					break more
				}
			}
			group, probes := splitProbes(group)
			if len(group) > 0 {
				j.commitGroup(group)
			}
			for _, p := range probes {
				p.finish(nil)
			}
		}
	}()
}

// stopCommitter waits for callers already sending, lets the committer
// finish what it has and stops it.
func (j *Journal) stopCommitter() {
	if j.commitCh == nil {
		return
	}
	j.sendMu.Lock() // no sender is between its closed check and its send
	close(j.commitCh)
	j.sendMu.Unlock()
	<-j.committerDone
}

// fnError marks an error returned by the function at index i of a group.
type fnError struct {
	i   int
	err error
}

func (e *fnError) Error() string { return e.err.Error() }

func (j *Journal) commitGroup(group []*commitReq) {
	j.stats.writes.Add(uint64(len(group)))
	for len(group) > 1 {
		err := j.db.Update(func(txn *badger.Txn) error {
			for i, r := range group {
				if err := r.fn(txn); err != nil {
					return &fnError{i, err}
				}
			}
			return nil
		})
		var fe *fnError
		if !errors.As(err, &fe) {
			j.stats.commits.Add(1) // a function's error discards the transaction uncommitted
		}
		switch {
		case err == nil:
			for _, r := range group {
				r.finish(nil)
			}
			return
		case errors.As(err, &fe) && !errors.Is(fe.err, badger.ErrTxnTooBig):
			// That caller's own failure, not the group's size.
			group[fe.i].finish(fe.err)
			group = append(group[:fe.i:fe.i], group[fe.i+1:]...)
			continue
		}
		j.stats.fallbacks.Add(1)
		break // the commit failed: one transaction each below
	}
	for _, r := range group {
		j.stats.commits.Add(1)
		r.finish(j.updateAlone(r.fn))
	}
}

// Stats are counters and sizes of a journal, for the metrics package.
type Stats struct {
	// Writes counts read-write transactions asked for (update calls and
	// audit entries); Commits counts Badger commits (each one fsync with
	// SyncWrites); Writes/Commits is the group-commit factor.
	Writes, Commits uint64
	// Fallbacks counts groups whose commit failed and were committed one
	// transaction at a time.
	Fallbacks uint64
	// LSMBytes and ValueLogBytes are the space the LSM tables and the
	// value log take on disk now (see DiskUsage).
	LSMBytes, ValueLogBytes int64
}

// Stats returns the journal's counters and sizes.
func (j *Journal) Stats() Stats {
	u := j.DiskUsage()
	lsm, vlog := u.LSM, u.ValueLog
	return Stats{Writes: j.stats.writes.Load(), Commits: j.stats.commits.Load(), Fallbacks: j.stats.fallbacks.Load(),
		LSMBytes: lsm, ValueLogBytes: vlog}
}

// updateAlone runs fn in its own transaction, retrying conflicts.
func (j *Journal) updateAlone(fn func(*badger.Txn) error) error {
	for attempt := 0; ; attempt++ {
		var fnErr error
		err := j.db.Update(func(txn *badger.Txn) error { fnErr = fn(txn); return fnErr })
		if errors.Is(err, badger.ErrConflict) && attempt < 8 {
			continue
		}
		if errors.Is(err, badger.ErrConflict) {
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
		if err != nil && fnErr == nil {
			j.noteWriteError("commit", err) // the caller's writes were fine; storage failed
		}
		return err
	}
}

// update runs fn in a read-write transaction that is durable (synced,
// unless the journal was opened without SyncWrites) when update returns
// nil. Concurrent updates share commits (see Group commit above). Once
// fn is handed to the committer, update waits for the outcome even if ctx
// ends, so a nil error always means written and an error means not.
func (j *Journal) update(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := j.check(ctx, true); err != nil {
		return err
	}
	req := &commitReq{fn: fn, done: make(chan error, 1)}
	if err := j.send(req); err != nil {
		return err
	}
	return <-req.done
}

// send hands req to the committer, or returns ErrClosed.
func (j *Journal) send(req *commitReq) error {
	j.sendMu.RLock()
	defer j.sendMu.RUnlock()
	select {
	case <-j.closed:
		return ErrClosed
	default:
	}
	j.commitCh <- req
	return nil
}
