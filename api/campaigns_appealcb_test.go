package api

import (
	"context"
	"testing"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// Campaign staff turn the deferred appeals into callbacks of a campaign
// through the API (they may not read the appeals themselves); the
// contact gets the callback owned by the appeal's operator.
func TestAppealCallbacksThroughAPI(t *testing.T) {
	e := newEnv(t)
	staff := e.account("kampanova", journal.RoleCampaignStaff)
	op := e.account("ivanova", journal.RoleOperatorL1)
	e.account("petrov", journal.RoleOperatorL2)
	ctx := context.Background()
	e.ok(req{method: "POST", path: "/api/v1/campaigns", token: staff, body: map[string]any{"id": "cb", "title": "Обратные звонки", "script": "followup"}}, 201, nil)
	author := journal.Actor{Login: "ivanova", Role: journal.RoleOperatorL1}
	a := &journal.Appeal{Channel: journal.ChannelPhone, Phone: "89123456789", Kind: journal.KindConsultation, Topic: e.topic,
		Text: "Как получить полис?", Person: journal.PersonData{ENP: "2681590830166131", Surname: "Иванова", Name: "Анна"}}
	if err := e.j.CreateAppeal(ctx, author, a); err != nil {
		t.Fatal(err)
	}
	if _, err := e.j.Move(ctx, author, a.ID, journal.Step{Move: journal.MoveClose, Resolution: journal.ResolutionForwarded, To: "petrov", Comment: "перезвонить"}); err != nil {
		t.Fatal(err)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns/cb/appeal-callbacks", token: op}); w.Code != 403 {
		t.Errorf("operator imports callbacks: %d, want 403", w.Code)
	}
	var res campaigns.AppealCallbacks
	e.ok(req{method: "POST", path: "/api/v1/campaigns/cb/appeal-callbacks", token: staff}, 200, &res)
	if res.Deferred != 1 || res.Added != 1 {
		t.Fatalf("import = %+v, want the one deferred appeal added", res)
	}
	ct, err := e.j.Contact(ctx, journal.Actor{}, "cb", "2681590830166131")
	if err != nil || ct.Callback == nil || ct.Callback.Agent != "petrov" || ct.Callback.Appeal != a.ID {
		t.Fatalf("contact %+v, %v; want petrov's callback of the appeal", ct, err)
	}
}
