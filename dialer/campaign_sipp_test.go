package dialer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

var campaignStaff = journal.Actor{Login: "kampanova", Role: journal.RoleCampaignStaff}

// campRig is an appliance whose campaigns dial a SIPp trunk.
type campRig struct {
	*trunkRig
	cd *CampaignDialer
}

func testPrompts() PromptSource {
	var mu sync.Mutex
	cache := map[string]*media.Prompt{}
	return func(name string) (*media.Prompt, error) {
		mu.Lock()
		defer mu.Unlock()
		if p := cache[name]; p != nil {
			return p, nil
		}
		p, err := media.LoadPrompt(filepath.Join("..", "prompts", "ru", name+".wav"))
		if err != nil {
			return nil, err
		}
		cache[name] = p
		return p, nil
	}
}

func startCampaignRig(t *testing.T, trunkAddr string, backoff time.Duration) *campRig {
	t.Helper()
	r := startTrunkRig(t, config.Trunk{Name: "carrier", Address: trunkAddr, Transport: "udp", CallerID: "78652000000",
		Backoff: config.Duration{Duration: backoff}})
	cd := NewCampaignDialer(r.a.srv, r.trunks, testPrompts(), metrics.NewCampaigns(nil))
	// The AMD metrics go to the rig's registry through the trunks' set.
	cd.metrics = r.trunks.metrics
	return &campRig{trunkRig: r, cd: cd}
}

