package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
)

// Pages: no session → login (saying when it expired), the role's home,
// the 403 page for a page of another role or another operator's appeal,
// the CSP on every page, no open redirect after login.
func TestDesktopPages(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	e.account("op2", journal.RoleOperatorL1)
	e.account("adm", journal.RoleAdmin)
	c1, _ := e.session("op1", testPassword)
	cAdm, _ := e.session("adm", testPassword)
	mine := e.appeal(journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}, "op1", "")
	other := e.appeal(journal.Actor{Login: "op2", Role: journal.RoleOperatorL1}, "op2", "")

	tests := []struct {
		name, path, cookie string
		accept             string
		code               int
		location, body     string
	}{
		{"no session", "/work", "", "", 303, "/login?next=%2Fwork", ""},
		{"root without session", "/", "", "", 303, "/login", ""},
		{"dead session", "/appeals/" + mine.ID, "gone", "", 303, "/login?expired=1&next=%2Fappeals%2F" + mine.ID, ""},
		{"operator's home", "/", c1, "", 303, "/cabinet", ""},
		{"administrator's home", "/", cAdm, "", 303, "/review", ""},
		{"cabinet", "/cabinet", c1, "", 200, "", "Личный кабинет"},
		{"own appeal", "/appeals/" + mine.ID, c1, "", 200, "", mine.Number},
		{"own appeal by number", "/appeals/" + mine.Number, c1, "", 200, "", mine.ID},
		{"another's appeal", "/appeals/" + other.ID, c1, "", 403, "", "Доступ запрещён"},
		{"another's appeal by number", "/appeals/" + other.Number, c1, "", 403, "", "назначено другому сотруднику"},
		{"another's appeal for a script", "/appeals/" + other.ID, c1, "none", 403, "", `"error":"forbidden: /appeals/`},
		{"no such appeal", "/appeals/2026-999999", c1, "", 404, "", "Обращения с таким номером нет"},
		{"page of another role", "/review", c1, "", 403, "", "Проверка обращений"},
		{"administrator's page", "/review", cAdm, "", 200, "", "Проверка обращений"},
		{"login page", "/login", "", "", 200, "", "Вход в контакт-центр"},
		{"login page after expiry", "/login?expired=1", "", "", 200, "", "Сеанс завершён"},
		{"login page with a session", "/login?next=%2Fwork", c1, "", 303, "/work", ""},
		{"no open redirect", "/login?next=%2F%2Fevil.example%2F", c1, "", 303, "/cabinet", ""},
		{"unknown page for a browser", "/nope", c1, "text/html", 404, "", "Страница не найдена"},
		{"unknown API path stays JSON", "/api/v1/nope", c1, "text/html", 404, "", `"error"`},
		{"asset", "/assets/js/lib.js", "", "", 200, "", "export async function api"},
		{"no such asset", "/assets/js/nope.js", "", "", 404, "", `"error":"no such asset`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.path, nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: SessionCookie, Value: tc.cookie})
			}
			switch tc.accept {
			case "":
				r.Header.Set("Accept", "text/html,application/xhtml+xml") // a browser's navigation
			case "none":
			default:
				r.Header.Set("Accept", tc.accept)
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code != tc.code {
				t.Fatalf("GET %s = %d, want %d; body %.300s", tc.path, w.Code, tc.code, w.Body)
			}
			if tc.location != "" && w.Header().Get("Location") != tc.location {
				t.Errorf("GET %s: Location %q, want %q", tc.path, w.Header().Get("Location"), tc.location)
			}
			if !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("GET %s: body lacks %q: %.500s", tc.path, tc.body, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
				csp := w.Header().Get("Content-Security-Policy")
				if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
					t.Errorf("GET %s: CSP %q, want scripts from self only", tc.path, csp)
				}
			}
		})
	}
	// A dead session's cookie is cleared on the way to the login page.
	r := httptest.NewRequest("GET", "/cabinet", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "gone"})
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if sc := w.Header().Get("Set-Cookie"); !strings.Contains(sc, SessionCookie+"=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("dead session: Set-Cookie %q, want the cookie cleared", sc)
	}
}

