package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// TestAppealLifeCycle is the end-to-end flow of issue 3: an administrator
// creates an operator, the operator logs in, finds the caller in the
// registry, registers an appeal and closes it; the administrator returns
// it, the operator closes it again, the administrator approves; the
// history by phone and by person shows it closed, and the audit log has
// the reads and changes.
func TestAppealLifeCycle(t *testing.T) {
	e := newEnv(t)
	e.account("boss", journal.RoleAdmin)
	adm, admCSRF := e.session("boss", testPassword)

	var created accountView
	w := e.ok(req{method: "POST", path: "/api/v1/accounts", cookie: adm, csrf: admCSRF, body: map[string]any{
		"login": "ivanova", "display_name": "Иванова Ольга", "roles": []string{"operator_l1"}, "extension": "101",
		"queues": []string{"hotline"}, "password": "operator password 1", "sip_secret": "sip secret 1", "sip_realm": "obzvon",
	}}, 201, &created)
	if created.Login != "ivanova" || !created.HasPassword || !created.HasSIP || strings.Contains(w.Body.String(), "hash") || strings.Contains(w.Body.String(), "ha1") {
		t.Fatalf("created account = %s, want ivanova with password and SIP, no hashes", w.Body)
	}
	op, opCSRF := e.session("ivanova", "operator password 1")

	// The caller is found in the registry by the start of the surname.
	var persons []journal.Person
	e.ok(req{method: "GET", path: "/api/v1/registry/persons?surname=%D0%B8%D0%B2%D0%B0%D0%BD%D1%8C%D1%88", cookie: op}, 200, &persons)
	if len(persons) != 1 || persons[0].ENP != testENP {
		t.Fatalf("registry search = %+v, want the one person %s", persons, testENP)
	}
	var person journal.Person
	e.ok(req{method: "GET", path: "/api/v1/registry/persons/" + testENP, cookie: op}, 200, &person)

	// The call the appeal came with.
	call := &journal.CallRecord{Direction: "inbound", Route: "hotline", From: testPhone, Arrived: time.Now()}
	if err := e.j.PutCall(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	var a journal.Appeal
	e.ok(req{method: "POST", path: "/api/v1/appeals", cookie: op, csrf: opCSRF, body: map[string]any{
		"channel": "phone", "phone": "8 916 123-45-67", "kind": "Консультация", "topic": e.topic, "queue": "hotline",
		"text": "Как прикрепиться к поликлинике", "call_id": call.ID,
		"person": map[string]string{"enp": person.ENP, "surname": person.Surname, "name": person.Name, "patronymic": person.Patronymic, "birth": person.Birth},
	}}, 201, &a)
	if a.Status != journal.StatusInWork || a.Assignee != "ivanova" || a.Phone != testPhone || !slices.Equal(a.Calls, []string{call.ID}) {
		t.Fatalf("created appeal = %+v, want in_work, assigned to ivanova, phone %s, call %s", a, testPhone, call.ID)
	}
	move := func(cookie, csrf, m string, body any, want int) journal.Appeal {
		t.Helper()
		var out journal.Appeal
		var o any = &out
		if want != 200 {
			o = nil
		}
		e.ok(req{method: "POST", path: "/api/v1/appeals/" + a.Number + "/" + m, cookie: cookie, csrf: csrf, body: body}, want, o)
		return out
	}
	if got := move(op, opCSRF, "close", map[string]string{"resolution": "explained", "comment": "Разъяснён порядок"}, 200); got.Status != journal.StatusUnderReview {
		t.Fatalf("after close: %s, want under_review", got.Status)
	}
	move(op, opCSRF, "approve", nil, 403)
	move(adm, admCSRF, "return", map[string]string{}, 409) // a comment is required
	if got := move(adm, admCSRF, "return", map[string]string{"comment": "Укажите адрес поликлиники"}, 200); got.Status != journal.StatusInWork {
		t.Fatalf("after return: %s, want in_work", got.Status)
	}
	move(op, opCSRF, "close", map[string]string{"resolution": "resolved", "comment": "Адрес сообщён"}, 200)
	got := move(adm, admCSRF, "approve", nil, 200)
	if got.Status != journal.StatusClosed || got.ClosedAt.IsZero() {
		t.Fatalf("after approve: %s closed at %v, want closed", got.Status, got.ClosedAt)
	}
	var steps []string
	for _, c := range got.History {
		steps = append(steps, c.What+":"+c.Move.String()+":"+c.To.String())
	}
	want := []string{"create::in_work", "call::in_work", ":close:under_review", ":return:in_work", ":close:under_review", ":approve:closed"}
	if !slices.Equal(steps, want) {
		t.Errorf("history = %v, want %v", steps, want)
	}
	// A closed appeal is not edited.
	e.ok(req{method: "PATCH", path: "/api/v1/appeals/" + a.ID, cookie: op, csrf: opCSRF, body: map[string]string{"text": "x"}}, 409, nil)

	for _, q := range []string{"phone=%2B79161234567", "enp=" + testENP} {
		var hist []journal.AppealRef
		e.ok(req{method: "GET", path: "/api/v1/history?" + q, cookie: op}, 200, &hist)
		if len(hist) != 1 || hist[0].Number != a.Number || hist[0].Status != journal.StatusClosed {
			t.Errorf("history?%s = %+v, want %s closed", q, hist, a.Number)
		}
	}
	var list []journal.AppealRef
	e.ok(req{method: "GET", path: "/api/v1/appeals?view=mine&status=closed", cookie: op}, 200, &list)
	if len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("my closed appeals = %+v, want %s", list, a.Number)
	}

	// The audit log, queried by person and by account.
	var byPerson []journal.AuditEntry
	e.ok(req{method: "GET", path: "/api/v1/audit?person=" + testENP, cookie: adm}, 200, &byPerson)
	ops := map[string]int{}
	for _, en := range byPerson {
		ops[en.Account+" "+en.Op+" "+strings.SplitN(en.Subject, ":", 2)[0]]++
	}
	for _, k := range []string{"ivanova read person", "ivanova create appeal", "ivanova move appeal", "boss move appeal", "ivanova read appeal"} {
		if ops[k] == 0 {
			t.Errorf("audit by person lacks %q; have %v", k, ops)
		}
	}
	var byAccount []journal.AuditEntry
	e.ok(req{method: "GET", path: "/api/v1/audit?account=ivanova", cookie: adm}, 200, &byAccount)
	if len(byAccount) == 0 || !slices.ContainsFunc(byAccount, func(en journal.AuditEntry) bool { return en.Op == "login" }) {
		t.Errorf("audit by account ivanova = %d entries, want her login among them", len(byAccount))
	}
	e.ok(req{method: "GET", path: "/api/v1/audit?person=1&account=x", cookie: adm}, 422, nil)

	// Personal data never reached the log at info level.
	logs := e.logs.String()
	if !strings.Contains(logs, "appeal moved") {
		t.Fatalf("logs lack the appeal events:\n%s", logs)
	}
	for _, pd := range []string{testSurname, "Мария", testENP, "9161234567", "1980"} {
		if strings.Contains(logs, pd) {
			t.Errorf("logs carry personal data %q:\n%s", pd, logs)
		}
	}
}

