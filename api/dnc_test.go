package api

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// The do-not-call list through the API: campaign staff add a Windows-1251
// file (header, reasons, a phone as people type it) and a JSON list; the
// journal holds the phones in E.164 with their source and reason; a file
// with one bad phone is refused naming its line and stores nothing; an
// operator may not add.
func TestDNCThroughAPI(t *testing.T) {
	e := newEnv(t)
	staff := e.account("kampanova", journal.RoleCampaignStaff)
	op := e.account("ivanova", journal.RoleOperatorL1)
	ctx := context.Background()

	file, err := charmap.Windows1251.NewEncoder().String("Телефон;Причина\r\n8 (912) 345-67-89;просил не звонить\r\n\r\n+7 912 345 67 90\r\n")
	if err != nil {
		t.Fatal(err)
	}
	var res campaigns.DNCResult
	e.ok(req{method: "POST", path: "/api/v1/dnc?reason=жалоба", token: staff, body: file, contentType: "text/plain"}, 200, &res)
	if res.Phones != 2 || res.Added != 2 {
		t.Fatalf("file = %+v, want 2 phones added", res)
	}
	d, err := e.j.DNC(ctx, "+79123456789")
	if err != nil || d.Source != "file" || d.Reason != "просил не звонить" || d.By != "kampanova" {
		t.Fatalf("DNC entry = %+v, %v", d, err)
	}
	if d, err := e.j.DNC(ctx, "+79123456790"); err != nil || d.Reason != "жалоба" {
		t.Fatalf("DNC entry without its own reason = %+v, %v", d, err)
	}
	e.ok(req{method: "POST", path: "/api/v1/dnc", token: staff, body: map[string]any{"phones": []map[string]string{{"phone": "89123456789"}, {"phone": "9123456791"}}}}, 200, &res)
	if res.Phones != 2 || res.Added != 1 {
		t.Fatalf("JSON = %+v, want 1 of 2 new", res)
	}
	if d, err := e.j.DNC(ctx, "+79123456791"); err != nil || d.Source != "api" {
		t.Fatalf("DNC entry from JSON = %+v, %v", d, err)
	}

	before, err := e.j.DNCSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := e.do(req{method: "POST", path: "/api/v1/dnc", token: staff, body: "89123456792\n89123456793\n12345\n", contentType: "text/plain"})
	if w.Code != 422 || !strings.Contains(w.Body.String(), "line 3") {
		t.Errorf("file with a bad phone = %d %s, want 422 naming line 3", w.Code, w.Body)
	}
	w = e.do(req{method: "POST", path: "/api/v1/dnc", token: staff, body: map[string]any{"phones": []map[string]string{{"phone": "89123456794"}, {"phone": "abc"}}}})
	if w.Code != 422 || !strings.Contains(w.Body.String(), "phone 2") {
		t.Errorf("JSON with a bad phone = %d %s, want 422 naming phone 2", w.Code, w.Body)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/dnc", token: op, body: "89123456795\n", contentType: "text/plain"}); w.Code != 403 {
		t.Errorf("operator adds to DNC: %d, want 403", w.Code)
	}
	after, err := e.j.DNCSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || len(after) != 3 {
		t.Errorf("DNC list after refused requests: %d phones, want %d (3)", len(after), len(before))
	}
}

