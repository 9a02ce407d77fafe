package dialer

// Limits on failed SIP digest authentication (password guessing with
// svcrack and the like): per source address, and per account for
// addresses the account has never authenticated from, so that an attacker
// cannot lock a real operator out of the phone on their desk.

import (
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/obzvon/obzvon/metrics"
)

// AuthLimits tune the failed-authentication limits.
type AuthLimits struct {
	// SourceFailures failed attempts from one address (an IPv6 /64)
	// within Window lock that address out for Lockout (default 10).
	SourceFailures int
	// AccountFailures failed attempts on one account from any address
	// within Window lock the account out for Lockout, but only for
	// addresses it has not authenticated from in the last KnownFor
	// (default 20).
	AccountFailures int
	// Window is how far back failures count (default 10 min).
	Window time.Duration
	// Lockout is how long a lockout lasts (default 15 min).
	Lockout time.Duration
	// KnownFor is how long a successful authentication keeps its address
	// "known good" for the account (default 30 days).
	KnownFor time.Duration
}

func (l *AuthLimits) defaults() {
	if l.SourceFailures <= 0 {
		l.SourceFailures = 10
	}
	if l.AccountFailures <= 0 {
		l.AccountFailures = 20
	}
	if l.Window <= 0 {
		l.Window = 10 * time.Minute
	}
	if l.Lockout <= 0 {
		l.Lockout = 15 * time.Minute
	}
	if l.KnownFor <= 0 {
		l.KnownFor = 30 * 24 * time.Hour
	}
}

// Bounds on the limiter's memory: a flood of made-up user names or
// addresses must not grow it without end.
const (
	maxTrackedKeys     = 20000
	maxKnownPerAccount = 16
)

// failures counts failures in a window and a lockout.
type failures struct {
	n      int
	since  time.Time // start of the counting window
	locked time.Time // locked out until then
}

func (f *failures) add(now time.Time, window time.Duration) int {
	if now.Sub(f.since) > window {
		f.n, f.since = 0, now
	}
	f.n++
	return f.n
}

// account is an account's (or an unknown user name's) failures and the
// addresses it authenticated from.
type account struct {
	failures
	known map[netip.Prefix]time.Time // source → last success
}

// authLimiter keeps failure counts and lockouts. Its methods are safe for
// concurrent use.
type authLimiter struct {
	lim     AuthLimits
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics.Metrics

	mu       sync.Mutex
	sources  map[netip.Prefix]*failures
	accounts map[string]*account
}

func newAuthLimiter(lim AuthLimits, now func() time.Time, log *slog.Logger, m *metrics.Metrics) *authLimiter {
	lim.defaults()
	return &authLimiter{lim: lim, now: now, log: log, metrics: m,
		sources: map[netip.Prefix]*failures{}, accounts: map[string]*account{}}
}

// sourcePrefix is the limiter's key of a "host:port" source: the host's
// address, or its /64 for IPv6 (one host usually holds a whole /64).
func sourcePrefix(source string) netip.Prefix {
	ap, err := netip.ParseAddrPort(source)
	var a netip.Addr
	if err == nil {
		a = ap.Addr().Unmap()
	} else if a, err = netip.ParseAddr(strings.Trim(source, "[]")); err != nil {
		return netip.Prefix{}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	return netip.PrefixFrom(a, 32)
}

// allowed reports whether user may try to authenticate from source now.
// When not, reason is metrics.AuthLockedSource or AuthLockedAccount; the
// caller answers exactly as for a wrong secret, without looking the user
// up, so a locked-out attacker learns nothing, not even that it is locked
// out.
func (l *authLimiter) allowed(source, user string) (ok bool, reason string) {
	src := sourcePrefix(source)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.sources[src]; f != nil && now.Before(f.locked) {
		return false, metrics.AuthLockedSource
	}
	if a := l.accounts[user]; a != nil && now.Before(a.locked) {
		if t, ok := a.known[src]; !ok || now.Sub(t) > l.lim.KnownFor {
			return false, metrics.AuthLockedAccount
		}
	}
	return true, ""
}

// failed records a failed attempt by user from source, and starts a
// lockout when a limit is reached; reason is a metrics.Auth… constant.
func (l *authLimiter) failed(source, user, reason string) {
	l.metrics.SIPAuthFailure(reason)
	if reason == metrics.AuthLockedSource || reason == metrics.AuthLockedAccount {
		return // refused unchecked: not a new guess
	}
	src := sourcePrefix(source)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	f := l.sources[src]
	if f == nil && len(l.sources) < maxTrackedKeys {
		f = &failures{since: now}
		l.sources[src] = f
	}
	if f != nil && f.add(now, l.lim.Window) >= l.lim.SourceFailures && !now.Before(f.locked) {
		f.locked = now.Add(l.lim.Lockout)
		l.lockout(source, user, "source", f.n)
	}
	a := l.accounts[user]
	if a == nil && len(l.accounts) < maxTrackedKeys {
		a = &account{failures: failures{since: now}}
		l.accounts[user] = a
	}
	if a != nil && a.add(now, l.lim.Window) >= l.lim.AccountFailures && !now.Before(a.locked) {
		a.locked = now.Add(l.lim.Lockout)
		l.lockout(source, user, "account", a.n)
	}
}

// lockout logs one lockout in a fixed form that fail2ban can match (see
// systemd/fail2ban/obzvon-sip.conf): the src attribute is the address
// that made the last attempt.
func (l *authLimiter) lockout(source, user, scope string, n int) {
	host := source
	if ap, err := netip.ParseAddrPort(source); err == nil {
		host = ap.Addr().Unmap().String()
	}
	l.log.Warn("sip auth lockout", "src", host, "user", user, "reason", scope,
		"failures", n, "lockout", l.lim.Lockout.String(), attrHint, "the source guessed SIP passwords and is locked out for a while; if it is a real phone, check its password (obzvon agent passwd --sip); otherwise block the source")
}

// succeeded records that user authenticated from source: the address
// becomes known good for the account and its own failures are forgiven.
func (l *authLimiter) succeeded(source, user string) {
	src := sourcePrefix(source)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sources, src)
	a := l.accounts[user]
	if a == nil {
		if len(l.accounts) >= maxTrackedKeys {
			l.prune(now)
		}
		a = &account{}
		l.accounts[user] = a
	}
	if a.known == nil {
		a.known = map[netip.Prefix]time.Time{}
	}
	if _, ok := a.known[src]; !ok && len(a.known) >= maxKnownPerAccount {
		var oldest netip.Prefix
		for p, t := range a.known {
			if !oldest.IsValid() || t.Before(a.known[oldest]) {
				oldest = p
			}
		}
		delete(a.known, oldest)
	}
	a.known[src] = now
}

// prune forgets sources and accounts with nothing left to remember; it
// runs when a map is full.
func (l *authLimiter) prune(now time.Time) {
	if len(l.sources) < maxTrackedKeys && len(l.accounts) < maxTrackedKeys {
		return
	}
	for k, f := range l.sources {
		if !now.Before(f.locked) && now.Sub(f.since) > l.lim.Window {
			delete(l.sources, k)
		}
	}
	for k, a := range l.accounts {
		if len(a.known) == 0 && !now.Before(a.locked) && now.Sub(a.since) > l.lim.Window {
			delete(l.accounts, k)
		}
	}
}
