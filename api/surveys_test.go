package api

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// The survey journals for an operator, with no campaign rights: the
// campaigns of a kind with counts by medical organization; the persons
// of one MO with filters (audited as a list, not per person); the card
// and its save with the policy number in the body, never the URL.
func TestSurveyJournals(t *testing.T) {
	e := newEnv(t)
	staff := e.account("kampanova", journal.RoleCampaignStaff)
	op := e.account("ivanova", journal.RoleOperatorL1)
	e.ok(req{method: "POST", path: "/api/v1/campaigns", token: staff, body: map[string]any{"id": "disp-2026", "title": "Диспансеризация 2026", "script": "screening"}}, 201, nil)
	e.ok(req{method: "POST", path: "/api/v1/campaigns", token: staff, body: map[string]any{"id": "du-2026", "title": "Диспансерный учёт 2026", "script": "followup"}}, 201, nil)
	list, err := os.ReadFile("../campaigns/testdata/survey-list-cp1251.csv")
	if err != nil {
		t.Fatal(err)
	}
	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/load?name=list.csv", token: staff, body: list}, 200, nil)
	// Operators may not use the campaigns API itself.
	e.ok(req{method: "GET", path: "/api/v1/campaigns", token: op}, 403, nil)

	var svs []surveyView
	e.ok(req{method: "GET", path: "/api/v1/surveys?kind=screening", token: op}, 200, &svs)
	if len(svs) != 1 || svs[0].ID != "disp-2026" || svs[0].Total.Total != 60 || len(svs[0].ByMO) == 0 || len(svs[0].Periods) == 0 {
		t.Fatalf("screening surveys = %+v, want disp-2026 with its 60 persons by MO and periods", svs)
	}
	if len(svs[0].CardResults) != 6 || svs[0].CardResults[0].Code != "reached" || svs[0].CardResults[0].Name == "reached" {
		t.Errorf("card results %+v, want the script's six with Russian names", svs[0].CardResults)
	}
	var mo campaigns.Counts
	for _, m := range svs[0].ByMO {
		if m.MOCode == "260045" {
			mo = m
		}
	}
	if mo.Total != 9 {
		t.Fatalf("MO 260045 counts %+v, want 9 persons", mo)
	}

	type contactsAnswer struct {
		Contacts []contactRow     `json:"contacts"`
		More     bool             `json:"more"`
		Counts   campaigns.Counts `json:"counts"`
	}
	var got contactsAnswer
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/contacts", token: op, body: map[string]any{"mo": "260045"}}, 200, &got)
	if len(got.Contacts) != 9 || got.Counts.Total != 9 || got.More {
		t.Fatalf("contacts of MO 260045 = %d (counts %+v), want 9", len(got.Contacts), got.Counts)
	}
	for i := 1; i < len(got.Contacts); i++ {
		if got.Contacts[i-1].Surname > got.Contacts[i].Surname {
			t.Errorf("contacts not by surname: %s before %s", got.Contacts[i-1].Surname, got.Contacts[i].Surname)
		}
	}
	enp := "2681590830166131" // Васильев, MO 260045
	var card struct {
		campaigns.Card
		ResultNames map[string]string `json:"result_names"`
	}
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/card", token: op, body: map[string]string{"enp": enp}}, 200, &card)
	if card.Contact == nil || card.Contact.Surname != "Васильев" || !strings.Contains(card.Intro, "Михаил Александрович") || card.ResultNames["refused"] != "Отказ от ответа" {
		t.Fatalf("card = %+v", card)
	}
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/card", token: op, body: map[string]string{"enp": "123"}}, 422, nil)
	// Off the branch: refused with the field named.
	w := e.do(req{method: "POST", path: "/api/v1/surveys/disp-2026/card/save", token: op, body: map[string]any{"enp": enp, "result": "reached",
		"answers": map[string]string{"passed": "yes", "plan_date": "2026-12-01"}}})
	if w.Code != 422 || !strings.Contains(w.Body.String(), "plan_date") {
		t.Errorf("save off the branch = %d %s, want 422 naming plan_date", w.Code, w.Body)
	}
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/card/save", token: op, body: map[string]any{"enp": enp, "result": "reached",
		"answers": map[string]string{"passed": "yes", "where": "own_mo", "satisfied": "yes"}, "comment": "Прошёл в мае"}}, 200, nil)
	stored, err := e.j.Contact(context.Background(), journal.Actor{}, "disp-2026", enp)
	if err != nil || stored.Result != "reached" || stored.Answers["where"] != "own_mo" || stored.SavedBy != "ivanova" || stored.Comment != "Прошёл в мае" {
		t.Fatalf("stored contact = %+v, %v", stored, err)
	}

	// Filters: by result, by no result yet, by surname prefix.
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/contacts", token: op, body: map[string]any{"mo": "260045", "result": "reached"}}, 200, &got)
	if len(got.Contacts) != 1 || got.Contacts[0].ID != enp || got.Counts.Notified != 1 {
		t.Errorf("reached in MO 260045 = %+v, want Васильев alone", got.Contacts)
	}
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/contacts", token: op, body: map[string]any{"mo": "260045", "result": "none"}}, 200, &got)
	if len(got.Contacts) != 8 {
		t.Errorf("without a result in MO 260045 = %d, want 8", len(got.Contacts))
	}
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/contacts", token: op, body: map[string]any{"surname": "васил"}}, 200, &got)
	if len(got.Contacts) == 0 || !strings.HasPrefix(got.Contacts[0].Surname, "Васил") {
		t.Errorf("by surname = %+v", got.Contacts)
	}
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/contacts", token: op, body: map[string]any{"status": "nope"}}, 422, nil)
	e.ok(req{method: "POST", path: "/api/v1/surveys/nosuch/contacts", token: op, body: map[string]any{}}, 404, nil)

	// Each list is one audit entry with its filters and size. (Read
	// audits commit after the answer; a write through the same committer
	// makes them visible.)
	e.appeal(setupActor, "", "")
	es, err := e.j.Audit(context.Background(), setupActor, journal.AuditQuery{Account: "ivanova"})
	if err != nil {
		t.Fatal(err)
	}
	lists := 0
	for _, x := range es {
		if x.Op == "list" && x.Subject == "campaign:disp-2026" {
			lists++
			if !strings.Contains(x.Detail, "persons") || strings.Contains(x.Detail, "Васильев") {
				t.Errorf("list audit detail %q", x.Detail)
			}
		}
	}
	if lists < 4 {
		t.Errorf("%d list audit entries, want one per list read", lists)
	}
}
