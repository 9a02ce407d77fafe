package journal

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/obzvon/obzvon/lists"
)

// HasOpenAppeal reports whether phone has an appeal in work or deferred,
// for the queue priority of returning callers. It returns no personal
// data and is not audited.
func (j *Journal) HasOpenAppeal(ctx context.Context, phone string) (bool, error) {
	p, err := lists.NormalizePhone(phone)
	if err != nil {
		return false, nil // not a phone number we know: no appeal can have it
	}
	found := false
	err = j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, ikey(idxAppealPhone, []byte(p), nil), nil, false, func(_, pk []byte) (bool, error) {
			var a Appeal
			if err := getJSON(txn, pk, &a); err != nil {
				return false, err
			}
			if a.Status == StatusInWork || a.Status == StatusDeferred {
				found = true
				return false, nil
			}
			return true, nil
		})
	})
	if err != nil {
		return false, fmt.Errorf("open appeal by phone: %w", err)
	}
	return found, nil
}
