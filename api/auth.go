package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// Names of the session cookie and the CSRF header.
const (
	// SessionCookie holds the browser's session id: Secure, HttpOnly,
	// SameSite=Strict, path /.
	SessionCookie = "obzvon_session"
	// CSRFHeader must carry the session's CSRF token (returned by login and
	// by GET /api/v1/me) on every state-changing request of a cookie
	// session. Bearer tokens need none.
	CSRFHeader = "X-CSRF-Token"
)

// Session lifetimes: a session ends after SessionIdle without a request,
// and SessionMax after login in any case (a working shift and a half).
const (
	SessionIdle = 2 * time.Hour
	SessionMax  = 12 * time.Hour
)

// Login rate limits (token buckets): per account, 5 failed logins, then
// one more a minute; per source address, 20, then one every 15 seconds.
// A successful login gives its token back.
const (
	loginBurstAccount  = 5
	loginRefillAccount = time.Minute
	loginBurstSource   = 20
	loginRefillSource  = 15 * time.Second
)

// How a request was authenticated.
const (
	viaSession = "session"
	viaToken   = "token"
	viaSocket  = "socket"
)

// principal is who makes a request.
type principal struct {
	login  string
	roles  []journal.Role
	queues []string
	via    string
	// account is nil for the admin socket.
	account *journal.Account
	// sess is the cookie session, nil otherwise.
	sess *session
}

// rolePriority orders roles when an account has several: the one with
// the widest view acts.
var rolePriority = []journal.Role{journal.RoleAdmin, journal.RoleSupervisor}

// allowed reports whether any of p's roles may do action on resource.
func (p *principal) allowed(action journal.Action, resource journal.Resource) bool {
	return slices.ContainsFunc(p.roles, func(r journal.Role) bool { return journal.Allowed(r, action, resource) })
}

// actor returns p acting in the role that allows action on resource,
// preferring administrator, then supervisor, then the account's order; the
// primary role when none does (the journal will refuse).
func (p *principal) actor(action journal.Action, resource journal.Resource) journal.Actor {
	for _, r := range rolePriority {
		if slices.Contains(p.roles, r) && journal.Allowed(r, action, resource) {
			return journal.Actor{Login: p.login, Role: r}
		}
	}
	for _, r := range p.roles {
		if journal.Allowed(r, action, resource) {
			return journal.Actor{Login: p.login, Role: r}
		}
	}
	if len(p.roles) > 0 {
		return journal.Actor{Login: p.login, Role: p.roles[0]}
	}
	return journal.Actor{Login: p.login}
}

// canSee reports whether p may read appeal a (journal.CanSeeAppeal in any
// of p's roles).
func (p *principal) canSee(a *journal.Appeal) bool {
	return slices.ContainsFunc(p.roles, func(r journal.Role) bool { return journal.CanSeeAppeal(p.login, r, p.queues, a) })
}

// session is a browser login, kept in memory: a restart logs everyone out.
type session struct {
	login    string
	csrf     string
	created  time.Time
	lastSeen time.Time
}

// sessionStore keeps sessions by the SHA-256 of their id, so the map's
// keys are no use to whoever reads memory, and lookups compare hashes.
type sessionStore struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*session
}

