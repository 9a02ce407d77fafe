package campaigns

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// Taking a phone off the do-not-call list releases what the list held
// back, and nothing else: a contact exhausted by it is pending again
// (its other phone, someone else's, stays wrong), a "do not call"
// result given on it is withdrawn (pending again when attempts are left,
// else exhausted naming max_attempts), a contact blocked before phones
// carried the DNC flag is recognised by its decision not to dial; a phone
// someone said is not the person's stays wrong, and a stopped campaign's
// contacts stay as they were. The removal and each release are audited
// with who and why; the entry is gone.
func TestRemoveDNCReleasesContacts(t *testing.T) {
	ctx := context.Background()
	msk, _ := LoadZone("MSK")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, msk) // a Wednesday noon
	const p, q = "+79123456789", "+79123456790"
	const (
		exhausted = "2619482199300001" // only P: exhausted by the list
		other     = "2619482199300002" // Q (someone else's) and P
		said      = "2619482199300003" // said "do not call" on P (put it there)
		saidLast  = "2619482199300004" // said it on its last attempt
		wrongNum  = "2619482199300005" // P is someone else's
		legacy    = "2619482199300006" // blocked before the DNC flag
	)
	set := DefaultSettings()
	set.MaxAttempts = 2
	set.RetryDelays = map[string]string{"busy": "1m"}
	j, cp := newCampaignJournal(t, set, contact(exhausted, p), contact(other, q, p), contact(said, p), contact(saidLast, p),
		contact(wrongNum, p), contact(legacy, p))
	op := journal.Actor{Login: "ivanova", Role: journal.RoleOperatorL1}

	// wrongNum: "wrong number" on P; saidLast: busy once, then "do not
	// call"; said: "do not call" (P goes on the list).
	dial := func(at time.Time, id string, e AttemptEnd) {
		t.Helper()
		pl, err := plan(t, j, cp, at, id)
		if err != nil || !pl.Dial {
			t.Fatalf("plan %s = %+v, %v; want a dial", id, pl, err)
		}
		finish(t, j, cp, at.Add(30*time.Second), pl.Change.Attempt.ID, e)
	}
	dial(now, wrongNum, AttemptEnd{Result: ResultWrongNumber})
	dial(now, other, AttemptEnd{Result: ResultWrongNumber})
	dial(now, saidLast, AttemptEnd{Result: ResultBusy})
	// Both calls on P are placed before either puts P on the list (a dial
	// on a listed phone is refused).
	placed := func(at time.Time, id string) string {
		t.Helper()
		pl, err := plan(t, j, cp, at, id)
		if err != nil || !pl.Dial {
			t.Fatalf("plan %s = %+v, %v; want a dial", id, pl, err)
		}
		return pl.Change.Attempt.ID
	}
	lastCall, saidCall := placed(now.Add(2*time.Minute), saidLast), placed(now.Add(2*time.Minute), said)
	finish(t, j, cp, now.Add(150*time.Second), lastCall, AttemptEnd{Result: ResultDNC, By: op})
	finish(t, j, cp, now.Add(150*time.Second), saidCall, AttemptEnd{Result: ResultDNC, By: op})
	if d, err := j.DNC(ctx, p); err != nil || d.Source != "result" || d.By != "ivanova" {
		t.Fatalf("DNC entry = %+v, %v; want from ivanova's result", d, err)
	}

	// The runner's copy of the list blocks P for the others.
	dnc, _ := j.DNCSet(ctx)
	cp.Rules.DNC = DNCSet(dnc)
	for _, id := range []string{exhausted, other, legacy} {
		if _, err := plan(t, j, cp, now.Add(3*time.Minute), id); err != nil {
			t.Fatal(err)
		}
	}
	// legacy: as stored before the flag (Wrong only).
	err := j.ChangeContact(ctx, "disp-2026", legacy, func(c *journal.Contact) (*journal.ContactChange, error) {
		n := c.Clone()
		n.Phones[0].DNC = false
		return &journal.ContactChange{Contact: n}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(j *journal.Journal, cp, id string) *journal.Contact {
		t.Helper()
		c, err := j.Contact(ctx, journal.Actor{}, cp, id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := get(j, "disp-2026", exhausted); c.Status != journal.ContactExhausted || !c.Phones[0].Wrong || !c.Phones[0].DNC {
		t.Fatalf("before: %s = %v %+v; want exhausted, P wrong for the list", exhausted, c.Status, c.Phones)
	}
	if c := get(j, "disp-2026", other); c.Status != journal.ContactExhausted || !c.Phones[0].Wrong || c.Phones[0].DNC || !c.Phones[1].DNC {
		t.Fatalf("before: %s = %v %+v; want exhausted, Q wrong, P held by the list", other, c.Status, c.Phones)
	}

	// A stopped campaign with a contact the list exhausted.
	stoppedSet := DefaultSettings()
	if _, err := Create(ctx, j, staff, CreateRequest{ID: "old-2025", Title: "Старая", Script: "screening", Settings: stoppedSet}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.LoadContacts(ctx, staff, "old-2025", []journal.Contact{contact(exhausted, p)}, "old.csv", nil); err != nil {
		t.Fatal(err)
	}
	err = j.ChangeContact(ctx, "old-2025", exhausted, func(c *journal.Contact) (*journal.ContactChange, error) {
		pl, err := cp.PlanDial(now, c, j.NewID(now), "progressive", "")
		if err != nil {
			return nil, err
		}
		pl.Change.Contact.Campaign = "old-2025"
		return pl.Change, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SetStatus(ctx, j, staff, "old-2025", journal.CampaignStopped, "отработана"); err != nil {
		t.Fatal(err)
	}
	stoppedBefore := get(j, "old-2025", exhausted)

	// Bad input: an error naming what is wrong, and nothing changes.
	removeAt := now.Add(time.Hour)
	for _, tc := range []struct {
		who           journal.Actor
		phone, reason string
		is            error
		want          string
	}{
		{staff, "8912", "попросил звонить", ErrBadDNC, `"8912" is not a Russian number`},
		{staff, "", "попросил звонить", ErrBadDNC, "no phone given"},
		{staff, p, "  ", ErrBadDNC, "reason: required"},
		{staff, "+79120000000", "попросил звонить", journal.ErrNotFound, "+79120000000 is not on the do-not-call list"},
		{op, p, "попросил звонить", journal.ErrDenied, "role operator_l1"},
	} {
		_, err := RemoveDNC(ctx, j, tc.who, tc.phone, tc.reason, removeAt)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RemoveDNC(%q, %q) by %s = %v; want %v naming %q", tc.phone, tc.reason, tc.who.Role, err, tc.is, tc.want)
		}
	}
	if _, err := j.DNC(ctx, p); err != nil {
		t.Fatalf("after refused removals: %v; want P still on the list", err)
	}
	if c := get(j, "disp-2026", exhausted); c.Status != journal.ContactExhausted {
		t.Fatalf("after refused removals: %s = %v; want still exhausted", exhausted, c.Status)
	}

	res, err := RemoveDNC(ctx, j, staff, "8 (912) 345-67-89", "гражданин попросил звонить", removeAt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Removed.Phone != p || res.Removed.Source != "result" || res.Reason != "гражданин попросил звонить" {
		t.Errorf("removal = %+v", res)
	}
	if _, err := j.DNC(ctx, p); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("DNC(P) after the removal = %v; want not found", err)
	}
	released := map[string]DNCReleased{}
	for _, r := range res.Released {
		if r.Campaign != "disp-2026" {
			t.Errorf("released %+v of a stopped campaign", r)
		}
		released[r.Contact] = r
	}
	want := []string{exhausted, other, said, saidLast, legacy}
	if got := slices.Sorted(func(yield func(string) bool) {
		for id := range released {
			if !yield(id) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("released %v, want %v", got, want)
	}
	for _, id := range []string{exhausted, other, said, legacy} {
		c := get(j, "disp-2026", id)
		k := len(c.Phones) - 1 // P
		if c.Status != journal.ContactPending || c.Phones[k].Wrong || c.Phones[k].DNC || c.Result == "dnc" || k == 1 && !c.Phones[0].Wrong {
			t.Errorf("after: %s = %v result %q phones %+v; want pending, P dialable (Q still wrong), no dnc result", id, c.Status, c.Result, c.Phones)
		}
		if r := released[id]; r.Status != journal.ContactPending || r.Next.IsZero() {
			t.Errorf("released %s = %+v; want pending with a time", id, r)
		}
	}
	if c := get(j, "disp-2026", saidLast); c.Status != journal.ContactExhausted || c.Block != "max_attempts" || c.Result != "" {
		t.Errorf("after: %s = %v block %q result %q; want exhausted by max_attempts, the dnc result withdrawn", saidLast, c.Status, c.Block, c.Result)
	}
	if r := released[saidLast]; r.Status != journal.ContactExhausted || r.Block != "max_attempts" {
		t.Errorf("released %s = %+v; want exhausted naming max_attempts", saidLast, r)
	}
	if c := get(j, "disp-2026", wrongNum); !c.Phones[0].Wrong || c.Status != journal.ContactExhausted {
		t.Errorf("after: %s = %v %+v; want P still wrong", wrongNum, c.Status, c.Phones)
	}
	if c := get(j, "old-2025", exhausted); c.Status != stoppedBefore.Status || !c.Phones[0].Wrong || !c.Updated.Equal(stoppedBefore.Updated) {
		t.Errorf("stopped campaign's contact after: %v %+v; want unchanged", c.Status, c.Phones)
	}
	// The runner dials them now.
	cp.Rules.DNC = DNCSet{}
	if pl, err := plan(t, j, cp, removeAt, exhausted); err != nil || !pl.Dial || pl.Phone != p {
		t.Errorf("plan after the removal = %+v, %v; want a dial on P", pl, err)
	}

	admin := journal.Actor{Login: "root", Role: journal.RoleAdmin}
	au, err := j.Audit(ctx, admin, journal.AuditQuery{Subject: "dnc:" + p})
	if err != nil {
		t.Fatal(err)
	}
	if len(au) != 1 || au[0].Op != "delete" || au[0].Account != "kampanova" ||
		!strings.Contains(au[0].Detail, "reason: гражданин попросил звонить") || !strings.Contains(au[0].Detail, "by ivanova (result") ||
		!strings.Contains(au[0].Detail, "contacts released: 5") {
		t.Errorf("audit of the removal = %+v", au)
	}
	au, _ = j.Audit(ctx, admin, journal.AuditQuery{Subject: "contact:disp-2026/" + said})
	if k := len(au) - 1; k < 0 || au[k].Account != "kampanova" || !strings.Contains(au[k].Detail, "do-not-call result withdrawn") {
		t.Errorf("audit of the released contact = %+v", au)
	}
	if probs, err := j.CheckIndexes(ctx); err != nil || len(probs) != 0 {
		t.Errorf("CheckIndexes = %v, %v", probs, err)
	}
}

// A decision not to dial taken on a stale copy of the list (the phone
// was taken off it since) is not written: the journal refuses it, so a
// runner cannot mark a released phone wrong again.
func TestStaleDNCDecisionRefused(t *testing.T) {
	ctx := context.Background()
	msk, _ := LoadZone("MSK")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, msk)
	const p = "+79123456789"
	j, cp := newCampaignJournal(t, DefaultSettings(), contact("2619482199300001", p))
	cp.Rules.DNC = DNCSet{p: {}} // the runner's copy; the journal's list is empty
	_, err := plan(t, j, cp, now, "2619482199300001")
	if !errors.Is(err, journal.ErrDNCChanged) {
		t.Errorf("plan on a stale list = %v; want ErrDNCChanged", err)
	}
	c, _ := j.Contact(ctx, journal.Actor{}, "disp-2026", "2619482199300001")
	if c.Status != journal.ContactPending || c.Phones[0].Wrong {
		t.Errorf("contact = %v %+v; want pending, P not marked", c.Status, c.Phones)
	}
	// On the list for real: the decision is written.
	if _, err := j.AddDNC(ctx, staff, []journal.DNCEntry{{Phone: p, Source: "api"}}); err != nil {
		t.Fatal(err)
	}
	if pl, err := plan(t, j, cp, now, "2619482199300001"); err != nil || pl.Dial {
		t.Errorf("plan on a current list = %+v, %v; want a decision not to dial", pl, err)
	}
	c, _ = j.Contact(ctx, journal.Actor{}, "disp-2026", "2619482199300001")
	if c.Status != journal.ContactExhausted || !c.Phones[0].DNC {
		t.Errorf("contact = %v %+v; want exhausted, P held by the list", c.Status, c.Phones)
	}
}

// A dial decided on a copy of the list read before the phone was put on
// it (the runner reads it every 5 s) is refused by the journal: a citizen
// who just asked not to be called is not called in that window. Once the
// copy is current the rules decide not to dial. The call already placed
// on that phone still records its progress and its end.
func TestDialOnPhoneJustPutOnDNCRefused(t *testing.T) {
	ctx := context.Background()
	msk, _ := LoadZone("MSK")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, msk)
	const p, q = "+79123456789", "+79123456790"
	j, cp := newCampaignJournal(t, DefaultSettings(), contact("2619482199300001", p), contact("2619482199300002", q))
	cp.Rules.DNC = DNCSet{} // the runner's copy, read before
	// A call on q is up when q goes on the list.
	up, err := plan(t, j, cp, now, "2619482199300002")
	if err != nil || !up.Dial {
		t.Fatalf("plan on q = %+v, %v", up, err)
	}
	if _, err := j.AddDNC(ctx, staff, []journal.DNCEntry{{Phone: p, Source: "api"}, {Phone: q, Source: "api"}}); err != nil {
		t.Fatal(err)
	}
	_, err = plan(t, j, cp, now, "2619482199300001")
	if !errors.Is(err, journal.ErrDNCChanged) {
		t.Errorf("a dial on a phone put on the list since the copy = %v; want ErrDNCChanged", err)
	}
	c, _ := j.Contact(ctx, journal.Actor{}, "disp-2026", "2619482199300001")
	if c.Status != journal.ContactPending || len(c.Attempts) != 0 {
		t.Errorf("contact = %v, attempts %+v; want pending, not dialed", c.Status, c.Attempts)
	}
	finish(t, j, cp, now.Add(time.Minute), up.Change.Attempt.ID, AttemptEnd{Result: ResultNoAnswer, SIPCode: 480, Ended: now.Add(time.Minute)})
	if a, err := j.Attempt(ctx, up.Change.Attempt.ID); err != nil || a.Result == "" {
		t.Errorf("the call up on q ended = %+v, %v; want its result written", a, err)
	}
	cp.Rules.DNC = DNCSet{p: {}, q: {}}
	if pl, err := plan(t, j, cp, now, "2619482199300001"); err != nil || pl.Dial {
		t.Errorf("plan on a current list = %+v, %v; want a decision not to dial", pl, err)
	}
}

// The list seen by staff: pages in phone order with the total and the
// next page's start, one phone by a number as typed, malformed input
// named; every read audited.
func TestListDNC(t *testing.T) {
	ctx := context.Background()
	j, _ := newCampaignJournal(t, DefaultSettings())
	var lines []DNCLine
	for _, ph := range []string{"89123456703", "89123456701", "89123456702", "89123456705", "89123456704"} {
		lines = append(lines, DNCLine{Phone: ph, Reason: "просил не звонить"})
	}
	if _, err := AddDNC(ctx, j, staff, DNCRequest{Phones: lines, Source: "file", Campaign: "disp-2026"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	q := DNCQuery{Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatalf("more than 3 pages of 2 for 5 phones: %v", got)
		}
		pg, err := ListDNC(ctx, j, staff, q)
		if err != nil {
			t.Fatal(err)
		}
		if pg.Total != 5 {
			t.Errorf("page total = %d, want 5", pg.Total)
		}
		for _, d := range pg.Entries {
			got = append(got, d.Phone)
			if d.By != "kampanova" || d.Source != "file" || d.Campaign != "disp-2026" || d.Reason != "просил не звонить" || d.Added.IsZero() {
				t.Errorf("entry = %+v", d)
			}
		}
		if pg.Next == "" {
			break
		}
		q.After = pg.Next
	}
	want := []string{"+79123456701", "+79123456702", "+79123456703", "+79123456704", "+79123456705"}
	if !slices.Equal(got, want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
	pg, err := ListDNC(ctx, j, staff, DNCQuery{Phone: "8 (912) 345-67-04"})
	if err != nil || len(pg.Entries) != 1 || pg.Entries[0].Phone != "+79123456704" || pg.Total != 1 {
		t.Errorf("one phone = %+v, %v", pg, err)
	}
	if pg, err := ListDNC(ctx, j, staff, DNCQuery{Phone: "89123456799"}); err != nil || len(pg.Entries) != 0 || pg.Entries == nil {
		t.Errorf("a phone not on the list = %+v, %v; want an empty page", pg, err)
	}
	for _, q := range []DNCQuery{{Phone: "12345"}, {After: "x"}, {Limit: journal.MaxDNCPage + 1}} {
		if _, err := ListDNC(ctx, j, staff, q); !errors.Is(err, ErrBadDNC) {
			t.Errorf("ListDNC(%+v) = %v; want ErrBadDNC", q, err)
		}
	}
	if _, err := ListDNC(ctx, j, journal.Actor{Login: "ivanova", Role: journal.RoleOperatorL1}, DNCQuery{}); !errors.Is(err, journal.ErrDenied) {
		t.Errorf("an operator lists = %v; want denied", err)
	}
	au, _ := j.Audit(ctx, journal.Actor{Login: "root", Role: journal.RoleAdmin}, journal.AuditQuery{Account: "kampanova"})
	reads := 0
	for _, e := range au {
		if e.Op == "read" && strings.HasPrefix(e.Subject, "dnc:") {
			reads++
		}
	}
	if reads != 5 { // 3 pages, one phone, one phone not on the list
		t.Errorf("%d audited reads of the list, want 5", reads)
	}

	var b strings.Builder
	n, err := ExportDNC(ctx, j, staff, "", false, time.UTC, &b)
	if err != nil || n != 5 || !strings.HasPrefix(b.String(), "\ufeffТелефон;Добавлен;Кем;Источник;Кампания;Причина\r\n+79123456701;") ||
		!strings.Contains(b.String(), ";kampanova;файл;disp-2026;просил не звонить\r\n") {
		t.Errorf("ExportDNC = %d, %v:\n%s", n, err, b.String())
	}
}
