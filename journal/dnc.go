package journal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The do-not-call list seen and corrected by campaign staff: a page of it
// (DNCList), and a phone taken off it (RemoveDNC) together with the
// contacts that may be called on it again. Adding is AddDNC, and a
// contact's "do not call" result adds through ContactChange.DNC.

// DNCEach calls fn with every entry of the do-not-call list in phone
// order, until fn returns false. It is not audited: callers that hand the
// entries to a person audit that (an export).
func (j *Journal) DNCEach(ctx context.Context, fn func(d *DNCEntry) bool) error {
	return j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = recordKey(kindDNC, "")
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var d DNCEntry
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, &d) }); err != nil {
				return fmt.Errorf("dnc %s: %w", it.Item().Key()[len(o.Prefix):], err)
			}
			if !fn(&d) {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Page sizes of DNCList.
const (
	DefaultDNCPage = 1000
	MaxDNCPage     = 10000
)

// DNCQuery selects entries of the do-not-call list.
type DNCQuery struct {
	// Phone, when set, selects that phone only (E.164).
	Phone string
	// After continues a listing after that phone (the Next of the page
	// before).
	After string
	// Limit caps the page (0: DefaultDNCPage; at most MaxDNCPage).
	Limit int
}

// DNCPage is one page of the do-not-call list, in phone order.
type DNCPage struct {
	Entries []DNCEntry `json:"entries"`
	// Total is how many phones the whole list holds (with Phone: 0 or 1).
	Total int `json:"total"`
	// Next, when set, is the After of the next page.
	Next string `json:"next,omitempty"`
}

// DNCList returns a page of the do-not-call list: who put each phone on
// it, when, from where and why. Phones are personal data: the read is
// audited (subject "dnc:", or "dnc:PHONE" for one phone).
func (j *Journal) DNCList(ctx context.Context, who Actor, q DNCQuery) (*DNCPage, error) {
	if !Allowed(who.Role, ActionRead, ResourceCampaign) {
		return nil, fmt.Errorf("do-not-call list: %w: role %s", ErrDenied, who.Role)
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultDNCPage
	case limit < 0 || limit > MaxDNCPage:
		return nil, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, limit, MaxDNCPage)
	}
	page := &DNCPage{Entries: []DNCEntry{}}
	prefix := recordKey(kindDNC, "")
	err := j.view(ctx, func(txn *badger.Txn) error {
		if q.Phone != "" {
			var d DNCEntry
			switch err := getJSON(txn, recordKey(kindDNC, q.Phone), &d); {
			case errors.Is(err, ErrNotFound):
				return nil
			case err != nil:
				return err
			}
			page.Entries, page.Total = append(page.Entries, d), 1
			return nil
		}
		o := badger.DefaultIteratorOptions
		o.Prefix, o.PrefetchValues = prefix, false
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			page.Total++
		}
		start := prefix
		if q.After != "" {
			start = append(recordKey(kindDNC, q.After), 0) // the first key after it
		}
		for it.Seek(start); it.Valid(); it.Next() {
			if len(page.Entries) == limit {
				page.Next = page.Entries[limit-1].Phone
				break
			}
			var d DNCEntry
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, &d) }); err != nil {
				return fmt.Errorf("dnc %s: %w", it.Item().Key()[len(prefix):], err)
			}
			page.Entries = append(page.Entries, d)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("do-not-call list: %w", err)
	}
	detail := fmt.Sprintf("%d of %d entries", len(page.Entries), page.Total)
	if err := j.auditRead(ctx, who, "read", "dnc:"+q.Phone, "", detail); err != nil {
		return nil, err
	}
	return page, nil
}

// maxDNCReason bounds the reason given for a removal.
const maxDNCReason = 1000

// DNCRelease decides what taking a phone off the do-not-call list does to
// one contact that has it (any campaign), given the decisions not to dial
// it: the change to write (RemoveDNC audits it as an update by its
// caller when Audit is empty), or nil for none.
type DNCRelease func(c *Contact, skips []Skip) (*ContactChange, error)

