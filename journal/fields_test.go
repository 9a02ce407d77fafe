package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Names and one-line fields refuse control characters, line breaks and
// bidirectional overrides, and every field has a length limit (a
// 100,000-character surname was accepted).
func TestFieldLimits(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			j := open(t)
			ctx := context.Background()
			long := strings.Repeat("Я", 100000)
			for _, tc := range []struct {
				display, field string
			}{
				{long, "display_name"},
				{"Иванова\u202eанна", "display_name"},
				{"Иванова\nАнна", "display_name"},
				{"Иванова\x00", "display_name"},
				{"Иванова\rАнна", "display_name"},
			} {
				_, err := j.AddAccount(ctx, adm, NewAccount{Login: "x1", DisplayName: tc.display, Roles: []Role{RoleOperatorL1}})
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
					t.Errorf("AddAccount(display %.20q) = %v, want ErrInvalid about %s", tc.display, err, tc.field)
				}
			}
			for _, tc := range []struct {
				mod   func(a *Appeal)
				field string
			}{
				{func(a *Appeal) { a.Person.Surname = long }, "person.surname"},
				{func(a *Appeal) { a.Person.Name = "Анна\u202e" }, "person.name"},
				{func(a *Appeal) { a.Person.Patronymic = "x\ny" }, "person.patronymic"},
				{func(a *Appeal) { a.Text = "текст\x00" }, "text"},
				{func(a *Appeal) { a.Text = "текст \u202e" }, "text"},
				{func(a *Appeal) { a.Text = strings.Repeat("а", maxTextLen+1) }, "text"},
			} {
				a := card("89000000001", "")
				tc.mod(a)
				if err := j.CreateAppeal(ctx, op1, a); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
					t.Errorf("CreateAppeal with a bad %s = %v, want ErrInvalid about it", tc.field, err)
				}
			}
			ok := card("89000000001", "")
			ok.Text = "Первая строка.\nВторая строка.\tС табуляцией."
			if err := j.CreateAppeal(ctx, op1, ok); err != nil {
				t.Errorf("CreateAppeal with a multi-line text = %v, want nil", err)
			}
		})
	}
}

// Bearer tokens live at most Options.MaxTokenTTL (default a year); one
// created without a TTL gets that, a longer one is refused.
func TestTokenLifetimeCap(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			j := open(t)
			ctx := context.Background()
			if _, err := j.AddAccount(ctx, adm, NewAccount{Login: "bot", DisplayName: "Бот", Roles: []Role{RoleSRE}}); err != nil {
				t.Fatal(err)
			}
			if _, err := j.CreateToken(ctx, adm, "bot", "century", 100*365*24*time.Hour); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ttl") {
				t.Errorf("CreateToken(100 years) = %v, want ErrInvalid about ttl", err)
			}
			if _, err := j.CreateToken(ctx, adm, "bot", "bad\nname", time.Hour); !errors.Is(err, ErrInvalid) {
				t.Errorf("CreateToken(name with a line break) = %v, want ErrInvalid", err)
			}
			secret, err := j.CreateToken(ctx, adm, "bot", "default", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.TokenAccount(ctx, secret); err != nil {
				t.Fatalf("fresh token: %v", err)
			}
			var tok Token
			if err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindToken, tokenHash(secret)), &tok) }); err != nil {
				t.Fatal(err)
			}
			if got := tok.Expires.Sub(tok.Created); got != DefaultMaxTokenTTL {
				t.Errorf("token without a TTL lives %v, want %v", got, DefaultMaxTokenTTL)
			}
		})
	}
}
