package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

func TestCSRFRequiredForCookieSessionsOnly(t *testing.T) {
	e := newEnv(t)
	tok := e.account("op1", journal.RoleOperatorL1)
	cookie, csrf := e.session("op1", testPassword)
	card := map[string]any{"channel": "phone", "kind": "consultation", "topic": e.topic, "text": "Вопрос о полисе"}
	for _, tc := range []struct {
		name string
		q    req
		want int
	}{
		{"cookie GET needs no token", req{method: "GET", path: "/api/v1/me", cookie: cookie}, 200},
		{"cookie POST without token", req{method: "POST", path: "/api/v1/appeals", cookie: cookie, body: card}, 403},
		{"cookie POST with a wrong token", req{method: "POST", path: "/api/v1/appeals", cookie: cookie, csrf: csrf + "x", body: card}, 403},
		{"cookie POST with another session's token", req{method: "POST", path: "/api/v1/appeals", cookie: cookie, csrf: strings.Repeat("A", len(csrf)), body: card}, 403},
		{"cookie PATCH without token", req{method: "PATCH", path: "/api/v1/appeals/x", cookie: cookie, body: `{}`}, 403},
		{"cookie logout without token", req{method: "POST", path: "/api/v1/logout", cookie: cookie}, 403},
		{"cookie POST with the token", req{method: "POST", path: "/api/v1/appeals", cookie: cookie, csrf: csrf, body: card}, 201},
		{"bearer POST needs no token", req{method: "POST", path: "/api/v1/appeals", token: tok, body: card}, 201},
		{"unknown session", req{method: "GET", path: "/api/v1/me", cookie: "nope"}, 401},
		{"unknown bearer", req{method: "GET", path: "/api/v1/me", token: "obz_nope"}, 401},
		{"not a bearer", req{method: "GET", path: "/api/v1/me", token: "x"}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w := e.do(tc.q); w.Code != tc.want {
				t.Errorf("%s %s = %d %s, want %d", tc.q.method, tc.q.path, w.Code, w.Body, tc.want)
			}
		})
	}
	// Only the two accepted posts made appeals.
	refs, err := e.j.Appeals(context.Background(), setupActor, nil, journal.AppealFilter{})
	if err != nil || len(refs) != 2 {
		t.Fatalf("appeals after the CSRF cases = %d (%v), want 2", len(refs), err)
	}
	// me hands the token back for a reloaded page.
	var me meResponse
	e.ok(req{method: "GET", path: "/api/v1/me", cookie: cookie}, 200, &me)
	if me.CSRFToken != csrf || me.Via != viaSession || me.Account.Login != "op1" {
		t.Errorf("me = %+v, want op1 via session with the login's CSRF token", me)
	}
	e.ok(req{method: "POST", path: "/api/v1/logout", cookie: cookie, csrf: csrf}, 204, nil)
	e.ok(req{method: "GET", path: "/api/v1/me", cookie: cookie}, 401, nil)
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	login := func(pw string) (int, string) {
		w := e.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": "op1", "password": pw}, remote: "192.0.2.1:5000"})
		return w.Code, w.Header().Get("Retry-After")
	}
	for i := range loginBurstAccount {
		if code, _ := login("wrong password " + fmt.Sprint(i)); code != 401 {
			t.Fatalf("failed login %d = %d, want 401", i+1, code)
		}
	}
	// Over the limit even the right password is refused: the answer must
	// not tell a guesser when they hit it.
	code, retry := login(testPassword)
	if code != 429 || retry != "60" {
		t.Fatalf("login after %d failures = %d Retry-After %q, want 429 and 60", loginBurstAccount, code, retry)
	}
	// Another account from the same source is not affected.
	e.account("op2", journal.RoleOperatorL1)
	if w := e.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": "op2", "password": testPassword}, remote: "192.0.2.1:5000"}); w.Code != 200 {
		t.Fatalf("login op2 = %d %s, want 200", w.Code, w.Body)
	}
	e.clock.Advance(30 * time.Second)
	if code, retry := login(testPassword); code != 429 || retry != "30" {
		t.Fatalf("login 30 s later = %d Retry-After %q, want 429 and 30", code, retry)
	}
	e.clock.Advance(30 * time.Second)
	if code, _ := login(testPassword); code != 200 {
		t.Fatalf("login a minute later = %d, want 200", code)
	}
	// The success gave its token back: one more failure is allowed, the
	// next is limited again.
	if code, _ := login("wrong again"); code != 401 {
		t.Fatalf("failure after success = %d, want 401", code)
	}
	if code, _ := login("wrong again"); code != 429 {
		t.Fatalf("second failure after success = %d, want 429", code)
	}
}