func newSessionStore(now func() time.Time) *sessionStore {
	return &sessionStore{now: now, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// create starts a session for login and returns its id (for the cookie)
// and the session.
func (st *sessionStore) create(login string) (string, *session) {
	id := randomToken()
	t := st.now()
	s := &session{login: login, csrf: randomToken(), created: t, lastSeen: t}
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, o := range st.m {
		if st.expired(o, t) {
			delete(st.m, k)
		}
	}
	st.m[hashID(id)] = s
	return id, s
}

func (st *sessionStore) expired(s *session, t time.Time) bool {
	return t.Sub(s.lastSeen) >= SessionIdle || t.Sub(s.created) >= SessionMax
}

// get returns the live session with id and marks it used; nil when unknown
// or expired (an expired one is dropped).
func (st *sessionStore) get(id string) *session {
	k := hashID(id)
	t := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[k]
	if s == nil {
		return nil
	}
	if st.expired(s, t) {
		delete(st.m, k)
		return nil
	}
	s.lastSeen = t
	return s
}

// drop ends the session with id.
func (st *sessionStore) drop(id string) {
	st.mu.Lock()
	delete(st.m, hashID(id))
	st.mu.Unlock()
}

// dropLogin ends every session of login (account disabled, password set).
func (st *sessionStore) dropLogin(login string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, s := range st.m {
		if s.login == login {
			delete(st.m, k)
		}
	}
}

// stateChanging reports whether a request method changes state and so
// needs the CSRF token under a cookie session.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// errUnauthenticated is the 401 answer.
// peerKey carries the local user on the other end of the admin socket.
type peerKey struct{}

// WithSocketPeer records in ctx the local user (e.g. "root" or "uid
// 1001") connected to the admin socket, so the audit names who acted: the
// daemon sets it from the connection's credentials (SO_PEERCRED).
func WithSocketPeer(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, peerKey{}, user)
}

var errUnauthenticated = errors.New("authentication required: log in or send Authorization: Bearer <token>")

// authenticate finds who makes r. It returns (nil, nil) for an anonymous
// request, an error for bad credentials (401) or a missing CSRF token
// (403).
func (s *server) authenticate(r *http.Request) (*principal, error) {
	if s.admin {
		// The socket's file mode admits only root and the obzvon group:
		// whoever connects administers the appliance anyway.
		login := "socket"
		if peer, ok := r.Context().Value(peerKey{}).(string); ok && peer != "" {
			login = "socket:" + peer
		}
		return &principal{login: login, roles: []journal.Role{journal.RoleAdmin}, via: viaSocket}, nil
	}
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			return nil, &badRequestError{http.StatusUnauthorized, "Authorization: want Bearer <token>"}
		}
		a, err := s.j.TokenAccount(ctx, strings.TrimSpace(secret))
		switch {
		case errors.Is(err, journal.ErrBadCredentials):
			return nil, &badRequestError{http.StatusUnauthorized, "bearer token unknown or expired"}
		case errors.Is(err, journal.ErrDisabled):
			return nil, &badRequestError{http.StatusUnauthorized, "account disabled"}
		case err != nil:
			return nil, err
		}
		return accountPrincipal(a, viaToken, nil), nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess := s.sessions.get(c.Value)
	if sess == nil {
		return nil, &badRequestError{http.StatusUnauthorized, "session expired or unknown: log in again"}
	}
	if stateChanging(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
			return nil, &forbiddenError{"missing or wrong " + CSRFHeader + " header (the csrf_token from login)"}
		}
	}
	// The account is read on every request, so disabling it or changing
	// its roles takes effect at once.
	a, err := s.j.Account(ctx, sess.login)
	if errors.Is(err, journal.ErrNotFound) || err == nil && a.Disabled {
		s.sessions.drop(c.Value)
		return nil, &badRequestError{http.StatusUnauthorized, "account disabled or removed"}
	}
	if err != nil {
		return nil, err
	}
	return accountPrincipal(a, viaSession, sess), nil
}

func accountPrincipal(a *journal.Account, via string, sess *session) *principal {
	return &principal{login: a.Login, roles: a.Roles, queues: a.Queues, via: via, account: a, sess: sess}
}

// sourceKey is the rate-limit key of a request's source: its IP address,
// or the /64 network of an IPv6 address (one host usually owns the /64).
// When the peer is a trusted proxy, the source is the address the proxy
// appended last to X-Forwarded-For (earlier entries are the client's word).
func (s *server) sourceKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "src:" + host
	}
	ip = ip.Unmap()
	if s.trustedProxy(ip) {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if fip, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				ip = fip.Unmap()
			}
		}
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return "src:" + p.String()
	}
	return "src:" + ip.String()
}

