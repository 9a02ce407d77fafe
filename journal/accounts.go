package journal

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/crypto/argon2"

	"github.com/obzvon/obzvon/internal/weakpass"
	"github.com/obzvon/obzvon/lists"
)

// More sentinel errors, for accounts.
var (
	// ErrBadCredentials is returned for an unknown login or a wrong
	// password alike, so callers cannot probe which logins exist.
	ErrBadCredentials = errors.New("bad login or password")
	// ErrDisabled is returned when a disabled account logs in.
	ErrDisabled = errors.New("account disabled")
	// ErrExists is returned when a login or an extension is already taken.
	ErrExists = errors.New("already exists")
)

// Account is a person who works with obzvon: an operator, a
// representative, an administrator…
type Account struct {
	V           int    `json:"v"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	// Roles are the account's roles; the first is its primary role.
	Roles []Role `json:"roles"`
	// Organization is the fund ("ТФОМС") or an insurance company.
	Organization string `json:"organization,omitempty"`
	// Extension is the internal number (unique), for transfers and SIP.
	Extension string `json:"extension,omitempty"`
	// Queues are the inbound queues whose appeals a level-1 operator sees.
	Queues []string `json:"queues,omitempty"`
	// PasswordHash is an argon2id hash in PHC form.
	PasswordHash string `json:"password_hash,omitempty"`
	// SIP digest credentials (RFC 7616 §3.4.2): HA1 = H(login:realm:secret)
	// with MD5 and with SHA-256. The secret itself is not stored.
	SIPRealm     string `json:"sip_realm,omitempty"`
	SIPHA1MD5    string `json:"sip_ha1_md5,omitempty"`
	SIPHA1SHA256 string `json:"sip_ha1_sha256,omitempty"`
	// The same with the extension as the digest user, so that a phone may
	// register as 1001 instead of ivanova. Set with the secret; an
	// extension given after it needs a new secret.
	SIPExtHA1MD5    string    `json:"sip_ext_ha1_md5,omitempty"`
	SIPExtHA1SHA256 string    `json:"sip_ext_ha1_sha256,omitempty"`
	Disabled        bool      `json:"disabled,omitempty"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
}

const (
	kindAccount    = "account"
	accountVersion = 1
	idxAccExt      = "acc_ext"
	idxAccWord     = "acc_word"
)

func init() { registerKind[Account](kindAccount) }

func (a *Account) kind() string { return kindAccount }
func (a *Account) id() string   { return a.Login }
func (a *Account) setVersion()  { a.V = accountVersion }
func (a *Account) indexKeys() [][]byte {
	var keys [][]byte
	if a.Extension != "" {
		keys = append(keys, ikey(idxAccExt, []byte(a.Extension)))
	}
	seen := map[string]bool{}
	for _, w := range strings.Fields(lists.Fold(a.DisplayName + " " + a.Organization + " " + a.Login)) {
		if !seen[w] {
			seen[w] = true
			keys = append(keys, ikey(idxAccWord, []byte(w), []byte(a.Login)))
		}
	}
	return keys
}

// Has reports whether the account has role r.
func (a *Account) Has(r Role) bool { return slices.Contains(a.Roles, r) }

// Allowed reports whether any of the account's roles allows action on
// resource; a disabled account is allowed nothing.
func (a *Account) Allowed(action Action, resource Resource) bool {
	if a.Disabled {
		return false
	}
	return slices.ContainsFunc(a.Roles, func(r Role) bool { return Allowed(r, action, resource) })
}

// Actor returns the account acting in its primary role.
func (a *Account) Actor() Actor {
	if len(a.Roles) == 0 {
		return Actor{Login: a.Login}
	}
	return Actor{Login: a.Login, Role: a.Roles[0]}
}

// NewAccount is what AddAccount needs.
type NewAccount struct {
	Login, DisplayName string
	Roles              []Role
	Organization       string
	Extension          string
	Queues             []string
	// Password is hashed with argon2id; empty means no web login.
	Password string
	// SIPSecret and SIPRealm give the digest HA1s; empty means no softphone.
	SIPSecret, SIPRealm string
}