// The page carries the viewer's CSRF token and rights, and the features
// the server has (none of the ACD's yet; a route added shows up).
func TestDesktopPageData(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	c, csrf := e.session("op1", testPassword)
	get := func() string {
		r := httptest.NewRequest("GET", "/cabinet", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: c})
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w.Body.String()
	}
	body := get()
	if !strings.Contains(body, `<meta name="csrf-token" content="`+csrf+`">`) {
		t.Errorf("page lacks the session's CSRF token")
	}
	if !strings.Contains(body, `"create:appeal"`) || strings.Contains(body, `"approve:appeal"`) {
		t.Errorf("page data rights wrong for a level-1 operator")
	}
	if !strings.Contains(body, `"agent":false`) {
		t.Errorf("page data features: want agent false without the ACD")
	}
	e.h.(*server).mux.HandleFunc("GET /api/v1/agent/me", func(http.ResponseWriter, *http.Request) {})
	if body := get(); !strings.Contains(body, `"agent":true`) {
		t.Errorf("page data features: want agent true once the route exists")
	}
}

// sseClient reads a text/event-stream.
type sseClient struct {
	t    *testing.T
	res  *http.Response
	r    *bufio.Reader
	evts chan sseEvent
}

type sseEvent struct {
	typ, data string
}

func openEvents(t *testing.T, base, cookie string) *sseClient {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/events", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("GET /api/v1/events = %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	c := &sseClient{t: t, res: res, r: bufio.NewReader(res.Body), evts: make(chan sseEvent, 100)}
	go func() {
		defer close(c.evts)
		var ev sseEvent
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.typ != "":
				c.evts <- ev
				ev = sseEvent{}
			}
		}
	}()
	t.Cleanup(func() { res.Body.Close() })
	return c
}

// next returns the next event (not pings), failing after a generous
// timeout; ok is false when the stream ended.
func (c *sseClient) next() (sseEvent, bool) {
	c.t.Helper()
	select {
	case ev, ok := <-c.evts:
		return ev, ok
	case <-time.After(20 * time.Second):
		c.t.Fatal("no event in 20 s")
		return sseEvent{}, false
	}
}

