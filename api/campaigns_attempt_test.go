package api

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// The operator's desktop gets a campaign call as its campaign and attempt
// (the desk's call info): the survey card is read and saved through the
// API by that attempt id, and the answers land on the attempt's contact,
// closing the attempt with the operator's result.
func TestCampaignCardByAttempt(t *testing.T) {
	e := newEnv(t)
	staff := e.account("kampanova", journal.RoleCampaignStaff)
	op := e.account("ivanova", journal.RoleOperatorL1)
	e.ok(req{method: "POST", path: "/api/v1/campaigns", token: staff, body: map[string]any{"id": "disp-2026", "title": "Диспансеризация 2026", "script": "screening",
		"settings": map[string]any{"weekdays": "00:00-24:00", "weekend": "00:00-24:00"}}}, 201, nil)
	list, err := os.ReadFile("../campaigns/testdata/survey-list.csv")
	if err != nil {
		t.Fatal(err)
	}
	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/load?name=list.csv", token: staff, body: list, contentType: "text/csv"}, 200, nil)
	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/start", token: staff}, 200, nil)

	// The runner dials a contact: an open attempt, the contact dialing.
	ctx := context.Background()
	c, _ := e.j.Campaign(ctx, "disp-2026")
	cp, err := campaigns.CompiledOf(c)
	if err != nil {
		t.Fatal(err)
	}
	const enp = "2681590830166131"
	now := time.Now()
	attempt := e.j.NewID(now)
	err = e.j.ChangeContact(ctx, "disp-2026", enp, func(c *journal.Contact) (*journal.ContactChange, error) {
		p, err := cp.PlanDial(now, c, attempt, "progressive", "carrier")
		if err != nil {
			return nil, err
		}
		return p.Change, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var card campaigns.Card
	e.ok(req{method: "GET", path: "/api/v1/campaigns/disp-2026/contacts/" + attempt, token: op}, 200, &card)
	if card.Contact == nil || card.Contact.ID != enp || !strings.Contains(card.Intro, "Михаил Александрович") {
		t.Fatalf("card by attempt = %+v, want the contact %s", card.Contact, enp)
	}
	// The desktop reads and saves through the body endpoints (no ЕНП in
	// URLs), naming the call's attempt.
	var bodyCard campaigns.Card
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/card", token: op, body: map[string]string{"enp": attempt}}, 200, &bodyCard)
	if bodyCard.Contact == nil || bodyCard.Contact.ID != enp {
		t.Fatalf("card by attempt in the body = %+v, want the contact %s", bodyCard.Contact, enp)
	}
	body := map[string]any{"enp": attempt, "result": "reached", "answers": map[string]string{"passed": "yes", "where": "own_mo"}}
	e.ok(req{method: "POST", path: "/api/v1/surveys/disp-2026/card/save", token: op, body: body}, 200, nil)
	stored, err := e.j.Contact(ctx, journal.Actor{}, "disp-2026", enp)
	if err != nil || stored.Status != journal.ContactDone || stored.Answers["where"] != "own_mo" || stored.SavedBy != "ivanova" {
		t.Errorf("contact after the card = %+v, %v", stored, err)
	}
	if a, err := e.j.Attempt(ctx, attempt); err != nil || a.Result != "reached" || a.Agent != "ivanova" {
		t.Errorf("attempt after the card = %+v, %v; want reached by ivanova", a, err)
	}
	for _, ref := range []string{"01ZZZZZZZZZZZZZZZZZZZZZZZZ", "12345"} {
		if w := e.do(req{method: "GET", path: "/api/v1/campaigns/disp-2026/contacts/" + ref, token: op}); w.Code < 400 || w.Code >= 500 ||
			!strings.Contains(w.Body.String(), "neither a 16-digit ЕНП nor an attempt") {
			t.Errorf("card of %q = %d %s, want a 4xx naming what is wrong", ref, w.Code, w.Body)
		}
		if w := e.do(req{method: "POST", path: "/api/v1/surveys/disp-2026/card", token: op, body: map[string]string{"enp": ref}}); w.Code < 400 || w.Code >= 500 ||
			!strings.Contains(w.Body.String(), "neither a 16-digit ЕНП nor an attempt") {
			t.Errorf("card of %q in the body = %d %s, want a 4xx naming what is wrong", ref, w.Code, w.Body)
		}
	}
}