// The list seen and corrected through the API: pages with the total and
// the next page's start, one phone as typed, the whole list as CSV
// (Windows-1251 on request) with its row count; removal with a reason
// (body or ?reason=), answering the entry removed and the contact whose
// "do not call" card put the phone there, now pending again. Bad input
// (a malformed phone, no reason, a phone not on the list, a bad limit)
// is refused naming it and changes nothing; a supervisor reads but does
// not remove, an operator does neither.
func TestDNCListAndRemoveThroughAPI(t *testing.T) {
	e := newEnv(t)
	staff := e.account("kampanova", journal.RoleCampaignStaff)
	super := e.account("petrova", journal.RoleSupervisor)
	op := e.account("ivanova", journal.RoleOperatorL1)
	ctx := context.Background()
	actor := journal.Actor{Login: "kampanova", Role: journal.RoleCampaignStaff}
	if _, err := campaigns.Create(ctx, e.j, actor, campaigns.CreateRequest{ID: "disp-2026", Title: "Д", Script: "screening"}); err != nil {
		t.Fatal(err)
	}
	const enp, phone = "2619482199300001", "+79123456789"
	ct := journal.Contact{ID: enp, Surname: "Иванова", Name: "Анна", Birth: "1960-02-01", Zone: "MSK", Phones: []journal.ContactPhone{{Number: phone}}}
	if _, err := e.j.LoadContacts(ctx, actor, "disp-2026", []journal.Contact{ct}, "l.csv", nil); err != nil {
		t.Fatal(err)
	}
	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/contacts/" + enp + "/card", token: op, body: map[string]any{"result": "dnc"}}, 200, nil)
	e.ok(req{method: "POST", path: "/api/v1/dnc", token: staff, body: "89123456701;жалоба\n89123456702\n", contentType: "text/plain"}, 200, nil)

	var page journal.DNCPage
	e.ok(req{method: "GET", path: "/api/v1/dnc?limit=2", token: super}, 200, &page)
	if page.Total != 3 || len(page.Entries) != 2 || page.Entries[0].Phone != "+79123456701" || page.Entries[0].Reason != "жалоба" ||
		page.Entries[0].By != "kampanova" || page.Next != "+79123456702" {
		t.Fatalf("first page = %+v", page)
	}
	next := page.Next
	page = journal.DNCPage{}
	e.ok(req{method: "GET", path: "/api/v1/dnc?limit=2&after=" + url.QueryEscape(next), token: staff}, 200, &page)
	if len(page.Entries) != 1 || page.Entries[0].Phone != phone || page.Entries[0].Source != "result" || page.Entries[0].By != "ivanova" ||
		page.Entries[0].Campaign != "disp-2026" || page.Next != "" {
		t.Fatalf("second page = %+v", page)
	}
	page = journal.DNCPage{}
	e.ok(req{method: "GET", path: "/api/v1/dnc?phone=" + url.QueryEscape("8 (912) 345-67-89"), token: staff}, 200, &page)
	if len(page.Entries) != 1 || page.Entries[0].Phone != phone {
		t.Errorf("one phone = %+v", page)
	}
	w := e.ok(req{method: "GET", path: "/api/v1/dnc?format=csv&encoding=cp1251", token: staff}, 200, nil)
	csv, _ := charmap.Windows1251.NewDecoder().String(w.Body.String())
	if w.Header().Get(RowsHeader) != "3" || !strings.HasPrefix(csv, "Телефон;Добавлен;Кем;Источник;Кампания;Причина\r\n+79123456701;") ||
		!strings.Contains(csv, ";ivanova;результат звонка;disp-2026;\r\n") {
		t.Errorf("CSV (%s rows):\n%s", w.Header().Get(RowsHeader), csv)
	}
	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{"/api/v1/dnc?phone=12345", 422, `\"12345\" is not a Russian number`},
		{"/api/v1/dnc?limit=0", 400, "limit"},
		{"/api/v1/dnc?limit=100000", 400, "limit"},
		{"/api/v1/dnc?format=xml", 400, "format"},
	} {
		if w := e.do(req{method: "GET", path: c.path, token: staff}); w.Code != c.code || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("GET %s = %d %s, want %d naming %s", c.path, w.Code, w.Body, c.code, c.want)
		}
	}
	if w := e.do(req{method: "GET", path: "/api/v1/dnc", token: op}); w.Code != 403 {
		t.Errorf("an operator lists: %d, want 403", w.Code)
	}

	before, _ := e.j.DNCSet(ctx)
	for _, c := range []struct {
		token, path string
		body        any
		code        int
		want        string
	}{
		{staff, "/api/v1/dnc/" + phone, nil, 422, "reason: required"},
		{staff, "/api/v1/dnc/" + phone, map[string]string{"reason": " "}, 422, "reason: required"},
		{staff, "/api/v1/dnc/8912", map[string]string{"reason": "x"}, 422, `\"8912\" is not a Russian number`},
		{staff, "/api/v1/dnc/89120000000", map[string]string{"reason": "x"}, 404, "+79120000000 is not on the do-not-call list"},
		{staff, "/api/v1/dnc/" + phone, map[string]string{"reason": "x", "why": "y"}, 400, "why"},
		{super, "/api/v1/dnc/" + phone, map[string]string{"reason": "x"}, 403, ""},
		{op, "/api/v1/dnc/" + phone, map[string]string{"reason": "x"}, 403, ""},
	} {
		w := e.do(req{method: "DELETE", path: c.path, token: c.token, body: c.body})
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("DELETE %s %v = %d %s, want %d naming %q", c.path, c.body, w.Code, w.Body, c.code, c.want)
		}
	}
	if after, _ := e.j.DNCSet(ctx); len(after) != len(before) {
		t.Fatalf("refused removals changed the list: %d phones, want %d", len(after), len(before))
	}

	var rm campaigns.DNCRemoval
	e.ok(req{method: "DELETE", path: "/api/v1/dnc/" + url.PathEscape("8 912 345 67 89"), token: staff, body: map[string]string{"reason": "гражданин попросил звонить"}}, 200, &rm)
	if rm.Removed.Phone != phone || rm.Removed.By != "ivanova" || rm.Reason != "гражданин попросил звонить" ||
		len(rm.Released) != 1 || rm.Released[0].Contact != enp || rm.Released[0].Status != journal.ContactPending {
		t.Errorf("removal = %+v", rm)
	}
	if c, _ := e.j.Contact(ctx, journal.Actor{}, "disp-2026", enp); c.Status != journal.ContactPending || c.Result != "" {
		t.Errorf("the contact after the removal: %v result %q; want pending, the dnc result withdrawn", c.Status, c.Result)
	}
	rm = campaigns.DNCRemoval{}
	e.ok(req{method: "DELETE", path: "/api/v1/dnc/89123456702?reason=" + url.QueryEscape("добавлен по ошибке"), token: staff}, 200, &rm)
	if rm.Removed.Phone != "+79123456702" || len(rm.Released) != 0 || rm.Released == nil {
		t.Errorf("removal by ?reason= = %+v", rm)
	}
	page = journal.DNCPage{}
	e.ok(req{method: "GET", path: "/api/v1/dnc", token: staff}, 200, &page)
	if page.Total != 1 || page.Entries[0].Phone != "+79123456701" {
		t.Errorf("list after the removals = %+v", page)
	}
}
