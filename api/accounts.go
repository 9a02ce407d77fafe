package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// accountView is an account as the API shows it: never the password hash
// or the SIP digests.
type accountView struct {
	Login        string         `json:"login"`
	DisplayName  string         `json:"display_name,omitempty"`
	Roles        []journal.Role `json:"roles"`
	Organization string         `json:"organization,omitempty"`
	Extension    string         `json:"extension,omitempty"`
	Queues       []string       `json:"queues,omitempty"`
	HasPassword  bool           `json:"has_password"`
	HasSIP       bool           `json:"has_sip"`
	Disabled     bool           `json:"disabled"`
	Created      time.Time      `json:"created,omitzero"`
	Updated      time.Time      `json:"updated,omitzero"`
}

func viewAccount(a *journal.Account) accountView {
	return accountView{Login: a.Login, DisplayName: a.DisplayName, Roles: a.Roles, Organization: a.Organization,
		Extension: a.Extension, Queues: a.Queues, HasPassword: a.PasswordHash != "", HasSIP: a.SIPHA1MD5 != "",
		Disabled: a.Disabled, Created: a.Created, Updated: a.Updated}
}

func (s *server) listAccounts(w http.ResponseWriter, r *http.Request, p *principal) {
	as, err := s.j.Accounts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]accountView, len(as))
	for i := range as {
		out[i] = viewAccount(&as[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getAccount(w http.ResponseWriter, r *http.Request, p *principal) {
	a, err := s.j.Account(r.Context(), r.PathValue("login"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewAccount(a))
}

// newAccountRequest is the body of POST /api/v1/accounts.
type newAccountRequest struct {
	Login        string   `json:"login"`
	DisplayName  string   `json:"display_name"`
	Roles        []string `json:"roles"`
	Organization string   `json:"organization"`
	Extension    string   `json:"extension"`
	Queues       []string `json:"queues"`
	Password     string   `json:"password"`
	SIPSecret    string   `json:"sip_secret"`
	SIPRealm     string   `json:"sip_realm"`
}

// parseRoles parses role names (codes or Russian names), naming the bad
// one.
func parseRoles(field string, names []string) ([]journal.Role, error) {
	out := make([]journal.Role, 0, len(names))
	for i, n := range names {
		r, err := journal.ParseRole(strings.TrimSpace(n))
		if err != nil {
			return nil, unprocessable("%s[%d]: unknown role %q: want one of %s", field, i, n, roleNames())
		}
		out = append(out, r)
	}
	return out, nil
}

func roleNames() string {
	s := make([]string, len(journal.Roles))
	for i, r := range journal.Roles {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

func (s *server) addAccount(w http.ResponseWriter, r *http.Request, p *principal) {
	var req newAccountRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	roles, err := parseRoles("roles", req.Roles)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.j.AddAccount(r.Context(), p.actor(rCreate, journal.ResourceAccount), journal.NewAccount{
		Login: strings.TrimSpace(req.Login), DisplayName: req.DisplayName, Roles: roles, Organization: req.Organization,
		Extension: req.Extension, Queues: req.Queues, Password: req.Password, SIPSecret: req.SIPSecret, SIPRealm: req.SIPRealm,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("account added", keyBy, p.login, keyAccount, a.Login)
	w.Header().Set("Location", "/api/v1/accounts/"+a.Login)
	writeJSON(w, http.StatusCreated, viewAccount(a))
}

func (s *server) disableAccount(disabled bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		login := r.PathValue("login")
		if disabled && login == p.login {
			s.fail(w, r, unprocessable("login: you cannot disable your own account"))
			return
		}
		if err := s.j.SetDisabled(r.Context(), p.actor(rDelete, journal.ResourceAccount), login, disabled); err != nil {
			s.fail(w, r, err)
			return
		}
		if disabled {
			s.sessions.dropLogin(login)
		}
		a, err := s.j.Account(r.Context(), login)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, viewAccount(a))
	}
}

// passwordRequest is the body of POST /api/v1/accounts/{login}/password.
// Current is required when an account changes its own password.
type passwordRequest struct {
	Password string `json:"password"`
	Current  string `json:"current"`
}

// setPassword sets a password: an administrator any account's, others
// their own after giving the current one. The account's other sessions end.
func (s *server) setPassword(w http.ResponseWriter, r *http.Request, p *principal) {
	login := r.PathValue("login")
	admin := p.allowed(rUpdate, journal.ResourceAccount)
	if login != p.login && !admin {
		writeError(w, http.StatusForbidden, fmt.Sprintf("roles %v may not set another account's password", p.roles))
		return
	}
	if p.account == nil && !admin {
		writeError(w, http.StatusForbidden, "no account")
		return
	}
	var req passwordRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if login == p.login && !admin {
		if req.Current == "" {
			s.fail(w, r, unprocessable("current: give your current password"))
			return
		}
		// The current password is a guess like a login: same limit.
		key := "acct:" + login
		if ok, wait := s.byAccount.take(key); !ok {
			s.tooMany(w, r, wait)
			return
		}
		release, err := s.guard.acquire(r.Context())
		if err != nil {
			s.byAccount.give(key)
			s.hashBusy(w, r)
			return
		}
		_, err = s.j.VerifyPassword(r.Context(), login, req.Current)
		release()
		if err != nil {
			s.fail(w, r, unprocessable("current: wrong password"))
			return
		}
		s.byAccount.give(key)
	}
	if err := s.j.SetPassword(r.Context(), p.actor(rUpdate, journal.ResourceAccount), login, req.Password); err != nil {
		s.fail(w, r, err)
		return
	}
	s.sessions.dropLogin(login)
	w.WriteHeader(http.StatusNoContent)
}

// tokenRequest is the body of POST /api/v1/accounts/{login}/tokens.
type tokenRequest struct {
	Name string `json:"name"`
	// TTL is a Go duration ("720h"); empty means the longest allowed
	// (http.max_token_ttl, a year by default); longer is refused.
	TTL string `json:"ttl"`
}

// tokenResponse carries a new bearer token's secret, shown only once.
type tokenResponse struct {
	Login   string    `json:"login"`
	Name    string    `json:"name"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires,omitzero"`
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request, p *principal) {
	var req tokenRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		s.fail(w, r, unprocessable("name: is empty; say what the token is for"))
		return
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			s.fail(w, r, unprocessable("ttl: %q is not a positive duration like 720h", req.TTL))
			return
		}
		ttl = d
	}
	login := r.PathValue("login")
	secret, err := s.j.CreateToken(r.Context(), p.actor(rUpdate, journal.ResourceAccount), login, req.Name, ttl)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := tokenResponse{Login: login, Name: req.Name, Token: secret}
	if ttl > 0 {
		out.Expires = s.now().Add(ttl)
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *server) revokeTokens(w http.ResponseWriter, r *http.Request, p *principal) {
	n, err := s.j.RevokeTokens(r.Context(), p.actor(rUpdate, journal.ResourceAccount), r.PathValue("login"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

func (s *server) directory(w http.ResponseWriter, r *http.Request, p *principal) {
	out, err := s.j.Directory(r.Context(), r.URL.Query().Get("q"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []journal.DirectoryEntry{}
	}
	writeJSON(w, http.StatusOK, out)
}

// sipSecretRequest is the body of POST /api/v1/accounts/{login}/sip-secret.
type sipSecretRequest struct {
	Secret string `json:"secret"`
	// Realm is the SIP digest realm; empty means "obzvon".
	Realm string `json:"realm"`
}

// defaultSIPRealm is the realm of a SIP secret set without one.
const defaultSIPRealm = "obzvon"

// setSIPSecret serves POST /api/v1/accounts/{login}/sip-secret (update
// account: administrators): it replaces the account's SIP digest
// credentials; only their hashes are stored.
func (s *server) setSIPSecret(w http.ResponseWriter, r *http.Request, p *principal) {
	var req sipSecretRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Realm == "" {
		req.Realm = defaultSIPRealm
	}
	login := r.PathValue("login")
	if err := s.j.SetSIPSecret(r.Context(), p.actor(rUpdate, journal.ResourceAccount), login, req.Realm, req.Secret); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("sip secret set", keyBy, p.login, keyAccount, login)
	w.WriteHeader(http.StatusNoContent)
}
