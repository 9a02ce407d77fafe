package acd

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// Published Erlang C values: 10 Erlangs (200 calls/h at 180 s), the classic
// worked example (e.g. callcentrehelper.com's Erlang C walk-through): 14
// agents for 80/20, P(wait) 17.4 %, SL 88.8 %, ASA 7.8 s, occupancy 71.4 %.
func TestEvaluateCPublished(t *testing.T) {
	q := Queue{CallsPerHour: 200, HandleTime: 180}
	tests := []struct {
		n                      int
		pwait, sl, asa, occupy float64
	}{
		{11, 0.6821, 0.3896, 122.78, 0.9091},
		{12, 0.4494, 0.6402, 40.44, 0.8333},
		{13, 0.2853, 0.7956, 17.12, 0.7692},
		{14, 0.1741, 0.8884, 7.84, 0.7143},
		{15, 0.1020, 0.9415, 3.67, 0.6667},
	}
	for _, tt := range tests {
		r, err := EvaluateC(q, tt.n, 20)
		if err != nil {
			t.Fatalf("EvaluateC(n=%d): %v", tt.n, err)
		}
		if !near(r.PWait, tt.pwait, 1e-4) || !near(r.ServiceLevel, tt.sl, 1e-4) ||
			!near(r.ASA, tt.asa, 0.01) || !near(r.Occupancy, tt.occupy, 1e-4) {
			t.Errorf("EvaluateC(n=%d) = %+v, want pwait %v sl %v asa %v occ %v", tt.n, r, tt.pwait, tt.sl, tt.asa, tt.occupy)
		}
	}
	r, err := AgentsForTarget(q, Target{0.8, 20})
	if err != nil || r.Agents != 14 {
		t.Fatalf("AgentsForTarget(10 E, 80/20) = %+v, %v; want 14 agents", r, err)
	}
}

// Erlang B published table values (e.g. 5 lines at 3 E blocks 11.0 %).
func TestErlangBTable(t *testing.T) {
	tests := []struct {
		n    int
		a, b float64
	}{
		{1, 1, 0.5},
		{5, 3, 0.1101},
		{10, 5, 0.01838},
		{20, 15, 0.04561},
	}
	for _, tt := range tests {
		got, err := ErlangB(tt.n, tt.a)
		if err != nil || !near(got, tt.b, 5e-5) {
			t.Errorf("ErlangB(%d, %v) = %v, %v; want %v", tt.n, tt.a, got, err, tt.b)
		}
	}
}

func TestErlangCStableForLargeGroups(t *testing.T) {
	// 1000 Erlangs on 1011+ agents: factorials would overflow float64 at 171.
	q := Queue{CallsPerHour: 20000, HandleTime: 180}
	r, err := AgentsForTarget(q, Target{0.8, 20})
	if err != nil {
		t.Fatal(err)
	}
	if r.Agents < 1001 || r.Agents > 1100 || math.IsNaN(r.ServiceLevel) || r.ServiceLevel < 0.8 {
		t.Fatalf("AgentsForTarget(1000 E) = %+v", r)
	}
	prev, err := EvaluateC(q, r.Agents-1, 20)
	if err != nil || prev.ServiceLevel >= 0.8 {
		t.Fatalf("one agent fewer still meets the target: %+v, %v", prev, err)
	}
}

