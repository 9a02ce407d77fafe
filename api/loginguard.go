package api

// Guards of the web login beyond the token buckets (issue 11 items 9 and
// 10): a bounded pool for password hashing, so parallel logins cannot
// take the daemon's memory (argon2id takes 19 MiB each), and a slowdown
// per account, not a lockout, for addresses the account has not logged
// in from, so a guesser cannot lock the owner out.

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Hashing pool: at most one argon2id computation per two cores at once
// (1..4); at most hashQueue logins wait for a slot, each at most
// hashWait; past that the login gets 503.
const (
	hashQueue = 64
	hashWait  = 3 * time.Second
)

// Account slowdown: once an account has slowAfter failed logins within
// slowWindow, each attempt on it from an address it has not logged in
// from waits slowStep per failure beyond that, at most slowMax.
const (
	slowAfter  = 10
	slowWindow = 15 * time.Minute
	slowStep   = 200 * time.Millisecond
	slowMax    = 5 * time.Second
	knownFor   = 30 * 24 * time.Hour
	maxGuarded = 20000 // accounts tracked at most (unknown logins included)
)

// errHashBusy: no hashing slot within hashWait, or too many waiting.
var errHashBusy = errors.New("too many logins at once")

type accountFailures struct {
	n     int
	since time.Time
	known map[string]time.Time // source key → last successful login
}

type loginGuard struct {
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	slots   chan struct{}
	waiting atomic.Int64

	mu       sync.Mutex
	accounts map[string]*accountFailures
}

func newLoginGuard(now func() time.Time, sleep func(context.Context, time.Duration) error) *loginGuard {
	if sleep == nil {
		sleep = sleepCtx
	}
	// One slot per two cores (at least one, at most four): argon2id with
	// one lane takes a core, and the rest of the appliance needs the others.
	n := min(max(runtime.GOMAXPROCS(0)/2, 1), 4)
	return &loginGuard{now: now, sleep: sleep, slots: make(chan struct{}, n), accounts: map[string]*accountFailures{}}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// acquire takes a hashing slot; call release when the hash is done.
func (g *loginGuard) acquire(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	default:
	}
	if g.waiting.Add(1) > hashQueue {
		g.waiting.Add(-1)
		return nil, errHashBusy
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-t.C:
		return nil, errHashBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// delay is how long a login on account from src waits first.
func (g *loginGuard) delay(account, src string) time.Duration {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.accounts[account]
	if a == nil || now.Sub(a.since) > slowWindow || a.n < slowAfter {
		return 0
	}
	if t, ok := a.known[src]; ok && now.Sub(t) < knownFor {
		return 0
	}
	return min(slowMax, time.Duration(a.n-slowAfter+1)*slowStep)
}

// failed counts a failed login on account.
func (g *loginGuard) failed(account string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.accounts[account]
	if a == nil {
		if len(g.accounts) >= maxGuarded {
			g.prune(now)
			if len(g.accounts) >= maxGuarded {
				return
			}
		}
		a = &accountFailures{since: now}
		g.accounts[account] = a
	}
	if now.Sub(a.since) > slowWindow {
		a.n, a.since = 0, now
	}
	a.n++
}

// succeeded makes src a known address of account.
func (g *loginGuard) succeeded(account, src string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.accounts[account]
	if a == nil {
		if len(g.accounts) >= maxGuarded {
			g.prune(now)
		}
		a = &accountFailures{since: now}
		g.accounts[account] = a
	}
	if a.known == nil {
		a.known = map[string]time.Time{}
	}
	if len(a.known) >= 16 {
		for k, t := range a.known {
			if now.Sub(t) > knownFor || len(a.known) >= 16 {
				delete(a.known, k)
			}
			if len(a.known) < 16 {
				break
			}
		}
	}
	a.known[src] = now
}

func (g *loginGuard) prune(now time.Time) {
	for k, a := range g.accounts {
		if now.Sub(a.since) > slowWindow && len(a.known) == 0 {
			delete(g.accounts, k)
		}
	}
}
