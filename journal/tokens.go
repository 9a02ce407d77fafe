package journal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Token is a bearer token for the CLI and automation. Only the SHA-256 of
// the secret is stored; the secret is shown once, at creation.
type Token struct {
	V int `json:"v"`
	// Hash is the hex SHA-256 of the secret, the record's id.
	Hash    string    `json:"hash"`
	Login   string    `json:"login"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Expires is when the token stops working (zero: never).
	Expires time.Time `json:"expires,omitzero"`
}

const (
	kindToken     = "token"
	tokenVersion  = 1
	idxTokenLogin = "tok_login"
	tokenPrefix   = "obz_"
)

func init() { registerKind[Token](kindToken) }

func (t *Token) kind() string { return kindToken }
func (t *Token) id() string   { return t.Hash }
func (t *Token) setVersion()  { t.V = tokenVersion }
func (t *Token) indexKeys() [][]byte {
	return [][]byte{ikey(idxTokenLogin, []byte(t.Login), []byte(t.Hash))}
}

// DefaultMaxTokenTTL is the longest a bearer token lives unless
// Options.MaxTokenTTL says otherwise: a year.
const DefaultMaxTokenTTL = 365 * 24 * time.Hour

func (j *Journal) tokenTTLCap() time.Duration {
	if j.opts.MaxTokenTTL > 0 {
		return j.opts.MaxTokenTTL
	}
	return DefaultMaxTokenTTL
}

func tokenHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateToken makes a bearer token for login, valid for ttl (0: the
// longest allowed, Options.MaxTokenTTL; longer is refused), and returns its secret ("obz_…"). Administrators may create
// tokens for anyone, others for themselves.
func (j *Journal) CreateToken(ctx context.Context, who Actor, login, name string, ttl time.Duration) (string, error) {
	if who.Login != login && !Allowed(who.Role, ActionUpdate, ResourceAccount) {
		return "", fmt.Errorf("create token for %s: %w", login, ErrDenied)
	}
	if err := checkLine("name", name, maxShortLen); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	switch {
	case ttl <= 0:
		ttl = j.tokenTTLCap()
	case ttl > j.tokenTTLCap():
		return "", fmt.Errorf("create token: %w", &FieldError{"ttl", fmt.Sprintf("%v is longer than the longest a token may live (%v)", ttl, j.tokenTTLCap())})
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := j.now()
	t := &Token{Hash: tokenHash(secret), Login: login, Name: name, Created: now}
	t.Expires = now.Add(ttl)
	err := j.update(ctx, func(txn *badger.Txn) error {
		if _, err := txn.Get(recordKey(kindAccount, login)); err != nil {
			return fmt.Errorf("account %s: %w", login, ErrNotFound)
		}
		if err := save(txn, t); err != nil {
			return err
		}
		return j.audit(txn, who, "create", "token:"+t.Hash[:12], "", "for "+login+" "+name)
	})
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return secret, nil
}

// TokenAccount returns the enabled account a bearer token belongs to;
// unknown and expired tokens give ErrBadCredentials.
func (j *Journal) TokenAccount(ctx context.Context, secret string) (*Account, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return nil, ErrBadCredentials
	}
	var t Token
	err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindToken, tokenHash(secret)), &t) })
	if errors.Is(err, ErrNotFound) || err == nil && !t.Expires.IsZero() && !j.now().Before(t.Expires) {
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	a, err := j.Account(ctx, t.Login)
	if err != nil {
		return nil, ErrBadCredentials
	}
	if a.Disabled {
		return nil, ErrDisabled
	}
	return a, nil
}

// RevokeTokens deletes every token of login and returns how many.
func (j *Journal) RevokeTokens(ctx context.Context, who Actor, login string) (int, error) {
	if who.Login != login && !Allowed(who.Role, ActionUpdate, ResourceAccount) {
		return 0, fmt.Errorf("revoke tokens of %s: %w", login, ErrDenied)
	}
	n := 0
	err := j.update(ctx, func(txn *badger.Txn) error {
		n = 0
		if _, err := txn.Get(recordKey(kindAccount, login)); errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: no account %q", ErrNotFound, login)
		} else if err != nil {
			return err
		}
		var pks [][]byte
		err := scanIndex(txn, ikey(idxTokenLogin, []byte(login), nil), nil, false, func(_, pk []byte) (bool, error) {
			pks = append(pks, pk)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, pk := range pks {
			var t Token
			if err := getJSON(txn, pk, &t); err != nil {
				return err
			}
			if err := deleteRecord(txn, &t); err != nil {
				return err
			}
			n++
		}
		return j.audit(txn, who, "delete", "account:"+login, "", fmt.Sprintf("%d tokens revoked", n))
	})
	return n, err
}
