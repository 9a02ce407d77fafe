package journal

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	op1 = Actor{"op1", RoleOperatorL1}
	op2 = Actor{"op2", RoleOperatorL2}
	adm = Actor{"adm", RoleAdmin}
)

func card(phone, enp string) *Appeal {
	return &Appeal{Channel: ChannelPhone, Phone: phone, Kind: KindConsultation, Topic: "policy-issue",
		Text: "Как получить полис?", Person: PersonData{ENP: enp, Surname: "Иванова", Name: "Анна", Birth: "1980-05-17"}}
}

func TestAppealLifecycle(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			j := open(t)
			ctx := context.Background()
			clock := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
			j.now = func() time.Time { clock = clock.Add(time.Minute); return clock }

			a := card("8 (912) 345-67-89", "2681590830166131")
			if err := j.CreateAppeal(ctx, op1, a); err != nil {
				t.Fatalf("CreateAppeal() = %v", err)
			}
			if a.Number != "2026-000001" || a.Status != StatusInWork || a.Assignee != "op1" || a.Phone != "+79123456789" {
				t.Fatalf("created %s status %s assignee %s phone %s; want 2026-000001 in_work op1 +79123456789", a.Number, a.Status, a.Assignee, a.Phone)
			}
			if !a.Due.Equal(a.Created.Add(DefaultDue)) {
				t.Errorf("due = %s, want created + 30 days", a.Due)
			}
			b := card("+79123456789", "")
			b.Person = PersonData{Surname: "Петров", Birth: "02.01.1950"}
			if err := j.CreateAppeal(ctx, op1, b); err != nil {
				t.Fatal(err)
			}
			if b.Person.Birth != "1950-01-02" {
				t.Errorf("birth typed 02.01.1950 stored as %q, want 1950-01-02", b.Person.Birth)
			}
			if b.Number != "2026-000002" {
				t.Fatalf("second number = %s, want 2026-000002", b.Number)
			}
			got, err := j.Appeal(ctx, op1, "2026-000002")
			if err != nil || got.ID != b.ID {
				t.Fatalf("Appeal(by number) = %v, %v", got, err)
			}

			// Workflow through the store: forward to op2, op2 resumes and
			// closes, the administrator approves.
			if _, err := j.Move(ctx, op2, a.ID, Step{Move: MoveClose, Resolution: ResolutionExplained, Comment: "x"}); !errors.Is(err, ErrIllegalMove) {
				t.Fatalf("op2 closing op1's appeal = %v, want ErrIllegalMove", err)
			}
			steps := []struct {
				who  Actor
				step Step
				want Status
			}{
				{op1, Step{Move: MoveClose, Resolution: ResolutionForwarded, Comment: "нужно перезвонить", To: "op2"}, StatusDeferred},
				{op2, Step{Move: MoveResume}, StatusInWork},
				{op2, Step{Move: MoveClose, Resolution: ResolutionResolved, Comment: "полис выдан"}, StatusUnderReview},
				{adm, Step{Move: MoveApprove}, StatusClosed},
			}
			for _, s := range steps {
				n, err := j.Move(ctx, s.who, a.ID, s.step)
				if err != nil || n.Status != s.want {
					t.Fatalf("Move(%s by %s) = %v, %v; want %s", s.step.Move, s.who.Login, n, err, s.want)
				}
			}
			a, _ = j.Appeal(ctx, adm, a.ID)
			var whats []string
			for _, h := range a.History {
				whats = append(whats, h.What+h.Move.String()+":"+h.By)
			}
			if got, want := strings.Join(whats, " "), "create:op1 close:op1 resume:op2 close:op2 approve:adm"; got != want {
				t.Errorf("history = %q, want %q", got, want)
			}
			if _, err := j.EditAppeal(ctx, adm, a.ID, AppealEdit{Text: ptr("другое")}); !errors.Is(err, ErrIllegalMove) {
				t.Errorf("editing a closed appeal = %v, want ErrIllegalMove", err)
			}

			// Edit, link, history.
			e, err := j.EditAppeal(ctx, op1, b.ID, AppealEdit{Text: ptr("Уточнение"), Kind: ptr(KindComplaint)})
			if err != nil || e.Text != "Уточнение" || e.History[len(e.History)-1].Fields[0] != "kind" {
				t.Fatalf("EditAppeal = %+v, %v", e, err)
			}
			if _, err := j.EditAppeal(ctx, op1, b.ID, AppealEdit{Phone: ptr("8 (912) 345-67-89")}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nothing changed") {
				t.Errorf("editing the phone to the same number typed differently = %v, want nothing changed", err)
			}
			if _, err := j.LinkAppeals(ctx, op1, a.ID, b.ID); !errors.Is(err, ErrInvalid) {
				t.Errorf("linking a later appeal = %v, want ErrInvalid", err)
			}
			if l, err := j.LinkAppeals(ctx, op1, b.ID, a.ID); err != nil || len(l.Links) != 1 {
				t.Fatalf("LinkAppeals = %v, %v", l, err)
			}
			h, err := j.History(ctx, op1, HistoryQuery{Phone: "89123456789"})
			if err != nil || len(h) != 2 || h[0].Number != "2026-000002" || h[1].Status != StatusClosed {
				t.Fatalf("History(phone) = %+v, %v; want 2 appeals newest first", h, err)
			}
			h, _ = j.History(ctx, op1, HistoryQuery{Person: PersonData{Surname: "ПЕТРОВ", Birth: "02.01.1950"}})
			if len(h) != 1 || h[0].ID != b.ID {
				t.Fatalf("History(person by name) = %+v, want appeal 2", h)
			}

			// Attachments.
			att, err := j.AddAttachment(ctx, op1, b.ID, Attachment{FileName: "заявление.pdf", DocNumber: "В-17", Registered: "2026-05-03"}, []byte("%PDF"))
			if err != nil || len(att.Attachments) != 1 || att.Attachments[0].Size != 4 {
				t.Fatalf("AddAttachment = %v, %v", att, err)
			}
			body, err := j.AttachmentContent(ctx, op1, b.ID, att.Attachments[0].ID)
			if err != nil || string(body) != "%PDF" {
				t.Fatalf("AttachmentContent = %q, %v", body, err)
			}
			if _, err := j.AddAttachment(ctx, op1, b.ID, Attachment{FileName: "x", DocNumber: "1", Registered: "31.02.2026"}, nil); !errors.Is(err, ErrInvalid) {
				t.Errorf("attachment with a bad date = %v, want ErrInvalid", err)
			}

			// Lists by role.
			if l, _ := j.Appeals(ctx, op2, nil, AppealFilter{}); len(l) != 1 || l[0].ID != a.ID {
				t.Errorf("Appeals(op2) = %+v, want only the forwarded appeal", l)
			}
			if l, _ := j.Appeals(ctx, adm, nil, AppealFilter{Status: StatusInWork}); len(l) != 1 || l[0].ID != b.ID {
				t.Errorf("Appeals(admin, in_work) = %+v, want appeal 2", l)
			}
			if _, err := j.Appeals(ctx, Actor{"c", RoleCampaignStaff}, nil, AppealFilter{}); !errors.Is(err, ErrDenied) {
				t.Errorf("Appeals(campaign staff) = %v, want ErrDenied", err)
			}

			// Audit: every read and change of appeal a is recorded.
			au, err := j.Audit(ctx, adm, AuditQuery{Subject: "appeal:" + a.ID})
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			for _, e := range au {
				ops = append(ops, e.Op+":"+e.Account)
			}
			if got := strings.Join(ops, " "); !strings.HasPrefix(got, "create:op1 move:op1 move:op2 move:op2 move:adm read:adm") {
				t.Errorf("audit of appeal = %q", got)
			}
			if byPerson, _ := j.Audit(ctx, adm, AuditQuery{Person: "2681590830166131"}); len(byPerson) < 6 {
				t.Errorf("audit by person = %d entries, want ≥ 6", len(byPerson))
			}
			if _, err := j.Audit(ctx, op1, AuditQuery{}); !errors.Is(err, ErrDenied) {
				t.Errorf("Audit by operator = %v, want ErrDenied", err)
			}
			mustHealthy(t, j)
		})
	}
}

