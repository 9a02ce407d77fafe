package dialer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// Preview mode with real peers: two baresip operators on session legs,
// SIPp as the trunk. The campaign dials nothing by itself; when op2 asks
// for a card (DialFor), the person's answer goes to op2's session leg
// although op1 has been ready longer, the desk shows op2 the call with
// its attempt, and the attempt records op2; asking again while the call
// is up is refused; a callback op1 owns is refused to op2.
func TestCampaignPreviewDialWithOperators(t *testing.T) {
	operators := ops(2, "survey")
	trunk, e, cd, m := startTrunkDesk(t, operators, "300")
	e.startOperators(t, operators, acd.DeliverySession, 600)

	ctx := context.Background()
	set := campaigns.Settings{Mode: "preview", RingTimeout: "5s", CardTimeout: "3s", WrapUp: "500ms",
		Weekdays: "00:00-24:00", Weekend: "00:00-24:00"}
	if _, err := campaigns.Create(ctx, e.journal, campaignStaff, campaigns.CreateRequest{ID: "survey", Title: "Опрос", Script: "screening", Settings: set}); err != nil {
		t.Fatal(err)
	}
	e.desk.AddCampaign("survey", 500*time.Millisecond)
	var list []journal.Contact
	for i := range 3 {
		list = append(list, journal.Contact{ID: fmt.Sprintf("26194821993%05d", i), Surname: "Иванова", Name: "Анна", MOCode: "260001", Zone: "MSK",
			Phones: []journal.ContactPhone{{Number: fmt.Sprintf("+791230000%d1", i), Type: "mobile"}}}) // last digit 1: a person
	}
	if _, err := e.journal.LoadContacts(ctx, campaignStaff, "survey", list, "list.csv", nil); err != nil {
		t.Fatal(err)
	}
	err := e.journal.ChangeContact(ctx, "survey", list[2].ID, func(c *journal.Contact) (*journal.ContactChange, error) {
		n := c.Clone()
		n.Callback = &journal.ContactCallback{At: time.Now().Add(-time.Minute), Agent: "op1"}
		n.Next = n.Callback.At
		return &journal.ContactChange{Contact: n}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := campaigns.SetStatus(ctx, e.journal, campaignStaff, "survey", journal.CampaignRunning, ""); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 10*time.Second, "both operators ready", func() bool {
		return e.state("op1") == acd.StateReady && e.state("op2") == acd.StateReady
	})
	// op2 pauses and comes back: op1 is the longest idle, whom the queue
	// would pick for any other call.
	if err := e.desk.Pause("op2", e.desk.PauseReasons()[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.desk.Ready("op2"); err != nil {
		t.Fatal(err)
	}

	runner := campaigns.NewRunner("survey", campaigns.RunnerOptions{Store: e.journal, Dialer: cd, Operators: e.desk.Operators(),
		Metrics: m, Logger: e.srv.log, Drain: 10 * time.Second})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
		cd.Wait()
	}()

	res := runner.DialFor(ctx, list[0].ID, "op2")
	if res.Err != nil {
		t.Fatalf("DialFor(op2) = %v", res.Err)
	}
	e.waitFor(t, 20*time.Second, "op2 talking to the previewed person", func() bool {
		c := e.desk.Agent("op2").Call
		return c != nil && c.Campaign == "survey" && c.ContactID == res.Attempt
	})
	if c := e.desk.Agent("op1").Call; c != nil || e.state("op1") != acd.StateReady {
		t.Errorf("op1 (ready longer) got %+v in state %v; the call was op2's", c, e.state("op1"))
	}
	if again := runner.DialFor(ctx, list[0].ID, "op1"); !errors.Is(again.Err, campaigns.ErrNotNow) {
		t.Errorf("DialFor of the person on the phone = %+v, want ErrNotNow", again)
	}
	if other := runner.DialFor(ctx, list[2].ID, "op2"); !errors.Is(other.Err, campaigns.ErrNotNow) {
		t.Errorf("DialFor of op1's callback by op2 = %+v, want ErrNotNow", other)
	}
	if err := e.desk.HangupCall("op2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the attempt ended", func() bool {
		a, err := e.journal.Attempt(ctx, res.Attempt)
		return err == nil && a.Result != ""
	})
	a, _ := e.journal.Attempt(ctx, res.Attempt)
	if a.Agent != "op2" || a.Mode != "preview" || a.Answered.IsZero() || a.Result == "abandoned" {
		t.Errorf("attempt = %+v; want answered, connected to op2, mode preview", a)
	}
	attempts, _ := e.journal.Attempts(ctx, "survey", "", time.Time{}, time.Time{})
	if len(attempts) != 1 {
		t.Errorf("%d attempts, want only the one op2 asked for (preview never dials by itself)", len(attempts))
	}
	trunk.Stop()
}
