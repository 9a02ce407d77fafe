package journal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// SIPBinding is one registered contact of an account's softphone
// (RFC 3261 §10.3), kept so that a restart of the appliance does not drop
// every phone: the registrar writes an account's bindings before it
// answers 200 and reads them all back on start.
type SIPBinding struct {
	V int `json:"v"`
	// Login is the account the phone registered for (under its login or
	// its extension).
	Login   string `json:"login"`
	Contact string `json:"contact"`
	// Source and Transport are where the REGISTER came from.
	Source    string    `json:"source,omitempty"`
	Transport string    `json:"transport,omitempty"`
	Expires   time.Time `json:"expires"`
	CallID    string    `json:"call_id,omitempty"`
	CSeq      uint32    `json:"cseq,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
}

const (
	kindSIPBinding    = "sipbind"
	sipBindingVersion = 1
)

func init() { registerKind[SIPBinding](kindSIPBinding) }

func (b *SIPBinding) kind() string        { return kindSIPBinding }
func (b *SIPBinding) id() string          { return b.Login + "/" + b.Contact }
func (b *SIPBinding) setVersion()         { b.V = sipBindingVersion }
func (b *SIPBinding) indexKeys() [][]byte { return nil }

// SetSIPBindings replaces the stored bindings of login with bs (none:
// the phone unregistered), durably.
func (j *Journal) SetSIPBindings(ctx context.Context, login string, bs []SIPBinding) error {
	if !ValidLogin(login) {
		return fmt.Errorf("set SIP bindings: %w: login %q", ErrInvalid, login)
	}
	prefix := recordKey(kindSIPBinding, login+"/")
	err := j.update(ctx, func(txn *badger.Txn) error {
		var old [][]byte
		o := badger.DefaultIteratorOptions
		o.Prefix, o.PrefetchValues = prefix, false
		it := txn.NewIterator(o)
		for it.Rewind(); it.Valid(); it.Next() {
			old = append(old, it.Item().KeyCopy(nil))
		}
		it.Close()
		for _, k := range old {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		for i := range bs {
			b := bs[i]
			b.Login = login
			if b.Contact == "" {
				return fmt.Errorf("%w: binding without a contact", ErrInvalid)
			}
			if err := save(txn, &b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set SIP bindings of %s: %w", login, err)
	}
	return nil
}

// SIPBindings returns every stored binding, expired ones included (the
// registrar drops those).
func (j *Journal) SIPBindings(ctx context.Context) ([]SIPBinding, error) {
	var out []SIPBinding
	err := j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = recordKey(kindSIPBinding, "")
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var b SIPBinding
			if err := it.Item().Value(func(v []byte) error { return jsonUnmarshal(v, &b) }); err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("SIP bindings: %w", err)
	}
	return out, nil
}

// SIPLogin returns the login of the account a phone names as its SIP user:
// the login itself, or the account's extension.
func (j *Journal) SIPLogin(ctx context.Context, user string) (string, error) {
	if ValidLogin(user) {
		if _, err := j.Account(ctx, user); err == nil {
			return user, nil
		} else if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	if user != "" && strings.Trim(user, "0123456789") == "" {
		a, err := j.AccountByExtension(ctx, user)
		if err != nil {
			return "", err
		}
		return a.Login, nil
	}
	return "", fmt.Errorf("SIP user %q: %w", user, ErrNotFound)
}
