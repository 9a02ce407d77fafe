package campaigns

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

var staff = journal.Actor{Login: "kampanova", Role: journal.RoleCampaignStaff}

// newCampaignJournal opens an in-memory journal with one campaign and the
// given contacts loaded.
func newCampaignJournal(t *testing.T, s Settings, contacts ...journal.Contact) (*journal.Journal, *Compiled) {
	t.Helper()
	j, err := journal.Open(journal.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	raw, _ := json.Marshal(s)
	ctx := context.Background()
	if err := j.CreateCampaign(ctx, staff, &journal.Campaign{ID: "disp-2026", Title: "Диспансеризация 2026", Kind: "screening", Script: "screening", Settings: raw}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.LoadContacts(ctx, staff, "disp-2026", contacts, "test.csv", nil); err != nil {
		t.Fatal(err)
	}
	cp, err := s.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return j, cp
}

func contact(enp string, phones ...string) journal.Contact {
	c := journal.Contact{ID: enp, Surname: "Иванова", Name: "Анна", Patronymic: "Сергеевна", Birth: "1960-02-01", MOCode: "260001", Zone: "MSK"}
	for _, p := range phones {
		c.Phones = append(c.Phones, journal.ContactPhone{Number: p, Type: "mobile"})
	}
	return c
}

// plan runs PlanDial for a due contact inside ChangeContact, as the runner does.
func plan(t *testing.T, j *journal.Journal, cp *Compiled, now time.Time, id string) (*Plan, error) {
	t.Helper()
	var p *Plan
	err := j.ChangeContact(context.Background(), "disp-2026", id, func(c *journal.Contact) (*journal.ContactChange, error) {
		var err error
		p, err = cp.PlanDial(now, c, j.NewID(now), "progressive", "main")
		if err != nil {
			return nil, err
		}
		return p.Change, nil
	})
	return p, err
}

func finish(t *testing.T, j *journal.Journal, cp *Compiled, now time.Time, attempt string, e AttemptEnd) {
	t.Helper()
	err := j.ChangeAttempt(context.Background(), attempt, func(a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error) {
		return cp.Finish(now, a, c, e)
	})
	if err != nil {
		t.Fatalf("finish %s: %v", attempt, err)
	}
}

func TestContactLifecycle(t *testing.T) {
	ctx := context.Background()
	msk, _ := LoadZone("MSK")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, msk) // a Wednesday noon
	j, cp := newCampaignJournal(t, DefaultSettings(),
		contact("2619482199351819", "+79123456789", "+79123456790"),
		contact("2619482199351820"),
		contact("2619482199351821", "+79120000001"))

	due, err := j.DueContacts(ctx, "disp-2026", now, 100)
	if err != nil || len(due) != 2 {
		t.Fatalf("DueContacts = %d, %v; want the 2 contacts with phones", len(due), err)
	}
	skips, _ := j.Skips(ctx, "disp-2026", "2619482199351820")
	if len(skips) != 1 || skips[0].Reason != "no_phone" {
		t.Errorf("skips of the contact without phone = %+v, want one no_phone", skips)
	}

	// Dial: the contact becomes dialing with an open attempt.
	p, err := plan(t, j, cp, now, "2619482199351819")
	if err != nil || !p.Dial || p.Phone != "+79123456789" {
		t.Fatalf("PlanDial = %+v, %v; want a dial on the first phone", p, err)
	}
	attempt := p.Change.Attempt.ID
	// Never twice at once: a second plan of the same contact is refused.
	if _, err := plan(t, j, cp, now, "2619482199351819"); err == nil || !strings.Contains(err.Error(), "not pending") {
		t.Errorf("second PlanDial = %v, want refused (contact dialing)", err)
	}
	open, _ := j.OpenAttempts(ctx, "disp-2026")
	if len(open) != 1 || open[0].ID != attempt {
		t.Errorf("OpenAttempts = %+v, want the one attempt", open)
	}

	// Busy: pending again 15 minutes after the attempt, with the reason
	// recorded (the retry delay holds for every phone of the person).
	finish(t, j, cp, now.Add(20*time.Second), attempt, AttemptEnd{Result: ResultBusy, SIPCode: 486})
	c, _ := j.Contact(ctx, journal.Actor{}, "disp-2026", "2619482199351819")
	if c.Status != journal.ContactPending || !c.Next.Equal(now.Add(15*time.Minute)) || c.Block != "retry_delay" {
		t.Errorf("after busy: status %v next %v block %q, want pending at 12:15, retry_delay", c.Status, c.Next, c.Block)
	}
	skips, _ = j.Skips(ctx, "disp-2026", c.ID)
	if len(skips) == 0 || skips[len(skips)-1].Reason != "retry_delay" {
		t.Errorf("skips = %+v, want the retry delay recorded", skips)
	}
	if due, _ := j.DueContacts(ctx, "disp-2026", now.Add(time.Minute), 100); len(due) != 1 {
		t.Errorf("due a minute later: %d contacts, want only the other one", len(due))
	}
	later := now.Add(16 * time.Minute)
	p, err = plan(t, j, cp, later, c.ID)
	if err != nil || !p.Dial || p.Phone != "+79123456789" {
		t.Fatalf("PlanDial after the retry delay = %+v, %v; want the first phone", p, err)
	}
	// Wrong number: that phone is never dialed again, the second one is.
	finish(t, j, cp, later.Add(time.Minute), p.Change.Attempt.ID, AttemptEnd{Result: ResultWrongNumber, Answered: later.Add(30 * time.Second)})
	p, err = plan(t, j, cp, later.Add(2*time.Minute), c.ID)
	if err != nil || !p.Dial || p.Phone != "+79123456790" {
		t.Fatalf("PlanDial after a wrong number = %+v, %v; want the second phone", p, err)
	}
	c, _ = j.Contact(ctx, journal.Actor{}, "disp-2026", c.ID)
	if !c.Phones[0].Wrong || c.Status != journal.ContactDialing {
		t.Errorf("contact = %+v, want first phone wrong, dialing", c)
	}

	// The operator saves a card: refused, with a reason; final.
	script, _ := BuiltinScript("screening")
	err = j.ChangeContact(ctx, "disp-2026", c.ID, func(c *journal.Contact) (*journal.ContactChange, error) {
		return cp.ApplyCard(now.Add(time.Hour), script, c, AttemptEnd{Result: ResultRefused, Refusal: "no_time", By: journal.Actor{Login: "ivanova", Role: journal.RoleOperatorL1}})
	})
	if err != nil {
		t.Fatal(err)
	}
	c, _ = j.Contact(ctx, journal.Actor{}, "disp-2026", c.ID)
	if c.Status != journal.ContactDone || c.Result != "refused" || c.Refusal != "no_time" || c.SavedBy != "ivanova" {
		t.Errorf("after the card: %+v", c)
	}
	// A bad card changes nothing.
	err = j.ChangeContact(ctx, "disp-2026", "2619482199351821", func(c *journal.Contact) (*journal.ContactChange, error) {
		return cp.ApplyCard(now, script, c, AttemptEnd{Result: ResultReached, Answers: map[string]string{"passed": "maybe"}})
	})
	if err == nil || !strings.Contains(err.Error(), `passed: "maybe": want yes or no`) {
		t.Errorf("bad card = %v", err)
	}

	// An abandoned call: counted on the ledger, a priority callback after 72 h.
	p, _ = plan(t, j, cp, now, "2619482199351821")
	finish(t, j, cp, now.Add(10*time.Second), p.Change.Attempt.ID, AttemptEnd{Result: ResultAbandoned, Answered: now.Add(5 * time.Second), SafeHarbor: 300 * time.Millisecond})
	c, _ = j.Contact(ctx, journal.Actor{}, "disp-2026", "2619482199351821")
	if c.Callback == nil || !c.Callback.Priority || c.Block != "callback_pending" || c.Next.Before(now.Add(72*time.Hour)) {
		t.Errorf("after abandon: %+v callback %+v", c, c.Callback)
	}
	days, _ := j.Ledger(ctx, "disp-2026", "2026-11-01", "2026-11-30")
	if len(days) != 1 || days[0].Live != 3 || days[0].Abandoned != 1 {
		t.Errorf("ledger = %+v, want 3 live (wrong number, refused card's call, abandoned), 1 abandoned", days)
	}
	// An attempt is counted once.
	err = j.ChangeAttempt(ctx, p.Change.Attempt.ID, func(a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error) {
		return cp.Finish(now, a, c, AttemptEnd{Result: ResultBusy})
	})
	if err == nil || !strings.Contains(err.Error(), "already ended") {
		t.Errorf("second Finish = %v, want refused", err)
	}
	if probs, err := j.CheckIndexes(ctx); err != nil || len(probs) != 0 {
		t.Errorf("CheckIndexes = %v, %v", probs, err)
	}
}

func TestDNCResultAndRecover(t *testing.T) {
	ctx := context.Background()
	msk, _ := LoadZone("MSK")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, msk)
	j, cp := newCampaignJournal(t, DefaultSettings(), contact("2619482199351819", "+79123456789"), contact("2619482199351822", "+79123456789"))
	p, _ := plan(t, j, cp, now, "2619482199351819")
	finish(t, j, cp, now, p.Change.Attempt.ID, AttemptEnd{Result: ResultDNC})
	if d, err := j.DNC(ctx, "+79123456789"); err != nil || d.Source != "result" {
		t.Fatalf("DNC = %+v, %v", d, err)
	}
	set, _ := j.DNCSet(ctx)
	cp.Rules.DNC = DNCSet(set)
	// The other contact with the same phone is exhausted, with the reason.
	p, err := plan(t, j, cp, now, "2619482199351822")
	if err != nil || p.Dial || p.Verdict.Reason != BlockDNC {
		t.Fatalf("PlanDial of a DNC phone = %+v, %v", p, err)
	}
	c, _ := j.Contact(ctx, journal.Actor{}, "disp-2026", "2619482199351822")
	if c.Status != journal.ContactExhausted {
		t.Errorf("contact with only a DNC phone: %v, want exhausted", c.Status)
	}

	// A crash leaves an attempt open: Recover counts it once, as failed.
	j2, cp2 := newCampaignJournal(t, DefaultSettings(), contact("2619482199351823", "+79120000009"))
	if p, err := plan(t, j2, cp2, now, "2619482199351823"); err != nil || !p.Dial {
		t.Fatalf("plan = %+v, %v; want a dial", p, err)
	}
	open, _ := j2.OpenAttempts(ctx, "disp-2026")
	for _, a := range open {
		err := j2.ChangeAttempt(ctx, a.ID, func(a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error) {
			return cp2.Recover(now.Add(time.Minute), a, c)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	open, _ = j2.OpenAttempts(ctx, "disp-2026")
	as, _ := j2.Attempts(ctx, "disp-2026", "2619482199351823", time.Time{}, time.Time{})
	c, _ = j2.Contact(ctx, journal.Actor{}, "disp-2026", "2619482199351823")
	if len(open) != 0 || len(as) != 1 || as[0].Result != "failed" || c.Status != journal.ContactPending {
		t.Errorf("after recover: open %d attempts %+v contact %v", len(open), as, c.Status)
	}
}

func TestSettingsCompile(t *testing.T) {
	if _, err := DefaultSettings().Compile(); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		s    Settings
		want string
	}{
		{Settings{Mode: "turbo"}, "mode = turbo"},
		{Settings{Weekdays: "21:00-09:00"}, "weekdays = 21:00-09:00"},
		{Settings{RetryDelays: map[string]string{"busy": "soon"}}, "retry_delays.busy"},
		{Settings{RetryDelays: map[string]string{"reached": "1h"}}, "retry_delays.reached"},
		{Settings{NoRedialAfterAbandon: "-1h"}, "no_redial_after_abandon"},
		{Settings{TargetAbandon: 0.7}, "target_abandon"},
		{Settings{Zone: "Mars"}, "zone = Mars"},
	}
	for _, tt := range bad {
		if _, err := tt.s.Compile(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%+v) = %v, want error with %q", tt.s, err, tt.want)
		}
	}
	s := DefaultSettings()
	s.NoRedialAfterAbandon = "0s"
	cp, err := s.Compile()
	if err != nil || cp.Rules.NoRedialAfterAbandon != 0 {
		t.Errorf("no_redial 0s = %v, %v; want 0", cp.Rules.NoRedialAfterAbandon, err)
	}
}
