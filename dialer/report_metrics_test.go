package dialer

import (
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/metrics"
)

// TestDeskMetricsEqualTheReport: the desk's queue metrics
// (obzvon_queue_calls_total, obzvon_queue_service_level_ratio) count a
// call once in each queue it entered, like the report computed from the
// journal's events: a requeue, a blind transfer back into the queue, an
// attended transfer and consultations count no second time. The ACD runs
// on a test clock; its events go through Desk.Record.
func TestDeskMetricsEqualTheReport(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	adv := func(d time.Duration) { now = now.Add(d) }
	reg := prometheus.NewPedanticRegistry()
	m := metrics.NewACD(reg)
	d := &Desk{opt: DeskOptions{Metrics: m}, sessions: map[string]*agentSession{}, evCh: make(chan acd.Event, 4096),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	queues := []acd.QueueConfig{
		{Name: "main", WrapUp: 10 * time.Second, SLThreshold: 20 * time.Second, MaxLen: 2},
		{Name: "second", SLThreshold: 10 * time.Second},
	}
	a, err := acd.New(acd.Options{Queues: queues, Now: clock, Sink: d, Location: time.UTC, PauseReasons: []string{"обед"}})
	if err != nil {
		t.Fatal(err)
	}
	d.acd = a
	for _, q := range queues {
		m.AddQueue(q.Name)
	}
	m.RegisterSnapshot(d.metricsSnapshot)

	tickets := map[string]*acd.Ticket{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	enq := func(e acd.Entry) {
		t.Helper()
		tk, err := a.Enqueue(e)
		must(err)
		tickets[e.ID] = tk
	}
	// take connects call id to the agent it is offered to and returns it.
	take := func(id string) string {
		t.Helper()
		for {
			select {
			case n := <-tickets[id].Notices():
				if n.Kind == acd.NoticeOffer {
					must(a.Connected(id, n.Agent))
					return n.Agent
				}
			default:
				t.Fatalf("call %s: no offer", id)
			}
		}
	}
	member := func(login string, qs ...string) acd.AgentConfig {
		cfg := acd.AgentConfig{Login: login, Level: 1, Delivery: acd.DeliverySession}
		for _, q := range qs {
			cfg.Queues = append(cfg.Queues, acd.Member{Queue: q})
		}
		return cfg
	}
	must(a.Login(member("anna", "main")))
	must(a.Login(member("boris", "main")))
	must(a.Login(member("vera", "second")))

	// c1: requeued after its operator's phone went, answered again.
	enq(acd.Entry{ID: "c1", Queue: "main"})
	adv(3 * time.Second)
	first := take("c1")
	adv(10 * time.Second)
	must(a.AgentGone(first, "phone hung up"))
	take("c1")
	adv(30 * time.Second)
	must(a.Hangup("c1", "caller"))
	must(a.Login(member(first, "main")))
	adv(11 * time.Second)
	a.Tick()

	// c2: blind transfer to the other operator of main; then an
	// attended transfer back after a cancelled consultation.
	enq(acd.Entry{ID: "c2", Queue: "main"})
	x := take("c2")
	y := map[string]string{"anna": "boris", "boris": "anna"}[x]
	adv(20 * time.Second)
	must(a.TransferOut("c2", "1"+y))
	enq(acd.Entry{ID: "c2", Queue: "main", Agent: y, Answered: true})
	take("c2")
	adv(11 * time.Second)
	a.Tick() // x's wrap-up ends
	enq(acd.Entry{ID: "c2/consult", Queue: "main", Agent: x, Consult: true})
	take("c2/consult")
	adv(5 * time.Second)
	must(a.CompleteTransfer("c2", "c2/consult"))
	adv(5 * time.Second)
	must(a.Hangup("c2", "caller"))
	adv(11 * time.Second)
	a.Tick()

	// Everyone at lunch: c3 abandons after 30 s, c4 times out and
	// overflows to second, c5 is refused (main holds 2), c6 waits for a
	// consultation nobody takes.
	must(a.Pause("anna", "обед"))
	must(a.Pause("boris", "обед"))
	enq(acd.Entry{ID: "c3", Queue: "main"})
	enq(acd.Entry{ID: "c4", Queue: "main"})
	if _, err := a.Enqueue(acd.Entry{ID: "c5", Queue: "main"}); err == nil {
		t.Fatal("c5 entered a full queue")
	}
	adv(30 * time.Second)
	_, err = a.Leave("c3", acd.OutcomeAbandoned)
	must(err)
	adv(90 * time.Second)
	_, err = a.Leave("c4", acd.OutcomeTimeout)
	must(err)
	enq(acd.Entry{ID: "c4", Queue: "second"})
	take("c4")
	adv(20 * time.Second)
	must(a.Hangup("c4", "agent"))
	enq(acd.Entry{ID: "c6/consult", Queue: "main", Agent: "anna", Consult: true})
	_, err = a.Leave("c6/consult", acd.OutcomeAbandoned)
	must(err)

	close(d.evCh)
	var evs []acd.Event
	for e := range d.evCh {
		evs = append(evs, e)
	}
	rep, err := acd.BuildReport(evs, acd.ReportOptions{From: now.Add(-time.Hour), To: now.Add(time.Hour),
		Thresholds: map[string]time.Duration{"main": 20 * time.Second, "second": 10 * time.Second}, Location: time.UTC, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	gathered := gatherQueueMetrics(t, reg)
	for _, q := range rep.Queues {
		f := q.Total
		for result, want := range map[string]int{metrics.QueueAnswered: f.Answered, metrics.QueueAbandoned: f.Abandoned,
			metrics.QueueTimeout: f.Timeouts, metrics.QueueFull: f.Full, metrics.QueueTransferred: f.Transferred} {
			if got := gathered.calls[q.Queue+"/"+result]; got != float64(want) {
				t.Errorf("obzvon_queue_calls_total{queue=%q,result=%q} = %v, the report says %d", q.Queue, result, got, want)
			}
		}
		sl, ok := gathered.sl[q.Queue]
		if ok != (f.ServiceLevel != nil) || ok && math.Abs(sl-*f.ServiceLevel) > 1e-12 {
			t.Errorf("obzvon_queue_service_level_ratio{queue=%q} = %v (%v), the report says %v", q.Queue, sl, ok, f.ServiceLevel)
		}
	}
	// And what that is: main answered c1 and c2 once each, within 20 s;
	// c3 abandoned after it; c4 timed out there and was answered in second.
	if got := gathered.calls["main/answered"]; got != 2 {
		t.Errorf("main answered %v, want 2", got)
	}
	if got, want := gathered.sl["main"], 2.0/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("main's service level %v, want %v", got, want)
	}
}

type queueMetrics struct {
	calls map[string]float64 // queue/result
	sl    map[string]float64
}

func gatherQueueMetrics(t *testing.T, reg *prometheus.Registry) queueMetrics {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := queueMetrics{calls: map[string]float64{}, sl: map[string]float64{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "obzvon_queue_calls_total":
				out.calls[labels["queue"]+"/"+labels["result"]] = m.GetCounter().GetValue()
			case "obzvon_queue_service_level_ratio":
				out.sl[labels["queue"]] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