// ValidLogin reports whether s is a login: 2–64 of a-z, 0-9, '.', '_',
// '-', starting with a letter.
func ValidLogin(s string) bool {
	if len(s) < 2 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Minimum lengths of a web password and of a SIP secret. A SIP secret is
// typed into a phone once and guessed online by svcrack and the like, so
// it gets no less than a password.
const (
	minPasswordLen  = 10
	minSIPSecretLen = 10
)

// validPassword refuses short, common and trivial passwords and ones that
// contain the login (personal: the login, the extension).
func validPassword(p string, personal ...string) error {
	if strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return &FieldError{"password", "has control characters"}
	}
	if err := weakpass.Check(p, minPasswordLen, personal...); err != nil {
		return &FieldError{"password", "too weak: " + err.Error()}
	}
	return nil
}

// validSIPSecret is validPassword for SIP digest secrets.
func validSIPSecret(s string, personal ...string) error {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 || strings.ContainsAny(s, "\"") {
		return &FieldError{"sip_secret", "has control characters, quotes or backslashes"}
	}
	if err := weakpass.Check(s, minSIPSecretLen, personal...); err != nil {
		return &FieldError{"sip_secret", "too weak: " + err.Error()}
	}
	return nil
}

// AddAccount creates an account. Only an administrator may; the login and
// the extension must be free.
func (j *Journal) AddAccount(ctx context.Context, who Actor, n NewAccount) (*Account, error) {
	if !Allowed(who.Role, ActionCreate, ResourceAccount) {
		return nil, fmt.Errorf("add account: %w: role %s", ErrDenied, who.Role)
	}
	a := &Account{Login: n.Login, DisplayName: strings.TrimSpace(n.DisplayName), Roles: n.Roles,
		Organization: strings.TrimSpace(n.Organization), Extension: strings.TrimSpace(n.Extension), Queues: n.Queues}
	switch {
	case !ValidLogin(a.Login):
		return nil, fmt.Errorf("add account: %w", &FieldError{"login", fmt.Sprintf("%q: use 2–64 of a-z 0-9 . _ - starting with a letter", a.Login)})
	case a.DisplayName == "":
		return nil, fmt.Errorf("add account: %w", &FieldError{"display_name", "is empty"})
	case len(a.Roles) == 0:
		return nil, fmt.Errorf("add account: %w", &FieldError{"roles", "give at least one role"})
	}
	if err := firstErr(checkLine("display_name", a.DisplayName, maxNameLen), checkLine("organization", a.Organization, maxOrgLen),
		checkLine("extension", a.Extension, maxShortLen)); err != nil {
		return nil, fmt.Errorf("add account: %w", err)
	}
	for _, q := range a.Queues {
		if err := checkLine("queues", q, maxShortLen); err != nil {
			return nil, fmt.Errorf("add account: %w", err)
		}
	}
	for _, r := range a.Roles {
		if r <= RoleUnknown || r > RoleSRE {
			return nil, fmt.Errorf("add account: %w", &FieldError{"roles", fmt.Sprintf("unknown role %d", int(r))})
		}
	}
	if a.Extension != "" && strings.Trim(a.Extension, "0123456789") != "" {
		return nil, fmt.Errorf("add account: %w", &FieldError{"extension", fmt.Sprintf("%q is not digits", a.Extension)})
	}
	if n.Password != "" {
		if err := validPassword(n.Password, a.Login, a.Extension); err != nil {
			return nil, fmt.Errorf("add account: %w", err)
		}
		a.PasswordHash = HashPassword(n.Password)
	}
	if n.SIPSecret != "" {
		if err := validSIPSecret(n.SIPSecret, a.Login, a.Extension); err != nil {
			return nil, fmt.Errorf("add account: %w", err)
		}
		a.setSIPSecret(n.SIPRealm, n.SIPSecret)
	}
	now := j.now()
	a.Created, a.Updated = now, now
	err := j.update(ctx, func(txn *badger.Txn) error {
		if _, err := txn.Get(recordKey(kindAccount, a.Login)); err == nil {
			return fmt.Errorf("%w: login %s", ErrExists, a.Login)
		}
		if a.Extension != "" {
			if _, err := txn.Get(ikey(idxAccExt, []byte(a.Extension))); err == nil {
				return fmt.Errorf("%w: extension %s", ErrExists, a.Extension)
			}
		}
		if err := save(txn, a); err != nil {
			return err
		}
		return j.audit(txn, who, "create", "account:"+a.Login, "", "roles "+rolesString(a.Roles))
	})
	if err != nil {
		return nil, fmt.Errorf("add account: %w", err)
	}
	return a, nil
}

func rolesString(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}

// Account returns the account with the given login.
func (j *Journal) Account(ctx context.Context, login string) (*Account, error) {
	var a Account
	err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindAccount, login), &a) })
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", login, err)
	}
	return &a, nil
}