// TestAppealVisibilityAndForwarding checks who sees which appeal, and the
// forwarding, transfer and deadline-extension moves with their errors.
func TestAppealVisibilityAndForwarding(t *testing.T) {
	e := newEnv(t)
	admTok := e.account("boss", journal.RoleAdmin)
	l1 := e.addAccount(journal.NewAccount{Login: "a1", Roles: []journal.Role{journal.RoleOperatorL1}, Queues: []string{"hotline"}})
	l2 := e.addAccount(journal.NewAccount{Login: "b2", Roles: []journal.Role{journal.RoleOperatorL2}, Extension: "202"})
	rep := e.account("r3", journal.RoleRepL3)
	staff := e.account("camp", journal.RoleCampaignStaff)
	queued := e.appeal(journal.Actor{Login: "boss", Role: journal.RoleAdmin}, "boss", "hotline")
	get := func(tok, ref string) int {
		return e.do(req{method: "GET", path: "/api/v1/appeals/" + ref, token: tok}).Code
	}
	for _, tc := range []struct {
		who, tok string
		want     int
	}{{"l1 of the queue", l1, 200}, {"l2 not assigned", l2, 403}, {"rep not assigned", rep, 403}, {"campaign staff", staff, 403}, {"admin", admTok, 200}} {
		if got := get(tc.tok, queued.Number); got != tc.want {
			t.Errorf("GET queued appeal as %s = %d, want %d", tc.who, got, tc.want)
		}
	}
	var list []journal.AppealRef
	e.ok(req{method: "GET", path: "/api/v1/appeals?view=queue", token: l1}, 200, &list)
	if len(list) != 1 || list[0].ID != queued.ID {
		t.Errorf("l1 queue view = %+v, want the queued appeal", list)
	}
	e.ok(req{method: "GET", path: "/api/v1/appeals?view=all", token: l2}, 200, &list)
	if len(list) != 0 {
		t.Errorf("l2 sees %d appeals, want none", len(list))
	}
	// The queue's operator sees it but may not close it: it is not hers.
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + queued.ID + "/close", token: l1, body: map[string]string{"resolution": "explained", "comment": "x"}}, 409, nil)

	// Transfer to b2; an unknown target is named.
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + queued.ID + "/transfer", token: admTok, body: map[string]string{"to": "nobody"}}, 422, nil)
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + queued.ID + "/transfer", token: admTok, body: map[string]string{"to": "camp"}}, 422, nil)
	var a journal.Appeal
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + queued.ID + "/transfer", token: admTok, body: map[string]string{"to": "b2"}}, 200, &a)
	if a.Assignee != "b2" || get(l2, queued.ID) != 200 {
		t.Fatalf("after transfer: assignee %q, b2 GET %d; want b2 and 200", a.Assignee, get(l2, queued.ID))
	}

	// a1 registers an appeal and forwards it with notice to extension 202.
	e.ok(req{method: "POST", path: "/api/v1/appeals", token: l1, body: map[string]any{"channel": "phone", "kind": "consultation", "topic": e.topic, "text": "Вопрос"}}, 201, &a)
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + a.ID + "/close", token: l1, body: map[string]string{"resolution": "forwarded", "comment": "Нужна консультация 2-го уровня"}}, 409, nil)
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + a.ID + "/close", token: l1, body: map[string]string{"resolution": "forwarded", "comment": "Нужна консультация 2-го уровня", "to": "202"}}, 200, &a)
	if a.Status != journal.StatusDeferred || a.Assignee != "b2" {
		t.Fatalf("after forwarding: %s for %s, want deferred for b2", a.Status, a.Assignee)
	}
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + a.ID + "/resume", token: l1}, 409, nil) // hers to see (she wrote it), not to work
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + a.ID + "/resume", token: l2}, 200, &a)
	if a.Status != journal.StatusInWork {
		t.Fatalf("after resume: %s, want in_work", a.Status)
	}
	// Deadline extension: requested, then approved by the administrator.
	fwd := a.ID
	var b journal.Appeal
	e.ok(req{method: "POST", path: "/api/v1/appeals", token: l2, body: map[string]any{"channel": "written", "kind": "complaint", "topic": mustTopic(t, e, journal.KindComplaint), "text": "Жалоба"}}, 201, &b)
	due := b.Due
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + b.ID + "/close", token: l2, body: map[string]string{"resolution": "extended", "comment": "Запрошены документы", "new_due": "2020-01-01"}}, 409, nil)
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + b.ID + "/close", token: l2, body: map[string]string{"resolution": "extended", "comment": "x", "new_due": "1 января"}}, 422, nil)
	newDue := due.AddDate(0, 0, 30).Format(time.DateOnly)
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + b.ID + "/close", token: l2, body: map[string]string{"resolution": "extended", "comment": "Запрошены документы", "new_due": newDue}}, 200, &b)
	if b.Status != journal.StatusUnderReview || b.PendingDue.IsZero() {
		t.Fatalf("after extension request: %s pending %v", b.Status, b.PendingDue)
	}
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + b.ID + "/approve", token: admTok}, 200, &b)
	if b.Status != journal.StatusInWork || b.Due.Local().Format(time.DateOnly) != newDue {
		t.Errorf("after approving the extension: %s due %v, want in_work due %s", b.Status, b.Due, newDue)
	}
	// Link the earlier appeal by number, then a later one is refused.
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + b.ID + "/links", token: l2, body: map[string]any{"appeals": []string{queued.Number}}}, 200, &b)
	if !slices.Equal(b.Links, []string{queued.ID}) {
		t.Errorf("links = %v, want [%s]", b.Links, queued.ID)
	}
	e.ok(req{method: "POST", path: "/api/v1/appeals/" + queued.ID + "/links", token: admTok, body: map[string]any{"appeals": []string{fwd}}}, 422, nil)
}

