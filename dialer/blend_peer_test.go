package dialer

// Blending with real peers: operators who serve an inbound queue and a
// running predictive campaign in one session.

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
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

// pacerWatch is the ACD's view of the operators as the campaign's runner
// reads it, noting what each pacing decision saw: the runner asks for the
// operators, then the inbound queue, then dials; an attempt's start time
// is the decision's clock, read before both.
type pacerWatch struct {
	campaigns.Operators
	mu     sync.Mutex
	agents int
	saw    []pacerSaw
}

// pacerSaw is what one decision saw: the operators it may count (not
// paused) and the inbound callers waiting.
type pacerSaw struct {
	at              time.Time
	agents, waiting int
}

func (w *pacerWatch) Agents(campaign string, dst []campaigns.Agent) []campaigns.Agent {
	from := len(dst)
	dst = w.Operators.Agents(campaign, dst)
	n := 0
	for _, a := range dst[from:] {
		if a.State != acd.StatePaused {
			n++
		}
	}
	w.mu.Lock()
	w.agents = n
	w.mu.Unlock()
	return dst
}

func (w *pacerWatch) Inbound(campaign string) *campaigns.Inbound {
	in := w.Operators.Inbound(campaign)
	waiting := 0
	if in != nil {
		waiting = in.Waiting
	}
	w.mu.Lock()
	w.saw = append(w.saw, pacerSaw{at: time.Now().Round(0), agents: w.agents, waiting: waiting})
	w.mu.Unlock()
	return in
}

// decision returns what the decision that started at t saw: the first
// view taken at or after t.
func (w *pacerWatch) decision(t time.Time) (pacerSaw, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := sort.Search(len(w.saw), func(i int) bool { return !w.saw[i].at.Before(t) })
	if i == len(w.saw) {
		return pacerSaw{}, false
	}
	return w.saw[i], true
}