// AccountByExtension returns the account with the given extension.
func (j *Journal) AccountByExtension(ctx context.Context, ext string) (*Account, error) {
	var a Account
	err := j.view(ctx, func(txn *badger.Txn) error {
		it, err := txn.Get(ikey(idxAccExt, []byte(ext)))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		pk, err := it.ValueCopy(nil)
		if err != nil {
			return err
		}
		return getJSON(txn, pk, &a)
	})
	if err != nil {
		return nil, fmt.Errorf("extension %s: %w", ext, err)
	}
	return &a, nil
}

// Accounts returns every account, by login.
func (j *Journal) Accounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := j.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = recordKey(kindAccount, "")
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var a Account
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, &a) }); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return out, nil
}

// changeAccount applies fn to the stored account and saves it with audit.
func (j *Journal) changeAccount(ctx context.Context, who Actor, login, op, detail string, fn func(a *Account) error) error {
	err := j.update(ctx, func(txn *badger.Txn) error {
		var a Account
		if err := getJSON(txn, recordKey(kindAccount, login), &a); err != nil {
			return fmt.Errorf("account %s: %w", login, err)
		}
		if err := fn(&a); err != nil {
			return err
		}
		a.Updated = j.now()
		if err := save(txn, &a); err != nil {
			return err
		}
		return j.audit(txn, who, op, "account:"+login, "", detail)
	})
	if err != nil {
		return fmt.Errorf("%s account %s: %w", op, login, err)
	}
	return nil
}

// SetPassword sets an account's password. An administrator may set any;
// others only their own.
func (j *Journal) SetPassword(ctx context.Context, who Actor, login, password string) error {
	if who.Login != login && !Allowed(who.Role, ActionUpdate, ResourceAccount) {
		return fmt.Errorf("set password of %s: %w", login, ErrDenied)
	}
	if err := validPassword(password, login); err != nil {
		return fmt.Errorf("set password of %s: %w", login, err)
	}
	h := HashPassword(password)
	return j.changeAccount(ctx, who, login, "passwd", "password", func(a *Account) error { a.PasswordHash = h; return nil })
}

// SetSIPSecret replaces an account's SIP digest credentials.
func (j *Journal) SetSIPSecret(ctx context.Context, who Actor, login, realm, secret string) error {
	if who.Login != login && !Allowed(who.Role, ActionUpdate, ResourceAccount) {
		return fmt.Errorf("set SIP secret of %s: %w", login, ErrDenied)
	}
	if err := validSIPSecret(secret, login); err != nil {
		return fmt.Errorf("set SIP secret of %s: %w", login, err)
	}
	return j.changeAccount(ctx, who, login, "passwd", "sip secret", func(a *Account) error {
		a.setSIPSecret(realm, secret)
		return nil
	})
}

// SetDisabled disables (or enables again) an account: a disabled account
// cannot log in, register a softphone or use a token.
func (j *Journal) SetDisabled(ctx context.Context, who Actor, login string, disabled bool) error {
	if !Allowed(who.Role, ActionDelete, ResourceAccount) {
		return fmt.Errorf("disable account %s: %w: role %s", login, ErrDenied, who.Role)
	}
	op := "disable"
	if !disabled {
		op = "enable"
	}
	return j.changeAccount(ctx, who, login, op, "", func(a *Account) error { a.Disabled = disabled; return nil })
}

// VerifyPassword checks a login and password and returns the account.
// Unknown logins and wrong passwords both give ErrBadCredentials (after
// the same hashing work); a disabled account gives ErrDisabled. Successful
// and failed logins are audited.
func (j *Journal) VerifyPassword(ctx context.Context, login, password string) (*Account, error) {
	a, err := j.Account(ctx, login)
	if errors.Is(err, ErrNotFound) {
		CheckPassword(dummyHash(), password)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok := a.PasswordHash != "" && CheckPassword(a.PasswordHash, password)
	detail := "ok"
	switch {
	case !ok:
		detail = "bad password"
	case a.Disabled:
		detail = "disabled"
	}
	if err := j.auditRead(ctx, Actor{Login: login, Role: a.Actor().Role}, "login", "account:"+login, "", detail); err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBadCredentials
	}
	if a.Disabled {
		return nil, ErrDisabled
	}
	return a, nil
}

// DirectoryEntry is an account as the phone directory shows it.
type DirectoryEntry struct {
	Login        string `json:"login"`
	DisplayName  string `json:"display_name"`
	Organization string `json:"organization,omitempty"`
	Extension    string `json:"extension,omitempty"`
	Roles        []Role `json:"roles"`
}