func TestLoginRateLimitPerSource(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	try := func(login, remote string) int {
		return e.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": login, "password": "wrong password"}, remote: remote}).Code
	}
	// A spray over many logins from one address.
	for i := range loginBurstSource {
		if code := try(fmt.Sprintf("user%d", i), "198.51.100.7:1"+fmt.Sprint(i)); code != 401 {
			t.Fatalf("spray attempt %d = %d, want 401", i+1, code)
		}
	}
	w := e.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": "op1", "password": testPassword}, remote: "198.51.100.7:9"})
	if w.Code != 429 || w.Header().Get("Retry-After") != "15" {
		t.Fatalf("login from the spraying address = %d Retry-After %q, want 429 and 15", w.Code, w.Header().Get("Retry-After"))
	}
	// IPv6 addresses of one /64 share a bucket; other sources are free.
	for i := range loginBurstSource {
		try(fmt.Sprintf("v6user%d", i), fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
	}
	if code := try("v6other", "[2001:db8:1:2:ffff::1]:443"); code != 429 {
		t.Errorf("another host of the same /64 = %d, want 429", code)
	}
	if code := try("v6other", "[2001:db8:1:3::1]:443"); code != 401 {
		t.Errorf("a host of another /64 = %d, want 401", code)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": "op1", "password": testPassword}, remote: "203.0.113.5:1"}); w.Code != 200 {
		t.Errorf("login from another address = %d %s, want 200", w.Code, w.Body)
	}
}

func TestLimiterRefillsAndForgets(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	l := newLimiter(c.Now, 2, 10*time.Second)
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.take("k"); ok != want {
			t.Fatalf("take %d = %v, want %v", i+1, ok, want)
		}
	}
	c.Advance(4 * time.Second)
	if ok, wait := l.take("k"); ok || wait != 6*time.Second {
		t.Fatalf("take after 4 s = %v, %v; want false, 6s", ok, wait)
	}
	c.Advance(6 * time.Second)
	if ok, _ := l.take("k"); !ok {
		t.Fatal("take after 10 s = false, want true")
	}
	l.give("k")
	l.give("k")
	if len(l.buckets) != 0 {
		t.Errorf("a full bucket is kept: %d buckets, want 0", len(l.buckets))
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	cookie, _ := e.session("op1", testPassword)
	// Idle just under the limit, repeatedly: the session stays.
	for range 3 {
		e.clock.Advance(SessionIdle - time.Minute)
		e.ok(req{method: "GET", path: "/api/v1/me", cookie: cookie}, 200, nil)
	}
	// Idle past the limit: gone.
	e.clock.Advance(SessionIdle)
	e.ok(req{method: "GET", path: "/api/v1/me", cookie: cookie}, 401, nil)

	// A busy session still ends SessionMax after login.
	cookie, _ = e.session("op1", testPassword)
	for el := time.Duration(0); el < SessionMax-time.Hour; el += time.Hour {
		e.clock.Advance(time.Hour)
		e.ok(req{method: "GET", path: "/api/v1/me", cookie: cookie}, 200, nil)
	}
	e.clock.Advance(time.Hour)
	e.ok(req{method: "GET", path: "/api/v1/me", cookie: cookie}, 401, nil)
}

func TestDisabledAccountLosesSessionAndTokens(t *testing.T) {
	e := newEnv(t)
	adminTok := e.account("boss", journal.RoleAdmin)
	tok := e.account("op1", journal.RoleOperatorL1)
	cookie, _ := e.session("op1", testPassword)
	e.ok(req{method: "POST", path: "/api/v1/accounts/op1/disable", token: adminTok}, 200, nil)
	e.ok(req{method: "GET", path: "/api/v1/me", cookie: cookie}, 401, nil)
	e.ok(req{method: "GET", path: "/api/v1/me", token: tok}, 401, nil)
	// A disabled account cannot log in, and the answer does not say why.
	w := e.ok(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": "op1", "password": testPassword}}, 401, nil)
	if !strings.Contains(w.Body.String(), journal.ErrBadCredentials.Error()) {
		t.Errorf("login of a disabled account = %s, want the bad-credentials message", w.Body)
	}
	e.ok(req{method: "POST", path: "/api/v1/accounts/op1/enable", token: adminTok}, 200, nil)
	e.ok(req{method: "GET", path: "/api/v1/me", token: tok}, 200, nil)
	// An administrator cannot lock themselves out.
	e.ok(req{method: "POST", path: "/api/v1/accounts/boss/disable", token: adminTok}, 422, nil)
}

func TestOwnPasswordChange(t *testing.T) {
	e := newEnv(t)
	tok := e.account("op1", journal.RoleOperatorL1)
	other, _ := e.session("op1", testPassword)
	path := "/api/v1/accounts/op1/password"
	e.ok(req{method: "POST", path: path, token: tok, body: map[string]string{"password": "new password 123"}}, 422, nil)
	e.ok(req{method: "POST", path: path, token: tok, body: map[string]string{"password": "new password 123", "current": "wrong"}}, 422, nil)
	e.ok(req{method: "POST", path: path, token: tok, body: map[string]string{"password": "new password 123", "current": testPassword}}, 204, nil)
	// Other sessions end; the new password works, the old does not.
	e.ok(req{method: "GET", path: "/api/v1/me", cookie: other}, 401, nil)
	e.session("op1", "new password 123")
	e.ok(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": "op1", "password": testPassword}}, 401, nil)
}

// Parallel guesses on one account from many addresses are each checked
// (no lockout an attacker could use against the owner), through the
// bounded hashing pool, and slow the account down for new addresses
// (issue 11 item 10; it used to be a per-account lockout).
func TestConcurrentGuessesAreBounded(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	const n = 16
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := e.do(req{method: "POST", path: "/api/v1/login", remote: fmt.Sprintf("192.0.2.%d:1", i+1),
				body: map[string]string{"login": "op1", "password": fmt.Sprint("guess ", i)}})
			codes <- w.Code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	// 503: the hashing pool had no slot within its wait (slow hashing
	// under -race); never 429, a lockout.
	if count[401] == 0 || count[401]+count[503] != n {
		t.Errorf("%d parallel guesses from %d addresses: %v, want each 401 (or 503 from a full hashing pool)", n, n, count)
	}
	// Guesses the full pool turned away (503) were not checked and count
	// as no failure: make up for them one at a time, so the account has
	// seen n failures before the slowdown is looked for.
	for i := 0; count[401] < n && i < 4*n; i++ {
		w := e.do(req{method: "POST", path: "/api/v1/login", remote: fmt.Sprintf("192.0.2.%d:1", 100+i),
			body: map[string]string{"login": "op1", "password": fmt.Sprint("late guess ", i)}})
		if w.Code == 401 {
			count[401]++
		}
	}
	e.slept.Store(0)
	w := e.do(req{method: "POST", path: "/api/v1/login", remote: "198.51.100.1:1", body: map[string]string{"login": "op1", "password": "guess x"}})
	if w.Code != 401 || e.slept.Load() == 0 {
		t.Errorf("guess after %d failures = %d after %v, want 401 after a slowdown", n, w.Code, time.Duration(e.slept.Load()))
	}
}

func TestRedactHidesPhonesAndPolicyNumbers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"person 2600000000000001: disk full", "person [digits]: disk full"},
		{"call from +7 916 123-45-67 failed", "call from [digits] failed"},
		{"appeal 2026-000123: conflict", "appeal 2026-000123: conflict"},
		{"appeal 01M8DG9PQG100B1RQF91M2VAEG", "appeal 01M8DG9PQG100B1RQF91M2VAEG"},
	} {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	e := newEnv(t)
	tok := e.account("op1", journal.RoleOperatorL1)
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/api/v1/nope", 404, ""},
		{"DELETE", "/api/v1/appeals", 405, "GET, HEAD, POST"},
		{"PUT", "/api/v1/me", 405, "GET, HEAD"},
	} {
		w := e.do(req{method: tc.method, path: tc.path, token: tok})
		var got struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != tc.code || got.Error == "" || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d %q Allow %q, want %d JSON error Allow %q", tc.method, tc.path, w.Code, w.Body, w.Header().Get("Allow"), tc.code, tc.allow)
		}
	}
}