// RemoveDNC takes phone (E.164) off the do-not-call list because of
// reason, in one transaction with its audit entry (who, why, and the
// entry removed: when, by whom, from where) and with the change release
// decides for every contact that has the phone. It returns the entry
// removed and the contacts changed. A phone not on the list is
// ErrNotFound, an empty reason ErrInvalid; nothing is changed then.
func (j *Journal) RemoveDNC(ctx context.Context, who Actor, phone, reason string, release DNCRelease) (*DNCEntry, []Contact, error) {
	if !Allowed(who.Role, ActionDelete, ResourceCampaign) {
		return nil, nil, fmt.Errorf("remove from the do-not-call list: %w: role %s", ErrDenied, who.Role)
	}
	reason = strings.TrimSpace(reason)
	switch {
	case phone == "":
		return nil, nil, fmt.Errorf("%w: no phone given", ErrInvalid)
	case reason == "":
		return nil, nil, fmt.Errorf("%w: reason: required (why %s may be called again)", ErrInvalid, phone)
	case len([]rune(reason)) > maxDNCReason:
		return nil, nil, fmt.Errorf("%w: reason: at most %d characters", ErrInvalid, maxDNCReason)
	}
	var removed DNCEntry
	var changed []Contact
	err := j.update(ctx, func(txn *badger.Txn) error {
		changed = changed[:0]
		removed = DNCEntry{}
		if err := getJSON(txn, recordKey(kindDNC, phone), &removed); err != nil {
			if errors.Is(err, ErrNotFound) {
				return notOnDNCError(phone)
			}
			return err
		}
		if err := deleteRecord(txn, &removed); err != nil {
			return err
		}
		var pks [][]byte
		err := scanIndex(txn, ikey(idxContactPhone, []byte(phone), nil), nil, false, func(_, pk []byte) (bool, error) {
			pks = append(pks, pk)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, pk := range pks {
			var c Contact
			if err := getJSON(txn, pk, &c); err != nil {
				return fmt.Errorf("contact %s: %w", pk, err)
			}
			var skips []Skip
			err := scanIndex(txn, ikey(idxSkipContact, []byte(c.Campaign), []byte(c.ID), nil), nil, false, func(k, spk []byte) (bool, error) {
				var s Skip
				if err := getJSON(txn, spk, &s); err != nil {
					return false, fmt.Errorf("index %q: %w", k, err)
				}
				skips = append(skips, s)
				return true, nil
			})
			if err != nil {
				return err
			}
			ch, err := release(&c, skips)
			if err != nil || ch == nil {
				if err != nil {
					return fmt.Errorf("contact %s/%s: %w", c.Campaign, c.ID, err)
				}
				continue
			}
			if ch.Contact == nil {
				return fmt.Errorf("contact %s/%s: %w: a release without the contact", c.Campaign, c.ID, ErrInvalid)
			}
			if ch.Audit == "" {
				ch.Audit, ch.Who = "update", who
				if ch.Detail == "" {
					ch.Detail = "released from the do-not-call list"
				}
			}
			if err := j.writeChange(txn, ch); err != nil {
				return fmt.Errorf("contact %s/%s: %w", c.Campaign, c.ID, err)
			}
			changed = append(changed, *ch.Contact)
		}
		return j.audit(txn, who, "delete", "dnc:"+phone, "", dncRemovalDetail(&removed, reason, len(changed)))
	})
	var nf notOnDNCError
	switch {
	case errors.As(err, &nf):
		return nil, nil, err
	case err != nil:
		return nil, nil, fmt.Errorf("remove %s from the do-not-call list: %w", phone, err)
	}
	return &removed, changed, nil
}

// notOnDNCError is RemoveDNC's answer for a phone not on the list; it is
// ErrNotFound.
type notOnDNCError string

func (e notOnDNCError) Error() string        { return string(e) + " is not on the do-not-call list" }
func (e notOnDNCError) Is(target error) bool { return target == ErrNotFound }

// dncRemovalDetail is the audit detail of a removal: why, and the entry
// removed (which is gone from the list afterwards).
func dncRemovalDetail(d *DNCEntry, reason string, released int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "reason: %s; on the list since %s by %s (%s", reason, d.Added.UTC().Format(time.RFC3339), d.By, d.Source)
	if d.Campaign != "" {
		fmt.Fprintf(&b, ", campaign %s", d.Campaign)
	}
	if d.Reason != "" {
		fmt.Fprintf(&b, ": %s", d.Reason)
	}
	fmt.Fprintf(&b, "); contacts released: %d", released)
	return b.String()
}
