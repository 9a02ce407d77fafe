package dialer

// The registrar for agent softphones: REGISTER with digest authentication
// (RFC 3261 §10, §22; RFC 7616 for SHA-256 and qop; RFC 8760 for SIP) and
// an in-memory location service of bindings with expiry.

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/metrics"
)

// Credentials looks up a user's digest HA1s (hex of H(user:realm:secret)
// for MD5 and SHA-256). *journal.Journal implements it. An error means
// the user may not register (unknown, disabled, or no secret).
type Credentials interface {
	SIPCredentials(ctx context.Context, user string) (realm, ha1md5, ha1sha256 string, err error)
}

// BindingStore keeps bindings across restarts. *journal.Journal
// implements it.
type BindingStore interface {
	// SetSIPBindings replaces login's stored bindings, durably.
	SetSIPBindings(ctx context.Context, login string, bs []journal.SIPBinding) error
	// SIPBindings returns every stored binding.
	SIPBindings(ctx context.Context) ([]journal.SIPBinding, error)
}

// LoginResolver maps the SIP user a phone registers as (a login or an
// extension) to the account's login. *journal.Journal implements it.
type LoginResolver interface {
	SIPLogin(ctx context.Context, user string) (string, error)
}

// Binding is one registered contact of a user.
type Binding struct {
	// User is the account's login (also when the phone registered with
	// the account's extension as its SIP user).
	User string
	// Contact is the URI the phone wants requests sent to.
	Contact string
	// Source is where the REGISTER came from ("ip:port"): requests go
	// there when the Contact is behind NAT.
	Source string
	// Transport is the transport the REGISTER came over (UDP, TCP).
	Transport string
	// Expires is when the binding lapses unless refreshed.
	Expires time.Time
	// CallID and CSeq order refreshes (RFC 3261 §10.3 step 7).
	CallID string
	CSeq   uint32
	// UserAgent is the phone's User-Agent header.
	UserAgent string
	// Restored marks a binding over a connection (TCP, TLS) loaded from
	// the store at start: the connection the REGISTER came over died with
	// the previous process, so requests cannot follow it back to the
	// phone (RFC 5626 §4.2, a flow does not outlive its connection). It
	// stays until the phone registers again or it expires; Dial reaches
	// it only at its Contact, when that is a listener (see dialRestored).
	Restored bool
}

// connectionTransport reports whether a binding's transport is
// connection-oriented: requests to the phone follow the connection the
// REGISTER came over.
func connectionTransport(t string) bool {
	switch strings.ToUpper(t) {
	case "TCP", "TLS", "WS", "WSS":
		return true
	}
	return false
}

// RegistrarOptions tune a Registrar.
type RegistrarOptions struct {
	// Realm is offered in challenges; it must be the realm the accounts'
	// HA1s were made with.
	Realm string
	// MinExpires, MaxExpires and DefaultExpires bound binding lifetimes
	// (defaults 60 s, 3600 s, 600 s).
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// NonceTTL is how long a challenge's nonce stays valid (default 5 min);
	// an older one is answered with a fresh challenge and stale=true.
	NonceTTL time.Duration
	// Algorithms are the digest algorithms offered, in order of
	// preference: "MD5", "SHA-256" (default MD5 only; see challenge).
	Algorithms []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Limits bound failed authentications per source and per account.
	Limits AuthLimits
	// Metrics counts failed authentications; nil counts nothing.
	Metrics *metrics.Metrics
	// OnBind, if set, learns each binding made or refreshed: where it came
	// from ("ip:port"), over which transport, and until when (the TCP
	// limits keep such a connection open that long).
	OnBind func(source, transport string, until time.Time)
	// Logger; nil discards.
	Logger *slog.Logger
	// Store keeps bindings across restarts; nil keeps them in memory only.
	Store BindingStore
	// OnChange, if set, is called after a user's bindings change (not
	// under the registrar's lock), e.g. to notice a phone that
	// unregistered.
	OnChange func(login string)
}

