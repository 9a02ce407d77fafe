package dialer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/metrics"
)

// A 200-contact campaign runs to its end with baresip operators on
// session legs and SIPp as the trunk (the last digit of a phone decides:
// a person, busy, no answer, a machine). The runner's live answers go
// through the ACD to the operators; the test plays the operators'
// desktops: it reads the survey card of the call the desk shows (campaign
// and attempt), saves answers for half of the calls and hangs up. At the
// end every contact is final or pending with a result, none was dialed
// twice at once or outside its calling window, the saved answers are in
// the journal, machines were hung up by AMD, and the ledger counts every
// live answer once.
func TestCampaign200ContactsWithOperators(t *testing.T) {
	if testing.Short() {
		t.Skip("a 200-call campaign with real peers")
	}
	sipPort, mediaPort := peertest.FreePort(t), peertest.FreeMediaPort(t)
	trunk := peertest.StartSIPpFor(t, 10*time.Minute, "uas_campaign.xml", "-p", strconv.Itoa(sipPort), "-mp", strconv.Itoa(mediaPort), "-d", "200")
	peertest.WaitUDPBound(t, sipPort, 30*time.Second)
	operators := ops(4, "survey")
	e := startACD(t, operators, func(c *config.Config) {
		c.RTP.PortMin, c.RTP.PortMax = campaignRTPBand()
		c.Trunks = []config.Trunk{{Name: "carrier", Address: "127.0.0.1:" + strconv.Itoa(sipPort), Transport: "udp",
			CallerID: "78652000000", MaxChannels: 8, Backoff: config.Duration{Duration: time.Second}}}
	})
	e.startOperators(t, operators, acd.DeliverySession, 600)
	m := metrics.NewCampaigns(e.reg)
	trunks, err := NewTrunks(e.srv, m)
	if err != nil {
		t.Fatal(err)
	}
	cd := NewCampaignDialer(e.srv, trunks, testPrompts(), m)
	cd.SetConnector(DeskConnector(e.desk))
	r := &campRig{trunkRig: &trunkRig{a: e.testAppliance, trunks: trunks, reg: e.reg}, cd: cd}

	// The calling window is around now in Moscow; contacts in Kamchatka
	// (9 h later) are outside theirs.
	msk := mustZone(t, "MSK")
	now := time.Now().In(msk)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, msk)
	from, to := now.Add(-time.Hour), now.Add(time.Hour)
	if from.Before(midnight) {
		from = midnight
	}
	if last := midnight.Add(24*time.Hour - time.Minute); to.After(last) {
		to = last
	}
	window := fmt.Sprintf("%s-%s", from.Format("15:04"), to.Format("15:04"))
	ctx := context.Background()
	set := campaigns.Settings{Mode: "progressive", AMD: "hangup", RingTimeout: "1s", CardTimeout: "3s", WrapUp: "500ms",
		Weekdays: window, Weekend: window, RetryDelays: map[string]string{"busy": "1h", "no_answer": "1h", "machine": "1h"}}
	if _, err := campaigns.Create(ctx, e.journal, campaignStaff, campaigns.CreateRequest{ID: "survey", Title: "Опрос", Script: "screening", Settings: set}); err != nil {
		t.Fatal(err)
	}
	e.desk.AddCampaign("survey", 500*time.Millisecond)
	const n = 200
	var list []journal.Contact
	far := map[string]bool{}
	for i := range n {
		enp := fmt.Sprintf("26194821993%05d", i)
		c := journal.Contact{ID: enp, Surname: "Иванова", Name: "Анна", MOCode: "260001", Zone: "MSK",
			Phones: []journal.ContactPhone{{Number: fmt.Sprintf("+79123%05d%d", i, i%10), Type: "mobile"}}}
		if i%25 == 7 {
			c.Zone = "Asia/Kamchatka"
			far[enp] = true
		}
		list = append(list, c)
	}
	if _, err := e.journal.LoadContacts(ctx, campaignStaff, "survey", list, "list.csv", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := campaigns.SetStatus(ctx, e.journal, campaignStaff, "survey", journal.CampaignRunning, ""); err != nil {
		t.Fatal(err)
	}

	// The operators' desktops: the desk shows the call's campaign and
	// attempt; the card comes from it; half the calls get saved answers.
	saved := map[string]map[string]string{}
	var mu sync.Mutex
	dctx, stopDesks := context.WithCancel(ctx)
	var desks sync.WaitGroup
	desks.Add(1)
	go func() {
		defer desks.Done()
		handled := map[string]bool{}
		for dctx.Err() == nil {
			for _, st := range e.desk.Agents() {
				c := st.Call
				if c == nil || c.Campaign != "survey" || handled[c.ContactID] || time.Since(c.ConnectedAt) < 700*time.Millisecond {
					continue
				}
				handled[c.ContactID] = true
				card, err := campaigns.CardOf(ctx, e.journal, journal.Actor{Login: st.Login, Role: journal.RoleOperatorL1}, "survey", c.ContactID)
				if err != nil {
					t.Errorf("card of the call %+v: %v", c, err)
					continue
				}
				if len(handled)%2 == 0 {
					ans := map[string]string{"passed": "yes", "where": "own_mo"}
					if _, err := campaigns.SaveCard(ctx, e.journal, journal.Actor{Login: st.Login, Role: journal.RoleOperatorL1},
						"survey", c.ContactID, campaigns.CardRequest{Result: "reached", Answers: ans}, time.Now()); err != nil {
						t.Errorf("save the card of %s: %v", card.Contact.ID, err)
					} else {
						mu.Lock()
						saved[card.Contact.ID] = ans
						mu.Unlock()
					}
				}
				_ = e.desk.HangupCall(st.Login)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	stop := r.run(t, "survey", e.desk.Operators())
	waitFor(t, 8*time.Minute, "every contact in its window dialed and settled", func() bool {
		counts, err := e.journal.ContactCounts(ctx, "survey")
		if err != nil || counts[journal.ContactDialing] > 0 {
			return false
		}
		due, _ := e.journal.DueContacts(ctx, "survey", time.Now(), 1)
		return len(due) == 0
	})
	stop()
	stopDesks()
	desks.Wait()
	trunk.Stop()

	attempts, _ := e.journal.Attempts(ctx, "survey", "", time.Time{}, time.Time{})
	byContact := map[string][]journal.Attempt{}
	results := map[string]int{}
	live := 0
	for _, a := range attempts {
		byContact[a.Contact] = append(byContact[a.Contact], a)
		results[a.Result]++
		if res, _ := campaigns.ParseResult(a.Result); res.Live() {
			live++
		}
	}
	t.Logf("%d attempts: %v", len(attempts), results)
	statuses := map[journal.ContactStatus]int{}
	for id, c := range contactsOf(t, e.journal, "survey") {
		statuses[c.Status]++
		as := byContact[id]
		switch {
		case far[id]:
			if len(as) != 0 || c.Block != "outside_window" {
				t.Errorf("contact %s in Kamchatka: %d attempts, block %q; want none, outside_window", id, len(as), c.Block)
			}
			continue
		case c.Status == journal.ContactDialing || len(as) != 1 || c.Result == "":
			t.Errorf("contact %s: status %s, %d attempts, result %q; want one attempt with its result", id, c.Status, len(as), c.Result)
		}
		slices.SortFunc(as, func(a, b journal.Attempt) int { return a.Started.Compare(b.Started) })
		for i := 1; i < len(as); i++ {
			if as[i].Started.Before(as[i-1].Ended) {
				t.Errorf("contact %s dialed again while its call went on", id)
			}
		}
		for _, a := range as {
			if !within(a.Started.In(msk), from, to) {
				t.Errorf("contact %s dialed at %v, outside %s", id, a.Started.In(msk).Format("15:04:05"), window)
			}
		}
		if want := saved[id]; want != nil {
			for k, v := range want {
				if c.Answers[k] != v {
					t.Errorf("contact %s: answers %v, want the saved %v", id, c.Answers, want)
				}
			}
		}
	}
	t.Logf("contacts by status: %v; %d cards saved", statuses, len(saved))
	if len(saved) < 20 || results["reached"] < 60 || results["machine"] < 30 || results["busy"] < 30 || results["no_answer"] < 30 {
		t.Errorf("results %v with %d cards saved: want the trunk's mix (about 80 reached, 40 machine, 40 busy, 40 no answer)", results, len(saved))
	}
	ledger, _ := e.journal.Ledger(ctx, "survey", "2000-01-01", "2100-01-01")
	counted, abandoned := 0, 0
	for _, l := range ledger {
		counted += l.Live
		abandoned += l.Abandoned
	}
	if counted != live {
		t.Errorf("ledger counts %d live answers, the attempts %d", counted, live)
	}
	if abandoned > live*3/100 {
		t.Errorf("%d of %d live answers abandoned, want <= 3 %% (progressive, operators on session legs)", abandoned, live)
	}
}

func within(t, from, to time.Time) bool {
	clock := func(x time.Time) int { return x.Hour()*60 + x.Minute() }
	return clock(t) >= clock(from) && clock(t) <= clock(to)
}
