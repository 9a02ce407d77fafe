package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDisplayNameLimits(t *testing.T) {
	j, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	admin := Actor{Login: "root", Role: RoleAdmin}
	for _, tc := range []struct {
		name, display, org, want string
	}{
		{"invalid UTF-8", "Иванова \xff\xfe", "", "display_name: is not valid UTF-8"},
		{"5000 bytes of junk", strings.Repeat("\xc3", 5000), "", "display_name: is not valid UTF-8"},
		{"too long", strings.Repeat("я", MaxDisplayName+1), "", "display_name: 101 characters, at most 100"},
		{"newline", "Иванова\nАнна", "", "display_name:"},
		{"NUL", "Иванова\x00", "", "display_name: has a control character U+0000"},
		{"bidi override", "Иванова \u202eанна", "", "display_name: has an invisible formatting character U+202E"},
		{"organization", "Иванова Анна", "ТФОМС\x1b[31m", "organization: has a control character U+001B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := j.AddAccount(context.Background(), admin, NewAccount{Login: "u1", DisplayName: tc.display, Organization: tc.org, Roles: []Role{RoleOperatorL1}})
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AddAccount(%q) = %v, want a field error %q", tc.display, err, tc.want)
			}
			if as, _ := j.Accounts(context.Background()); len(as) != 0 {
				t.Errorf("a refused account was stored: %+v", as)
			}
		})
	}
	if _, err := j.AddAccount(context.Background(), admin, NewAccount{Login: "u2", DisplayName: strings.Repeat("я", MaxDisplayName),
		Roles: []Role{RoleOperatorL1}}); err != nil {
		t.Errorf("a name of exactly %d characters: %v", MaxDisplayName, err)
	}
}
