package journal

import (
	"bytes"
	"context"

	"github.com/dgraph-io/badger/v4"
)

// RecordCounts returns how many records of each kind the journal holds
// (appeal, call, person, account, audit…), reading keys only. Tests use
// it to check that refused requests wrote nothing.
func (j *Journal) RecordCounts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	err := j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(spaceRecord)
		o.PrefetchValues = false
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			rest := it.Item().Key()[len(spaceRecord):]
			if i := bytes.IndexByte(rest, '/'); i > 0 {
				counts[string(rest[:i])]++
			}
		}
		return nil
	})
	return counts, err
}