// Directory searches accounts by the start of any word of their name,
// organization or login, or by extension prefix (manual 4.1); every word
// of the query must match. Disabled accounts are left out; at most 50.
func (j *Journal) Directory(ctx context.Context, query string) ([]DirectoryEntry, error) {
	words := strings.Fields(lists.Fold(query))
	var out []DirectoryEntry
	err := j.view(ctx, func(txn *badger.Txn) error {
		var logins map[string]bool
		for _, w := range words {
			found := map[string]bool{}
			collect := func(_, pk []byte) (bool, error) {
				found[string(pk[len(recordKey(kindAccount, "")):])] = true
				return len(found) < 1000, nil
			}
			if err := scanIndex(txn, ikey(idxAccWord, []byte(w)), nil, false, collect); err != nil {
				return err
			}
			if strings.Trim(w, "0123456789") == "" {
				if err := scanIndex(txn, ikey(idxAccExt, []byte(w)), nil, false, collect); err != nil {
					return err
				}
			}
			if logins == nil {
				logins = found
			} else {
				for l := range logins {
					if !found[l] {
						delete(logins, l)
					}
				}
			}
		}
		list := make([]string, 0, len(logins))
		for l := range logins {
			list = append(list, l)
		}
		if len(words) == 0 {
			o := badger.DefaultIteratorOptions
			o.Prefix, o.PrefetchValues = recordKey(kindAccount, ""), false
			it := txn.NewIterator(o)
			for it.Rewind(); it.Valid(); it.Next() {
				list = append(list, string(it.Item().Key()[len(o.Prefix):]))
			}
			it.Close()
		}
		slices.Sort(list)
		for _, l := range list {
			var a Account
			if err := getJSON(txn, recordKey(kindAccount, l), &a); err != nil {
				return err
			}
			if !a.Disabled {
				out = append(out, DirectoryEntry{a.Login, a.DisplayName, a.Organization, a.Extension, a.Roles})
			}
			if len(out) == 50 {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return out, nil
}

// argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane), which
// takes tens of milliseconds, so a login flood costs the attacker too.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// dummyHash is checked against for unknown logins so their timing
// matches; made on first use, not at start of every obzvon command.
var dummyHash = sync.OnceValue(func() string { return HashPassword("obzvon-no-such-account") })

// HashPassword returns an argon2id hash of password in PHC form:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether password matches a hash made by
// HashPassword (with whatever parameters the hash records).
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<21 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// DigestHA1 returns HA1 = H(user:realm:secret) in hex with MD5 (RFC 2617)
// and SHA-256 (RFC 7616 §3.4.2), for the registrar's digest check.
func DigestHA1(user, realm, secret string) (md5hex, sha256hex string) {
	s := user + ":" + realm + ":" + secret
	m := md5.Sum([]byte(s))
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(m[:]), hex.EncodeToString(h[:])
}

// setSIPSecret sets the digest HA1s for the login and, when the account
// has one, the extension.
func (a *Account) setSIPSecret(realm, secret string) {
	a.SIPRealm = realm
	a.SIPHA1MD5, a.SIPHA1SHA256 = DigestHA1(a.Login, realm, secret)
	a.SIPExtHA1MD5, a.SIPExtHA1SHA256 = "", ""
	if a.Extension != "" {
		a.SIPExtHA1MD5, a.SIPExtHA1SHA256 = DigestHA1(a.Extension, realm, secret)
	}
}

// SIPCredentials returns the digest HA1s for user — an enabled account's
// login, or its extension — for the registrar; ErrNotFound for unknown
// users or accounts without a secret for that user.
func (j *Journal) SIPCredentials(ctx context.Context, user string) (realm, ha1md5, ha1sha256 string, err error) {
	login, err := j.SIPLogin(ctx, user)
	if err != nil {
		return "", "", "", err
	}
	a, err := j.Account(ctx, login)
	if err != nil {
		return "", "", "", err
	}
	if a.Disabled {
		return "", "", "", fmt.Errorf("account %s: %w", login, ErrDisabled)
	}
	md5h, shah := a.SIPHA1MD5, a.SIPHA1SHA256
	if user != login {
		md5h, shah = a.SIPExtHA1MD5, a.SIPExtHA1SHA256
	}
	if md5h == "" {
		return "", "", "", fmt.Errorf("SIP secret of %s for user %s: %w", login, user, ErrNotFound)
	}
	return a.SIPRealm, md5h, shah, nil
}
