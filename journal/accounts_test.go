package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDigestHA1(t *testing.T) {
	tests := []struct{ user, realm, secret, md5, sha256 string }{
		// RFC 2617 §3.5: HA1 of Mufasa:testrealm@host.com:Circle Of Life.
		{"Mufasa", "testrealm@host.com", "Circle Of Life", "939e7578ed9e3c518a452acee763bce9", "3ba6cd94661c5ef34598040c868f13b8775df29109986be50ad35ae537dd3aa4"},
		// HA1 values computed with md5sum/sha256sum of "user:realm:secret".
		{"alice", "obzvon", "secret1234", "03055a62a46194ecfe9dae4c5efd537a", "3df58f5799db8a1916115407cd9483e758e4028dd578523bb57dcfbfb9ff1d4a"},
		{"Mufasa", "http-auth@example.org", "Circle of Life", "3d78807defe7de2157e2b0b6573a855f", "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"},
	}
	for _, tt := range tests {
		m, s := DigestHA1(tt.user, tt.realm, tt.secret)
		if m != tt.md5 || s != tt.sha256 {
			t.Errorf("DigestHA1(%q, %q) = %s, %s, want %s, %s", tt.user, tt.realm, m, s, tt.md5, tt.sha256)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("правильный конь")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("HashPassword() = %q, want PHC argon2id", h)
	}
	if h == HashPassword("правильный конь") {
		t.Error("two hashes of one password are equal: salt not random")
	}
	tests := []struct {
		hash, pw string
		want     bool
	}{
		{h, "правильный конь", true},
		{h, "правильный конь ", false},
		{h, "", false},
		{"", "x", false},
		{"$argon2id$v=19$m=0,t=2,p=1$AAAA$AAAA", "x", false},
		{"$bcrypt$...", "x", false},
	}
	for _, tt := range tests {
		if got := CheckPassword(tt.hash, tt.pw); got != tt.want {
			t.Errorf("CheckPassword(%.20q, %q) = %v, want %v", tt.hash, tt.pw, got, tt.want)
		}
	}
}

func TestAccounts(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			j := open(t)
			ctx := context.Background()
			add := func(n NewAccount) (*Account, error) { return j.AddAccount(ctx, adm, n) }
			a, err := add(NewAccount{Login: "ivanova", DisplayName: "Иванова Анна Сергеевна", Roles: []Role{RoleOperatorL1},
				Organization: "ТФОМС Ставропольского края", Extension: "1021", Password: "очень-секретно", SIPSecret: "sip-9fk2-qm7t", SIPRealm: "obzvon"})
			if err != nil {
				t.Fatalf("AddAccount = %v", err)
			}
			if a.PasswordHash == "" || strings.Contains(a.PasswordHash, "очень") || a.SIPHA1MD5 == "" {
				t.Fatalf("stored account = %+v", a)
			}
			if _, err := add(NewAccount{Login: "petrov", DisplayName: "Петров Пётр", Roles: []Role{RoleRepL2}, Organization: "АО «СОГАЗ-Мед»", Extension: "2001"}); err != nil {
				t.Fatal(err)
			}
			bad := []struct {
				n    NewAccount
				want error
				text string
			}{
				{NewAccount{Login: "ivanova", DisplayName: "x", Roles: []Role{RoleAdmin}}, ErrExists, "login ivanova"},
				{NewAccount{Login: "other", DisplayName: "x", Roles: []Role{RoleAdmin}, Extension: "1021"}, ErrExists, "extension 1021"},
				{NewAccount{Login: "Bad Login", DisplayName: "x", Roles: []Role{RoleAdmin}}, ErrInvalid, "login"},
				{NewAccount{Login: "nobody", DisplayName: "x"}, ErrInvalid, "roles"},
				{NewAccount{Login: "shortpw", DisplayName: "x", Roles: []Role{RoleAdmin}, Password: "123"}, ErrInvalid, "password"},
				{NewAccount{Login: "ext", DisplayName: "x", Roles: []Role{RoleAdmin}, Extension: "12a"}, ErrInvalid, "extension"},
				{NewAccount{Login: "commonpw", DisplayName: "x", Roles: []Role{RoleAdmin}, Password: "Qwerty12345!"}, ErrInvalid, "password: too weak: a common password"},
				{NewAccount{Login: "loginpw", DisplayName: "x", Roles: []Role{RoleAdmin}, Password: "loginpw-2026"}, ErrInvalid, "password: too weak: contains the login"},
				{NewAccount{Login: "digits", DisplayName: "x", Roles: []Role{RoleAdmin}, SIPSecret: "83920174", SIPRealm: "obzvon"}, ErrInvalid, "sip_secret: too weak: too short"},
				{NewAccount{Login: "sipcommon", DisplayName: "x", Roles: []Role{RoleAdmin}, SIPSecret: "password123", SIPRealm: "obzvon"}, ErrInvalid, "sip_secret: too weak: a common password"},
				{NewAccount{Login: "sipext", DisplayName: "x", Roles: []Role{RoleAdmin}, Extension: "4455", SIPSecret: "phone-4455-x", SIPRealm: "obzvon"}, ErrInvalid, "sip_secret: too weak: contains the login or extension"},
			}
			for _, b := range bad {
				if _, err := add(b.n); !errors.Is(err, b.want) || !strings.Contains(err.Error(), b.text) {
					t.Errorf("AddAccount(%s) = %v, want %v about %q", b.n.Login, err, b.want, b.text)
				}
			}
			if _, err := j.AddAccount(ctx, op1, NewAccount{Login: "x1", DisplayName: "x", Roles: []Role{RoleAdmin}}); !errors.Is(err, ErrDenied) {
				t.Errorf("AddAccount by operator = %v, want ErrDenied", err)
			}

			if got, err := j.VerifyPassword(ctx, "ivanova", "очень-секретно"); err != nil || got.Login != "ivanova" {
				t.Fatalf("VerifyPassword(right) = %v, %v", got, err)
			}
			for _, c := range [][2]string{{"ivanova", "неверно"}, {"nobody", "очень-секретно"}, {"petrov", ""}} {
				if _, err := j.VerifyPassword(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
					t.Errorf("VerifyPassword(%q, %q) = %v, want ErrBadCredentials", c[0], c[1], err)
				}
			}
			if err := j.SetPassword(ctx, adm, "petrov", "новый-пароль-1"); err != nil {
				t.Fatal(err)
			}
			if _, err := j.VerifyPassword(ctx, "petrov", "новый-пароль-1"); err != nil {
				t.Fatalf("VerifyPassword after SetPassword = %v", err)
			}
			if err := j.SetPassword(ctx, Actor{"ivanova", RoleOperatorL1}, "petrov", "чужой-пароль-1"); !errors.Is(err, ErrDenied) {
				t.Errorf("operator setting another's password = %v, want ErrDenied", err)
			}

			realm, m, s, err := j.SIPCredentials(ctx, "ivanova")
			wm, ws := DigestHA1("ivanova", "obzvon", "sip-9fk2-qm7t")
			if err != nil || realm != "obzvon" || m != wm || s != ws {
				t.Fatalf("SIPCredentials = %s %s %s %v", realm, m, s, err)
			}

			tok, err := j.CreateToken(ctx, adm, "ivanova", "cli", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if a, err := j.TokenAccount(ctx, tok); err != nil || a.Login != "ivanova" {
				t.Fatalf("TokenAccount = %v, %v", a, err)
			}
			if _, err := j.TokenAccount(ctx, tok+"x"); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("TokenAccount(wrong) = %v", err)
			}

			if byExt, err := j.AccountByExtension(ctx, "2001"); err != nil || byExt.Login != "petrov" {
				t.Errorf("AccountByExtension(2001) = %v, %v; want petrov", byExt, err)
			}
			if _, err := j.AccountByExtension(ctx, "9999"); !errors.Is(err, ErrNotFound) {
				t.Errorf("AccountByExtension(9999) = %v, want ErrNotFound", err)
			}
			dir, err := j.Directory(ctx, "ива")
			if err != nil || len(dir) != 1 || dir[0].Extension != "1021" {
				t.Fatalf("Directory(ива) = %+v, %v", dir, err)
			}
			if dir, _ := j.Directory(ctx, "согаз"); len(dir) != 1 || dir[0].Login != "petrov" {
				t.Errorf("Directory(согаз) = %+v, want petrov", dir)
			}
			if dir, _ := j.Directory(ctx, "20"); len(dir) != 1 || dir[0].Login != "petrov" {
				t.Errorf("Directory(20) = %+v, want petrov by extension", dir)
			}
			if dir, _ := j.Directory(ctx, "петр пётр"); len(dir) != 1 {
				t.Errorf("Directory(петр пётр) = %+v, want petrov (ё = е)", dir)
			}
			if dir, _ := j.Directory(ctx, ""); len(dir) != 2 {
				t.Errorf("Directory('') = %+v, want both", dir)
			}

			if err := j.SetDisabled(ctx, adm, "ivanova", true); err != nil {
				t.Fatal(err)
			}
			if _, err := j.VerifyPassword(ctx, "ivanova", "очень-секретно"); !errors.Is(err, ErrDisabled) {
				t.Errorf("VerifyPassword(disabled) = %v, want ErrDisabled", err)
			}
			if _, err := j.TokenAccount(ctx, tok); !errors.Is(err, ErrDisabled) {
				t.Errorf("TokenAccount(disabled) = %v, want ErrDisabled", err)
			}
			if _, _, _, err := j.SIPCredentials(ctx, "ivanova"); !errors.Is(err, ErrDisabled) {
				t.Errorf("SIPCredentials(disabled) = %v, want ErrDisabled", err)
			}
			if dir, _ := j.Directory(ctx, ""); len(dir) != 1 {
				t.Errorf("Directory after disable = %+v, want only petrov", dir)
			}
			if n, err := j.RevokeTokens(ctx, adm, "ivanova"); n != 1 || err != nil {
				t.Errorf("RevokeTokens = %d, %v, want 1", n, err)
			}
			au, _ := j.Audit(ctx, adm, AuditQuery{Subject: "account:ivanova"})
			var ops []string
			for _, e := range au {
				ops = append(ops, e.Op)
			}
			if got := strings.Join(ops, " "); got != "create login login disable login delete" {
				t.Errorf("audit of account = %q", got)
			}
			mustHealthy(t, j)
		})
	}
}
