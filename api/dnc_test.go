package api

import (
	"context"
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