func mustTopic(t *testing.T, e *env, k journal.Kind) string {
	t.Helper()
	var ts []journal.Topic
	e.ok(req{method: "GET", path: "/api/v1/catalog/topics?kind=" + k.String(), token: e.account("cat"+k.String(), journal.RoleOperatorL2)}, 200, &ts)
	if len(ts) == 0 {
		t.Fatalf("no topics of kind %s", k)
	}
	return ts[0].ID
}

func TestBadRequestsNameTheField(t *testing.T) {
	e := newEnv(t)
	tok := e.account("op", journal.RoleOperatorL1)
	adm := e.account("boss", journal.RoleAdmin)
	for _, tc := range []struct {
		name, method, path, tok, body string
		code                          int
		msg                           string
	}{
		{"wrong type", "POST", "/api/v1/appeals", tok, `{"text": 5}`, 400, "text: want a string"},
		{"nested wrong type", "POST", "/api/v1/appeals", tok, `{"person": {"birth": 1980}}`, 400, "person.birth: want a string"},
		{"unknown field", "POST", "/api/v1/appeals", tok, `{"txet": "x"}`, 400, "txet: unknown field"},
		{"unknown kind", "POST", "/api/v1/appeals", tok, `{"kind": "moan"}`, 422, `kind: unknown appeal kind "moan"`},
		{"unknown channel", "POST", "/api/v1/appeals", tok, `{"channel": "fax"}`, 422, `channel: unknown channel "fax"`},
		{"malformed", "POST", "/api/v1/appeals", tok, `{"text": "x"`, 400, "body: JSON ends too early"},
		{"not an object", "POST", "/api/v1/appeals", tok, `[1]`, 400, "body: want a JSON object"},
		{"trailing data", "POST", "/api/v1/appeals", tok, `{} {}`, 400, "body: unexpected data"},
		{"empty body", "POST", "/api/v1/appeals", tok, ``, 400, "body: empty"},
		{"empty text", "POST", "/api/v1/appeals", tok, `{"channel":"phone","kind":"consultation","topic":"x","text":" "}`, 422, "text: is empty"},
		{"bad phone", "POST", "/api/v1/appeals", tok, `{"channel":"phone","kind":"consultation","topic":"x","text":"t","phone":"12"}`, 422, "phone:"},
		{"bad enp", "POST", "/api/v1/appeals", tok, `{"channel":"phone","kind":"consultation","topic":"x","text":"t","person":{"enp":"12"}}`, 422, "person.enp:"},
		{"operator sets due", "POST", "/api/v1/appeals", tok, `{"due":"2030-01-01T00:00:00Z"}`, 403, "due: only an administrator"},
		{"bad resolution", "POST", "/api/v1/appeals/x/close", tok, `{"resolution":"done"}`, 422, `resolution: unknown resolution "done"`},
		{"unknown role", "POST", "/api/v1/accounts", adm, `{"login":"x1","display_name":"X","roles":["operator_l1","boss"]}`, 422, `roles[1]: unknown role "boss"`},
		{"taken login", "POST", "/api/v1/accounts", adm, `{"login":"op","display_name":"X","roles":["operator_l1"]}`, 409, "already exists"},
		{"bad view", "GET", "/api/v1/appeals?view=everything", tok, ``, 400, `view: "everything"`},
		{"bad limit", "GET", "/api/v1/appeals?limit=0", tok, ``, 400, "limit:"},
		{"bad status", "GET", "/api/v1/appeals?status=open", tok, ``, 422, `status: unknown status "open"`},
		{"bad enp in path", "GET", "/api/v1/registry/persons/123", tok, ``, 400, "enp: not 16 digits"},
		{"unknown person", "GET", "/api/v1/registry/persons/2611111111111111", tok, ``, 404, "not found"},
		{"empty registry query", "GET", "/api/v1/registry/persons", tok, ``, 422, "fill at least one"},
		{"unknown appeal", "GET", "/api/v1/appeals/2026-999999", tok, ``, 404, "not found"},
		{"empty catalog query", "GET", "/api/v1/catalog/search", tok, ``, 400, "q: give keywords"},
		{"bad audit time", "GET", "/api/v1/audit?from=yesterday", adm, ``, 400, `from: "yesterday"`},
		{"wrong content type", "POST", "/api/v1/appeals", tok, `text=x`, 415, "application/json"},
		{"no history key", "GET", "/api/v1/history", tok, ``, 422, "give a phone or a person"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := req{method: tc.method, path: tc.path, token: tc.tok}
			if tc.body != "" || tc.method == "POST" {
				q.body = tc.body
			}
			if tc.name == "wrong content type" {
				q.contentType = "application/x-www-form-urlencoded"
			}
			w := e.do(q)
			var got struct{ Error string }
			_ = json.Unmarshal(w.Body.Bytes(), &got)
			if w.Code != tc.code || !strings.Contains(got.Error, tc.msg) {
				t.Errorf("%s %s %s = %d %q, want %d containing %q", tc.method, tc.path, tc.body, w.Code, got.Error, tc.code, tc.msg)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
		})
	}
}

