package journal

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// migration moves the journal from schema version to-1 to version to.
type migration struct {
	to   uint64
	what string
	run  func(j *Journal) error
}

// migrations lists every schema change in order. A new release that
// changes the key layout or a record's shape appends one; Open runs the
// ones a directory has not seen yet, recording the version after each.
var migrations = []migration{
	{1, "initial layout: records, indexes, sequences", func(*Journal) error { return nil }},
	{2, "reindex every record (index keys computed by this release)", (*Journal).reindexAll},
}

var schemaKey = []byte(spaceMeta + "schema")

// SchemaVersion reports the schema version stored in the journal.
func (j *Journal) SchemaVersion() (uint64, error) {
	var v uint64
	err := j.db.View(func(txn *badger.Txn) error {
		var err error
		v, err = readSchema(txn)
		return err
	})
	return v, err
}

func readSchema(txn *badger.Txn) (uint64, error) {
	it, err := txn.Get(schemaKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	b, err := it.ValueCopy(nil)
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("schema version: %d bytes, want 8", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

func (j *Journal) migrate() error {
	list := migrations
	if j.opts.migrations != nil {
		list = j.opts.migrations
	}
	latest := uint64(0)
	if n := len(list); n > 0 {
		latest = list[n-1].to
	}
	cur, err := j.SchemaVersion()
	if err != nil {
		return err
	}
	if cur > latest {
		return fmt.Errorf("%w: directory has schema %d, this binary knows up to %d", ErrNewerSchema, cur, latest)
	}
	if cur == latest {
		return nil
	}
	if j.opts.ReadOnly {
		return fmt.Errorf("%w: schema %d needs migration to %d; open it read-write once", ErrReadOnly, cur, latest)
	}
	for _, m := range list {
		if m.to <= cur {
			continue
		}
		j.log.Info("journal migration", "to", m.to, "what", m.what)
		if err := m.run(j); err != nil {
			return fmt.Errorf("migration to schema %d (%s): %w", m.to, m.what, err)
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], m.to)
		if err := j.db.Update(func(txn *badger.Txn) error { return txn.Set(schemaKey, b[:]) }); err != nil {
			return fmt.Errorf("record schema %d: %w", m.to, err)
		}
		cur = m.to
	}
	return nil
}

// reindexAll drops every index key and rebuilds them from the records.
// It runs in batches; it is safe to run again after a crash mid-way since
// it starts by dropping the index space.
func (j *Journal) reindexAll() error {
	if err := j.db.DropPrefix([]byte(spaceIndex)); err != nil {
		return fmt.Errorf("drop indexes: %w", err)
	}
	wb := j.db.NewWriteBatch()
	defer wb.Cancel()
	err := j.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(spaceRecord)
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			pk := item.KeyCopy(nil)
			rest := string(pk[len(spaceRecord):])
			var kind string
			for i := range rest {
				if rest[i] == '/' {
					kind = rest[:i]
					break
				}
			}
			dec, ok := kinds[kind]
			if !ok {
				return fmt.Errorf("record %q: unknown kind", pk)
			}
			err := item.Value(func(b []byte) error {
				r, err := dec(b)
				if err != nil {
					return fmt.Errorf("record %q: %w", pk, err)
				}
				for _, k := range r.indexKeys() {
					if err := wb.Set(k, pk); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return wb.Flush()
}
