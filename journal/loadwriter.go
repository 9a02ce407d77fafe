package journal

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// loadWriter writes a bulk load in large Badger transactions committed in
// the background, like badger.WriteBatch, with one difference that
// matters after a crash: a person's record, the stale index keys of the
// version it replaces and its new index keys always go into the same
// transaction. Badger commits a transaction atomically (its entries are
// replayed after a crash only when the whole transaction reached the
// log), so a load killed at any moment leaves every person either fully
// written or untouched, never a record without its index keys.
// badger.WriteBatch cannot promise that: it starts a new transaction at
// whatever entry overflows the current one, and a kill between the two
// commits once left a person that no search could find and that the next
// load, seeing the record unchanged, did not repair.
type loadWriter struct {
	db       *badger.DB
	txn      *badger.Txn
	maxCount int64
	maxSize  int64
	count    int64
	size     int64
	thresh   int64

	sem  chan struct{} // bounds the commits in flight
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	done bool
}

// loadPending is how many transactions of a load may be committing at
// once (badger.WriteBatch's default).
const loadPending = 16

func (j *Journal) newLoadWriter() *loadWriter {
	return &loadWriter{
		db: j.db, txn: j.db.NewTransaction(true),
		maxCount: j.db.MaxBatchCount(), maxSize: j.db.MaxBatchSize(),
		thresh: j.db.Opts().ValueThreshold,
		sem:    make(chan struct{}, loadPending),
	}
}

// entrySize mirrors Badger's estimate of an entry's share of a
// transaction (Entry.estimateSizeAndSetThreshold plus the 10 bytes of the
// version that Txn.checkSize adds).
func (w *loadWriter) entrySize(e loadEntry) int64 {
	k, v := int64(len(e.key)), int64(len(e.val))
	if w.thresh > 0 && v >= w.thresh {
		v = 12 // a value pointer
	}
	return k + v + 2 + 10
}

// add writes the entries of one person in one transaction: the current
// one when they fit, else a fresh one after committing the current.
func (w *loadWriter) add(ents []loadEntry) error {
	if err := w.firstErr(); err != nil {
		return err
	}
	n, size := int64(len(ents)), int64(0)
	for _, e := range ents {
		size += w.entrySize(e)
	}
	// Badger refuses an entry when count+1 >= maxCount or size >= maxSize
	// after it; keep one entry and a few bytes of margin below both.
	if w.count > 0 && (w.count+n+1 >= w.maxCount || w.size+size+64 >= w.maxSize) {
		w.commit()
		if err := w.firstErr(); err != nil {
			return err
		}
	}
	for _, e := range ents {
		var err error
		if e.del {
			err = w.txn.Delete(e.key)
		} else {
			err = w.txn.Set(e.key, e.val)
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			// The estimate above is wrong for this Badger: refuse rather
			// than split the person over two transactions.
			return fmt.Errorf("registry load: one person's %d keys do not fit a transaction: %w", n, err)
		}
		if err != nil {
			return err
		}
	}
	w.count += n
	w.size += size
	return nil
}

// commit sends the current transaction to Badger without waiting for it
// and starts a new one.
func (w *loadWriter) commit() {
	if w.count == 0 {
		return
	}
	w.sem <- struct{}{}
	w.wg.Add(1)
	w.txn.CommitWith(func(err error) {
		if err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
		<-w.sem
		w.wg.Done()
	})
	w.txn = w.db.NewTransaction(true)
	w.count, w.size = 0, 0
}

func (w *loadWriter) firstErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// flush commits what is left and waits for every commit; it returns the
// first error of any of them. It is safe to call more than once.
func (w *loadWriter) flush() error {
	if !w.done {
		w.done = true
		w.commit()
		w.txn.Discard()
	}
	w.wg.Wait()
	return w.firstErr()
}

// cancel drops the transaction not yet sent and waits for those already
// committing (a failed load: what they hold is whole persons).
func (w *loadWriter) cancel() {
	if !w.done {
		w.done = true
		w.txn.Discard()
	}
	w.wg.Wait()
}
