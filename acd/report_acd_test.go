package acd

import (
	"errors"
	"math"
	"testing"
	"time"
)

// TestReportEqualsTheACDsCounters runs calls through the ACD itself — in
// and out of the service level, abandoned both ways, a full queue, a
// timeout overflowing to another queue, a requeue after an operator's
// phone went, an abandon after a requeue, a consultation cancelled and
// one completed as an attended transfer, blind transfers to an operator
// of the same queue and to another queue — and checks that the report
// computed from the events alone gives each queue's counters and service
// level as the ACD counted them.
func TestReportEqualsTheACDsCounters(t *testing.T) {
	c := newClock()
	a, rec := newTestACD(t, c,
		QueueConfig{Name: "main", WrapUp: 10 * time.Second, SLThreshold: 20 * time.Second, MaxLen: 3},
		QueueConfig{Name: "second", WrapUp: 5 * time.Second, SLThreshold: 10 * time.Second})
	start := c.t
	tickets := map[string]*Ticket{}
	enq := func(e Entry) {
		t.Helper()
		tk, err := a.Enqueue(e)
		if err != nil {
			t.Fatalf("Enqueue(%+v) = %v", e, err)
		}
		tickets[e.ID] = tk
	}
	// connect takes the pending offer of call id, which must be to agent.
	connect := func(id, agent string) {
		t.Helper()
		if n := offered(t, tickets[id]); n.Kind != NoticeOffer || n.Agent != agent {
			t.Fatalf("call %s: notice %+v, want an offer to %s", id, n, agent)
		}
		if err := a.Connected(id, agent); err != nil {
			t.Fatalf("Connected(%s, %s) = %v", id, agent, err)
		}
	}
	revoked := func(id string) {
		t.Helper()
		if n := offered(t, tickets[id]); n.Kind != NoticeRevoked {
			t.Fatalf("call %s: notice %+v, want the revocation", id, n)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	endWrapUps := func() { c.add(11 * time.Second); a.Tick() }

	login(t, a, "anna", 1, "main")
	login(t, a, "boris", 1, "main")
	login(t, a, "vera", 1, "second")

	// c1 answered in 5 s by anna (longest idle), 60 s talk.
	enq(Entry{ID: "c1", Queue: "main"})
	c.add(5 * time.Second)
	connect("c1", "anna")
	c.add(60 * time.Second)
	must(a.Hangup("c1", "caller"))
	endWrapUps()

	// Both main operators at lunch: c2 waits 30 s (answered after the
	// threshold), c3 abandons after 5 s, c4 after 25 s.
	must(a.Pause("anna", "обед"))
	must(a.Pause("boris", "обед"))
	enq(Entry{ID: "c2", Queue: "main"})
	enq(Entry{ID: "c3", Queue: "main"})
	c.add(5 * time.Second)
	_, err := a.Leave("c3", OutcomeAbandoned)
	must(err)
	enq(Entry{ID: "c4", Queue: "main"})
	c.add(25 * time.Second)
	_, err = a.Leave("c4", OutcomeAbandoned)
	must(err)
	must(a.Ready("anna"))
	connect("c2", "anna")
	c.add(20 * time.Second)
	must(a.Hangup("c2", "agent"))
	must(a.Pause("anna", "обед")) // in wrap-up: paused at once

	// main holds 3: c5, c6, c7 wait, c8 is refused (full).
	enq(Entry{ID: "c5", Queue: "main"})
	enq(Entry{ID: "c6", Queue: "main"})
	enq(Entry{ID: "c7", Queue: "main"})
	if _, err := a.Enqueue(Entry{ID: "c8", Queue: "main"}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("c8: %v, want ErrQueueFull", err)
	}
	// c5 times out after 2 minutes and overflows to second: vera answers.
	c.add(2 * time.Minute)
	_, err = a.Leave("c5", OutcomeTimeout)
	must(err)
	enq(Entry{ID: "c5", Queue: "second"})
	connect("c5", "vera")
	c.add(30 * time.Second)
	must(a.Hangup("c5", "caller"))

	// boris takes c6; his phone goes: c6 is back at the head; anna takes
	// it (answered once).
	must(a.Ready("boris"))
	connect("c6", "boris")
	c.add(10 * time.Second)
	must(a.AgentGone("boris", "phone hung up"))
	revoked("c6")
	must(a.Ready("anna"))
	connect("c6", "anna")
	c.add(40 * time.Second)
	must(a.Hangup("c6", "caller"))
	endWrapUps()

	// anna takes c7 and consults boris (back at work): cancelled first,
	// then again and completed as an attended transfer.
	connect("c7", "anna")
	login(t, a, "boris", 1, "main")
	enq(Entry{ID: "c7/consult", Queue: "main", Agent: "boris", Consult: true})
	connect("c7/consult", "boris")
	c.add(10 * time.Second)
	must(a.Hangup("c7/consult", "cancel"))
	endWrapUps()
	enq(Entry{ID: "c7/consult", Queue: "main", Agent: "boris", Consult: true})
	connect("c7/consult", "boris")
	c.add(10 * time.Second)
	must(a.CompleteTransfer("c7", "c7/consult"))
	c.add(30 * time.Second)
	must(a.Hangup("c7", "caller"))
	endWrapUps()

	// A consultation nobody takes is abandoned: no call either.
	must(a.Pause("boris", "обед"))
	enq(Entry{ID: "c9/consult", Queue: "main", Agent: "boris", Consult: true})
	c.add(3 * time.Second)
	_, err = a.Leave("c9/consult", OutcomeAbandoned)
	must(err)
	must(a.Ready("boris"))

	// c10: anna (longest idle) answers, transfers blind to boris (same
	// queue: Answered); c11: boris answers, transfers blind to second.
	enq(Entry{ID: "c10", Queue: "main"})
	connect("c10", "anna")
	c.add(15 * time.Second)
	must(a.TransferOut("c10", "1boris"))
	enq(Entry{ID: "c10", Queue: "main", Agent: "boris", Answered: true})
	connect("c10", "boris")
	c.add(15 * time.Second)
	must(a.Hangup("c10", "caller"))
	endWrapUps()
	enq(Entry{ID: "c11", Queue: "main"})
	connect("c11", "anna")
	c.add(5 * time.Second)
	must(a.TransferOut("c11", "queue:second"))
	c.add(12 * time.Second)
	enq(Entry{ID: "c11", Queue: "second"})
	connect("c11", "vera")
	c.add(5 * time.Second)
	must(a.Hangup("c11", "agent"))
	endWrapUps()

	// c12: answered by anna, whose phone goes; the caller hangs up while
	// back in the queue (answered already: no abandon).
	must(a.Pause("boris", "обед"))
	enq(Entry{ID: "c12", Queue: "main"})
	connect("c12", "anna")
	c.add(5 * time.Second)
	must(a.AgentGone("anna", "no RTP"))
	revoked("c12")
	c.add(5 * time.Second)
	_, err = a.Leave("c12", OutcomeAbandoned)
	must(err)

	snap := a.Snapshot()
	r, err := BuildReport(rec.events, ReportOptions{From: start.Add(-time.Hour), To: c.t.Add(time.Hour),
		Thresholds: map[string]time.Duration{"main": 20 * time.Second, "second": 10 * time.Second}, Location: time.UTC, Now: c.t})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range snap.Queues {
		got := totalOf(t, r, q.Name)
		want := q.Today
		want.Completed, want.WaitSum, want.TalkSum = 0, 0, 0
		if got.Counters() != want {
			t.Errorf("%s: report %+v\n  the ACD %+v", q.Name, got.Counters(), want)
		}
		if sl, ok := q.Today.ServiceLevel(); ok != (got.ServiceLevel != nil) || ok && *got.ServiceLevel != sl {
			t.Errorf("%s: report's service level %v, the ACD's %v (%v)", q.Name, got.ServiceLevel, sl, ok)
		}
		if q.Today.Answered > 0 {
			asa := q.Today.WaitSum.Seconds() / float64(q.Today.Answered)
			if got.ASA == nil || math.Abs(*got.ASA-asa) > 1e-9 {
				t.Errorf("%s: report's ASA %v, the ACD's %v", q.Name, got.ASA, asa)
			}
		}
	}
	// What the scenario means, so that the comparison is not of two
	// equal mistakes: main had c1–c8, c10, c11, c12 (c8 refused); within
	// 20 s c1, c10, c11 and c12 (c6 and c7 waited behind c5's two
	// minutes); second had c5 and c11, both at once.
	wantCounts(t, "main", totalOf(t, r, "main"),
		QueueCounters{Offered: 11, Answered: 7, AnsweredInSL: 4, Abandoned: 2, AbandonedInSL: 1, Timeouts: 1, Full: 1})
	wantCounts(t, "second", totalOf(t, r, "second"), QueueCounters{Offered: 2, Answered: 2, AnsweredInSL: 2})
}
