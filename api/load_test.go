package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// The endpoints the staff CLI uses while the daemon holds the journal:
// registry and catalog loads, SIP secrets and the appeal export.

func TestRegistryLoadReportsCountsAndRowErrors(t *testing.T) {
	e := newEnv(t)
	admin := e.account("boss", journal.RoleAdmin)
	list := "Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон\n" +
		"Орлова;Вера;Ильинична;02.03.1971;2600000000000002;89160000002\n" +
		"Зуев;Олег;;31.02.1961;2600000000000003;\n" + // no such date
		testSurname + ";Мария;Петровна;17.05.1980;" + testENP + ";89161234567\n" + // known: updated (no MO code now)
		"Пашин;Ян;;01.01.1990;12345;\n" // bad policy number
	var got RegistryLoadResult
	e.ok(req{method: "POST", path: "/api/v1/registry/load?name=" + url.QueryEscape("/tmp/список.csv"), body: list, contentType: "text/csv", token: admin}, 200, &got)
	if got.Rows != 2 || got.Inserted != 1 || got.Updated != 1 || got.Rejected != 2 || got.Encoding != "utf-8" {
		t.Errorf("load = %+v, want 2 rows: 1 inserted, 1 updated, 2 rejected, utf-8", got.LoadStats)
	}
	if len(got.Errors) != 2 || got.Errors[0].Line != 3 || got.Errors[0].Column != "Дата рождения" || got.Errors[1].Line != 5 || got.Errors[1].Column != "ЕНП" {
		t.Errorf("row errors = %+v, want line 3 «Дата рождения» and line 5 «ЕНП»", got.Errors)
	}
	p, err := e.j.Person(context.Background(), setupActor, "2600000000000002")
	if err != nil || p.Surname != "Орлова" {
		t.Errorf("Person(2600000000000002) = %+v, %v; want Орлова loaded", p, err)
	}
	// Loading again changes nothing; the answer always has an errors array.
	var again map[string]json.RawMessage
	e.ok(req{method: "POST", path: "/api/v1/registry/load?format=csv", body: strings.Join(strings.Split(list, "\n")[:2], "\n") + "\n", token: admin}, 200, &again)
	if string(again["unchanged"]) != "1" || string(again["errors"]) != "[]" {
		t.Errorf("reload = %v, want 1 unchanged and errors []", again)
	}
	entries, err := e.j.Audit(context.Background(), setupActor, journal.AuditQuery{Account: "boss"})
	if err != nil || len(entries) != 2 || !strings.Contains(entries[0].Subject+entries[0].Detail, "список.csv") {
		t.Errorf("audit of the loads = %+v, %v; want two entries, the first naming список.csv", entries, err)
	}

	for _, tc := range []struct {
		name, path, body string
		code             int
		msg              string
	}{
		{"empty file", "/api/v1/registry/load?name=r.csv", "", 422, "the file is empty"},
		{"broken header", "/api/v1/registry/load?name=r.csv", "a;b\n1;2\n", 422, "bad header"},
		{"not a workbook", "/api/v1/registry/load?name=r.xlsx", "Фамилия;Имя\n", 422, "XLSX"},
		{"unknown format", "/api/v1/registry/load?format=ods", "x", 400, `format: "ods"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(req{method: "POST", path: tc.path, body: tc.body, contentType: "text/csv", token: admin})
			if w.Code != tc.code || !strings.Contains(errorOf(t, w), tc.msg) {
				t.Errorf("POST %s = %d %s, want %d with %q", tc.path, w.Code, w.Body, tc.code, tc.msg)
			}
		})
	}
}

func TestCatalogLoadValidatesLikeADirectory(t *testing.T) {
	e := newEnv(t)
	sup := e.account("sup", journal.RoleSupervisor)
	topics, err := os.ReadFile("../journal/catalog/oms/topics.json")
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := os.ReadFile("../journal/catalog/oms/scripts.json")
	if err != nil {
		t.Fatal(err)
	}
	var got CatalogLoadResult
	e.ok(req{method: "POST", path: "/api/v1/catalog/load", body: CatalogLoadRequest{topics, scripts}, token: sup}, 200, &got)
	if got.Topics != 38 || got.Scripts != 37 {
		t.Errorf("catalog load = %+v, want 38 topics, 37 scripts", got)
	}
	extra := `[{"id":"cons-new","kind":"consultation","title":"Новая тема","keywords":["новинка"]}]`
	e.ok(req{method: "POST", path: "/api/v1/catalog/load", token: sup, body: CatalogLoadRequest{json.RawMessage(extra), json.RawMessage(`[]`)}}, 200, &got)
	hits, err := e.j.SearchCatalog(context.Background(), "новинка", journal.KindUnknown)
	if err != nil || len(hits.Topics) != 1 || hits.Topics[0].ID != "cons-new" {
		t.Errorf("SearchCatalog(новинка) after the load = %+v, %v; want cons-new", hits, err)
	}

	for _, tc := range []struct {
		name string
		body any
		code int
		msg  string
	}{
		{"no topics", `{"scripts":[]}`, 422, "topics: missing"},
		{"no scripts", `{"topics":[]}`, 422, "scripts: missing"},
		{"unknown kind", CatalogLoadRequest{json.RawMessage(`[{"id":"x","kind":"boast","title":"X"}]`), json.RawMessage(`[]`)}, 422, "topics.json"},
		{"unknown field", CatalogLoadRequest{json.RawMessage(`[{"id":"x","kind":"complaint","title":"X","colour":1}]`), json.RawMessage(`[]`)}, 422, "colour"},
		{"script of no topic", CatalogLoadRequest{json.RawMessage(`[]`), json.RawMessage(`[{"id":"s","topic":"nope","title":"S","text":"T"}]`)}, 422, `scripts.json[0]`},
		{"duplicate id", CatalogLoadRequest{json.RawMessage(`[{"id":"x","kind":"complaint","title":"X"},{"id":"x","kind":"complaint","title":"Y"}]`), json.RawMessage(`[]`)}, 422, `"x" twice`},
		{"not JSON", `{"topics":`, 400, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(req{method: "POST", path: "/api/v1/catalog/load", body: tc.body, token: sup})
			if w.Code != tc.code || !strings.Contains(errorOf(t, w), tc.msg) {
				t.Errorf("POST /api/v1/catalog/load (%s) = %d %s, want %d with %q", tc.name, w.Code, w.Body, tc.code, tc.msg)
			}
		})
	}
	if ts, _ := e.j.Topics(context.Background(), journal.KindComplaint); len(ts) == 0 || ts[0].ID == "x" {
		t.Errorf("a refused load stored topic x: %+v", ts)
	}
}

func TestSetSIPSecret(t *testing.T) {
	e := newEnv(t)
	admin := e.account("boss", journal.RoleAdmin)
	e.account("ivanova", journal.RoleOperatorL1)
	e.ok(req{method: "POST", path: "/api/v1/accounts/ivanova/sip-secret", body: `{"secret":"s3cret-s1p","realm":"cc"}`, token: admin}, 204, nil)
	a, err := e.j.Account(context.Background(), "ivanova")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := journal.DigestHA1("ivanova", "cc", "s3cret-s1p"); a.SIPHA1MD5 != want || a.SIPRealm != "cc" {
		t.Errorf("stored HA1 %s realm %q, want H(ivanova:cc:s3cret-s1p) %s", a.SIPHA1MD5, a.SIPRealm, want)
	}
	e.ok(req{method: "POST", path: "/api/v1/accounts/ivanova/sip-secret", body: `{"secret":"other-secret"}`, token: admin}, 204, nil)
	a, _ = e.j.Account(context.Background(), "ivanova")
	if want, _ := journal.DigestHA1("ivanova", "obzvon", "other-secret"); a.SIPHA1MD5 != want {
		t.Errorf("without a realm: stored HA1 %s, want H(ivanova:obzvon:other-secret) %s", a.SIPHA1MD5, want)
	}
	for _, tc := range []struct {
		path, body string
		code       int
		msg        string
	}{
		{"/api/v1/accounts/ivanova/sip-secret", `{"secret":"short"}`, 422, "sip_secret"},
		{"/api/v1/accounts/ghost/sip-secret", `{"secret":"long-enough"}`, 404, "ghost"},
		{"/api/v1/accounts/ivanova/sip-secret", `{"password":"long-enough"}`, 400, "password: unknown field"},
	} {
		w := e.do(req{method: "POST", path: tc.path, body: tc.body, token: admin})
		if w.Code != tc.code || !strings.Contains(errorOf(t, w), tc.msg) {
			t.Errorf("POST %s %s = %d %s, want %d with %q", tc.path, tc.body, w.Code, w.Body, tc.code, tc.msg)
		}
	}
}

func TestExportAppeals(t *testing.T) {
	e := newEnv(t)
	admin := e.account("boss", journal.RoleAdmin)
	who := journal.Actor{Login: "boss", Role: journal.RoleAdmin}
	first := e.appeal(who, "boss", "")
	second := e.appeal(who, "boss", "")
	var all []journal.Appeal
	e.ok(req{method: "GET", path: "/api/v1/journal/appeals", token: admin}, 200, &all)
	if len(all) != 2 || all[0].ID != first.ID || all[1].ID != second.ID || all[0].Text != first.Text || len(all[0].History) != 1 {
		t.Fatalf("export of everything = %+v, want both full appeals, oldest first", all)
	}
	q := url.Values{"from": {second.Created.Format(time.RFC3339Nano)}, "to": {second.Created.Add(time.Hour).Format(time.RFC3339Nano)}}
	var window []journal.Appeal
	e.ok(req{method: "GET", path: "/api/v1/journal/appeals?" + q.Encode(), token: admin}, 200, &window)
	if len(window) != 1 || window[0].Number != second.Number {
		t.Errorf("export from the second appeal's time = %+v, want only %s", window, second.Number)
	}
	var none json.RawMessage
	e.ok(req{method: "GET", path: "/api/v1/journal/appeals?to=2000-01-01T00:00:00Z", token: admin}, 200, &none)
	if string(none) != "[]\n" && string(none) != "[]" {
		t.Errorf("export of an empty period = %s, want []", none)
	}
	for _, tc := range []struct {
		query, msg string
	}{
		{"from=yesterday", `from: "yesterday"`},
		{"from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "not after"},
	} {
		w := e.do(req{method: "GET", path: "/api/v1/journal/appeals?" + tc.query, token: admin})
		if w.Code != 400 || !strings.Contains(errorOf(t, w), tc.msg) {
			t.Errorf("GET /api/v1/journal/appeals?%s = %d %s, want 400 with %q", tc.query, w.Code, w.Body, tc.msg)
		}
	}
	entries, err := e.j.Audit(context.Background(), setupActor, journal.AuditQuery{Account: "boss"})
	exported := 0
	for _, en := range entries {
		if en.Op == "export" {
			exported++
		}
	}
	if err != nil || exported == 0 {
		t.Errorf("audit of boss = %+v, %v; want the exports recorded", entries, err)
	}
}

// errorOf returns the message of a JSON error answer.
func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Errorf("answer %d %q is not a JSON error: %v", w.Code, w.Body, err)
	}
	return e.Error
}
