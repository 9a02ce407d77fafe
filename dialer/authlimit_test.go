package dialer

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obzvon/obzvon/metrics"
)

// countingCreds counts credential lookups.
type countingCreds struct {
	fakeCreds
	n atomic.Int64
}

func (c *countingCreds) SIPCredentials(ctx context.Context, user string) (string, string, string, error) {
	c.n.Add(1)
	return c.fakeCreds.SIPCredentials(ctx, user)
}

type limitedRegistrar struct {
	r     *Registrar
	clock *clock
	creds *countingCreds
	log   *bytes.Buffer
	m     *metrics.Metrics
}

func newLimitedRegistrar(t *testing.T) *limitedRegistrar {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	creds := &countingCreds{fakeCreds: fakeCreds{"1001": "secret-1001-long"}}
	var buf bytes.Buffer
	m := metrics.New(prometheus.NewPedanticRegistry())
	r := NewRegistrar(creds, RegistrarOptions{Now: c.now, Metrics: m,
		Limits: AuthLimits{SourceFailures: 5, AccountFailures: 8, Window: 10 * time.Minute, Lockout: 15 * time.Minute},
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	return &limitedRegistrar{r: r, clock: c, creds: creds, log: &buf, m: m}
}

// try sends one challenged and signed REGISTER for user from src.
func (l *limitedRegistrar) try(t *testing.T, src, user, password string) *sip.Response {
	t.Helper()
	req := register(t, user, "<sip:"+user+"@127.0.0.1:5999>", "120")
	req.SetSource(src)
	chal := l.r.respond(req)
	if chal.StatusCode != 401 {
		t.Fatalf("unsigned REGISTER = %d, want 401", chal.StatusCode)
	}
	signed := answer(t, req, chal, user, password, "MD5")
	signed.SetSource(src)
	return l.r.respond(signed)
}

func TestRegisterWithoutToUserIs404(t *testing.T) {
	r, _ := newTestRegistrar()
	req := register(t, "", "<sip:127.0.0.1:5999>", "120")
	if res := r.respond(req); res.StatusCode != 404 {
		t.Errorf("REGISTER with no To user = %d, want 404 (RFC 3261 §10.3)", res.StatusCode)
	}
}

func TestAuthLockoutPerSource(t *testing.T) {
	l := newLimitedRegistrar(t)
	for i := range 5 {
		if res := l.try(t, "192.0.2.7:5060", "1001", "guess"); res.StatusCode != 403 {
			t.Fatalf("guess %d = %d, want 403", i, res.StatusCode)
		}
	}
	// The guessing address is locked out, even with the right secret.
	if res := l.try(t, "192.0.2.7:5061", "1001", "secret-1001-long"); res.StatusCode != 403 {
		t.Fatalf("right secret from the locked-out address = %d, want 403", res.StatusCode)
	}
	// Another address is not.
	if res := l.try(t, "192.0.2.8:5060", "1001", "secret-1001-long"); res.StatusCode != 200 {
		t.Fatalf("right secret from another address = %d, want 200", res.StatusCode)
	}
	logs := l.log.String()
	if !strings.Contains(logs, `msg="sip auth lockout" src=192.0.2.7 user=1001 reason=source failures=5`) {
		t.Errorf("no fail2ban-matchable lockout line in the log:\n%s", logs)
	}
	if got := testutil.ToFloat64(metricsAuth(l.m, metrics.AuthWrongResponse)); got != 5 {
		t.Errorf("obzvon_sip_auth_failures_total{reason=wrong_response} = %v, want 5", got)
	}
	if got := testutil.ToFloat64(metricsAuth(l.m, metrics.AuthLockedSource)); got != 1 {
		t.Errorf("obzvon_sip_auth_failures_total{reason=locked_source} = %v, want 1", got)
	}
	// The lockout ends.
	l.clock.t = l.clock.t.Add(16 * time.Minute)
	if res := l.try(t, "192.0.2.7:5061", "1001", "secret-1001-long"); res.StatusCode != 200 {
		t.Fatalf("right secret after the lockout = %d, want 200", res.StatusCode)
	}
}

func metricsAuth(m *metrics.Metrics, reason string) prometheus.Collector {
	return m.SIPAuthFailuresCounter(reason)
}

// An attacker spreading guesses over many addresses locks the account
// only for addresses it never authenticated from: the operator at the
// usual desk phone still registers.
func TestAuthAccountLockoutSparesKnownAddress(t *testing.T) {
	l := newLimitedRegistrar(t)
	if res := l.try(t, "10.0.0.5:5060", "1001", "secret-1001-long"); res.StatusCode != 200 {
		t.Fatalf("operator's first registration = %d, want 200", res.StatusCode)
	}
	for i := range 8 {
		src := "203.0.113." + string(rune('1'+i)) + ":5060"
		if res := l.try(t, src, "1001", "guess"); res.StatusCode != 403 {
			t.Fatalf("guess %d = %d, want 403", i, res.StatusCode)
		}
	}
	if res := l.try(t, "203.0.113.99:5060", "1001", "secret-1001-long"); res.StatusCode != 403 {
		t.Errorf("right secret from a new address while the account is locked = %d, want 403", res.StatusCode)
	}
	if res := l.try(t, "10.0.0.5:5060", "1001", "secret-1001-long"); res.StatusCode != 200 {
		t.Errorf("operator from the known address while the account is locked = %d, want 200", res.StatusCode)
	}
	if !strings.Contains(l.log.String(), `msg="sip auth lockout" src=203.0.113.8 user=1001 reason=account failures=8`) {
		t.Errorf("no account lockout line:\n%s", l.log.String())
	}
}

// While limited, an existing and an unknown user get the same answer:
// same code, same headers, and neither is looked up.
func TestAuthLimitedAnswersIndistinguishable(t *testing.T) {
	l := newLimitedRegistrar(t)
	for range 5 {
		l.try(t, "192.0.2.7:5060", "nobody", "guess")
	}
	before := l.creds.n.Load()
	known := l.try(t, "192.0.2.7:5060", "1001", "secret-1001-long")
	unknown := l.try(t, "192.0.2.7:5060", "1002", "whatever")
	if known.StatusCode != unknown.StatusCode || known.Reason != unknown.Reason {
		t.Errorf("limited answers differ: %d %s vs %d %s", known.StatusCode, known.Reason, unknown.StatusCode, unknown.Reason)
	}
	names := func(r *sip.Response) []string {
		var out []string
		for _, h := range r.Headers() {
			out = append(out, h.Name())
		}
		slices.Sort(out)
		return out
	}
	if a, b := names(known), names(unknown); !slices.Equal(a, b) {
		t.Errorf("limited answers have different headers: %v vs %v", a, b)
	}
	if n := l.creds.n.Load() - before; n != 0 {
		t.Errorf("%d credential lookups while limited, want 0", n)
	}
}

// The nonce's MAC and the digest uri are checked before the account is
// looked up.
func TestDigestCheckedBeforeLookup(t *testing.T) {
	cases := []struct {
		name   string
		mangle func(h string) string
		reason string
	}{
		{"forged nonce", func(h string) string {
			i := strings.Index(h, `nonce="`) + len(`nonce="`)
			return h[:i] + "AAAA" + h[i+4:]
		}, metrics.AuthBadNonce},
		{"other uri", func(h string) string {
			return strings.Replace(h, `uri="sip:127.0.0.1"`, `uri="sip:1001@198.51.100.1"`, 1)
		}, metrics.AuthURIMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimitedRegistrar(t)
			req := register(t, "1001", "<sip:1001@127.0.0.1:5999>", "120")
			chal := l.r.respond(req)
			signed := answer(t, req, chal, "1001", "secret-1001-long", "MD5")
			h := signed.GetHeader("Authorization").Value()
			signed.RemoveHeader("Authorization")
			signed.AppendHeader(sip.NewHeader("Authorization", tc.mangle(h)))
			if res := l.r.respond(signed); res.StatusCode != 403 {
				t.Errorf("%s = %d, want 403", tc.name, res.StatusCode)
			}
			if n := l.creds.n.Load(); n != 0 {
				t.Errorf("%s: %d credential lookups, want 0", tc.name, n)
			}
			if got := testutil.ToFloat64(metricsAuth(l.m, tc.reason)); got != 1 {
				t.Errorf("failures{reason=%s} = %v, want 1", tc.reason, got)
			}
		})
	}
}

// The shipped fail2ban filter matches the lockout line in both log formats
// and finds the attacker's address in it.
func TestFail2banFilterMatchesLockout(t *testing.T) {
	conf, err := os.ReadFile("../systemd/fail2ban/obzvon-sip.conf")
	if err != nil {
		t.Fatal(err)
	}
	var res []*regexp.Regexp
	in := false
	for _, line := range strings.Split(string(conf), "\n") {
		switch {
		case strings.HasPrefix(line, "failregex"):
			in = true
			line = strings.TrimSpace(strings.SplitN(line, "=", 2)[1])
		case in && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
			line = strings.TrimSpace(line)
		default:
			in = false
			continue
		}
		re := strings.ReplaceAll(line, "<HOST>", `(?P<host>[0-9A-Fa-f.:]+)`)
		res = append(res, regexp.MustCompile(re))
	}
	if len(res) == 0 {
		t.Fatal("no failregex in the filter")
	}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			h = slog.NewJSONHandler(&buf, nil)
		}
		lim := newAuthLimiter(AuthLimits{SourceFailures: 2}, time.Now, slog.New(h), nil)
		lim.failed("[2001:db8::7]:5060", "1001", metrics.AuthWrongResponse)
		lim.failed("[2001:db8::7]:5061", "1002", metrics.AuthWrongResponse)
		line := strings.TrimSpace(buf.String())
		matched := false
		for _, re := range res {
			if m := re.FindStringSubmatch(line); m != nil {
				matched = true
				if host := m[re.SubexpIndex("host")]; host != "2001:db8::7" {
					t.Errorf("%s: filter found host %q in %q, want 2001:db8::7", format, host, line)
				}
			}
		}
		if !matched {
			t.Errorf("%s: no failregex matches the lockout line %q", format, line)
		}
	}
}