func (s *server) trustedProxy(ip netip.Addr) bool {
	return slices.ContainsFunc(s.proxies, func(p netip.Prefix) bool { return p.Contains(ip) })
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// loginResponse is what POST /api/v1/login returns.
type loginResponse struct {
	Account   accountView `json:"account"`
	CSRFToken string      `json:"csrf_token"`
	Expires   time.Time   `json:"expires"`
}

// login checks a password and starts a cookie session. Failed attempts
// are limited per account and per source address; over the limit the
// answer is 429 with Retry-After, whether the password is right or not.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	login := strings.ToLower(strings.TrimSpace(req.Login))
	switch {
	case login == "":
		s.fail(w, r, unprocessable("login: is empty"))
		return
	case req.Password == "":
		s.fail(w, r, unprocessable("password: is empty"))
		return
	case len(login) > 64 || len(req.Password) > 1024:
		s.fail(w, r, unprocessable("login or password too long"))
		return
	}
	// The per-account bucket is per (account, source): guesses from
	// elsewhere cannot lock the owner out; across sources the account
	// gets a slowdown instead (loginGuard).
	src := s.sourceKey(r)
	acct := "acct:" + login + "|" + src
	ok1, wait1 := s.bySource.take(src)
	if !ok1 {
		s.tooMany(w, r, wait1)
		return
	}
	ok2, wait2 := s.byAccount.take(acct)
	if !ok2 {
		s.bySource.give(src)
		s.tooMany(w, r, wait2)
		return
	}
	giveBack := func() {
		s.bySource.give(src)
		s.byAccount.give(acct)
	}
	if d := s.guard.delay(login, src); d > 0 {
		if err := s.guard.sleep(r.Context(), d); err != nil {
			giveBack()
			return
		}
	}
	release, err := s.guard.acquire(r.Context())
	if err != nil {
		giveBack()
		s.hashBusy(w, r)
		return
	}
	a, err := s.j.VerifyPassword(r.Context(), login, req.Password)
	release()
	if err != nil {
		if errors.Is(err, journal.ErrBadCredentials) || errors.Is(err, journal.ErrDisabled) {
			s.guard.failed(login)
			s.log.Info("login failed", keySource, src)
			// One message for all: do not tell which logins exist or are
			// disabled.
			writeError(w, http.StatusUnauthorized, journal.ErrBadCredentials.Error())
			return
		}
		s.bySource.give(src)
		s.byAccount.give(acct)
		s.fail(w, r, err)
		return
	}
	giveBack()
	s.guard.succeeded(login, src)
	id, sess := s.sessions.create(a.Login)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		// No Expires: a browser session cookie; the server ends it.
	})
	writeJSON(w, http.StatusOK, loginResponse{Account: viewAccount(a), CSRFToken: sess.csrf, Expires: sess.created.Add(SessionMax)})
}

func (s *server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.log.Warn("login rate limited", keySource, s.sourceKey(r), keyRetryAfter, secs, keyHint, "repeated failed logins: a forgotten password (agent passwd) or guessing from this source")
	writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed logins: try again in %d s", secs))
}

// hashBusy answers a login that found no password-hashing slot in time.
func (s *server) hashBusy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "2")
	s.log.Warn("login refused: hashing pool busy", keySource, s.sourceKey(r), keyHint, "too many logins at once: they are answered 503 until the password-hashing pool frees; check for a login flood from this source")
	writeError(w, http.StatusServiceUnavailable, "too many logins at once: try again in 2 s")
}

// logout ends the cookie session (a no-op for bearer tokens, which are
// revoked by an administrator).
func (s *server) logout(w http.ResponseWriter, r *http.Request, p *principal) {
	if c, err := r.Cookie(SessionCookie); err == nil && p.sess != nil {
		s.sessions.drop(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// meResponse is GET /api/v1/me: the account, its roles' rights, and the
// session's CSRF token (so a reloaded desktop page can get it back).
type meResponse struct {
	Account   accountView `json:"account"`
	Via       string      `json:"via"`
	CSRFToken string      `json:"csrf_token,omitempty"`
	// Rights lists "action:resource" pairs the account may do, for the
	// desktop to show only what works.
	Rights []string `json:"rights"`
}

func (s *server) me(w http.ResponseWriter, r *http.Request, p *principal) {
	out := meResponse{Via: p.via, Rights: []string{}}
	if p.account != nil {
		out.Account = viewAccount(p.account)
	} else {
		out.Account = accountView{Login: p.login, Roles: p.roles}
	}
	if p.sess != nil {
		out.CSRFToken = p.sess.csrf
	}
	for _, res := range journal.Resources {
		for _, act := range journal.Actions {
			if p.allowed(act, res) {
				out.Rights = append(out.Rights, act.String()+":"+res.String())
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