func TestAttachmentRoundTrip(t *testing.T) {
	e := newEnv(t)
	tok := e.account("op2", journal.RoleOperatorL2)
	other := e.account("op3", journal.RoleOperatorL2)
	a := e.appeal(journal.Actor{Login: "op2", Role: journal.RoleOperatorL2}, "", "")
	content := bytes.Repeat([]byte("%PDF-1.4 заявление\n"), 1000)
	upload := func(fields map[string]string, file []byte) *httptest.ResponseRecorder {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range fields {
			_ = mw.WriteField(k, v)
		}
		if file != nil {
			fw, _ := mw.CreateFormFile("file", "Заявление №5.pdf")
			_, _ = fw.Write(file)
		}
		_ = mw.Close()
		return e.do(req{method: "POST", path: "/api/v1/appeals/" + a.ID + "/attachments", token: tok, body: buf.Bytes(), contentType: mw.FormDataContentType()})
	}
	if w := upload(map[string]string{"doc_number": "5"}, content); w.Code != 422 || !strings.Contains(w.Body.String(), "registered") {
		t.Errorf("upload without a registration date = %d %s, want 422 naming registered", w.Code, w.Body)
	}
	if w := upload(map[string]string{"doc_number": "5", "registered": "2026-11-20"}, nil); w.Code != 422 || !strings.Contains(w.Body.String(), "file") {
		t.Errorf("upload without a file = %d %s, want 422 naming file", w.Code, w.Body)
	}
	w := upload(map[string]string{"doc_number": "5", "registered": "2026-11-20"}, content)
	if w.Code != 201 {
		t.Fatalf("upload = %d %s", w.Code, w.Body)
	}
	var got journal.Appeal
	_ = json.Unmarshal(w.Body.Bytes(), &got)
	if len(got.Attachments) != 1 || got.Attachments[0].Size != int64(len(content)) || got.Attachments[0].DocNumber != "5" {
		t.Fatalf("attachments = %+v", got.Attachments)
	}
	path := "/api/v1/appeals/" + a.Number + "/attachments/" + got.Attachments[0].ID
	dl := e.ok(req{method: "GET", path: path, token: tok}, 200, nil)
	if !bytes.Equal(dl.Body.Bytes(), content) {
		t.Errorf("download: %d bytes differ from the %d uploaded", dl.Body.Len(), len(content))
	}
	if cd := dl.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=utf-8''") {
		t.Errorf("Content-Disposition = %q, want an attachment with an RFC 2231 file name", cd)
	}
	if dl.Header().Get("Content-Type") != "application/octet-stream" || dl.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download headers = %v, want octet-stream with nosniff", dl.Header())
	}
	e.ok(req{method: "GET", path: path, token: other}, 403, nil)
}

