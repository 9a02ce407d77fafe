package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// What a campaign's runner reads besides contacts: priority callbacks
// first, the counts of contacts by status for the metrics, and the
// learned pacing estimates kept across restarts.

// CampaignEstimates are a campaign's learned pacing estimates (package
// campaigns encodes them as JSON), saved so that a restarted campaign does
// not start cold.
type CampaignEstimates struct {
	V        int             `json:"v"`
	Campaign string          `json:"campaign"`
	Saved    time.Time       `json:"saved"`
	Data     json.RawMessage `json:"data"`
}

func (e *CampaignEstimates) kind() string        { return kindEstim }
func (e *CampaignEstimates) id() string          { return e.Campaign }
func (e *CampaignEstimates) setVersion()         { e.V = campaignsV }
func (e *CampaignEstimates) indexKeys() [][]byte { return nil }

// DuePriority returns up to limit pending contacts of campaign with a
// priority callback (after an abandoned call) that are due at now,
// earliest first. Like DueContacts, the list is a snapshot.
func (j *Journal) DuePriority(ctx context.Context, campaign string, now time.Time, limit int) ([]Contact, error) {
	prefix := ikey(idxContactPrio, []byte(campaign), nil)
	end := ikey(idxContactPrio, []byte(campaign), be64(now.Add(time.Nanosecond)))
	var out []Contact
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, prefix, nil, false, func(k, pk []byte) (bool, error) {
			if string(k) >= string(end) || len(out) >= limit {
				return false, nil
			}
			var c Contact
			if err := getJSON(txn, pk, &c); err != nil {
				return false, fmt.Errorf("index %q: %w", k, err)
			}
			out = append(out, c)
			return true, nil
		})
	})
	return out, err
}

// ContactCounts returns the number of campaign's contacts in each status,
// from the status index (no contact is decoded).
func (j *Journal) ContactCounts(ctx context.Context, campaign string) (map[ContactStatus]int, error) {
	out := map[ContactStatus]int{}
	err := j.view(ctx, func(txn *badger.Txn) error {
		for _, st := range ContactStatuses {
			o := badger.DefaultIteratorOptions
			o.Prefix = ikey(idxContactStatus, []byte(campaign), []byte(st.String()), nil)
			o.PrefetchValues = false
			it := txn.NewIterator(o)
			n := 0
			for it.Rewind(); it.Valid(); it.Next() {
				n++
			}
			it.Close()
			out[st] = n
		}
		return nil
	})
	return out, err
}

// PutCampaignEstimates saves a campaign's estimates (replacing the last).
func (j *Journal) PutCampaignEstimates(ctx context.Context, campaign string, data json.RawMessage) error {
	e := &CampaignEstimates{Campaign: campaign, Saved: j.now(), Data: data}
	return j.update(ctx, func(txn *badger.Txn) error { return save(txn, e) })
}

// CampaignEstimatesOf returns a campaign's saved estimates, or ErrNotFound.
func (j *Journal) CampaignEstimatesOf(ctx context.Context, campaign string) (json.RawMessage, error) {
	var e CampaignEstimates
	err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindEstim, campaign), &e) })
	if err != nil {
		return nil, fmt.Errorf("estimates of %s: %w", campaign, err)
	}
	return e.Data, nil
}