func TestErlangLimits(t *testing.T) {
	// A -> N: P(wait) -> 1 and ASA grows without bound.
	for _, a := range []float64{9, 9.9, 9.99, 9.999} {
		r, err := EvaluateC(Queue{CallsPerHour: a * 20, HandleTime: 180}, 10, 20)
		if err != nil {
			t.Fatal(err)
		}
		if a == 9.999 && (r.PWait < 0.999 || r.ASA < 1e5) {
			t.Errorf("EvaluateC(A=%v, N=10) = %+v, want PWait -> 1, ASA -> inf", a, r)
		}
	}
	r, _ := EvaluateC(Queue{CallsPerHour: 200, HandleTime: 180}, 10, 20)
	if r.Stable || r.PWait != 1 || !math.IsInf(r.ASA, 1) {
		t.Errorf("EvaluateC(A=N) = %+v, want unstable", r)
	}
	// N -> inf: nobody waits.
	r, _ = EvaluateC(Queue{CallsPerHour: 200, HandleTime: 180}, 60, 20)
	if r.PWait > 1e-12 || r.ServiceLevel < 1-1e-12 || r.ASA > 1e-9 {
		t.Errorf("EvaluateC(N=60) = %+v, want no waiting", r)
	}
	// Erlang A with endless patience is Erlang C.
	qa := Queue{CallsPerHour: 200, HandleTime: 180, Patience: 1e8}
	ra, err := EvaluateA(qa, 14, 20)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := EvaluateC(qa, 14, 20)
	if !near(ra.PWait, rc.PWait, 1e-5) || !near(ra.ServiceLevel, rc.ServiceLevel, 1e-5) || !near(ra.ASA, rc.ASA, 1e-3) || ra.Abandon > 1e-5 {
		t.Errorf("EvaluateA(patience->inf) = %+v, want Erlang C %+v", ra, rc)
	}
	// Erlang A past overload stays finite and abandons the excess.
	ra, err = EvaluateA(Queue{CallsPerHour: 400, HandleTime: 180, Patience: 60}, 10, 20)
	if err != nil || !ra.Stable || ra.Abandon < 0.45 || ra.Abandon > 0.55 || ra.Occupancy > 1 {
		t.Errorf("EvaluateA(20 E on 10 agents) = %+v, %v; want ~half abandoned", ra, err)
	}
	// N -> inf in Erlang A.
	ra, _ = EvaluateA(Queue{CallsPerHour: 200, HandleTime: 180, Patience: 60}, 80, 20)
	if ra.Abandon > 1e-12 || ra.ServiceLevel < 1-1e-9 {
		t.Errorf("EvaluateA(N=80) = %+v, want nobody waiting", ra)
	}
}

// simulateMMNM runs a plain event simulation of M/M/N+M and returns the
// abandonment rate, the fraction of calls answered within answerTime and the
// ASA of answered calls: an independent check of EvaluateA.
func simulateMMNM(lambda, mu, theta float64, n int, answerTime float64, calls int, seed uint64) (ab, sl, asa float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	free := make([]float64, n) // time each agent becomes free
	var t float64
	var abandoned, inTime, answered int
	var waitSum float64
	// FCFS: serve callers in arrival order; a caller is served by the first
	// agent to free up if that is before its deadline.
	for i := 0; i < calls; i++ {
		t += rng.ExpFloat64() / lambda
		deadline := t + rng.ExpFloat64()/theta
		sort.Float64s(free)
		start := math.Max(t, free[0])
		if start > deadline {
			abandoned++
			continue
		}
		answered++
		waitSum += start - t
		if start-t <= answerTime {
			inTime++
		}
		free[0] = start + rng.ExpFloat64()/mu
	}
	return float64(abandoned) / float64(calls), float64(inTime) / float64(calls), waitSum / float64(answered)
}

func TestEvaluateAAgainstSimulation(t *testing.T) {
	tests := []struct {
		cph, aht, patience float64
		n                  int
	}{
		{200, 180, 120, 12},
		{200, 180, 60, 9},
		{900, 240, 180, 62},
	}
	for _, tt := range tests {
		q := Queue{CallsPerHour: tt.cph, HandleTime: tt.aht, Patience: tt.patience}
		r, err := EvaluateA(q, tt.n, 20)
		if err != nil {
			t.Fatal(err)
		}
		ab, sl, asa := simulateMMNM(tt.cph/3600, 1/tt.aht, 1/tt.patience, tt.n, 20, 400000, 7)
		if !near(r.Abandon, ab, 0.006) || !near(r.ServiceLevel, sl, 0.01) || !near(r.ASA, asa, 0.05*asa+0.2) {
			t.Errorf("EvaluateA(%+v, n=%d) = ab %.4f sl %.4f asa %.2f; simulation ab %.4f sl %.4f asa %.2f",
				q, tt.n, r.Abandon, r.ServiceLevel, r.ASA, ab, sl, asa)
		}
	}
}

