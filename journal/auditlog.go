package journal

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// RecordAudit writes an audit entry for an action that is not a journal
// change, such as a supervisor listening to a call; durable when it
// returns nil. subject is "<kind>:<id>" (call:…, account:…).
func (j *Journal) RecordAudit(ctx context.Context, who Actor, op, subject, detail string) error {
	err := j.update(ctx, func(txn *badger.Txn) error { return j.audit(txn, who, op, subject, "", detail) })
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", op, subject, err)
	}
	return nil
}
