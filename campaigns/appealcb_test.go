package campaigns

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// Deferred appeals become callbacks owned by their operators: the person
// (ЕНП) is a contact with the appeal's phone and a callback for the
// appeal's assignee until its due date, linked to the appeal; an appeal
// without ЕНП or phone is skipped with the reason; appeals in work are
// left alone; importing again adds nothing; and the rules then let only
// the owner dial it before the due date.
func TestImportAppealCallbacks(t *testing.T) {
	ctx := context.Background()
	j, err := journal.Open(journal.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	set := Settings{Mode: "progressive", Weekdays: "00:00-24:00", Weekend: "00:00-24:00"}
	if _, err := Create(ctx, j, staff, CreateRequest{ID: "cb", Title: "Обратные звонки", Script: "followup", Settings: set}); err != nil {
		t.Fatal(err)
	}
	op := journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}
	mk := func(phone, enp string, defer_ bool) *journal.Appeal {
		a := &journal.Appeal{Channel: journal.ChannelPhone, Phone: phone, Kind: journal.KindConsultation, Topic: "policy-issue",
			Text: "Как получить полис?", Person: journal.PersonData{ENP: enp, Surname: "Иванова", Name: "Анна", Birth: "1980-05-17"}}
		if err := j.CreateAppeal(ctx, op, a); err != nil {
			t.Fatal(err)
		}
		if defer_ {
			a, err = j.Move(ctx, op, a.ID, journal.Step{Move: journal.MoveClose, Resolution: journal.ResolutionForwarded, To: "op2", Comment: "перезвонить"})
			if err != nil {
				t.Fatal(err)
			}
		}
		return a
	}
	good := mk("8 (912) 345-67-89", "2681590830166131", true)
	noENP := mk("+79123456780", "", true)
	mk("+79123456781", "2619482199351819", false) // in work: not a callback
	if good.Status != journal.StatusDeferred || good.Assignee != "op2" {
		t.Fatalf("appeal %+v: want deferred to op2", good)
	}
	now := time.Now()
	res, err := ImportAppealCallbacks(ctx, j, staff, "cb", now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deferred != 2 || res.Added != 1 || len(res.Skipped) != 1 || res.Skipped[0].Appeal != noENP.ID {
		t.Fatalf("import = %+v; want 2 deferred, 1 added, the one without ЕНП skipped", res)
	}
	ct, err := j.Contact(ctx, staff, "cb", "2681590830166131")
	if err != nil {
		t.Fatal(err)
	}
	cb := ct.Callback
	if cb == nil || cb.Agent != "op2" || cb.Appeal != good.ID || !cb.Deadline.Equal(good.Due) || ct.Status != journal.ContactPending ||
		len(ct.Phones) != 1 || ct.Phones[0].Number != "+79123456789" {
		t.Fatalf("contact %+v callback %+v; want op2's callback of %s until %v on +79123456789", ct, cb, good.ID, good.Due)
	}
	if _, err := j.Contact(ctx, staff, "cb", "2619482199351819"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("the appeal in work became a contact: %v", err)
	}
	again, err := ImportAppealCallbacks(ctx, j, staff, "cb", now.Add(time.Hour))
	if err != nil || again.Added != 0 || again.Already != 1 {
		t.Errorf("second import = %+v, %v; want nothing added, 1 already", again, err)
	}
	n := 0
	_ = j.Contacts(ctx, "cb", journal.ContactsFilter{}, func(*journal.Contact) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d contacts after two imports, want 1", n)
	}
	cp, _ := CompiledOf(mustCampaign2(t, j, "cb"))
	if _, v := cp.Choose(now.Add(time.Minute), ct, ""); v.OK || v.Reason != BlockCallbackOwned {
		t.Errorf("the pacer may dial op2's callback: %+v", v)
	}
	if _, v := cp.Choose(now.Add(time.Minute), ct, "op2"); !v.OK || v.Agent != "op2" {
		t.Errorf("op2 may not dial their callback: %+v", v)
	}
}

func mustCampaign2(t *testing.T, j *journal.Journal, id string) *journal.Campaign {
	t.Helper()
	c, err := j.Campaign(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
