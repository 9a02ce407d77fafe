package api

import (
	"context"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
)

// consultDesk is a desk with one attended transfer of 01CALL from op1 to
// op2, whose appeal (set at the transfer) is appeal.
type consultDesk struct {
	fakeDesk
	appeal string
	got    []string // "complete APPEAL" or "cancel", as asked
}

func (d *consultDesk) CompleteTransfer(_ context.Context, id, by string, _ bool, appeal string) (dialer.CompletedTransfer, error) {
	d.got = append(d.got, "complete "+appeal)
	if appeal == "" {
		appeal = d.appeal
	}
	return dialer.CompletedTransfer{To: "op2", Appeal: appeal}, nil
}

func (d *consultDesk) CancelTransfer(context.Context, string, string, bool) error {
	d.got = append(d.got, "cancel")
	return nil
}

// The appeal of an attended transfer goes to the consulted operator when
// the transfer completes: the one named at the transfer, or the one the
// completion names (registered during the consultation). A cancel leaves
// it where it was; a completion's body is optional and checked.
func TestAttendedTransferHandsAppealOver(t *testing.T) {
	e := newEnv(t)
	tok1 := e.account("op1", journal.RoleOperatorL1)
	e.account("op2", journal.RoleOperatorL2)
	op1 := journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}
	first, second := e.appeal(op1, "op1", ""), e.appeal(op1, "op1", "")
	d := &consultDesk{appeal: first.ID}
	e.h = NewHandler(Options{Health: fakeHealth{}, Journal: e.j, Now: e.clock.Now, Desk: d})
	assignee := func(a *journal.Appeal) string {
		got, err := e.j.Appeal(context.Background(), setupActor, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Assignee
	}

	e.ok(req{method: "POST", path: "/api/v1/calls/01CALL/transfer/cancel", token: tok1}, 200, nil)
	if got := assignee(first); got != "op1" {
		t.Errorf("after the cancel the appeal is %s's, want op1's", got)
	}
	w := e.do(req{method: "POST", path: "/api/v1/calls/01CALL/transfer/complete", token: tok1, body: `{"appeal":"x"}`})
	if w.Code != 400 || !strings.Contains(w.Body.String(), "appeal") {
		t.Errorf("complete with an unknown field = %d %s, want 400 naming it", w.Code, w.Body)
	}
	var out map[string]any
	e.ok(req{method: "POST", path: "/api/v1/calls/01CALL/transfer/complete", token: tok1}, 200, &out)
	if out["to"] != "op2" || out["appeal_error"] != nil || assignee(first) != "op2" {
		t.Errorf("complete without a body = %v, appeal %s's; want it op2's", out, assignee(first))
	}
	a, err := e.j.Appeal(context.Background(), setupActor, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := a.History[len(a.History)-1]; last.Move != journal.MoveTransfer || last.By != "op1" || !strings.HasPrefix(last.Note, "transferred from op1 to op2") {
		t.Errorf("the appeal's last change %+v, want its transfer to op2 by op1", last)
	}
	e.ok(req{method: "POST", path: "/api/v1/calls/01CALL/transfer/complete", token: tok1, body: map[string]string{"appeal_id": second.ID}}, 200, &out)
	if assignee(second) != "op2" {
		t.Errorf("the appeal named at the completion is %s's, want op2's", assignee(second))
	}
	if strings.Join(d.got, ", ") != "cancel, complete , complete "+second.ID {
		t.Errorf("the desk was asked %q", d.got)
	}
}
