package api

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// TestCampaignFlow drives the campaigns API as campaign staff and an
// operator: create, upload a list with progress and per-line errors,
// start, counts, the survey card, saving answers, why and export.
func TestCampaignFlow(t *testing.T) {
	e := newEnv(t)
	staff := e.account("kampanova", journal.RoleCampaignStaff)
	op := e.account("ivanova", journal.RoleOperatorL1)

	e.ok(req{method: "POST", path: "/api/v1/campaigns", token: staff, body: map[string]any{"id": "disp-2026", "title": "Диспансеризация 2026", "script": "screening"}}, 201, nil)
	w := e.do(req{method: "POST", path: "/api/v1/campaigns", token: staff, body: map[string]any{"id": "x", "title": "x", "script_source": "kind = \"screening\"\ntitle = \"x\"\nintro = \"x\"\n[[question]]\nid = \"a\"\ntext = \"a\"\ntype = \"datetime\"\n"}})
	if w.Code != 422 || !strings.Contains(w.Body.String(), `script.toml:7: question[0].type: \"datetime\": unknown answer type`) {
		t.Errorf("create with a bad script = %d %s, want 422 naming line 7", w.Code, w.Body)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns", token: op, body: map[string]any{"id": "y", "title": "y", "script": "screening"}}); w.Code != 403 {
		t.Errorf("operator creates a campaign: %d, want 403", w.Code)
	}

	list, err := os.ReadFile("../campaigns/testdata/survey-list-cp1251.csv")
	if err != nil {
		t.Fatal(err)
	}
	broken := append(bytes.Clone(list), []byte("Петров;Иван;;31.02.1980;2619482199351820;89120000000;260001;;2026;;\r\n")...)
	w = e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/load?name=list.csv&progress=1", token: staff, body: broken, contentType: "text/csv"}, 200, nil)
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	var res campaigns.LoadResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	if !strings.Contains(lines[0], `"stage":"write"`) || res.Inserted != 60 || len(res.Errors) != 1 || res.Errors[0].Line != 62 || res.Errors[0].Column != "Дата рождения" {
		t.Fatalf("load = %s", w.Body)
	}
	// Loading again adds nothing.
	var again campaigns.LoadResult
	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/load?name=list.csv", token: staff, body: list}, 200, &again)
	if again.Inserted != 0 || again.Unchanged != 60 {
		t.Errorf("second load = %+v, want 60 unchanged", again.ContactLoadStats)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns/disp-2026/load?name=x.csv", token: staff, body: "Фамилия;Имя\nА;Б\n"}); w.Code != 422 || !strings.Contains(w.Body.String(), "no column for") {
		t.Errorf("load without required columns = %d %s", w.Code, w.Body)
	}

	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/start", token: staff}, 200, nil)
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns/disp-2026/start", token: staff}); w.Code != 409 {
		t.Errorf("start a running campaign = %d %s, want 409", w.Code, w.Body)
	}

	// The operator's card.
	var card campaigns.Card
	e.ok(req{method: "GET", path: "/api/v1/campaigns/disp-2026/contacts/2681590830166131", token: op}, 200, &card)
	if !strings.Contains(card.Intro, "Михаил Александрович") || len(card.Questions) == 0 || !strings.Contains(card.Questions[0].Text, "2026") {
		t.Errorf("card intro %q questions %v", card.Intro, card.Questions)
	}
	bad := map[string]any{"result": "reached", "answers": map[string]string{"passed": "yes", "plan_date": "2026-12-01"}}
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns/disp-2026/contacts/2681590830166131/card", token: op, body: bad}); w.Code != 422 || !strings.Contains(w.Body.String(), "plan_date: is not asked") {
		t.Errorf("card with an answer off the branch = %d %s", w.Code, w.Body)
	}
	good := map[string]any{"result": "reached", "answers": map[string]string{"passed": "да", "where": "own_mo", "satisfied": "yes"}, "comment": "Прошёл в мае"}
	var saved journal.Contact
	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/contacts/2681590830166131/card", token: op, body: good}, 200, &saved)
	stored, err := e.j.Contact(context.Background(), journal.Actor{}, "disp-2026", "2681590830166131")
	if err != nil || stored.Status != journal.ContactDone || stored.Answers["passed"] != "yes" || stored.SavedBy != "ivanova" {
		t.Errorf("stored contact = %+v, %v", stored, err)
	}
	// Wrong phone on another card.
	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/contacts/2619482199351819/card", token: op, body: map[string]any{"result": "wrong_number"}}, 200, &saved)
	if !saved.Phones[0].Wrong || saved.Status != journal.ContactExhausted {
		t.Errorf("after wrong number: %+v", saved)
	}

	var st campaigns.Status
	e.ok(req{method: "GET", path: "/api/v1/campaigns/disp-2026", token: staff}, 200, &st)
	if tt := st.Report.Total; tt.Total != 60 || tt.WithPhone != 51 || tt.Notified != 1 || tt.Exhausted != 1 {
		t.Errorf("counts = %+v", tt)
	}

	var why campaigns.Why
	e.ok(req{method: "GET", path: "/api/v1/campaigns/disp-2026/why?contact=2619482199351819", token: staff}, 200, &why)
	if why.Now.OK || why.Now.Reason != "contact_exhausted" || len(why.Skips) == 0 || why.Skips[len(why.Skips)-1].Reason != "no_phone" {
		t.Errorf("why = %+v", why)
	}

	w = e.ok(req{method: "GET", path: "/api/v1/campaigns/disp-2026/export?format=xlsx&mo=260045", token: staff}, 200, nil)
	// The first sheet: the MO's counts, then the total (without an MO code).
	if rows, err := lists.ReadAll(bytes.NewReader(w.Body.Bytes()), lists.FormatXLSX, []lists.Field{lists.FieldMOCode}); err != nil ||
		len(rows.Rows) != 1 || rows.Rows[0].MOCode != "260045" || rows.Rows[0].Extra["Оповещено"] != "1" || rows.Rows[0].Extra["Всего"] != "9" {
		t.Errorf("xlsx export: %+v, %v; want MO 260045: 9 in total, 1 notified", rows, err)
	}
	w = e.ok(req{method: "GET", path: "/api/v1/campaigns/disp-2026/export?format=csv&encoding=cp1251", token: staff}, 200, nil)
	if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, "windows-1251") || bytes.Contains(w.Body.Bytes(), []byte("Итого")) {
		t.Errorf("cp1251 export: %s, utf-8 text found", ct)
	}
	if w := e.do(req{method: "GET", path: "/api/v1/campaigns/disp-2026/export?format=pdf", token: staff}); w.Code != 422 {
		t.Errorf("export pdf = %d", w.Code)
	}
	if probs, err := e.j.CheckIndexes(context.Background()); err != nil || len(probs) > 0 {
		t.Errorf("CheckIndexes = %v %v", probs, err)
	}
}