// campaign creates and starts campaign id with contacts whose phones end
// in digits (the SIPp trunk decides each call by the last digit).
func (r *campRig) campaign(t *testing.T, id, script string, set campaigns.Settings, digits ...int) []string {
	t.Helper()
	ctx := context.Background()
	set.Weekdays, set.Weekend = "00:00-24:00", "00:00-24:00"
	if _, err := campaigns.Create(ctx, r.a.journal, campaignStaff, campaigns.CreateRequest{ID: id, Title: "Тест", Script: script, Settings: set}); err != nil {
		t.Fatal(err)
	}
	var list []journal.Contact
	var enps []string
	for i, d := range digits {
		enp := fmt.Sprintf("26194821993%05d", i)
		list = append(list, journal.Contact{ID: enp, Surname: "Иванова", Name: "Анна", MOCode: "260001", Zone: "MSK",
			Phones: []journal.ContactPhone{{Number: fmt.Sprintf("+79123456%02d%d", i, d), Type: "mobile"}}})
		enps = append(enps, enp)
	}
	if _, err := r.a.journal.LoadContacts(ctx, campaignStaff, id, list, "list.csv", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := campaigns.SetStatus(ctx, r.a.journal, campaignStaff, id, journal.CampaignRunning, ""); err != nil {
		t.Fatal(err)
	}
	return enps
}

// run runs campaign id's runner until stop is called.
func (r *campRig) run(t *testing.T, id string, ops campaigns.Operators) (stop func()) {
	t.Helper()
	runner := campaigns.NewRunner(id, campaigns.RunnerOptions{Store: r.a.journal, Dialer: r.cd, Operators: ops,
		Metrics: r.trunks.metrics, Logger: r.a.srv.log, Drain: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runner: %v", err)
			}
			r.cd.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

// readyOperators is an ACD view with n operators always ready.
func readyOperators(n int) campaigns.Operators {
	return campaigns.OperatorsFunc{AgentsFunc: func(_ string, dst []campaigns.Agent) []campaigns.Agent {
		for range n {
			dst = append(dst, campaigns.Agent{State: acd.StateReady, InState: time.Minute})
		}
		return dst
	}}
}

// fakeDesk connects every call to "op1" for talk, or (fail) to nobody:
// the grace period passes.
type fakeDesk struct {
	talk time.Duration
	fail bool
}

func (f *fakeDesk) Connect(ctx context.Context, leg *media.Leg, campaign, attempt, caller, agent string, grace time.Duration, rec *media.Recorder) (Connected, error) {
	if f.fail {
		select {
		case <-time.After(grace):
		case <-ctx.Done():
		}
		return nil, errors.New("no operator within the grace period")
	}
	c := &fakeCall{done: make(chan struct{})}
	time.AfterFunc(f.talk, func() { c.End("agent") })
	return c, nil
}

type fakeCall struct {
	once sync.Once
	done chan struct{}
}

func (c *fakeCall) Agent() string         { return "op1" }
func (c *fakeCall) Done() <-chan struct{} { return c.done }
func (c *fakeCall) End(string)            { c.once.Do(func() { close(c.done) }) }

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contactsOf(t *testing.T, j *journal.Journal, id string) map[string]journal.Contact {
	t.Helper()
	out := map[string]journal.Contact{}
	err := j.Contacts(context.Background(), id, journal.ContactsFilter{}, func(c *journal.Contact) bool {
		out[c.ID] = *c
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func settled(t *testing.T, j *journal.Journal, id string) func() bool {
	return func() bool {
		for _, c := range contactsOf(t, j, id) {
			if c.Status == journal.ContactDialing || c.Status == journal.ContactPending && len(c.Attempts) == 0 {
				return false
			}
		}
		return true
	}
}

// A progressive campaign through the SIPp trunk: people (AMD: human) go
// to an operator and end reached when the card does not come, busy and
// unanswered numbers wait for their retry, machines (AMD: machine) are
// hung up; every attempt has its SIP code, AMD verdict and time.
func TestCampaignCallsThroughSIPpTrunk(t *testing.T) {
	sipp, addr := sippTrunk(t, "uas_campaign.xml", "-d", "300")
	r := startCampaignRig(t, addr, time.Second)
	r.cd.SetConnector(&fakeDesk{talk: time.Second})
	enps := r.campaign(t, "mix", "screening", campaigns.Settings{Mode: "progressive", AMD: "hangup", RingTimeout: "2s",
		CardTimeout: "2s"}, 0, 1, 4, 5, 6, 7, 8, 9)
	stop := r.run(t, "mix", readyOperators(3))
	waitFor(t, 90*time.Second, "every contact dialed once and settled", settled(t, r.a.journal, "mix"))
	stop()
	sipp.Stop()
	want := []struct{ result, amd, status string }{
		{"reached", "human", "done"}, {"reached", "human", "done"},
		{"busy", "", "pending"}, {"busy", "", "pending"},
		{"no_answer", "", "pending"}, {"no_answer", "", "pending"},
		{"machine", "machine", "pending"}, {"machine", "machine", "pending"},
	}
	cs := contactsOf(t, r.a.journal, "mix")
	for i, w := range want {
		c := cs[enps[i]]
		if len(c.Attempts) != 1 {
			t.Errorf("contact %d: %d attempts, want 1", i, len(c.Attempts))
			continue
		}
		a, err := r.a.journal.Attempt(context.Background(), c.Attempts[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Result != w.result || a.AMD != w.amd || c.Status.String() != w.status {
			t.Errorf("contact %d (…%s): result %q amd %q status %s; want %s %q %s", i, c.Phones[0].Number[9:], a.Result, a.AMD, c.Status, w.result, w.amd, w.status)
		}
		if w.amd != "" && (a.AMDMillis <= 0 || a.Answered.IsZero()) {
			t.Errorf("contact %d: AMD time %d ms, answered %v: want both recorded", i, a.AMDMillis, a.Answered)
		}
		if w.result == "reached" && a.Agent != "op1" {
			t.Errorf("contact %d: agent %q, want op1", i, a.Agent)
		}
	}
	for res, n := range map[string]float64{"human": 2, "machine": 2} {
		if got, _ := metricValue(t, r.reg, "obzvon_amd_decisions_total", map[string]string{"result": res}); got != n {
			t.Errorf("obzvon_amd_decisions_total{result=%s} = %v, want %v", res, got, n)
		}
	}
	for res, n := range map[string]float64{"reached": 2, "busy": 2, "no_answer": 2, "machine": 2} {
		if got, _ := metricValue(t, r.reg, "obzvon_campaign_attempts_total", map[string]string{"campaign": "mix", "result": res}); got != n {
			t.Errorf("obzvon_campaign_attempts_total{mix,%s} = %v, want %v", res, got, n)
		}
	}
	calls := r.a.waitCalls(t, 4)
	withAgent := 0
	for _, c := range calls {
		if c.Direction != "outbound" || c.Route != "mix" || c.SIPCode != 200 {
			t.Errorf("call record %+v: want outbound, route mix, 200", c)
		}
		// The calls an operator took name the operator and the
		// recording; the machines' calls neither (their file is gone).
		if len(c.Agents) == 0 {
			if c.Recording != "" {
				t.Errorf("call %s without an operator names a recording %q", c.ID, c.Recording)
			}
			continue
		}
		withAgent++
		if a := c.Agents[0]; len(c.Agents) != 1 || a.Login != "op1" || a.Queue != "mix" || a.EndedBy != hangupAgent ||
			!a.Connected.After(c.Answered) || a.Ended.Before(a.Connected) || c.HangupBy != hangupAgent {
			t.Errorf("call %s: agents %+v, hung up by %q; want op1's part of campaign mix, ended by the operator", c.ID, c.Agents, c.HangupBy)
		}
		// (The fake desk bridges no audio: the file is there, empty.)
		if _, err := os.Stat(c.Recording); c.Recording == "" || err != nil {
			t.Errorf("call %s with an operator: recording %q (%v): want the call's file", c.ID, c.Recording, err)
		}
	}
	if withAgent != 2 {
		t.Errorf("%d call records name an operator, want the 2 people reached", withAgent)
	}
}

// An agentless informing campaign: the IVR plays the message and asks
// its two questions; the keys SIPp sends (RFC 4733) are the answers saved
// on the contact, which is reached (notified).
func TestCampaignAgentlessIVR(t *testing.T) {
	sipp, addr := sippTrunk(t, "uas_ivr.xml", "-set", "k1", "2", "-set", "k2", "1")
	r := startCampaignRig(t, addr, time.Second)
	enps := r.campaign(t, "inform", "informing", campaigns.Settings{Mode: "agentless"}, 0, 3)
	stop := r.run(t, "inform", nil)
	waitFor(t, 120*time.Second, "both contacts informed", func() bool {
		for _, c := range contactsOf(t, r.a.journal, "inform") {
			if c.Status != journal.ContactDone {
				return false
			}
		}
		return true
	})
	stop()
	sipp.Stop()
	cs := contactsOf(t, r.a.journal, "inform")
	for _, enp := range enps {
		c := cs[enp]
		if want := map[string]string{"passed": "no", "callback": "yes"}; c.Result != "reached" || !maps.Equal(c.Answers, want) {
			t.Errorf("contact %s: result %q answers %v; want reached %v", enp, c.Result, c.Answers, want)
		}
	}
}

// A live answer no operator takes hears the safe-harbor message, on the
// wire at the trunk within a second of the 200 OK, is hung up after it,
// counted as abandoned on the ledger and kept for a priority callback
// after the no-redial period.
func TestCampaignSafeHarbor(t *testing.T) {
	sipPort, mediaPort := peertest.FreePort(t), peertest.FreeMediaPort(t)
	capture := peertest.StartCapture(t)
	sipp := peertest.StartSIPp(t, "uas_campaign.xml", "-p", strconv.Itoa(sipPort), "-mp", strconv.Itoa(mediaPort))
	peertest.WaitUDPBound(t, sipPort, 30*time.Second)
	r := startCampaignRig(t, "127.0.0.1:"+strconv.Itoa(sipPort), time.Second)
	r.cd.SetConnector(&fakeDesk{fail: true})
	enps := r.campaign(t, "safe", "screening", campaigns.Settings{Mode: "progressive", NoRedialAfterAbandon: "1h"}, 0)
	stop := r.run(t, "safe", readyOperators(1))
	waitFor(t, 60*time.Second, "the abandoned call to end", settled(t, r.a.journal, "safe"))
	stop()
	sipp.Stop()
	pkts := capture.Stop()

	c := contactsOf(t, r.a.journal, "safe")[enps[0]]
	a, err := r.a.journal.Attempt(context.Background(), c.Attempts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Result != "abandoned" || a.SafeHarborMillis <= 0 || a.SafeHarborMillis > 1000 {
		t.Errorf("attempt: result %q, safe-harbor after %d ms; want abandoned within 1000 ms", a.Result, a.SafeHarborMillis)
	}
	if c.Status != journal.ContactPending || c.Callback == nil || !c.Callback.Priority ||
		c.Callback.At.Sub(a.Ended) < 59*time.Minute || !c.Next.Equal(c.Callback.At) {
		t.Errorf("contact after abandonment: status %s callback %+v next %v; want pending, a priority callback 1 h after the call", c.Status, c.Callback, c.Next)
	}
	day := campaigns.DateOf(a.Ended.In(mustZone(t, "MSK"))).String()
	if l, _ := r.a.journal.Ledger(context.Background(), "safe", day, day); len(l) != 1 || l[0].Live != 1 || l[0].Abandoned != 1 {
		t.Errorf("ledger of %s = %+v, want 1 live, 1 abandoned", day, l)
	}

	// On the wire: the 200 OK of the trunk, then our RTP to the trunk's
	// media port. The first packet that is not silence must come within
	// 1 s, and the audio must be the safe-harbor prompt, frame for frame.
	var okAt time.Time
	for _, p := range pkts {
		if int(p.Src.Port()) == sipPort && bytes.HasPrefix(p.Payload, []byte("SIP/2.0 200 OK")) && bytes.Contains(p.Payload, []byte("INVITE")) {
			okAt = p.Time
			break
		}
	}
	if okAt.IsZero() {
		t.Fatalf("no 200 OK to the INVITE in the capture of %d packets", len(pkts))
	}
	want := promptPCMU(t, "safe-harbor")
	var got []byte
	var firstSound time.Time
	for _, p := range pkts {
		if int(p.Dst.Port()) != mediaPort || len(p.Payload) != 12+160 || p.Time.Before(okAt) {
			continue
		}
		frame := p.Payload[12:]
		if firstSound.IsZero() && !silentPCMU(frame) {
			firstSound = p.Time
		}
		if !firstSound.IsZero() {
			got = append(got, frame...)
		}
	}
	if firstSound.IsZero() {
		t.Fatal("the trunk received no audio after the answer")
	}
	if d := firstSound.Sub(okAt); d > time.Second {
		t.Errorf("safe-harbor message reached the trunk %v after the 200 OK, want <= 1 s", d)
	}
	t.Logf("safe-harbor message on the wire %v after the 200 OK; %d of %d bytes of the prompt", firstSound.Sub(okAt), len(got), len(want))
	i := bytes.Index(want, got[:min(len(got), 1600)])
	if i < 0 || i > 8000 {
		t.Errorf("the first 200 ms the trunk heard are not the safe-harbor prompt's start (found at %d)", i)
	}
	if len(got) < len(want)-i-1600 {
		t.Errorf("the trunk heard %d bytes of the %d-byte prompt: the message was cut short", len(got), len(want))
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := campaigns.LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// promptPCMU returns a prompt as the PCMU bytes a leg sends.
func promptPCMU(t *testing.T, name string) []byte {
	t.Helper()
	w, _ := peertest.ReadMonoWAV(t, filepath.Join("..", "prompts", "ru", name+".wav"))
	pcm := make([]int16, len(w))
	for i, v := range w {
		pcm[i] = int16(v * 32768)
	}
	return media.Encode(nil, pcm, media.PCMU)
}

// silentPCMU reports whether a µ-law frame is (near) silence.
func silentPCMU(f []byte) bool {
	var e float64
	for _, s := range media.Decode(nil, f, media.PCMU) {
		e += float64(s) * float64(s)
	}
	return e/float64(len(f)) < 100*100
}

// A trunk that answers 503 to everything: attempts fail on the trunk, the
// campaign pauses itself with a reason that says so, and no contact is
// lost (none dialing, every one pending with its attempt recorded).
func TestCampaignPausesOnTrunk503(t *testing.T) {
	sipp, addr := sippTrunk(t, "uas_trunk_503.xml")
	r := startCampaignRig(t, addr, 100*time.Millisecond)
	r.campaign(t, "down", "screening", campaigns.Settings{Mode: "progressive", TrunkFailures: 3}, 0, 1, 2, 3, 0, 1, 2, 3)
	stop := r.run(t, "down", readyOperators(2))
	var camp *journal.Campaign
	waitFor(t, 60*time.Second, "the campaign to pause itself", func() bool {
		c, err := r.a.journal.Campaign(context.Background(), "down")
		camp = c
		return err == nil && c.Status == journal.CampaignPaused
	})
	stop()
	sipp.Stop()
	if !strings.Contains(camp.Reason, "SIP 503") || !strings.Contains(camp.Reason, "транк") {
		t.Errorf("pause reason %q, want it to name the trunk and its 503", camp.Reason)
	}
	attempts, _ := r.a.journal.Attempts(context.Background(), "down", "", time.Time{}, time.Time{})
	if len(attempts) < 3 {
		t.Errorf("%d attempts, want at least the 3 that failed", len(attempts))
	}
	for _, a := range attempts {
		if a.Result != "failed" || a.SIPCode != 503 && a.SIPCode != 408 {
			t.Errorf("attempt %+v: want failed with the trunk's 503", a)
		}
	}
	for id, c := range contactsOf(t, r.a.journal, "down") {
		if c.Status != journal.ContactPending {
			t.Errorf("contact %s is %s, want pending (nothing lost)", id, c.Status)
		}
	}
}

// The other AMD actions: a machine hears the machine message to its end
// (then is hung up), or goes to an operator like a person.
func TestCampaignMachineActions(t *testing.T) {
	for _, tc := range []struct {
		amd, result, agent string
		minCall            time.Duration
	}{
		{"message", "machine", "", 13 * time.Second},
		{"operator", "reached", "op1", 0},
	} {
		t.Run(tc.amd, func(t *testing.T) {
			sipp, addr := sippTrunk(t, "uas_campaign.xml", "-d", "200")
			r := startCampaignRig(t, addr, time.Second)
			r.cd.SetConnector(&fakeDesk{talk: time.Second})
			enps := r.campaign(t, "m", "screening", campaigns.Settings{Mode: "progressive", AMD: tc.amd, CardTimeout: "1s"}, 8)
			stop := r.run(t, "m", readyOperators(1))
			waitFor(t, 60*time.Second, "the machine's call to end", settled(t, r.a.journal, "m"))
			stop()
			sipp.Stop()
			c := contactsOf(t, r.a.journal, "m")[enps[0]]
			a, err := r.a.journal.Attempt(context.Background(), c.Attempts[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if a.Result != tc.result || a.AMD != "machine" || a.Agent != tc.agent {
				t.Errorf("attempt: result %q amd %q agent %q (%s); want %s, machine, %q", a.Result, a.AMD, a.Agent, a.Note, tc.result, tc.agent)
			}
			if d := a.Ended.Sub(a.Answered); d < tc.minCall {
				t.Errorf("the call lasted %v after the answer, want >= %v (the machine message)", d, tc.minCall)
			}
		})
	}
}
