package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// RepairReport says what RepairIndexes found and did.
type RepairReport struct {
	// Found are the problems CheckIndexes reported before the repair.
	Found []IndexProblem `json:"found"`
	// Reindexed counts records whose index keys were written again;
	// Removed counts index keys deleted because no record produces them.
	Reindexed int `json:"reindexed"`
	Removed   int `json:"removed"`
	// Left are the problems CheckIndexes still reports afterwards
	// (records that cannot be decoded are not touched).
	Left []IndexProblem `json:"left"`
}

// RepairIndexes makes the indexes agree with the records: it runs
// CheckIndexes, writes again the index keys of every record that misses
// one or that an index key should point at, deletes index keys that no
// record produces, and checks again. Records are the truth; no record is
// changed or deleted. Each fix is its own transaction that re-reads the
// record and the key it touches, so it is safe on a running daemon (a
// concurrent change of the same record makes the fix retry on fresh
// data). Registry loads are held off meanwhile. Only administrators may
// repair; the repair is audited.
func (j *Journal) RepairIndexes(ctx context.Context, who Actor) (RepairReport, error) {
	var rep RepairReport
	if !Allowed(who.Role, ActionUpdate, ResourceJournal) {
		return rep, fmt.Errorf("repair indexes: %w: role %s", ErrDenied, who.Role)
	}
	if err := j.check(ctx, true); err != nil {
		return rep, err
	}
	j.loadMu.Lock()
	defer j.loadMu.Unlock()
	probs, err := j.CheckIndexes(ctx)
	if err != nil {
		return rep, fmt.Errorf("repair indexes: %w", err)
	}
	rep.Found = probs
	reindex := map[string]bool{}
	verify := map[string]bool{}
	for _, p := range probs {
		switch p.kind {
		case problemMissing, problemWrongTarget:
			reindex[p.record] = true
		case problemOrphan:
			verify[p.index] = true
		}
	}
	for pk := range reindex {
		var n int
		err := j.update(ctx, func(txn *badger.Txn) error {
			n = 0
			rec, err := loadRecord(txn, []byte(pk))
			if err != nil || rec == nil {
				return err
			}
			for _, k := range rec.indexKeys() {
				if err := txn.Set(k, []byte(pk)); err != nil {
					return err
				}
			}
			n = 1
			return nil
		})
		if err != nil {
			return rep, fmt.Errorf("repair indexes: reindex %s: %w", printable(pk), err)
		}
		rep.Reindexed += n
	}
	for ik := range verify {
		var n int
		err := j.update(ctx, func(txn *badger.Txn) error {
			n = 0
			item, err := txn.Get([]byte(ik))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			pk, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			rec, err := loadRecord(txn, pk)
			if err != nil {
				return err
			}
			if rec != nil && containsKey(rec.indexKeys(), []byte(ik)) {
				return nil // fixed meanwhile
			}
			n = 1
			return txn.Delete([]byte(ik))
		})
		if err != nil {
			return rep, fmt.Errorf("repair indexes: remove %s: %w", printable(ik), err)
		}
		rep.Removed += n
	}
	detail := fmt.Sprintf("found %d reindexed %d removed %d", len(rep.Found), rep.Reindexed, rep.Removed)
	if err := j.update(ctx, func(txn *badger.Txn) error { return j.audit(txn, who, "repair", "journal:indexes", "", detail) }); err != nil {
		return rep, err
	}
	if rep.Left, err = j.CheckIndexes(ctx); err != nil {
		return rep, fmt.Errorf("repair indexes: check after: %w", err)
	}
	j.log.Info("journal indexes repaired", "found", len(rep.Found), "reindexed", rep.Reindexed, "removed", rep.Removed, "left", len(rep.Left))
	return rep, nil
}

// loadRecord reads and decodes the record under pk; a missing record is
// nil without error, an undecodable one an error.
func loadRecord(txn *badger.Txn, pk []byte) (record, error) {
	item, err := txn.Get(pk)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rest := pk[len(spaceRecord):]
	slash := bytes.IndexByte(rest, '/')
	if slash < 0 {
		return nil, fmt.Errorf("record key %s without kind", printable(string(pk)))
	}
	dec, ok := kinds[string(rest[:slash])]
	if !ok {
		return nil, fmt.Errorf("record key %s: unknown kind", printable(string(pk)))
	}
	var rec record
	err = item.Value(func(b []byte) error {
		var err error
		rec, err = dec(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", printable(string(pk)), err)
	}
	return rec, nil
}
