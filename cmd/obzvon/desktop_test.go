package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
)

// An appeal saved while its call is up is linked to the call's record,
// whichever comes first: the save (the record is written later) or the
// record (the call ended between the API's check and the link).
func TestGlueLinksAppealToCallRecord(t *testing.T) {
	j, err := journal.Open(journal.DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	who := journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}
	g := newDesktopGlue(api.NewEvents(nil), j, slog.New(slog.DiscardHandler))
	newAppeal := func() *journal.Appeal {
		a := &journal.Appeal{Channel: journal.ChannelPhone, Kind: journal.KindConsultation, Topic: "t", Text: "вопрос"}
		if err := j.CreateAppeal(ctx, who, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	call := func() *journal.CallRecord {
		return &journal.CallRecord{ID: journal.NewID(time.Now()), Direction: "inbound", From: "89161112233", Arrived: time.Now()}
	}
	check := func(name string, a *journal.Appeal, c *journal.CallRecord) {
		t.Helper()
		got, err := j.Appeal(ctx, who, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := j.Call(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Calls) != 1 || got.Calls[0] != c.ID {
			t.Errorf("%s: appeal calls %v, want [%s]", name, got.Calls, c.ID)
		}
		if name == "save first" && rec.Appeal != a.ID {
			t.Errorf("%s: record's appeal %q, want %s", name, rec.Appeal, a.ID)
		}
	}

	a1, c1 := newAppeal(), call()
	if err := g.LinkWhenRecorded(ctx, c1.ID, a1.ID, who); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Appeal(ctx, who, a1.ID); len(got.Calls) != 0 {
		t.Fatalf("linked before the record exists: %v", got.Calls)
	}
	if err := g.PutCall(ctx, c1); err != nil {
		t.Fatal(err)
	}
	check("save first", a1, c1)

	a2, c2 := newAppeal(), call()
	if err := g.PutCall(ctx, c2); err != nil {
		t.Fatal(err)
	}
	if err := g.LinkWhenRecorded(ctx, c2.ID, a2.ID, who); err != nil {
		t.Fatal(err)
	}
	check("record first", a2, c2)
	if n := len(g.pending); n != 0 {
		t.Errorf("%d links still pending", n)
	}
}