// blendEstimates are a predictive campaign's learned distributions, past
// its cold start: people answer after about 4 s (the trunk's ring), talk
// about 1.5 s and wrap up in 0.3 s.
func blendEstimates(t *testing.T) []byte {
	t.Helper()
	est := campaigns.NewEstimates(campaigns.Priors{LiveProb: 0.9, LiveRing: 4 * time.Second, NoAnswerTimeout: 10 * time.Second,
		Talk: 1500 * time.Millisecond, Wrap: 300 * time.Millisecond})
	for i := range 150 {
		est.ObserveDial(campaigns.OutcomeLive, 4*time.Second+time.Duration(i%5)*50*time.Millisecond)
		est.ObserveTalk(1500 * time.Millisecond)
		est.ObserveWrap(300 * time.Millisecond)
	}
	b, err := json.Marshal(est)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toneBlocks counts the 20 ms blocks of x in which the tone at freq is at
// least 80 % of the power, and the blocks that are not silent.
func toneBlocks(x []float64, rate int, freq float64) (tone, sound int) {
	for i := 0; i+160 <= len(x); i += 160 {
		share, n := peertest.ToneShare(x[i:i+160], rate, freq)
		if n == 0 {
			continue
		}
		sound++
		if share >= 0.8 {
			tone++
		}
	}
	return tone, sound
}

// TestBlendInboundFirstThenCampaign: three baresip operators on session
// legs (their microphones a 1500 Hz tone) serve the inbound queue "main"
// and the predictive campaign "blend" at once. The campaign's estimates
// are past the cold start, so the predictive mode itself decides. A SIPp
// trunk answers its calls after 4 s of ringing with a voice from the
// first moment (the numbers end in 8: the trunk's greeting, and AMD is
// off, so every answer is a person); twelve SIPp callers (a 1 kHz tone)
// dial the queue while the campaign's first calls ring. The test plays
// the operators' desktops: it ends campaign calls after 1.5 s and inbound
// calls after 2 s, holding the first inbound calls until campaign answers
// wait beside inbound callers, so that the ACD has to choose.
//
// It asserts what a blended center needs:
//  1. Inbound first. No pacing decision that saw at least as many inbound
//     callers waiting as operators dialed (the pacer counts the callers
//     waiting, and a reserve for inbound, as demand ahead of its own
//     calls: with that many waiting no operator can be free for a new
//     call); and whenever an operator was offered a call while an inbound
//     caller waited, it was an inbound caller, also with campaign answers
//     waiting (the campaign's answers then hear the safe-harbor message).
//  2. Once the inbound queue is empty the campaign dials again, and its
//     calls reach the operators who served the inbound callers.
//  3. Every call carried audio both ways, by tone detection: each call's
//     recording has the caller's tone or the called party's voice on the
//     left and the operator's tone on the right; the operators heard the
//     callers' tone and the called parties' voices (their own
//     recordings); on the wire (a capture of loopback) each caller's and
//     each reached called party's stream from the appliance carried the
//     operator's tone. Every call is in the journal: twelve inbound
//     records answered by one operator each, every attempt with its
//     result, each reached one with its call record naming the operator
//     and the recording, each abandoned one with its safe-harbor message.
func TestBlendInboundFirstThenCampaign(t *testing.T) {
	const (
		inboundCallers = 12
		opTone         = 1500
		talkIn         = 2 * time.Second
		talkOut        = 1500 * time.Millisecond
	)
	ctx := context.Background()
	capture := peertest.StartCapture(t)
	trunkPort, trunkMedia := peertest.FreePort(t), peertest.FreeMediaPort(t)
	trunk := peertest.StartSIPpFor(t, 2*time.Minute, "uas_campaign.xml", "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(trunkMedia), "-d", "4000")
	peertest.WaitUDPBound(t, trunkPort, 30*time.Second)
	operators := ops(3, "main", "blend")
	e := startACD(t, operators, func(c *config.Config) {
		c.RTP.PortMin, c.RTP.PortMax = campaignRTPBand()
		c.Queues[0].WrapUp = config.Duration{Duration: 500 * time.Millisecond}
		c.Trunks = []config.Trunk{{Name: "carrier", Address: "127.0.0.1:" + strconv.Itoa(trunkPort), Transport: "udp",
			CallerID: "78652000000", MaxChannels: 8, Backoff: config.Duration{Duration: time.Second}}}
	})
	phones := map[string]*peertest.Baresip{}
	for _, o := range operators {
		phones[o.login] = peertest.StartBaresip(t, peertest.BaresipOptions{User: o.ext, Password: o.secret,
			Registrar: e.target(), MicSeconds: 180, MicTone: opTone})
	}
	for _, o := range operators {
		e.waitFor(t, 20*time.Second, o.login+" registered", func() bool { return len(e.srv.Registrar().Lookup(o.login)) > 0 })
		if err := e.desk.StartWork(ctx, o.login, acd.DeliverySession); err != nil {
			t.Fatalf("StartWork(%s) = %v", o.login, err)
		}
	}
	for _, o := range operators {
		e.waitFor(t, 20*time.Second, o.login+" ready", func() bool { return e.state(o.login) == acd.StateReady })
	}

	m := metrics.NewCampaigns(e.reg)
	trunks, err := NewTrunks(e.srv, m)
	if err != nil {
		t.Fatal(err)
	}
	cd := NewCampaignDialer(e.srv, trunks, testPrompts(), m)
	cd.SetConnector(DeskConnector(e.desk))
	r := &campRig{trunkRig: &trunkRig{a: e.testAppliance, trunks: trunks, reg: e.reg}, cd: cd}
	e.desk.AddCampaign("blend", 300*time.Millisecond)
	digits := make([]int, 30)
	for i := range digits {
		digits[i] = 8 // the trunk answers with a voice at once (see above)
	}
	r.campaign(t, "blend", "screening", campaigns.Settings{Mode: "predictive", AMD: "off", RingTimeout: "10s", CardTimeout: "1s"}, digits...)
	if err := e.journal.PutCampaignEstimates(ctx, "blend", blendEstimates(t)); err != nil {
		t.Fatal(err)
	}

	// The operators' desktops.
	var release sync.Once
	released := make(chan struct{})
	dctx, stopDesks := context.WithCancel(ctx)
	var desks sync.WaitGroup
	desks.Add(1)
	go func() {
		defer desks.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		ended := map[string]bool{}
		for {
			select {
			case <-dctx.Done():
				return
			case <-tick.C:
			}
			waiting := map[string]int{}
			for _, q := range e.desk.Queues() {
				waiting[q.Name] = q.Waiting
			}
			if waiting["main"] > 0 && waiting["blend"] > 0 {
				release.Do(func() { close(released) })
			}
			for _, st := range e.desk.Agents() {
				c := st.Call
				if c == nil || ended[c.CallID] {
					continue
				}
				talk := time.Since(c.ConnectedAt)
				switch c.Direction {
				case "outbound":
					if talk < talkOut {
						continue
					}
				default:
					select {
					case <-released:
					default:
						// Held until campaign answers wait beside
						// inbound callers (at most 10 s).
						if talk < 10*time.Second {
							continue
						}
					}
					if talk < talkIn {
						continue
					}
				}
				ended[c.CallID] = true
				if err := e.desk.HangupCall(st.Login); err != nil {
					t.Logf("hang up %s's call %s: %v", st.Login, c.CallID, err)
				}
			}
		}
	}()
	defer func() {
		stopDesks()
		desks.Wait()
	}()

	watch := &pacerWatch{Operators: e.desk.Operators()}
	runner := campaigns.NewRunner("blend", campaigns.RunnerOptions{Store: e.journal, Dialer: cd, Operators: watch,
		Metrics: trunks.metrics, Logger: e.srv.log, Drain: 10 * time.Second})
	rctx, cancelRunner := context.WithCancel(ctx)
	runEnded := make(chan struct{})
	var runErr error
	go func() {
		defer close(runEnded)
		runErr = runner.Run(rctx)
	}()
	t.Cleanup(func() {
		cancelRunner()
		<-runEnded
		cd.Wait()
	})
	start := time.Now()
	waitFor(t, 20*time.Second, "the campaign's first calls", func() bool {
		counts, _ := e.journal.ContactCounts(ctx, "blend")
		return counts[journal.ContactDialing] > 0
	})
	callerMedia := peertest.FreeMediaPort(t)
	callers := peertest.StartSIPpFor(t, 90*time.Second, "uac_inbound.xml", e.target(), "-s", "8800", "-d", "60000",
		"-m", strconv.Itoa(inboundCallers), "-r", strconv.Itoa(inboundCallers), "-l", strconv.Itoa(inboundCallers),
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(callerMedia))

	connects := func(outbound bool, after time.Time) []acd.Event {
		var out []acd.Event
		for _, ev := range e.eventsOf(acd.EventConnect) {
			if ev.Outbound == outbound && ev.Time.After(after) {
				out = append(out, ev)
			}
		}
		return out
	}
	e.waitFor(t, 40*time.Second, "every inbound caller connected", func() bool { return len(connects(false, start)) >= inboundCallers })
	lastIn := connects(false, start)[inboundCallers-1].Time
	e.waitFor(t, 30*time.Second, "three campaign calls connected after the inbound queue emptied", func() bool {
		return len(connects(true, lastIn)) >= 3
	})
	if code := callers.Wait(30 * time.Second); code != 0 {
		t.Fatalf("callers exit %d:\n%s\n%s", code, callers.Output(), callers.Logs())
	}
	// The campaign is paused: it stops dialing, and its runner ends by
	// itself once its calls have ended and their attempts closed.
	if _, err := campaigns.SetStatus(ctx, e.journal, campaignStaff, "blend", journal.CampaignPaused, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case <-runEnded:
	case <-time.After(60 * time.Second):
		t.Fatal("the paused campaign's runner did not end within 60 s")
	}
	if runErr != nil {
		t.Fatalf("runner: %v", runErr)
	}
	cd.Wait()
	attempts, err := e.journal.Attempts(ctx, "blend", "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	stopDesks()
	desks.Wait()
	trunk.Stop()
	pkts := capture.Stop()
	t.Logf("ran %v: %d attempts", time.Since(start).Round(100*time.Millisecond), len(attempts))

	// 1. The pacer held back while inbound callers waited.
	byStart := map[time.Time]int{}
	for _, a := range attempts {
		byStart[a.Started.Round(0)]++
	}
	heldBack := 0
	for _, s := range watch.saw {
		if s.waiting > 0 && s.waiting >= s.agents {
			heldBack++
		}
	}
	for at, n := range byStart {
		s, ok := watch.decision(at)
		if !ok {
			t.Errorf("%d calls dialed at %v: no decision of the pacer saw the operators then", n, at)
			continue
		}
		if s.waiting > 0 && s.waiting >= s.agents {
			t.Errorf("the pacer dialed %d calls at %v with %d inbound callers waiting for %d operators: inbound goes first",
				n, at.Format("15:04:05.000"), s.waiting, s.agents)
		}
	}
	if heldBack < 4 {
		t.Errorf("%d pacing decisions saw as many inbound callers waiting as operators, want several (the scenario did not test holding back)", heldBack)
	}
	// ... and the ACD offered every free operator an inbound caller first.
	inWaiting, outWaiting := map[string]bool{}, map[string]bool{}
	chosen := 0
	e.mu.Lock()
	events := slices.Clone(e.events)
	e.mu.Unlock()
	for _, ev := range events {
		set := inWaiting
		if ev.Outbound {
			set = outWaiting
		}
		switch ev.Kind {
		case acd.EventEnter, acd.EventNoAnswer, acd.EventRequeue:
			set[ev.Call] = true
		case acd.EventAbandon, acd.EventTimeout, acd.EventTransfer, acd.EventFull:
			delete(set, ev.Call)
		case acd.EventOffer:
			delete(set, ev.Call)
			switch {
			case ev.Outbound && len(inWaiting) > 0:
				t.Errorf("%s: %s was offered campaign call %s while %d inbound callers waited", ev.Time.Format("15:04:05.000"), ev.Agent, ev.Call, len(inWaiting))
			case !ev.Outbound && len(outWaiting) > 0:
				chosen++
			}
		}
	}
	defer func() {
		if !t.Failed() {
			return
		}
		// The timeline, to see what went wrong.
		for _, ev := range events {
			if ev.Kind == acd.EventAgentState {
				continue
			}
			kind := "inbound"
			if ev.Outbound {
				kind = "campaign"
			}
			t.Logf("%+7.3fs %-8s %s %s %s", ev.Time.Sub(start).Seconds(), ev.Kind, kind, ev.Call, ev.Agent)
		}
		for _, s := range watch.saw {
			if s.waiting > 0 {
				t.Logf("%+7.3fs the pacer saw %d inbound callers waiting for %d operators", s.at.Sub(start).Seconds(), s.waiting, s.agents)
			}
		}
		for at, n := range byStart {
			t.Logf("%+7.3fs the pacer dialed %d", at.Sub(start).Seconds(), n)
		}
	}()
	if chosen == 0 {
		t.Errorf("no operator became free with both an inbound caller and a campaign answer waiting (the scenario did not test the choice)")
	}

	// 2. Campaign calls went on after the inbound queue emptied, to the
	// operators who served inbound.
	servedIn, servedOut := map[string]int{}, map[string]int{}
	for _, ev := range connects(false, start) {
		servedIn[ev.Agent]++
	}
	for _, ev := range connects(true, lastIn) {
		servedOut[ev.Agent]++
		if servedIn[ev.Agent] == 0 {
			t.Errorf("campaign call %s went to %s, who served no inbound caller", ev.Call, ev.Agent)
		}
	}
	if len(servedOut) < 2 {
		t.Errorf("campaign calls after the inbound queue emptied went to %v, want at least two of the blended operators", servedOut)
	}
	t.Logf("inbound calls by operator %v; campaign calls after the queue emptied %v; %d decisions held back, %d choices for inbound",
		servedIn, servedOut, heldBack, chosen)

	// 3. The journal and the audio.
	calls, err := e.journal.Calls(ctx, start.Add(-time.Minute), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	byCallID := map[string]journal.CallRecord{}
	inbound := 0
	for _, c := range calls {
		switch c.Direction {
		case "outbound":
			if len(c.Legs) == 1 {
				byCallID[c.Legs[0].CallID] = c
			}
			continue
		}
		inbound++
		if c.Queue != "main" || c.QueueResult != metrics.QueueAnswered || len(c.Agents) != 1 {
			t.Errorf("inbound call %s: queue %q result %q agents %+v; want answered by one operator", c.ID, c.Queue, c.QueueResult, c.Agents)
			continue
		}
		wav := peertest.ReadStereoWAV(t, c.Recording)
		if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 40 {
			t.Errorf("inbound call %s left (caller): 1 kHz share %.2f over %d blocks, want the caller's tone", c.ID, share, n)
		}
		if share, n := peertest.ToneShare(wav.Right, wav.Rate, opTone); share < 0.9 || n < 40 {
			t.Errorf("inbound call %s right (%s): %d Hz share %.2f over %d blocks, want the operator's tone", c.ID, c.Agents[0].Login, opTone, share, n)
		}
	}
	if inbound != inboundCallers {
		t.Errorf("%d inbound call records, want %d", inbound, inboundCallers)
	}
	results := map[string]int{}
	for _, a := range attempts {
		results[a.Result]++
		c, ok := byCallID[a.CallID]
		if a.SIPCode == 200 && !ok {
			t.Errorf("attempt %s (%s): no call record of its call %q", a.ID, a.Result, a.CallID)
			continue
		}
		switch a.Result {
		case "reached":
			if a.Agent == "" || len(c.Agents) != 1 || c.Agents[0].Login != a.Agent || c.Route != "blend" {
				t.Errorf("attempt %s reached %q; its call record: route %q agents %+v", a.ID, a.Agent, c.Route, c.Agents)
				continue
			}
			wav := peertest.ReadStereoWAV(t, c.Recording)
			if tone, sound := toneBlocks(wav.Left, wav.Rate, opTone); sound < 40 || tone > sound/10 {
				t.Errorf("campaign call %s left (called party): %d blocks of sound, %d of them the operator's tone; want the called party's voice", a.ID, sound, tone)
			}
			if share, n := peertest.ToneShare(wav.Right, wav.Rate, opTone); share < 0.9 || n < 40 {
				t.Errorf("campaign call %s right (%s): %d Hz share %.2f over %d blocks, want the operator's tone", a.ID, a.Agent, opTone, share, n)
			}
		case "abandoned":
			if a.SafeHarborMillis <= 0 || len(c.Agents) != 0 || c.Recording != "" {
				t.Errorf("abandoned attempt %s: safe-harbor after %d ms, record agents %+v recording %q; want the message and no operator",
					a.ID, a.SafeHarborMillis, c.Agents, c.Recording)
			}
		default:
			t.Errorf("attempt %s: result %q (%s), want reached or abandoned (every number answers)", a.ID, a.Result, a.Note)
		}
	}
	if results["reached"] < len(connects(true, start)) {
		t.Errorf("attempts %v: fewer reached than the %d campaign calls the ACD connected", results, len(connects(true, start)))
	}
	t.Logf("attempts by result %v", results)
	// What the operators heard: the callers' tone and the called parties'
	// voices.
	outAll := map[string]int{}
	for _, ev := range connects(true, start) {
		outAll[ev.Agent]++
	}
	for login, ph := range phones {
		ph.Stop()
		heard, _ := ph.Recordings()
		if len(heard) != 1 {
			t.Errorf("%s: %d recordings of what it heard, want 1 (one session leg)", login, len(heard))
			continue
		}
		x, rate := peertest.ReadMonoWAV(t, heard[0])
		tone, sound := toneBlocks(x, rate, 1000)
		if tone < 40*servedIn[login] || sound-tone < 20*outAll[login] {
			t.Errorf("%s heard %d blocks of the callers' tone and %d of other sound; it served %d callers and %d campaign calls",
				login, tone, sound-tone, servedIn[login], outAll[login])
		}
	}
	// What the callers and the called parties heard, on the wire: each
	// call's stream from the appliance carried the operator's tone.
	lo, hi := e.cfg.RTP.PortMin, e.cfg.RTP.PortMax
	for _, side := range []struct {
		what string
		port int
		want int
	}{{"inbound callers", callerMedia, inboundCallers}, {"called parties", trunkMedia, results["reached"]}} {
		heard := 0
		var counts []int
		for _, st := range rtpStreams(pkts, lo, hi, side.port) {
			tone := 0
			for _, p := range st {
				if share, _ := peertest.RTPToneShare([]peertest.UDPPacket{p}, opTone); share >= 0.8 {
					tone++
				}
			}
			counts = append(counts, tone)
			if tone >= 40 {
				heard++
			}
		}
		if heard != side.want {
			t.Errorf("%s: %d streams from the appliance carried the operators' tone for 0.8 s or more (packets of it per stream: %v), want %d",
				side.what, heard, counts, side.want)
		}
	}
}

// rtpStreams splits the datagrams sent from the appliance's ports
// [lo, hi] to port into streams: one per appliance port, cut where the
// port fell silent for a second (a port used again by a later call).
func rtpStreams(pkts []peertest.UDPPacket, lo, hi, port int) [][]peertest.UDPPacket {
	var out [][]peertest.UDPPacket
	open := map[int]int{} // appliance port → index in out
	for _, p := range peertest.Between(pkts, lo, hi, port, port) {
		src := int(p.Src.Port())
		i, ok := open[src]
		if ok {
			last := out[i][len(out[i])-1]
			ok = p.Time.Sub(last.Time) < time.Second
		}
		if !ok {
			out = append(out, nil)
			i = len(out) - 1
			open[src] = i
		}
		out[i] = append(out[i], p)
	}
	return out
}