// The stream: hello first; events meant for the login or its roles, not
// others'; appeal changes made through the API reach the assignee and
// the administrators; a logged-out session's stream ends with
// session.ended.
func TestEventsStream(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	e.account("op2", journal.RoleOperatorL2)
	e.account("adm", journal.RoleAdmin)
	s := e.h.(*server)
	s.eventPing = 20 * time.Millisecond
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	c1, csrf1 := e.session("op1", testPassword)
	c2, _ := e.session("op2", testPassword)
	cAdm, _ := e.session("adm", testPassword)
	ev1, ev2, evAdm := openEvents(t, srv.URL, c1), openEvents(t, srv.URL, c2), openEvents(t, srv.URL, cAdm)
	for name, c := range map[string]*sseClient{"op1": ev1, "op2": ev2, "adm": evAdm} {
		if ev, _ := c.next(); ev.typ != "hello" || !strings.Contains(ev.data, `"`+name+`"`) {
			t.Fatalf("%s: first event %+v, want hello naming the login", name, ev)
		}
	}

	s.hub.Publish(Event{Type: "agent.state", To: "op2", Data: map[string]string{"login": "op2", "state": "ready"}})
	s.hub.Publish(Event{Type: "queue.stats", Roles: []journal.Role{journal.RoleAdmin, journal.RoleSupervisor}, Data: map[string]any{"queue": "oms", "waiting": 3}})
	s.hub.Publish(Event{Type: "call.offered", To: "op1", Data: map[string]string{"caller": "+79161234567"}})
	if ev, _ := ev2.next(); ev.typ != "agent.state" {
		t.Errorf("op2 got %+v, want its agent.state", ev)
	}
	if ev, _ := evAdm.next(); ev.typ != "queue.stats" || !strings.Contains(ev.data, `"waiting":3`) {
		t.Errorf("adm got %+v, want queue.stats", ev)
	}
	if ev, _ := ev1.next(); ev.typ != "call.offered" {
		t.Errorf("op1 got %+v, want its call.offered (not op2's state, not the admins' stats)", ev)
	}

	// A card saved through the API: the assignee and the administrator
	// hear of it, without personal data.
	w := e.do(req{method: "POST", path: "/api/v1/appeals", cookie: c1, csrf: csrf1, body: map[string]any{
		"channel": "phone", "kind": "consultation", "topic": e.topic, "text": "Вопрос", "assignee": "op2",
		"person": map[string]string{"surname": "Секретова", "birth": "1970-01-01"}}})
	if w.Code != 201 {
		t.Fatalf("create appeal = %d %s", w.Code, w.Body)
	}
	var a journal.Appeal
	_ = json.Unmarshal(w.Body.Bytes(), &a)
	for name, c := range map[string]*sseClient{"op1 (author)": ev1, "op2 (assignee)": ev2, "adm": evAdm} {
		ev, _ := c.next()
		if ev.typ != "appeal.changed" || !strings.Contains(ev.data, a.ID) || !strings.Contains(ev.data, `"in_work"`) {
			t.Errorf("%s got %+v, want appeal.changed of %s", name, ev, a.ID)
		}
		if strings.Contains(ev.data, "Секретова") || strings.Contains(ev.data, "1970") {
			t.Errorf("%s: event carries personal data: %s", name, ev.data)
		}
	}

	// Logout: the next ping finds the session gone and ends the stream.
	e.ok(req{method: "POST", path: "/api/v1/logout", cookie: c1, csrf: csrf1}, 204, nil)
	if ev, _ := ev1.next(); ev.typ != "session.ended" {
		t.Fatalf("after logout op1's stream said %+v, want session.ended", ev)
	}
	if _, ok := ev1.next(); ok {
		t.Fatal("op1's stream still open after session.ended")
	}
	// Without a session there is no stream; a token is not a desktop.
	tok := e.account("bot", journal.RoleAdmin)
	for _, tc := range []struct {
		name, token string
		code        int
	}{{"no session", "", 401}, {"bearer token", tok, 403}} {
		r, _ := http.NewRequest("GET", srv.URL+"/api/v1/events", nil)
		if tc.token != "" {
			r.Header.Set("Authorization", "Bearer "+tc.token)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.code {
			t.Errorf("events with %s = %d, want %d", tc.name, res.StatusCode, tc.code)
		}
	}
	// Close (server shutdown) ends the other streams.
	s.hub.Close()
	for name, c := range map[string]*sseClient{"op2": ev2, "adm": evAdm} {
		for {
			ev, ok := c.next()
			if !ok {
				break
			}
			if ev.typ != "appeal.changed" {
				t.Errorf("%s: unexpected %+v after Close", name, ev)
			}
		}
	}
}

// A stream that stops reading is closed when its buffer fills, without
// slowing Publish; an account gets at most maxStreamsPerLogin streams.
func TestEventsSlowAndTooMany(t *testing.T) {
	h := NewEvents(nil)
	slow, err := h.subscribe("op1", []journal.Role{journal.RoleOperatorL1})
	if err != nil {
		t.Fatal(err)
	}
	fast, _ := h.subscribe("op2", nil)
	for i := range eventBuffer + 1 {
		h.Publish(Event{Type: "x", To: "op1", Data: i})
		if i%2 == 0 {
			h.Publish(Event{Type: "x", To: "op2", Data: i})
			<-fast.ch
		}
	}
	select {
	case <-slow.gone:
	default:
		t.Fatalf("a stream %d events behind is still open", eventBuffer+1)
	}
	select {
	case <-fast.gone:
		t.Fatal("the stream that kept up was closed")
	default:
	}
	if n := h.Streams(); n != 1 {
		t.Errorf("Streams() = %d, want 1 after dropping the slow one", n)
	}
	for i := 1; i < maxStreamsPerLogin; i++ {
		if _, err := h.subscribe("op2", nil); err != nil {
			t.Fatalf("stream %d of op2: %v", i+1, err)
		}
	}
	if _, err := h.subscribe("op2", nil); err == nil {
		t.Fatalf("stream %d of op2 accepted, want refused", maxStreamsPerLogin+1)
	}
	h.Close()
	if _, err := h.subscribe("op3", nil); err == nil {
		t.Fatal("subscribe after Close accepted")
	}
}

// Search by request body (no personal data in URLs): the registry by
// name or phone, the history by phone or person; cookie sessions need the
// CSRF token even for these reads.
func TestSearchByBody(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	c, csrf := e.session("op1", testPassword)
	a := e.appeal(journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}, "op1", "")
	if _, err := e.j.EditAppeal(context.Background(), journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}, a.ID,
		journal.AppealEdit{Phone: ptrTo(testPhone)}); err != nil {
		t.Fatal(err)
	}
	var persons []journal.Person
	e.ok(req{method: "POST", path: "/api/v1/registry/search", cookie: c, csrf: csrf, body: map[string]string{"surname": "иваньш"}}, 200, &persons)
	if len(persons) != 1 || persons[0].ENP != testENP {
		t.Errorf("registry search by surname = %+v, want %s", persons, testENP)
	}
	e.ok(req{method: "POST", path: "/api/v1/registry/search", cookie: c, csrf: csrf, body: map[string]string{"phone": "8 916 123-45-67"}}, 200, &persons)
	if len(persons) != 1 || persons[0].ENP != testENP {
		t.Errorf("registry search by phone = %+v, want %s", persons, testENP)
	}
	e.ok(req{method: "POST", path: "/api/v1/registry/search", cookie: c, csrf: csrf, body: map[string]string{}}, 422, nil)
	e.ok(req{method: "POST", path: "/api/v1/registry/search", cookie: c, body: map[string]string{"surname": "иваньш"}}, 403, nil)
	var refs []journal.AppealRef
	e.ok(req{method: "POST", path: "/api/v1/history/search", cookie: c, csrf: csrf, body: map[string]any{"phone": testPhone}}, 200, &refs)
	if len(refs) != 1 || refs[0].ID != a.ID || refs[0].Due.IsZero() {
		t.Errorf("history by phone = %+v, want %s with its due date", refs, a.ID)
	}
	e.ok(req{method: "POST", path: "/api/v1/history/search", cookie: c, csrf: csrf, body: map[string]any{"person": map[string]string{"enp": "12"}}}, 422, nil)
}

