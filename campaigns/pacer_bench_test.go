package campaigns

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
)

// benchState returns a mid-day predictive state for n agents: estimates
// trained on the reference scenario, agents spread over talk and wrap-up,
// about 0.3 calls in flight per agent.
func benchState(n int, seed uint64) *State {
	rng := rand.New(rand.NewPCG(seed, 2))
	est := trainedEstimates(rng, 0.3, 3000)
	s := &State{Estimates: est, Day: Window{Live: 1000, Abandoned: 22}, Month: Window{Live: 20000, Abandoned: 480}}
	for i := 0; i < n; i++ {
		switch u := rng.Float64(); {
		case u < 0.05:
			s.Agents = append(s.Agents, Agent{State: acd.StateReady, InState: secs(rng.Float64() * 5)})
		case u < 0.85:
			s.Agents = append(s.Agents, Agent{State: acd.StateTalking, InState: secs(rng.Float64() * 300)})
		default:
			s.Agents = append(s.Agents, Agent{State: acd.StateWrapUp, InState: secs(rng.Float64() * 15)})
		}
	}
	for i := 0; i < n*3/10; i++ {
		s.Calls = append(s.Calls, Call{Ringing: secs(rng.Float64() * 20)})
	}
	return s
}

// trainedEstimates returns estimates that saw k outcomes of the reference
// scenario with live probability p.
func trainedEstimates(rng *rand.Rand, p float64, k int) *Estimates {
	est := NewEstimates(Priors{})
	for i := 0; i < k; i++ {
		if rng.Float64() < p {
			est.ObserveDial(OutcomeLive, secs(3+12*rng.Float64()))
			est.ObserveTalk(secs(rng.ExpFloat64() * 120))
			est.ObserveWrap(15 * time.Second)
			continue
		}
		switch u := rng.Float64(); {
		case u < 0.5:
			est.ObserveDial(OutcomeNoAnswer, 20*time.Second)
		case u < 0.8:
			est.ObserveDial(OutcomeMachine, secs(6+12*rng.Float64()))
		default:
			est.ObserveDial(OutcomeBusy, secs(1+4*rng.Float64()))
		}
	}
	return est
}

func benchmarkDecide(b *testing.B, n int) {
	p, err := NewPacer(PacerConfig{Mode: ModePredictive})
	if err != nil {
		b.Fatal(err)
	}
	s := benchState(n, 1)
	p.Decide(s) // warm the scratch buffers
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p.Decide(s)
	}
}

func BenchmarkDecidePredictive10(b *testing.B)  { benchmarkDecide(b, 10) }
func BenchmarkDecidePredictive100(b *testing.B) { benchmarkDecide(b, 100) }
func BenchmarkDecidePredictive500(b *testing.B) { benchmarkDecide(b, 500) }

func BenchmarkDecideProgressive100(b *testing.B) {
	p, _ := NewPacer(PacerConfig{Mode: ModeProgressive})
	s := benchState(100, 1)
	b.ReportAllocs()
	for b.Loop() {
		p.Decide(s)
	}
}