// Published Erlang A example (pyworkforce's ErlangA guide): 100 calls per
// 30 min, AHT 3 min, patience 5 min, 13 agents → service level 0.858,
// occupancy 0.750, abandonment 0.025, waiting probability 0.226 and a mean
// wait over all callers of 0.125 min. Our ASA counts answered callers only;
// the mean wait over all callers is Abandon × patience (Little's law on the
// queue: abandonment rate = theta · E[queue]).
func TestEvaluateAPublished(t *testing.T) {
	q := Queue{CallsPerHour: 200, HandleTime: 180, Patience: 300}
	r, err := EvaluateA(q, 13, 20)
	if err != nil {
		t.Fatal(err)
	}
	allWait := r.Abandon * q.Patience
	if !near(r.ServiceLevel, 0.858, 5e-4) || !near(r.Occupancy, 0.750, 5e-4) || !near(r.Abandon, 0.025, 5e-4) ||
		!near(r.PWait, 0.226, 5e-4) || !near(allWait/60, 0.125, 5e-4) || r.ASA >= allWait {
		t.Errorf("EvaluateA(200/h, 180 s, patience 300 s, 13) = %+v (mean wait of all %.2f s), want SL 0.858, occ 0.750, abandon 0.025, P(wait) 0.226, wait 7.5 s",
			r, allWait)
	}
}

func TestAgentsForTargetA(t *testing.T) {
	q := Queue{CallsPerHour: 200, HandleTime: 180, Patience: 120}
	r, err := AgentsForTargetA(q, Target{0.8, 20})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := AgentsForTarget(q, Target{0.8, 20})
	if r.Agents > c.Agents || r.ServiceLevel < 0.8 {
		t.Fatalf("AgentsForTargetA = %+v, want <= %d agents meeting 80%%", r, c.Agents)
	}
	below, _ := EvaluateA(q, r.Agents-1, 20)
	if below.ServiceLevel >= 0.8 {
		t.Fatalf("AgentsForTargetA not minimal: %d agents give %v", r.Agents-1, below.ServiceLevel)
	}
}

func TestErlangBadInput(t *testing.T) {
	tests := []struct {
		name string
		err  error
		call func() error
	}{
		{"negative rate", ErrBadLoad, func() error { _, err := EvaluateC(Queue{CallsPerHour: -1, HandleTime: 1}, 1, 20); return err }},
		{"NaN rate", ErrBadLoad, func() error { _, err := EvaluateC(Queue{CallsPerHour: math.NaN(), HandleTime: 1}, 1, 20); return err }},
		{"zero aht", ErrBadHandleTime, func() error { _, err := EvaluateC(Queue{CallsPerHour: 1}, 1, 20); return err }},
		{"negative agents", ErrBadAgents, func() error { _, err := EvaluateC(Queue{CallsPerHour: 1, HandleTime: 1}, -1, 20); return err }},
		{"target 1", ErrBadTarget, func() error {
			_, err := AgentsForTarget(Queue{CallsPerHour: 1, HandleTime: 1}, Target{1, 20})
			return err
		}},
		{"no patience", ErrBadPatience, func() error { _, err := EvaluateA(Queue{CallsPerHour: 1, HandleTime: 1}, 1, 20); return err }},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, tt.err) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.err)
		}
	}
}

func BenchmarkAgentsForTarget(b *testing.B) {
	b.ReportAllocs()
	q := Queue{CallsPerHour: 3000, HandleTime: 180}
	for b.Loop() {
		if _, err := AgentsForTarget(q, Target{0.8, 20}); err != nil {
			b.Fatal(err)
		}
	}
}