// TestBackupStreamsARestorableJournal backs up over the API and restores
// the stream into a fresh directory.
func TestBackupStreamsARestorableJournal(t *testing.T) {
	e := newEnv(t)
	tok := e.account("boss", journal.RoleAdmin)
	a := e.appeal(journal.Actor{Login: "boss", Role: journal.RoleAdmin}, "", "")
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	r, _ := http.NewRequest("GET", srv.URL+"/api/v1/journal/backup", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	res, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("backup = %d, %v", res.StatusCode, err)
	}
	if got := res.Trailer.Get(BackupTrailer); got != "ok" {
		t.Fatalf("trailer %s = %q, want ok", BackupTrailer, got)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if err := journal.Restore(context.Background(), bytes.NewReader(body), dir, journal.DefaultOptions(dir)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	j2, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	got, err := j2.Appeal(context.Background(), setupActor, a.Number)
	if err != nil || got.ID != a.ID {
		t.Fatalf("appeal %s in the restored journal: %v, %v", a.Number, got, err)
	}
}

// TestAdminSocketHandler: the socket's handler acts as an administrator
// without credentials and keeps serving /api/v1/calls.
func TestAdminSocketHandler(t *testing.T) {
	e := newEnv(t)
	h := NewHandler(Options{Health: fakeHealth{}, Admin: true, Calls: e.j, Journal: e.j})
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := e.j.PutCall(context.Background(), &journal.CallRecord{Direction: "inbound", Arrived: base}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/api/v1/me", 200, `"via":"socket"`},
		{"/api/v1/calls?from=2026-11-27T00:00:00Z&to=2026-11-28T00:00:00Z", 200, `"direction":"inbound"`},
		{"/api/v1/calls?from=today", 400, "RFC 3339"},
		{"/api/v1/accounts", 200, "["},
		{"/api/v1/journal/backup", 200, "OBZVON-JOURNAL-BACKUP"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("socket GET %s = %d %.200s, want %d containing %q", tc.path, w.Code, w.Body, tc.code, tc.body)
		}
	}
}

func TestEditAppealAndAttachCall(t *testing.T) {
	e := newEnv(t)
	tok := e.account("op2", journal.RoleOperatorL2)
	adm := e.account("boss", journal.RoleAdmin)
	a := e.appeal(journal.Actor{Login: "op2", Role: journal.RoleOperatorL2}, "", "")
	path := "/api/v1/appeals/" + a.Number
	var got journal.Appeal
	e.ok(req{method: "PATCH", path: path, token: tok, body: map[string]any{
		"text": "Как получить полис ОМС новорождённому", "channel": "email",
		"person": map[string]string{"surname": testSurname, "birth": "1980-05-17"},
	}}, 200, &got)
	last := got.History[len(got.History)-1]
	if got.Text != "Как получить полис ОМС новорождённому" || got.Channel != journal.ChannelEmail || last.What != "edit" ||
		!slices.Equal(last.Fields, []string{"channel", "person", "text"}) {
		t.Errorf("after edit: text %q channel %s last change %+v", got.Text, got.Channel, last)
	}
	// Operators may not move the due date; administrators may.
	e.ok(req{method: "PATCH", path: path, token: tok, body: `{"due":"2030-01-01T00:00:00Z"}`}, 403, nil)
	e.ok(req{method: "PATCH", path: path, token: adm, body: `{"due":"2030-01-01T00:00:00Z"}`}, 200, &got)
	if !got.Due.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("due after the administrator's edit = %v", got.Due)
	}
	// A topic of another kind is refused by the catalog.
	e.ok(req{method: "PATCH", path: path, token: tok, body: map[string]string{"kind": "complaint"}}, 422, nil)

	call := &journal.CallRecord{Direction: "inbound", Arrived: time.Now()}
	if err := e.j.PutCall(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	e.ok(req{method: "POST", path: path + "/calls", token: tok, body: map[string]string{"call_id": "nosuch"}}, 422, nil)
	e.ok(req{method: "POST", path: path + "/calls", token: tok, body: map[string]string{"call_id": call.ID}}, 200, &got)
	if !slices.Equal(got.Calls, []string{call.ID}) {
		t.Errorf("calls = %v, want [%s]", got.Calls, call.ID)
	}
	// The history by person (full name and birth date) finds it.
	var hist []journal.AppealRef
	e.ok(req{method: "GET", path: "/api/v1/history?surname=" + url.QueryEscape(testSurname) + "&birth=1980-05-17", token: tok}, 200, &hist)
	if len(hist) != 1 || hist[0].ID != a.ID {
		t.Errorf("history by name and birth = %+v, want %s", hist, a.Number)
	}
}
