package journal

import (
	"context"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// AuditEntry records one read or change of personal data, an appeal or an
// account. It carries references (ids, policy numbers), never the data.
type AuditEntry struct {
	V  int       `json:"v"`
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// Account and Role are who did it.
	Account string `json:"account"`
	Role    Role   `json:"role"`
	// Op is what was done: read, search, create, update, move, link,
	// attach, load, login, passwd, disable, backup, restore, export.
	Op string `json:"op"`
	// Subject is what was read or changed, as "<kind>:<id>" (appeal:…,
	// person:<ЕНП>, account:<login>, registry:<file>).
	Subject string `json:"subject"`
	// Person is the ЕНП of the person concerned, when known, so the log
	// can be queried by person.
	Person string `json:"person,omitempty"`
	// Detail says what changed (field names, the move), without values of
	// personal data.
	Detail string `json:"detail,omitempty"`
}

const (
	kindAudit       = "audit"
	auditVersion    = 1
	idxAuditAccount = "au_account"
	idxAuditPerson  = "au_person"
	idxAuditSubject = "au_subject"
	idxAuditTime    = "au_time"
)

func init() { registerKind[AuditEntry](kindAudit) }

func (e *AuditEntry) kind() string { return kindAudit }
func (e *AuditEntry) id() string   { return e.ID }
func (e *AuditEntry) setVersion()  { e.V = auditVersion }
func (e *AuditEntry) indexKeys() [][]byte {
	at, id := be64(e.At), []byte(e.ID)
	keys := [][]byte{
		ikey(idxAuditTime, at, id),
		ikey(idxAuditAccount, []byte(e.Account), at, id),
		ikey(idxAuditSubject, []byte(e.Subject), at, id),
	}
	if e.Person != "" {
		keys = append(keys, ikey(idxAuditPerson, []byte(e.Person), at, id))
	}
	return keys
}

// audit adds an entry in txn (so a change and its audit commit together).
func (j *Journal) audit(txn *badger.Txn, who Actor, op, subject, person, detail string) error {
	now := j.now()
	e := &AuditEntry{ID: j.ids.next(now), At: now, Account: who.Login, Role: who.Role, Op: op, Subject: subject, Person: person, Detail: detail}
	return save(txn, e)
}

// auditRead records a read of personal data durably before the data is
// returned: the entry goes through the committer like any change, and
// the read fails if the entry cannot be written (152-FZ: every access to
// personal data is accounted for; a read that a power cut could leave
// unrecorded would not be). Concurrent reads share the fsync of one group
// commit, so the cost under load is a fraction of an fsync per read; a
// lone read waits for one (about a millisecond on an SSD).
//
// A journal opened read-only has nowhere to write the entry, so it
// refuses reads of personal data (ErrReadOnly); the CLI opens the journal
// read-write when no daemon runs, so its reads are audited too.
func (j *Journal) auditRead(ctx context.Context, who Actor, op, subject, person, detail string) error {
	if j.opts.ReadOnly {
		return fmt.Errorf("%w: a read of personal data must be audited; open the journal read-write", ErrReadOnly)
	}
	now := j.now()
	e := &AuditEntry{ID: j.ids.next(now), At: now, Account: who.Login, Role: who.Role, Op: op, Subject: subject, Person: person, Detail: detail}
	// The read already happened; a cancelled request must not skip its
	// audit entry.
	if err := j.update(context.WithoutCancel(ctx), func(txn *badger.Txn) error { return save(txn, e) }); err != nil {
		return fmt.Errorf("audit %s %s: %w", op, subject, err)
	}
	return nil
}

// AuditQuery selects audit entries; exactly one of Account, Person,
// Subject may be set (none means all), within [From, To).
type AuditQuery struct {
	Account, Person, Subject string
	From, To                 time.Time
	// Limit caps the result (0 means 1000).
	Limit int
}

// Audit returns audit entries matching q, oldest first. Only
// administrators may read the audit log; the read is itself audited.
func (j *Journal) Audit(ctx context.Context, who Actor, q AuditQuery) ([]AuditEntry, error) {
	if !Allowed(who.Role, ActionRead, ResourceAudit) {
		return nil, fmt.Errorf("audit: %w: role %s", ErrDenied, who.Role)
	}
	n := 0
	for _, s := range []string{q.Account, q.Person, q.Subject} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("audit: %w: query by one of account, person, subject", ErrInvalid)
	}
	var prefix []byte
	switch {
	case q.Account != "":
		prefix = ikey(idxAuditAccount, []byte(q.Account), nil)
	case q.Person != "":
		prefix = ikey(idxAuditPerson, []byte(q.Person), nil)
	case q.Subject != "":
		prefix = ikey(idxAuditSubject, []byte(q.Subject), nil)
	default:
		prefix = ikey(idxAuditTime)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	var out []AuditEntry
	from := append(append([]byte{}, prefix...), be64(q.From)...)
	var to []byte
	if !q.To.IsZero() {
		to = append(append([]byte{}, prefix...), be64(q.To)...)
	}
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, prefix, from, false, func(k, pk []byte) (bool, error) {
			if to != nil && string(k) >= string(to) {
				return false, nil
			}
			var e AuditEntry
			if err := getJSON(txn, pk, &e); err != nil {
				return false, err
			}
			out = append(out, e)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	detail := fmt.Sprintf("account=%q subject=%q person_set=%v", q.Account, q.Subject, q.Person != "")
	if err := j.auditRead(ctx, who, "read", "audit:", q.Person, detail); err != nil {
		return nil, err
	}
	return out, nil
}