// Registrar authenticates REGISTER requests and keeps bindings.
type Registrar struct {
	opt    RegistrarOptions
	creds  Credentials
	secret []byte
	log    *slog.Logger
	limit  *authLimiter

	persistMu sync.Mutex // serialises writes to the store

	mu       sync.Mutex
	bindings map[string]map[string]*Binding // user → contact → binding
	seen     map[string]nonceUse            // nonce → highest nc seen
}

type nonceUse struct {
	nc      int
	expires time.Time
}

// NewRegistrar returns a registrar that checks credentials with creds.
func NewRegistrar(creds Credentials, opt RegistrarOptions) *Registrar {
	if opt.Realm == "" {
		opt.Realm = "obzvon"
	}
	if opt.MinExpires <= 0 {
		opt.MinExpires = 60 * time.Second
	}
	if opt.MaxExpires <= 0 {
		opt.MaxExpires = time.Hour
	}
	if opt.DefaultExpires <= 0 {
		opt.DefaultExpires = 10 * time.Minute
	}
	if opt.NonceTTL <= 0 {
		opt.NonceTTL = 5 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if len(opt.Algorithms) == 0 {
		opt.Algorithms = []string{"MD5"}
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return &Registrar{opt: opt, creds: creds, secret: secret, log: log,
		limit:    newAuthLimiter(opt.Limits, opt.Now, log, opt.Metrics),
		bindings: map[string]map[string]*Binding{}, seen: map[string]nonceUse{}}
}

// Restore loads the stored bindings that have not expired (call it once
// before serving).
func (r *Registrar) Restore(ctx context.Context) (int, error) {
	if r.opt.Store == nil {
		return 0, nil
	}
	bs, err := r.opt.Store.SIPBindings(ctx)
	if err != nil {
		return 0, err
	}
	now := r.opt.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range bs {
		if !b.Expires.After(now) {
			continue
		}
		m := r.bindings[b.Login]
		if m == nil {
			m = map[string]*Binding{}
			r.bindings[b.Login] = m
		}
		m[b.Contact] = &Binding{User: b.Login, Contact: b.Contact, Source: b.Source, Transport: b.Transport,
			Expires: b.Expires, CallID: b.CallID, CSeq: b.CSeq, UserAgent: b.UserAgent,
			Restored: connectionTransport(b.Transport)}
		n++
	}
	return n, nil
}

// canonical is the login of SIP user user (a login or an extension).
func (r *Registrar) canonical(ctx context.Context, user string) string {
	if lr, ok := r.creds.(LoginResolver); ok {
		if login, err := lr.SIPLogin(ctx, user); err == nil {
			return login
		}
	}
	return user
}

// Lookup returns the live bindings of user — a login, or an account's
// extension — newest first, those restored over a dead connection
// (Binding.Restored) after the others.
func (r *Registrar) Lookup(user string) []Binding {
	if b := r.lookup(user); len(b) > 0 {
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if login := r.canonical(ctx, user); login != user {
		return r.lookup(login)
	}
	return nil
}

func (r *Registrar) lookup(user string) []Binding {
	now := r.opt.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Binding
	for c, b := range r.bindings[user] {
		if !b.Expires.After(now) {
			delete(r.bindings[user], c)
			continue
		}
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Restored != out[j].Restored {
			return !out[i].Restored
		}
		return out[i].Expires.After(out[j].Expires)
	})
	return out
}

// Reap drops expired bindings and nonces; the server calls it now and then.
func (r *Registrar) Reap() {
	now := r.opt.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for u, m := range r.bindings {
		for c, b := range m {
			if !b.Expires.After(now) {
				delete(m, c)
			}
		}
		if len(m) == 0 {
			delete(r.bindings, u)
		}
	}
	for n, u := range r.seen {
		if !u.expires.After(now) {
			delete(r.seen, n)
		}
	}
}

// Handle answers one REGISTER.
func (r *Registrar) Handle(req *sip.Request, tx sip.ServerTransaction) {
	res := r.respond(req)
	_ = tx.Respond(res)
}

// errAuth is a failed authentication; the response says why.
var errAuth = errors.New("authentication failed")

// errMalformed is an Authorization header that does not parse.
var errMalformed = errors.New("malformed credentials")

func (r *Registrar) respond(req *sip.Request) *sip.Response {
	to := req.To()
	if to == nil || to.Address.User == "" {
		// No address-of-record to bind (RFC 3261 §10.3 step 3).
		return sip.NewResponseFromRequest(req, sip.StatusNotFound, "Not Found", nil)
	}
	user := to.Address.User
	h := req.GetHeader("Authorization")
	if h == nil {
		return r.challenge(req, false)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stale, err := r.authenticate(ctx, req, user, h.Value())
	switch {
	case stale:
		return r.challenge(req, true)
	case errors.Is(err, errMalformed):
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (malformed Authorization)", nil)
	case err != nil:
		return sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil)
	}
	login := r.canonical(ctx, user)
	res, changed := r.update(req, login)
	if changed != nil {
		if err := r.persist(ctx, login, changed); err != nil {
			r.log.Error("registration not stored", "error", err, attrHint, "the phone is registered until restart only: check journal write errors and the journal disk")
			return sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error (registration not stored)", nil)
		}
		if r.opt.OnChange != nil {
			r.opt.OnChange(login)
		}
	}
	return res
}

// persist writes login's bindings to the store before the 200 goes out.
// Writes are serialised and each writes the bindings as they are at that
// moment, so two REGISTERs racing cannot leave the older set stored.
func (r *Registrar) persist(ctx context.Context, login string, _ []Binding) error {
	if r.opt.Store == nil {
		return nil
	}
	r.persistMu.Lock()
	defer r.persistMu.Unlock()
	bs := r.lookup(login)
	out := make([]journal.SIPBinding, len(bs))
	for i, b := range bs {
		out[i] = journal.SIPBinding{Login: login, Contact: b.Contact, Source: b.Source, Transport: b.Transport,
			Expires: b.Expires, CallID: b.CallID, CSeq: b.CSeq, UserAgent: b.UserAgent}
	}
	return r.opt.Store.SetSIPBindings(ctx, login, out)
}

// authenticate checks an Authorization (or Proxy-Authorization) header
// value for user's request, under the failure limits. Every refusal,
// whether the user exists or not, locked out or not, is the same error,
// so the caller's answer tells an attacker nothing.
func (r *Registrar) authenticate(ctx context.Context, req *sip.Request, user, header string) (stale bool, err error) {
	src := req.Source()
	if ok, reason := r.limit.allowed(src, user); !ok {
		r.limit.failed(src, user, reason)
		return false, errAuth
	}
	cred, err := digest.ParseCredentials(header)
	var reason string
	if err != nil {
		reason, err = metrics.AuthBadParams, fmt.Errorf("%w: malformed credentials: %v", errAuth, err)
	} else {
		stale, reason, err = r.verify(ctx, req, user, cred)
	}
	switch {
	case stale:
		return true, nil
	case err != nil:
		r.limit.failed(src, user, reason)
		r.log.Info("sip auth failed", "src", src, "user", user, "reason", reason, "user_agent", userAgent(req), "error", err)
		if reason == metrics.AuthBadParams && cred == nil {
			return false, errMalformed
		}
		return false, errAuth
	}
	r.limit.succeeded(src, user)
	return false, nil
}

// challenge answers 401 with one challenge per configured algorithm, in
// order (RFC 8760 §2.4: the phone takes the first it supports). Some
// phones fail on a challenge whose algorithm they lack instead of skipping
// it (baresip 1.0: "Register: Function not implemented" as soon as a
// SHA-256 challenge is present), hence MD5 alone by default.
func (r *Registrar) challenge(req *sip.Request, stale bool) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	nonce := r.newNonce()
	for _, alg := range r.opt.Algorithms {
		c := digest.Challenge{Realm: r.opt.Realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", c.String()))
	}
	return res
}

// newNonce is time, 8 random bytes and an HMAC of both: checkable
// without state, unforgeable, and unique per challenge.
func (r *Registrar) newNonce() string {
	var b [16 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(r.opt.Now().UnixNano()))
	_, _ = rand.Read(b[8:16])
	m := hmac.New(sha256.New, r.secret)
	m.Write(b[:16])
	copy(b[16:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// nonceAge checks a nonce's MAC and returns its age.
func (r *Registrar) nonceAge(n string) (time.Duration, bool) {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 32 {
		return 0, false
	}
	m := hmac.New(sha256.New, r.secret)
	m.Write(b[:16])
	if !hmac.Equal(m.Sum(nil)[:16], b[16:]) {
		return 0, false
	}
	return r.opt.Now().Sub(time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))), true
}

// verify checks the digest response. stale means right credentials on an
// expired nonce: the phone retries with a fresh one without asking the
// user (RFC 7616 §3.3). reason is the metrics label of a failure. What
// needs no secret is checked first (names, realm, the nonce's MAC, the
// uri against the Request-URI), so a forged or replayed-elsewhere request
// costs no credentials lookup.
func (r *Registrar) verify(ctx context.Context, req *sip.Request, user string, c *digest.Credentials) (stale bool, reason string, err error) {
	if c.Username != user {
		return false, metrics.AuthBadParams, fmt.Errorf("%w: username %q does not match the To user", errAuth, c.Username)
	}
	if c.Realm != r.opt.Realm {
		return false, metrics.AuthBadParams, fmt.Errorf("%w: realm %q", errAuth, c.Realm)
	}
	alg := strings.ToUpper(c.Algorithm)
	if alg == "" {
		alg = "MD5"
	}
	offered := false
	for _, a := range r.opt.Algorithms {
		offered = offered || a == alg
	}
	if !offered {
		return false, metrics.AuthBadParams, fmt.Errorf("%w: algorithm %q not offered", errAuth, c.Algorithm)
	}
	if c.QOP != "" && c.QOP != "auth" {
		return false, metrics.AuthBadParams, fmt.Errorf("%w: qop %q", errAuth, c.QOP)
	}
	age, ok := r.nonceAge(c.Nonce)
	if !ok {
		return false, metrics.AuthBadNonce, fmt.Errorf("%w: nonce not ours", errAuth)
	}
	if !sameURI(c.URI, req.Recipient) {
		return false, metrics.AuthURIMismatch, fmt.Errorf("%w: digest uri %q is not the Request-URI", errAuth, c.URI)
	}
	realm, ha1md5, ha1sha, err := r.creds.SIPCredentials(ctx, user)
	if err != nil {
		return false, metrics.AuthUnknownUser, fmt.Errorf("%w: %v", errAuth, err)
	}
	if realm != "" && realm != r.opt.Realm {
		return false, metrics.AuthUnknownUser, fmt.Errorf("%w: account's secret was made for realm %q", errAuth, realm)
	}
	var hf func() hash.Hash
	var ha1 string
	switch alg {
	case "MD5":
		hf, ha1 = md5.New, ha1md5
	case "SHA-256":
		hf, ha1 = sha256.New, ha1sha
	}
	if ha1 == "" {
		return false, metrics.AuthUnknownUser, fmt.Errorf("%w: no %s credentials", errAuth, alg)
	}
	ha2 := hexHash(hf, req.Method.String()+":"+c.URI)
	var want string
	if c.QOP == "auth" {
		want = hexHash(hf, ha1+":"+c.Nonce+":"+fmt.Sprintf("%08x", c.Nc)+":"+c.Cnonce+":auth:"+ha2)
	} else {
		want = hexHash(hf, ha1+":"+c.Nonce+":"+ha2)
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.Response))) != 1 {
		return false, metrics.AuthWrongResponse, fmt.Errorf("%w: wrong response (bad password?)", errAuth)
	}
	if age > r.opt.NonceTTL {
		return true, "", nil
	}
	// Replay: with qop the nonce count must grow; without it a nonce
	// serves once.
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.seen[c.Nonce]
	if (c.QOP == "" && u.expires != (time.Time{})) || (c.QOP != "" && c.Nc <= u.nc) {
		return true, "", nil // replayed or reordered: ask again
	}
	r.seen[c.Nonce] = nonceUse{nc: c.Nc, expires: r.opt.Now().Add(r.opt.NonceTTL)}
	return false, "", nil
}

// sameURI reports whether a digest uri names the Request-URI (RFC 2617
// §3.2.2.5): same scheme, user, host and port (absent = 5060); parameters
// and headers are not compared.
func sameURI(digestURI string, reqURI sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(digestURI, &u); err != nil {
		return false
	}
	port := func(p int) int {
		if p == 0 {
			return 5060
		}
		return p
	}
	scheme := func(s string) string {
		if s == "" {
			return "sip"
		}
		return strings.ToLower(s)
	}
	return scheme(u.Scheme) == scheme(reqURI.Scheme) && u.User == reqURI.User &&
		strings.EqualFold(u.Host, reqURI.Host) && port(u.Port) == port(reqURI.Port)
}

func hexHash(h func() hash.Hash, s string) string {
	x := h()
	x.Write([]byte(s))
	return hex.EncodeToString(x.Sum(nil))
}

// update applies an authenticated REGISTER (RFC 3261 §10.3 steps 6–8).
// changed is the user's bindings after the update when they changed
// (non-nil, possibly empty), for the store.
func (r *Registrar) update(req *sip.Request, user string) (res *sip.Response, changed []Binding) {
	now := r.opt.Now()
	defExp := r.opt.DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		if v, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && v >= 0 {
			defExp = time.Duration(v) * time.Second
		}
	}
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	var cseq uint32
	if h := req.CSeq(); h != nil {
		cseq = h.SeqNo
	}
	contacts := req.GetHeaders("Contact")
	dirty := false

	r.mu.Lock()
	defer r.mu.Unlock()
	mine := r.bindings[user]
	if mine == nil {
		mine = map[string]*Binding{}
		r.bindings[user] = mine
	}
	for _, h := range contacts {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if ch.Address.Wildcard {
			// "Contact: *" with Expires: 0 removes every binding (§10.2.2).
			if len(contacts) != 1 || defExp != 0 {
				return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (* needs Expires: 0 and no other Contact)", nil), nil
			}
			for c, b := range mine {
				if b.CallID == callID && b.CSeq >= cseq {
					continue
				}
				delete(mine, c)
				dirty = true
			}
			continue
		}
		exp := defExp
		if v, ok := ch.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				exp = time.Duration(n) * time.Second
			}
		}
		key := ch.Address.String()
		if b, ok := mine[key]; ok && b.CallID == callID && b.CSeq >= cseq {
			continue // an old or repeated request (§10.3 step 7)
		}
		if exp == 0 {
			if _, ok := mine[key]; ok {
				delete(mine, key)
				dirty = true
			}
			continue
		}
		if exp < r.opt.MinExpires {
			res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(r.opt.MinExpires/time.Second))))
			return res, nil
		}
		if exp > r.opt.MaxExpires {
			exp = r.opt.MaxExpires
		}
		mine[key] = &Binding{User: user, Contact: key, Source: req.Source(), Transport: req.Transport(),
			Expires: now.Add(exp), CallID: callID, CSeq: cseq, UserAgent: userAgent(req)}
		if r.opt.OnBind != nil {
			r.opt.OnBind(req.Source(), req.Transport(), now.Add(exp))
		}
		dirty = true
	}
	res = sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if dirty {
		changed = []Binding{}
	}
	for _, b := range mine {
		if !b.Expires.After(now) {
			continue
		}
		if dirty {
			changed = append(changed, *b)
		}
		secs := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		res.AppendHeader(sip.NewHeader("Contact", "<"+b.Contact+">;expires="+strconv.Itoa(secs)))
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	r.log.Debug("registered", "bindings", len(mine))
	return res, changed
}

func userAgent(req *sip.Request) string {
	if h := req.GetHeader("User-Agent"); h != nil {
		return h.Value()
	}
	return ""
}
