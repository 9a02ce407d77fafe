package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// The registry the tests load: one person with a phone.
const (
	testENP     = "2600000000000001"
	testSurname = "Иваньшина"
	testPhone   = "+79161234567"
	testReg     = "Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Код МО\n" +
		testSurname + ";Мария;Петровна;17.05.1980;" + testENP + ";89161234567;MO1\n"
	testPassword = "correct horse battery"
)

// setupActor bootstraps the journal like the CLI on the server does.
var setupActor = journal.Actor{Login: "setup", Role: journal.RoleAdmin}

// fakeClock is the clock of sessions and rate limits in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a handler over a real journal in a temporary directory.
type env struct {
	t     testing.TB
	j     *journal.Journal
	h     http.Handler
	clock *fakeClock
	logs  *peertest.SyncBuffer
	// topic is a consultation topic of the shipped catalog.
	topic string
	// slept is the login slowdown asked for so far (Options.Sleep).
	slept atomic.Int64
}

func newEnv(t *testing.T) *env { return newEnvTB(t) }

// newEnvTB is newEnv for tests and benchmarks.
func newEnvTB(t testing.TB) *env {
	t.Helper()
	o := journal.DefaultOptions(t.TempDir())
	j, err := journal.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := j.Close(); err != nil {
			t.Errorf("close journal: %v", err)
		}
	})
	ctx := context.Background()
	topics, scripts, err := journal.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if err := j.LoadCatalog(ctx, setupActor, topics, scripts); err != nil {
		t.Fatal(err)
	}
	if _, rowErrs, err := j.LoadRegistry(ctx, setupActor, strings.NewReader(testReg), lists.FormatOf("r.csv"), "r.csv"); err != nil || len(rowErrs) > 0 {
		t.Fatalf("load registry: %v %v", err, rowErrs)
	}
	ts, err := j.Topics(ctx, journal.KindConsultation)
	if err != nil || len(ts) == 0 {
		t.Fatalf("topics: %v %v", ts, err)
	}
	e := &env{t: t, j: j, clock: &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}, logs: &peertest.SyncBuffer{}, topic: ts[0].ID}
	reg := prometheus.NewPedanticRegistry()
	e.h = NewHandler(Options{
		Health: fakeHealth{}, Gatherer: reg, Journal: j, Now: e.clock.Now,
		Sleep:  func(_ context.Context, d time.Duration) error { e.slept.Add(int64(d)); return nil },
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	return e
}

// account adds an account with a password and returns a bearer token.
func (e *env) account(login string, roles ...journal.Role) string {
	e.t.Helper()
	return e.addAccount(journal.NewAccount{Login: login, Roles: roles})
}

// addAccount adds n (with testPassword and a display name when not set)
// and returns a bearer token.
func (e *env) addAccount(n journal.NewAccount) string {
	e.t.Helper()
	ctx := context.Background()
	login := n.Login
	if n.DisplayName == "" {
		n.DisplayName = "Сотрудник " + login
	}
	if n.Password == "" {
		n.Password = testPassword
	}
	_, err := e.j.AddAccount(ctx, setupActor, n)
	if err != nil {
		e.t.Fatalf("add account %s: %v", login, err)
	}
	tok, err := e.j.CreateToken(ctx, setupActor, login, "test", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// req describes a request: auth by bearer token, or by session cookie
// (with csrf sent in the header when set).
type req struct {
	method, path string
	body         any // string, []byte or a value marshalled to JSON
	token        string
	cookie       string
	csrf         string
	contentType  string
	remote       string
}

func (e *env) do(q req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	switch b := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(js)
	}
	r := httptest.NewRequest(q.method, q.path, body)
	if q.body != nil {
		ct := q.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: q.cookie})
	}
	if q.csrf != "" {
		r.Header.Set(CSRFHeader, q.csrf)
	}
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// ok does q and fails the test unless the status is want; it decodes the
// JSON answer into out when out is not nil.
func (e *env) ok(q req, want int, out any) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.do(q)
	if w.Code != want {
		e.t.Fatalf("%s %s = %d %s, want %d", q.method, q.path, w.Code, w.Body, want)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", q.method, q.path, w.Body, err)
		}
	}
	return w
}

// session logs in and returns the cookie value and the CSRF token.
func (e *env) session(login, password string) (cookie, csrf string) {
	e.t.Helper()
	var lr loginResponse
	w := e.ok(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": login, "password": password}}, 200, &lr)
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				e.t.Errorf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict, Path=/", c)
			}
			cookie = c.Value
		}
	}
	if cookie == "" || lr.CSRFToken == "" {
		e.t.Fatalf("login %s: cookie %q csrf %q, want both", login, cookie, lr.CSRFToken)
	}
	return cookie, lr.CSRFToken
}

// appeal creates an appeal in the journal directly, assigned to assignee.
func (e *env) appeal(by journal.Actor, assignee, queue string) *journal.Appeal {
	e.t.Helper()
	a := &journal.Appeal{Channel: journal.ChannelPhone, Kind: journal.KindConsultation, Topic: e.topic,
		Text: "Как получить полис", Assignee: assignee, Queue: queue}
	if err := e.j.CreateAppeal(context.Background(), by, a); err != nil {
		e.t.Fatal(err)
	}
	return a
}