func ptrTo[T any](v T) *T { return &v }

// Recordings: played with range requests by whoever may see the appeal,
// every play audited once per account and call (not once per range),
// downloaded only by administrators and supervisors.
func TestRecordingPlayback(t *testing.T) {
	e := newEnv(t)
	e.account("op1", journal.RoleOperatorL1)
	e.account("op2", journal.RoleOperatorL1)
	e.account("adm", journal.RoleAdmin)
	ctx := context.Background()
	wav := filepath.Join(t.TempDir(), "call.wav")
	content := []byte("RIFF" + strings.Repeat("x", 4000))
	if err := os.WriteFile(wav, content, 0o600); err != nil {
		t.Fatal(err)
	}
	call := &journal.CallRecord{Direction: "inbound", From: testPhone, To: "100", Arrived: e.clock.Now(), Answered: e.clock.Now(),
		Ended: e.clock.Now().Add(42 * time.Second), Recording: wav}
	if err := e.j.PutCall(ctx, call); err != nil {
		t.Fatal(err)
	}
	norec := &journal.CallRecord{Direction: "inbound", From: testPhone, Arrived: e.clock.Now()}
	if err := e.j.PutCall(ctx, norec); err != nil {
		t.Fatal(err)
	}
	op1 := journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}
	a := e.appeal(op1, "op1", "")
	for _, id := range []string{call.ID, norec.ID} {
		if _, err := e.j.AttachCall(ctx, op1, a.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	c1, _ := e.session("op1", testPassword)
	c2, _ := e.session("op2", testPassword)
	cAdm, _ := e.session("adm", testPassword)
	path := "/api/v1/appeals/" + a.ID + "/calls/" + call.ID + "/recording"
	get := func(cookie, p, rng string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", p, nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
		if rng != "" {
			r.Header.Set("Range", rng)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w
	}
	// audits counts login's audit entries of the call. Read audits are
	// committed by the journal's committer after the answer; a write
	// through the same committer (FIFO) first makes them all visible.
	barrier := 0
	audits := func(login string) int {
		t.Helper()
		barrier++
		if err := e.j.PutCall(ctx, &journal.CallRecord{Direction: "inbound", Arrived: e.clock.Now().Add(time.Duration(barrier))}); err != nil {
			t.Fatal(err)
		}
		es, err := e.j.Audit(ctx, setupActor, journal.AuditQuery{Subject: "call:" + call.ID})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range es {
			if x.Account == login {
				n++
			}
		}
		return n
	}

	w := get(c1, path, "bytes=0-99")
	if w.Code != 206 || w.Body.Len() != 100 || w.Header().Get("Content-Range") != fmt.Sprintf("bytes 0-99/%d", len(content)) {
		t.Fatalf("range 0-99 = %d, %d bytes, Content-Range %q", w.Code, w.Body.Len(), w.Header().Get("Content-Range"))
	}
	if ct := w.Header().Get("Content-Type"); ct != "audio/wav" || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "inline") {
		t.Errorf("Content-Type %q, disposition %q; want audio/wav inline", ct, w.Header().Get("Content-Disposition"))
	}
	if w := get(c1, path, "bytes=2000-"); w.Code != 206 || w.Body.String() != string(content[2000:]) {
		t.Errorf("range 2000- = %d %d bytes", w.Code, w.Body.Len())
	}
	if n := audits("op1"); n != 1 {
		t.Errorf("op1's play: %d audit entries, want 1 for the play's range requests", n)
	}
	e.clock.Advance(playAuditEvery + time.Second)
	get(c1, path, "bytes=0-99")
	if n := audits("op1"); n != 2 {
		t.Errorf("a play %s later: %d audit entries, want 2", playAuditEvery, n)
	}

	for _, tc := range []struct {
		name, cookie, path string
		code               int
	}{
		{"another operator's appeal", c2, path, 403},
		{"operator download", c1, path + "?download=1", 403},
		{"call without recording", c1, "/api/v1/appeals/" + a.ID + "/calls/" + norec.ID + "/recording", 404},
		{"call not of the appeal", c1, "/api/v1/appeals/" + a.ID + "/calls/01XYZ/recording", 404},
	} {
		if w := get(tc.cookie, tc.path, ""); w.Code != tc.code {
			t.Errorf("%s: GET %s = %d %s, want %d", tc.name, tc.path, w.Code, w.Body, tc.code)
		}
	}
	w = get(cAdm, path+"?download=1", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") || w.Body.Len() != len(content) {
		t.Errorf("admin download = %d %q %d bytes", w.Code, w.Header().Get("Content-Disposition"), w.Body.Len())
	}
	audits("adm")
	es, _ := e.j.Audit(ctx, setupActor, journal.AuditQuery{Subject: "call:" + call.ID})
	found := false
	for _, x := range es {
		if x.Account == "adm" && x.Op == "download" {
			found = true
		}
	}
	if !found {
		t.Errorf("admin's download not audited: %+v", es)
	}

	var calls []callView
	e.ok(req{method: "GET", path: "/api/v1/appeals/" + url.PathEscape(a.Number) + "/calls", cookie: c1}, 200, &calls)
	if len(calls) != 2 || !calls[0].HasRecording || calls[0].Seconds != 42 || calls[1].HasRecording {
		t.Errorf("appeal calls = %+v, want the recorded 42 s call and the one without", calls)
	}
}

// fakeDesk is a desk whose operators are on the calls it says.
type fakeDesk struct {
	Desk
	calls map[string]string // login → current call id
}

func (f fakeDesk) Agent(login string) dialer.AgentStatus {
	st := dialer.AgentStatus{}
	if id := f.calls[login]; id != "" {
		st.Call = &dialer.CallInfo{CallID: id}
	}
	return st
}

// fakeLinks records the links asked for.
type fakeLinks struct{ got []string }

func (f *fakeLinks) LinkWhenRecorded(_ context.Context, callID, appealID string, who journal.Actor) error {
	f.got = append(f.got, callID+"→"+appealID+" by "+who.Login)
	return nil
}

// A card saved during its call names the call before its record exists:
// accepted for the operator's own current call (linked when recorded),
// refused for any other unknown call.
func TestAppealForCallInProgress(t *testing.T) {
	e := newEnv(t)
	tok := e.account("op1", journal.RoleOperatorL1)
	links := &fakeLinks{}
	e.h = NewHandler(Options{Health: fakeHealth{}, Journal: e.j, Now: e.clock.Now,
		Desk: fakeDesk{calls: map[string]string{"op1": "01CALLUP"}}, CallLinks: links})
	card := func(call string) map[string]any {
		return map[string]any{"channel": "phone", "kind": "consultation", "topic": e.topic, "text": "Вопрос", "call_id": call}
	}
	var a journal.Appeal
	e.ok(req{method: "POST", path: "/api/v1/appeals", token: tok, body: card("01CALLUP")}, 201, &a)
	if len(links.got) != 1 || links.got[0] != "01CALLUP→"+a.ID+" by op1" {
		t.Errorf("links asked %v, want the current call linked to %s", links.got, a.ID)
	}
	if len(a.Calls) != 0 {
		t.Errorf("appeal calls %v before the record exists", a.Calls)
	}
	w := e.do(req{method: "POST", path: "/api/v1/appeals", token: tok, body: card("01SOMEONEELSE")})
	if w.Code != 422 || !strings.Contains(w.Body.String(), "call_id") {
		t.Errorf("another unknown call = %d %s, want 422 naming call_id", w.Code, w.Body)
	}
}
