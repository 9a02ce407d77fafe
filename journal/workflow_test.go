package journal

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var (
	t0    = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	due0  = t0.Add(DefaultDue)
	later = due0.Add(10 * 24 * time.Hour)
)

func appealIn(s Status) *Appeal {
	a := &Appeal{ID: "01", Number: "2026-000001", Status: s, Assignee: "op1", CreatedBy: "author", Due: due0, Created: t0}
	if s == StatusUnderReview {
		a.Resolution = ResolutionExplained
	}
	return a
}

// TestApplyEveryMove tries every move, with valid arguments, from every
// status by every kind of actor, and checks that exactly the legal ones
// pass, with the resulting status and assignee.
func TestApplyEveryMove(t *testing.T) {
	actors := map[string]Actor{
		"assignee":   {"op1", RoleOperatorL1},
		"author":     {"author", RoleOperatorL1},
		"stranger":   {"op9", RoleOperatorL2},
		"rep":        {"rep7", RoleRepL2},
		"supervisor": {"sup", RoleSupervisor},
		"admin":      {"adm", RoleAdmin},
		"campaign":   {"camp", RoleCampaignStaff},
		"sre":        {"sre", RoleSRE},
	}
	steps := map[string]Step{
		"close":         {Move: MoveClose, Resolution: ResolutionExplained, Comment: "разъяснено"},
		"close-forward": {Move: MoveClose, Resolution: ResolutionForwarded, Comment: "нужен звонок", To: "op2"},
		"close-extend":  {Move: MoveClose, Resolution: ResolutionExtended, Comment: "запрос в МО", NewDue: later},
		"resume":        {Move: MoveResume},
		"approve":       {Move: MoveApprove},
		"return":        {Move: MoveReturn, Comment: "дополнить"},
		"transfer":      {Move: MoveTransfer, To: "op3"},
		"unknown-move":  {Move: MoveUnknown},
		"out-of-range":  {Move: Move(99)},
	}
	type want struct {
		status   Status
		assignee string
	}
	handlers := []string{"assignee", "supervisor", "admin"}
	legal := map[string]want{}
	add := func(status Status, step string, who []string, w want) {
		for _, a := range who {
			legal[fmt.Sprintf("%s/%s/%s", status, step, a)] = w
		}
	}
	add(StatusInWork, "close", handlers, want{StatusUnderReview, "op1"})
	add(StatusInWork, "close-forward", handlers, want{StatusDeferred, "op2"})
	add(StatusInWork, "close-extend", handlers, want{StatusUnderReview, "op1"})
	add(StatusInWork, "transfer", append(handlers, "author"), want{StatusInWork, "op3"})
	add(StatusDeferred, "resume", handlers, want{StatusInWork, "op1"})
	add(StatusDeferred, "transfer", append(handlers, "author"), want{StatusDeferred, "op3"})
	add(StatusUnderReview, "approve", []string{"admin"}, want{StatusClosed, "op1"})
	add(StatusUnderReview, "return", []string{"admin"}, want{StatusInWork, "op1"})

	statuses := []Status{StatusInWork, StatusDeferred, StatusUnderReview, StatusClosed}
	n := 0
	for _, st := range statuses {
		for sname, step := range steps {
			for aname, who := range actors {
				name := fmt.Sprintf("%s/%s/%s", st, sname, aname)
				t.Run(name, func(t *testing.T) {
					a := appealIn(st)
					before := *a
					got, err := Apply(a, step, who, t0.Add(time.Hour))
					w, ok := legal[name]
					if ok {
						n++
						if err != nil {
							t.Fatalf("Apply(%s) = %v, want %s", name, err, w.status)
						}
						if got.Status != w.status || got.Assignee != w.assignee {
							t.Fatalf("Apply(%s) = status %s assignee %s, want %s %s", name, got.Status, got.Assignee, w.status, w.assignee)
						}
						h := got.History[len(got.History)-1]
						if h.By != who.Login || h.From != st || h.To != w.status || h.Move != step.Move || !h.At.Equal(t0.Add(time.Hour)) {
							t.Errorf("Apply(%s) history entry = %+v, want by %s %s→%s", name, h, who.Login, st, w.status)
						}
					} else {
						var me *MoveError
						if !errors.As(err, &me) || !errors.Is(err, ErrIllegalMove) {
							t.Fatalf("Apply(%s) = %v, %v; want a MoveError", name, got, err)
						}
						if me.From != st || me.Move != step.Move || me.Reason == "" || !strings.Contains(err.Error(), "2026-000001") {
							t.Errorf("Apply(%s) error = %q, want it to name the appeal, move, status and reason", name, err)
						}
					}
					if a.Status != before.Status || a.Assignee != before.Assignee || len(a.History) != len(before.History) {
						t.Errorf("Apply(%s) modified its input", name)
					}
				})
			}
		}
	}
	if n != len(legal) {
		t.Errorf("%d legal cases exercised, table has %d", n, len(legal))
	}
}