func TestActorPicksTheRoleThatMay(t *testing.T) {
	R := func(rs ...journal.Role) []journal.Role { return rs }
	for _, tc := range []struct {
		roles  []journal.Role
		action journal.Action
		res    journal.Resource
		want   journal.Role
	}{
		{R(journal.RoleOperatorL1, journal.RoleAdmin), journal.ActionRead, journal.ResourceAppeal, journal.RoleAdmin},
		{R(journal.RoleOperatorL1, journal.RoleSupervisor), journal.ActionRead, journal.ResourceAppeal, journal.RoleSupervisor},
		{R(journal.RoleOperatorL1, journal.RoleSupervisor), journal.ActionCreate, journal.ResourceAppeal, journal.RoleOperatorL1},
		{R(journal.RoleCampaignStaff, journal.RoleRepL2), journal.ActionRead, journal.ResourceAppeal, journal.RoleRepL2},
		{R(journal.RoleSRE), journal.ActionRead, journal.ResourceAppeal, journal.RoleSRE},
	} {
		p := &principal{login: "x", roles: tc.roles}
		if got := p.actor(tc.action, tc.res).Role; got != tc.want {
			t.Errorf("actor(%v, %s %s) = %s, want %s", tc.roles, tc.action, tc.res, got, tc.want)
		}
	}
}

func TestSourceKeyBehindTrustedProxy(t *testing.T) {
	s := &server{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct{ remote, xff, want string }{
		{"192.0.2.1:1", "", "src:192.0.2.1"},
		{"192.0.2.1:1", "203.0.113.9", "src:192.0.2.1"}, // not a proxy: header ignored
		{"10.1.2.3:1", "203.0.113.9", "src:203.0.113.9"},
		{"10.1.2.3:1", "198.51.100.1, 203.0.113.9", "src:203.0.113.9"}, // the proxy's own entry is last
		{"10.1.2.3:1", "garbage", "src:10.1.2.3"},
		{"[::ffff:10.1.2.3]:1", "2001:db8::1", "src:2001:db8::/64"},
		{"[2001:db8:5::7]:1", "", "src:2001:db8:5::/64"},
	} {
		r := httptest.NewRequest("POST", "/api/v1/login", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := s.sourceKey(r); got != tc.want {
			t.Errorf("sourceKey(%q, XFF %q) = %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}
