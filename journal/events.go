package journal

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The event log: append-only streams of events (the ACD's agent and
// queue events), each event an opaque JSON document with its time, kept
// under
//
//	e/<stream>/<time: 8 bytes, big-endian>/<seq: 8 bytes>
//
// so a time range of a stream is one ordered scan. Events are written
// through the group committer like every other write; the journal does
// not interpret them (the package that emits them reads them back).
const spaceEvent = "e/"

// Event is one stored event.
type Event struct {
	Time time.Time
	// Data is the event, as its producer encoded it (JSON).
	Data []byte
}

var eventSeq atomic.Uint64

func eventKey(stream string, t time.Time, seq uint64) []byte {
	k := make([]byte, 0, len(spaceEvent)+len(stream)+1+8+8)
	k = append(k, spaceEvent...)
	k = append(k, stream...)
	k = append(k, '/')
	k = append(k, be64(t)...)
	return binary.BigEndian.AppendUint64(k, seq)
}

// AppendEvents appends evs to stream in order, durably: when it returns
// nil every event is on disk.
func (j *Journal) AppendEvents(ctx context.Context, stream string, evs []Event) error {
	if stream == "" || len(evs) == 0 {
		return nil
	}
	keys := make([][]byte, len(evs))
	for i, e := range evs {
		if e.Time.IsZero() {
			return fmt.Errorf("append events to %s: %w: event without a time", stream, ErrInvalid)
		}
		keys[i] = eventKey(stream, e.Time, eventSeq.Add(1))
	}
	err := j.update(ctx, func(txn *badger.Txn) error {
		for i, e := range evs {
			if err := txn.Set(keys[i], e.Data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append events to %s: %w", stream, err)
	}
	return nil
}

// Events calls fn with the events of stream whose time is in [from, to),
// in time order, until fn returns an error (which Events returns).
func (j *Journal) Events(ctx context.Context, stream string, from, to time.Time, fn func(Event) error) error {
	prefix := []byte(spaceEvent + stream + "/")
	start := append(append([]byte{}, prefix...), be64(from)...)
	return j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = prefix
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Seek(start); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != len(prefix)+16 {
				continue
			}
			ns := int64(binary.BigEndian.Uint64(k[len(prefix):]) ^ (1 << 63))
			t := time.Unix(0, ns)
			if !t.Before(to) {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			data, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(Event{Time: t, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}
