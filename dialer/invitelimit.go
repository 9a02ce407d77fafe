package dialer

// A per-source rate limit on new INVITEs (issue 11 item 4): one address
// sending bogus INVITEs must not take the capacity real callers need.

import (
	"net/netip"
	"sync"
	"time"

	"github.com/obzvon/obzvon/config"
)

// maxInviteSources bounds the limiter's memory under a flood from many
// addresses; full buckets are forgotten first.
const maxInviteSources = 65536

type tokenBucket struct {
	tokens float64
	at     time.Time
}

// inviteLimiter is a token bucket per source address (IPv6: per /64).
type inviteLimiter struct {
	rate, burst float64
	exempt      []netip.Prefix
	now         func() time.Time

	mu      sync.Mutex
	buckets map[netip.Prefix]*tokenBucket
}

// newInviteLimiter limits each source to rate INVITEs a second, 2×rate in
// a burst; sources in any route's allow networks (trunks, PBXs) are
// exempt. A zero rate gives nil: no limit.
func newInviteLimiter(cfg *config.Config, now func() time.Time) *inviteLimiter {
	if cfg.Calls.InviteRate <= 0 {
		return nil
	}
	var exempt []netip.Prefix
	for _, r := range cfg.Routes {
		exempt = append(exempt, r.Access().Networks...)
	}
	return &inviteLimiter{rate: cfg.Calls.InviteRate, burst: 2 * cfg.Calls.InviteRate, exempt: exempt, now: now,
		buckets: map[netip.Prefix]*tokenBucket{}}
}

// allow takes one token for source ("host:port").
func (l *inviteLimiter) allow(source string) bool {
	if l == nil {
		return true
	}
	addr := sourceAddr(source)
	for _, p := range l.exempt {
		if p.Contains(addr) {
			return true
		}
	}
	key := sourcePrefix(source)
	t := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxInviteSources {
			l.prune(t)
			if len(l.buckets) >= maxInviteSources {
				return false // a flood from that many addresses: refuse new ones
			}
		}
		b = &tokenBucket{tokens: l.burst, at: t}
		l.buckets[key] = b
	}
	return b.take(t, l.rate, l.burst)
}

// take refills the bucket for the time since its last use (rate a second,
// at most burst) and takes one token if there is one.
func (b *tokenBucket) take(t time.Time, rate, burst float64) bool {
	if el := t.Sub(b.at); el > 0 {
		b.tokens = min(burst, b.tokens+el.Seconds()*rate)
	}
	b.at = t
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *inviteLimiter) prune(t time.Time) {
	for k, b := range l.buckets {
		if b.tokens+t.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// setupLimiter admits at most rate new calls a second in all, a second's
// worth in a burst: past the appliance's setup capacity a refusal now (503
// with Retry-After, which callers and trunks retry later) is better than
// admitting every call and serving them all seconds late.
type setupLimiter struct {
	rate float64
	now  func() time.Time
	mu   sync.Mutex
	b    tokenBucket
}

// newSetupLimiter returns nil (no limit) for a rate of 0.
func newSetupLimiter(rate float64, now func() time.Time) *setupLimiter {
	if rate <= 0 {
		return nil
	}
	return &setupLimiter{rate: rate, now: now, b: tokenBucket{tokens: max(rate, 1), at: now()}}
}

// allow takes a token for one new call.
func (l *setupLimiter) allow() bool {
	if l == nil {
		return true
	}
	t := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.take(t, l.rate, max(l.rate, 1))
}
