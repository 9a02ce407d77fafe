package acd

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkRoute measures one call through the ACD with 50 agents in two
// queues, half of them busy: enqueue (the routing pass offers it to a
// ready agent), connect, hang up, and the wrap-up's end — the work the
// distributor does per call. Report: ns per call (one routing decision
// each).
func BenchmarkRoute(b *testing.B) {
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	a, err := New(Options{Queues: []QueueConfig{{Name: "q1", WrapUp: time.Second}, {Name: "q2", WrapUp: time.Second, Strategy: StrategyFewestCalls}},
		Now: c.now, Rand: rand.New(rand.NewPCG(1, 1)), Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		q := []Member{{Queue: "q1"}}
		if i%2 == 0 {
			q = append(q, Member{Queue: "q2", Penalty: i % 3})
		}
		if err := a.Login(AgentConfig{Login: fmt.Sprintf("op%02d", i), Level: 1 + i%5/4, Delivery: DeliverySession, Queues: q}); err != nil {
			b.Fatal(err)
		}
	}
	// Half the agents on long calls.
	for i := range 25 {
		id := fmt.Sprintf("busy%d", i)
		tk, _ := a.Enqueue(Entry{ID: id, Queue: "q1"})
		n := <-tk.Notices()
		_ = a.Connected(id, n.Agent)
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%d", i)
	}
	queues := []string{"q1", "q2"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := ids[i%len(ids)]
		tk, err := a.Enqueue(Entry{ID: id, Queue: queues[i%2]})
		if err != nil {
			b.Fatal(err)
		}
		n := <-tk.Notices()
		if err := a.Connected(id, n.Agent); err != nil {
			b.Fatal(err)
		}
		if err := a.Hangup(id, "caller"); err != nil {
			b.Fatal(err)
		}
		c.add(2 * time.Second)
		a.Tick()
	}
}
