package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Key layout. Every key starts with a one-letter space:
//
//	m/<name>                   metadata (schema version)
//	s/<name>                   Badger sequences (appeal numbers)
//	r/<kind>/<id>              a record, JSON with its version in "v"
//	i/<index>/<parts…>         a secondary index key; its value is the
//	                           primary key of the record it points at
//	b/<id>                     attachment contents
//
// Index keys of a record are computed from the record alone (indexKeys) and
// are written and deleted in the same transaction as the record, so a
// record and its index keys are never seen apart.
const (
	spaceRecord = "r/"
	spaceIndex  = "i/"
	spaceMeta   = "m/"
	spaceSeq    = "s/"
	spaceBlob   = "b/"
)

// record is what every stored type implements.
type record interface {
	kind() string
	id() string
	// indexKeys are the secondary index keys of the record.
	indexKeys() [][]byte
	setVersion()
}

// kinds maps a record kind to a decoder, for index checks and migrations.
var kinds = map[string]func([]byte) (record, error){}

func registerKind[T any, P interface {
	*T
	record
}](name string) {
	kinds[name] = func(b []byte) (record, error) {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		return P(&v), nil
	}
}

func recordKey(kind, id string) []byte {
	return []byte(spaceRecord + kind + "/" + id)
}

// ikey builds an index key from its parts separated by 0x00. Parts are
// strings or fixed-width byte slices.
func ikey(index string, parts ...[]byte) []byte {
	b := make([]byte, 0, 64)
	b = append(b, spaceIndex...)
	b = append(b, index...)
	b = append(b, '/')
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// be64 encodes t as 8 big-endian bytes that sort by time (zero time first).
func be64(t time.Time) []byte {
	var b [8]byte
	if !t.IsZero() {
		binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano())^(1<<63))
	}
	return b[:]
}

// inv64 encodes t so that newer times sort first.
func inv64(t time.Time) []byte {
	b := be64(t)
	for i := range b {
		b[i] = ^b[i]
	}
	return b
}

// save writes rec and its index keys, deleting the index keys of the
// version it replaces, all in txn.
func save(txn *badger.Txn, rec record) error {
	rec.setVersion()
	pk := recordKey(rec.kind(), rec.id())
	var old [][]byte
	it, err := txn.Get(pk)
	switch {
	case err == nil:
		err = it.Value(func(b []byte) error {
			prev, err := kinds[rec.kind()](b)
			if err != nil {
				return err
			}
			old = prev.indexKeys()
			return nil
		})
		if err != nil {
			return fmt.Errorf("decode stored %s %s: %w", rec.kind(), rec.id(), err)
		}
	case errors.Is(err, badger.ErrKeyNotFound):
	default:
		return err
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := txn.Set(pk, val); err != nil {
		return err
	}
	nk := rec.indexKeys()
	for _, k := range old {
		if !containsKey(nk, k) {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range nk {
		if err := txn.Set(k, pk); err != nil {
			return err
		}
	}
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// scanIndex calls fn with the primary key of every index entry under
// prefix, in key order (or reverse), until fn returns false.
func scanIndex(txn *badger.Txn, prefix []byte, from []byte, reverse bool, fn func(ikey, pk []byte) (bool, error)) error {
	o := badger.DefaultIteratorOptions
	o.Prefix = prefix
	o.Reverse = reverse
	o.PrefetchValues = false
	it := txn.NewIterator(o)
	defer it.Close()
	start := from
	if start == nil {
		start = prefix
		if reverse {
			start = append(append([]byte{}, prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		}
	}
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		pk, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		more, err := fn(item.Key(), pk)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// IndexProblem is one disagreement between records and index keys found
// by CheckIndexes.
type IndexProblem struct {
	Key    string `json:"key"` // the index or record key concerned (printable form)
	Reason string `json:"reason"`

	// For RepairIndexes: what is wrong, the raw index key and the record
	// key it should point at.
	kind          problemKind
	index, record string
}

// problemKind sorts index problems by the fix they need.
type problemKind int

const (
	problemRecord      problemKind = iota // a record that cannot be decoded: not repairable
	problemOrphan                         // an index key no record produces: delete it
	problemWrongTarget                    // an index key pointing at another record: rewrite it
	problemMissing                        // a record's index key is missing: write it
)

func (p IndexProblem) String() string { return p.Key + ": " + p.Reason }

// CheckIndexes verifies that every index key points at a live record that
// produces that key, and that every index key of every record exists.
// It returns the problems found (none on a healthy journal). It holds
// every index key in memory: for tests, and for a one-off check of a
// production journal (a 3-million-person registry needs a few GiB).
func (j *Journal) CheckIndexes(ctx context.Context) ([]IndexProblem, error) {
	var probs []IndexProblem
	want := map[string]string{} // index key -> primary key
	err := j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(spaceRecord)
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := string(item.Key())
			rest := k[len(spaceRecord):]
			slash := bytes.IndexByte([]byte(rest), '/')
			if slash < 0 {
				probs = append(probs, IndexProblem{Key: printable(k), Reason: "record key without kind"})
				continue
			}
			dec, ok := kinds[rest[:slash]]
			if !ok {
				probs = append(probs, IndexProblem{Key: printable(k), Reason: "unknown record kind"})
				continue
			}
			err := item.Value(func(b []byte) error {
				r, err := dec(b)
				if err != nil {
					probs = append(probs, IndexProblem{Key: printable(k), Reason: "undecodable: " + err.Error()})
					return nil
				}
				if string(recordKey(r.kind(), r.id())) != k {
					probs = append(probs, IndexProblem{Key: printable(k), Reason: "id in record differs from key"})
				}
				for _, ik := range r.indexKeys() {
					want[string(ik)] = k
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		it.Close()
		seen := map[string]bool{}
		o.Prefix = []byte(spaceIndex)
		it = txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := string(item.Key())
			pk, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			seen[k] = true
			w, ok := want[k]
			switch {
			case !ok:
				probs = append(probs, IndexProblem{Key: printable(k), Reason: "index key without a record that produces it",
					kind: problemOrphan, index: k})
			case w != string(pk):
				probs = append(probs, IndexProblem{Key: printable(k), Reason: fmt.Sprintf("points at %s, want %s", printable(string(pk)), printable(w)),
					kind: problemWrongTarget, index: k, record: w})
			}
		}
		for k, pk := range want {
			if !seen[k] {
				probs = append(probs, IndexProblem{Key: printable(k), Reason: "missing index key of " + printable(pk),
					kind: problemMissing, index: k, record: pk})
			}
		}
		return nil
	})
	sort.Slice(probs, func(a, b int) bool { return probs[a].Key < probs[b].Key })
	return probs, err
}

func printable(s string) string { return fmt.Sprintf("%q", s) }

// deleteRecord removes rec and its index keys in txn.
func deleteRecord(txn *badger.Txn, rec record) error {
	for _, k := range rec.indexKeys() {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return txn.Delete(recordKey(rec.kind(), rec.id()))
}