func TestApplyArguments(t *testing.T) {
	op := Actor{"op1", RoleOperatorL1}
	adm := Actor{"adm", RoleAdmin}
	tests := []struct {
		name   string
		status Status
		step   Step
		who    Actor
		reason string
	}{
		{"close without resolution", StatusInWork, Step{Move: MoveClose, Comment: "x"}, op, "a resolution is required"},
		{"close without comment", StatusInWork, Step{Move: MoveClose, Resolution: ResolutionResolved, Comment: "  "}, op, "comment on the measures"},
		{"close unknown resolution", StatusInWork, Step{Move: MoveClose, Resolution: Resolution(42), Comment: "x"}, op, "unknown resolution"},
		{"forward without operator", StatusInWork, Step{Move: MoveClose, Resolution: ResolutionForwarded, Comment: "x"}, op, "operator to forward to"},
		{"extend without date", StatusInWork, Step{Move: MoveClose, Resolution: ResolutionExtended, Comment: "x"}, op, "needs the new due date"},
		{"extend to earlier date", StatusInWork, Step{Move: MoveClose, Resolution: ResolutionExtended, Comment: "x", NewDue: due0.Add(-time.Hour)}, op, "must be later"},
		{"return without comment", StatusUnderReview, Step{Move: MoveReturn}, adm, "needs a comment"},
		{"transfer to nobody", StatusInWork, Step{Move: MoveTransfer}, op, "operator to transfer to"},
		{"transfer to same", StatusInWork, Step{Move: MoveTransfer, To: "op1"}, op, "already assigned to op1"},
		{"no actor", StatusInWork, Step{Move: MoveResume}, Actor{}, "no actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(appealIn(tt.status), tt.step, tt.who, t0)
			if !errors.Is(err, ErrIllegalMove) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Apply(%s) = %v, want refusal saying %q", tt.name, err, tt.reason)
			}
		})
	}
}

func TestExtensionApproveAndReturn(t *testing.T) {
	op, adm := Actor{"op1", RoleOperatorL1}, Actor{"adm", RoleAdmin}
	a, err := Apply(appealIn(StatusInWork), Step{Move: MoveClose, Resolution: ResolutionExtended, Comment: "ждём ответ МО", NewDue: later}, op, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Due.Equal(due0) || !a.PendingDue.Equal(later) {
		t.Fatalf("after extend request due = %s pending = %s, want %s and %s", a.Due, a.PendingDue, due0, later)
	}
	ok, err := Apply(a, Step{Move: MoveApprove}, adm, t0)
	if err != nil || ok.Status != StatusInWork || !ok.Due.Equal(later) || !ok.PendingDue.IsZero() {
		t.Fatalf("approve extension = %+v, %v; want in_work due %s", ok, err, later)
	}
	back, err := Apply(a, Step{Move: MoveReturn, Comment: "не обосновано"}, adm, t0)
	if err != nil || back.Status != StatusInWork || !back.Due.Equal(due0) || !back.PendingDue.IsZero() {
		t.Fatalf("return extension = %+v, %v; want in_work due %s", back, err, due0)
	}
	if h := back.History[len(back.History)-1]; !strings.Contains(h.Note, "extension refused") || !strings.Contains(h.Note, "не обосновано") {
		t.Errorf("return history note = %q, want the refusal and the comment", h.Note)
	}
	closed, err := Apply(appealIn(StatusUnderReview), Step{Move: MoveApprove}, adm, t0)
	if err != nil || closed.Status != StatusClosed || !closed.ClosedAt.Equal(t0) {
		t.Fatalf("approve = %+v, %v; want closed at %s", closed, err, t0)
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for s := StatusInWork; s <= StatusClosed; s++ {
		if p, err := ParseStatus(s.String()); err != nil || p != s {
			t.Errorf("ParseStatus(%q) = %v, %v, want %v", s.String(), p, err, s)
		}
		if p, err := ParseStatus(s.Russian()); err != nil || p != s {
			t.Errorf("ParseStatus(%q) = %v, %v, want %v", s.Russian(), p, err, s)
		}
	}
	for _, r := range Roles {
		if p, err := ParseRole(r.String()); err != nil || p != r {
			t.Errorf("ParseRole(%q) = %v, %v, want %v", r.String(), p, err, r)
		}
	}
	for k := KindComplaint; k <= KindGratitude; k++ {
		if p, err := ParseKind(k.Russian()); err != nil || p != k {
			t.Errorf("ParseKind(%q) = %v, %v, want %v", k.Russian(), p, err, k)
		}
	}
	if _, err := ParseStatus("open"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseStatus(open) = %v, want ErrInvalid", err)
	}
	if got := Status(9).String(); got != "status(9)" {
		t.Errorf("Status(9).String() = %q", got)
	}
}
