package dialer

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/metrics"
)

// «Перезвонить» with real peers: a baresip operator on a session leg asks
// for a call to a citizen (SIPp as the trunk). While the citizen's phone
// rings the operator is held: an inbound caller who arrives meanwhile
// waits instead of taking the operator. The answer comes to the
// operator's phone with the appeal on the desktop; both voices are in the
// recording; the call record names the appeal, the operator and the
// recording. A busy citizen gives "busy" and frees the operator; an
// operator without a session leg cannot ask.
func TestAgentCallBackReachesTheOperator(t *testing.T) {
	operators := ops(2, "main")
	trunk, e, cd, _ := startTrunkDesk(t, operators, "1500")
	e.startOperators(t, operators[:1], acd.DeliverySession, 600)
	// On the way out (a failure too) the calls hang up, then end.
	ctx, cancel := context.WithCancel(context.Background())
	defer cd.Wait()
	defer cancel()
	e.waitFor(t, 10*time.Second, "op1 ready", func() bool { return e.state("op1") == acd.StateReady })

	// op2 has no session leg: nothing is dialed.
	if _, _, err := cd.CallFor(ctx, AgentCall{Agent: "op2", Number: "+79123000011", Appeal: "A-2"}); !errors.Is(err, ErrNoSession) {
		t.Fatalf("CallFor(op2 without a session) = %v, want ErrNoSession", err)
	}

	// A busy citizen: the operator learns it and is ready again.
	_, busy, err := cd.CallFor(ctx, AgentCall{Agent: "op1", Number: "+79123000014", Appeal: "A-1"})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitResult(t, busy); r.Result != "busy" || r.SIPCode != 486 {
		t.Fatalf("call to a busy phone: %+v, want busy 486", r)
	}
	e.waitFor(t, 10*time.Second, "op1 ready after the busy call", func() bool { return e.state("op1") == acd.StateReady })

	id, out, err := cd.CallFor(ctx, AgentCall{Agent: "op1", Number: "+79123000011", Appeal: "A-1"})
	if err != nil {
		t.Fatal(err)
	}
	if v := e.desk.Agent("op1"); v.State != acd.StateReserved || v.Reason != acd.HoldReason {
		t.Fatalf("op1 while the citizen's phone rings: %v (%q), want reserved (%q)", v.State, v.Reason, acd.HoldReason)
	}
	if _, _, err := cd.CallFor(ctx, AgentCall{Agent: "op1", Number: "+79123000021", Appeal: "A-3"}); !errors.Is(err, acd.ErrBadMove) {
		t.Errorf("a second call while the first rings = %v, want acd.ErrBadMove", err)
	}
	// An inbound caller arrives while it rings (SIPp answers after 1.5 s):
	// it must not take op1.
	phoneSrv, phoneEngine := newPhoneServer(t)
	caller := e.call(t, phoneSrv, phoneEngine, "8800", "79003330001", 700)
	if r := waitResult(t, out); r.Result != "connected" || r.CallID != id {
		t.Fatalf("call back: %+v, want connected %s", r, id)
	}
	c := e.desk.Agent("op1").Call
	if c == nil || c.CallID != id || c.AppealID != "A-1" || c.Campaign != "" || c.Direction != "outbound" {
		t.Fatalf("op1's desktop call = %+v, want the call back with appeal A-1 and no campaign", c)
	}
	if conn := e.eventsOf(acd.EventConnect); len(conn) != 1 || conn[0].Call != id {
		t.Fatalf("connects %+v: the inbound caller took op1 while the call back rang", conn)
	}
	e.waitFor(t, 10*time.Second, "three seconds of conversation", func() bool {
		return time.Since(e.eventsOf(acd.EventConnect)[0].Time) > 3*time.Second
	})
	if err := e.desk.HangupCall("op1"); err != nil {
		t.Fatal(err)
	}
	// The waiting caller is next for op1 (queue main's wrap-up is 1 s).
	e.waitFor(t, 15*time.Second, "the inbound caller connected to op1", func() bool {
		conn := e.eventsOf(acd.EventConnect)
		return len(conn) == 2 && conn[1].Agent == "op1" && conn[1].Call != id
	})
	caller.hangup()

	calls := e.waitCalls(t, 3) // busy, call back, inbound
	var found bool
	for _, r := range calls {
		if r.ID != id {
			continue
		}
		found = true
		if r.Appeal != "A-1" || r.Direction != "outbound" || r.To != "+79123000011" || len(r.Agents) != 1 || r.Agents[0].Login != "op1" || r.Answered.IsZero() {
			t.Errorf("call back record = %+v", r)
		}
		wav := peertest.ReadStereoWAV(t, r.Recording)
		// The citizen's «Алло?» (SIPp's human.ulaw: 0.3 s of speech, then
		// silence) and the operator's speech (baresip's microphone).
		if _, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); n < 10 {
			t.Errorf("recording left (the citizen): %d blocks of speech, want ≥ 10", n)
		}
		if _, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); n < 50 {
			t.Errorf("recording right (the operator): %d blocks of speech, want ≥ 50", n)
		}
	}
	if !found {
		t.Fatalf("no record of call %s among %d", id, len(calls))
	}
	trunk.Stop()
}

// startTrunkDesk starts SIPp as a trunk (uas_campaign.xml, answers after
// delay ms), an appliance with the ACD and that [[trunk]], and a campaign
// dialer whose answers the desk connects to operators.
func startTrunkDesk(t *testing.T, operators []operator, delay string) (*peertest.SIPp, *acdEnv, *CampaignDialer, *metrics.Campaigns) {
	t.Helper()
	sipPort, mediaPort := peertest.FreePort(t), peertest.FreeMediaPort(t)
	trunk := peertest.StartSIPpFor(t, 5*time.Minute, "uas_campaign.xml", "-p", strconv.Itoa(sipPort), "-mp", strconv.Itoa(mediaPort), "-d", delay)
	peertest.WaitUDPBound(t, sipPort, 10*time.Second)
	e := startACD(t, operators, func(c *config.Config) {
		c.RTP.PortMin, c.RTP.PortMax = campaignRTPBand()
		c.Trunks = []config.Trunk{{Name: "carrier", Address: "127.0.0.1:" + strconv.Itoa(sipPort), Transport: "udp",
			CallerID: "78652000000", MaxChannels: 4, Backoff: config.Duration{Duration: time.Second}}}
	})
	m := metrics.NewCampaigns(e.reg)
	trunks, err := NewTrunks(e.srv, m)
	if err != nil {
		t.Fatal(err)
	}
	cd := NewCampaignDialer(e.srv, trunks, testPrompts(), m)
	cd.SetConnector(DeskConnector(e.desk))
	return trunk, e, cd, m
}

func waitResult(t *testing.T, ch <-chan AgentCallResult) AgentCallResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(60 * time.Second):
		t.Fatal("no outcome of the call within 60 s")
		return AgentCallResult{}
	}
}