func TestCreateAppealRejects(t *testing.T) {
	j, _ := Open(Options{InMemory: true})
	defer j.Close()
	ctx := context.Background()
	tests := []struct {
		name  string
		edit  func(a *Appeal)
		field string
	}{
		{"no channel", func(a *Appeal) { a.Channel = 0 }, "channel"},
		{"no kind", func(a *Appeal) { a.Kind = 0 }, "kind"},
		{"no topic", func(a *Appeal) { a.Topic = " " }, "topic"},
		{"no text", func(a *Appeal) { a.Text = "" }, "text"},
		{"bad phone", func(a *Appeal) { a.Phone = "12345" }, "phone"},
		{"14-digit ENP", func(a *Appeal) { a.Person.ENP = "26815908301661" }, "person.enp"},
		{"31.02", func(a *Appeal) { a.Person.Birth = "1980-02-31" }, "person.birth"},
		{"unknown link", func(a *Appeal) { a.Links = []string{"nope"} }, "links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := card("", "")
			tt.edit(a)
			err := j.CreateAppeal(ctx, op1, a)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("CreateAppeal(%s) = %v, want ErrInvalid naming %q", tt.name, err, tt.field)
			}
		})
	}
	if err := j.CreateAppeal(ctx, Actor{"sre", RoleSRE}, card("", "")); !errors.Is(err, ErrDenied) {
		t.Errorf("CreateAppeal by sre = %v, want ErrDenied", err)
	}
	mustHealthy(t, j)
}

func TestAppealNumbersSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	last := ""
	for round := 0; round < 3; round++ {
		j, err := Open(DefaultOptions(dir))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			a := card("", "")
			if err := j.CreateAppeal(context.Background(), op1, a); err != nil {
				t.Fatal(err)
			}
			if seen[a.Number] || a.Number <= last {
				t.Fatalf("round %d: number %s after %s, want unique and increasing", round, a.Number, last)
			}
			seen[a.Number], last = true, a.Number
		}
		j.Close()
	}
	if !strings.HasSuffix(last, "-000015") {
		t.Errorf("after clean closes the last number is %s, want …-000015 (leases released)", last)
	}
}

func ptr[T any](v T) *T { return &v }

func TestAppealsVisibleByRole(t *testing.T) {
	j, _ := Open(Options{InMemory: true})
	defer j.Close()
	ctx := context.Background()
	mk := func(author Actor, queue, assignee string) string {
		a := card("", "")
		a.Queue, a.Assignee = queue, assignee
		if err := j.CreateAppeal(ctx, author, a); err != nil {
			t.Fatal(err)
		}
		return a.Number
	}
	n1 := mk(op1, "oms", "")       // op1's own, queue oms
	n2 := mk(op1, "", "op2")       // op1 authored, assigned to op2
	n3 := mk(adm, "oms", "rep9")   // queue oms, another's
	n4 := mk(adm, "screening", "") // admin's own
	tests := []struct {
		who    Actor
		queues []string
		want   []string
	}{
		{op1, nil, []string{n1, n2}},
		{op1, []string{"oms"}, []string{n1, n2, n3}},
		{op2, []string{"oms"}, []string{n2}},
		{Actor{"rep9", RoleRepL1}, []string{"oms"}, []string{n3}},
		{adm, nil, []string{n1, n2, n3, n4}},
		{Actor{"sup", RoleSupervisor}, nil, []string{n1, n2, n3, n4}},
	}
	for _, tt := range tests {
		l, err := j.Appeals(ctx, tt.who, tt.queues, AppealFilter{})
		var got []string
		for _, r := range l {
			got = append(got, r.Number)
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("Appeals(%s %s, %v) = %v, %v; want %v", tt.who.Login, tt.who.Role, tt.queues, got, err, tt.want)
		}
	}
}

func TestMoveChecksTargetOperator(t *testing.T) {
	j, _ := Open(Options{InMemory: true})
	defer j.Close()
	ctx := context.Background()
	for _, n := range []NewAccount{
		{Login: "op1", DisplayName: "Оператор", Roles: []Role{RoleOperatorL1}},
		{Login: "l2", DisplayName: "Второй уровень", Roles: []Role{RoleOperatorL2}},
		{Login: "gone", DisplayName: "Уволен", Roles: []Role{RoleOperatorL2}},
		{Login: "camp", DisplayName: "Кампании", Roles: []Role{RoleCampaignStaff}},
	} {
		if _, err := j.AddAccount(ctx, adm, n); err != nil {
			t.Fatal(err)
		}
	}
	j.SetDisabled(ctx, adm, "gone", true)
	a := card("", "")
	if err := j.CreateAppeal(ctx, op1, a); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ to, want string }{
		{"nobody", `no account "nobody"`},
		{"gone", "account gone is disabled"},
		{"camp", "does not work appeals"},
	} {
		_, err := j.Move(ctx, op1, a.ID, Step{Move: MoveTransfer, To: tt.to})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("transfer to %s = %v, want %q", tt.to, err, tt.want)
		}
	}
	n, err := j.Move(ctx, op1, a.ID, Step{Move: MoveClose, Resolution: ResolutionForwarded, Comment: "перезвонить", To: "l2"})
	if err != nil || n.Status != StatusDeferred || n.Assignee != "l2" {
		t.Fatalf("forward to l2 = %+v, %v", n, err)
	}
}
