package campaigns

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestEstimatesJSONRoundTrip(t *testing.T) {
	est := trainedEstimates(rand.New(rand.NewPCG(12, 12)), 0.3, 2000)
	b, err := json.Marshal(est)
	if err != nil {
		t.Fatal(err)
	}
	var back Estimates
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal(Marshal(est)): %v", err)
	}
	if back.Outcomes() != est.Outcomes() || back.LiveProb() != est.LiveProb() || back.MeanHandle() != est.MeanHandle() {
		t.Errorf("restored estimates: outcomes %d p %v handle %v, want %d %v %v",
			back.Outcomes(), back.LiveProb(), back.MeanHandle(), est.Outcomes(), est.LiveProb(), est.MeanHandle())
	}
	// The restored estimates decide exactly as the originals, and keep
	// learning with the same memory.
	p1, _ := NewPacer(PacerConfig{Mode: ModePredictive})
	p2, _ := NewPacer(PacerConfig{Mode: ModePredictive})
	for seed := uint64(1); seed <= 50; seed++ {
		s1 := benchState(40, seed)
		s1.Estimates = est
		s2 := *s1
		s2.Estimates = &back
		if d1, d2 := p1.Decide(s1), p2.Decide(&s2); d1 != d2 {
			t.Fatalf("seed %d: Decide with restored estimates = %+v, original %+v", seed, d2, d1)
		}
	}
	est.ObserveTalk(400 * time.Second)
	back.ObserveTalk(400 * time.Second)
	if est.MeanTalk() != back.MeanTalk() {
		t.Errorf("after one more talk: %v vs %v", back.MeanTalk(), est.MeanTalk())
	}
}

func TestEstimatesJSONBad(t *testing.T) {
	good, _ := json.Marshal(NewEstimates(Priors{}))
	tests := []struct {
		name string
		in   string
	}{
		{"not json", "{"},
		{"other version", strings.Replace(string(good), `"version":1`, `"version":2`, 1)},
		{"fewer bins", strings.Replace(string(good), `"weights":[`, `"weights":[1,`, 1)},
		{"negative count", strings.Replace(string(good), `"outcomes":0`, `"outcomes":-1`, 1)},
		{"live over all", strings.Replace(string(good), `"all_w":20`, `"all_w":1`, 1)},
		{"overflowing weights", strings.Replace(string(good), `"weights":[0,0,`, `"weights":[1e308,1e308,`, 1)},
	}
	for _, tt := range tests {
		est := NewEstimates(Priors{})
		before := est.LiveProb()
		err := json.Unmarshal([]byte(tt.in), est)
		if !errors.Is(err, ErrBadEstimates) && !(tt.name == "not json" && err != nil) {
			t.Errorf("Unmarshal(%s) error = %v, want ErrBadEstimates", tt.name, err)
		}
		if est.LiveProb() != before {
			t.Errorf("Unmarshal(%s) changed the estimates", tt.name)
		}
	}
}

func FuzzEstimatesJSON(f *testing.F) {
	good, _ := json.Marshal(trainedEstimates(rand.New(rand.NewPCG(1, 1)), 0.3, 500))
	f.Add(good)
	f.Add([]byte(`{"version":1,"live_w":1,"all_w":2,"out_inc":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var est Estimates
		if err := json.Unmarshal(b, &est); err != nil {
			return
		}
		if lp := est.LiveProb(); !(lp >= 0 && lp <= 1) {
			t.Fatalf("restored LiveProb() = %v", lp)
		}
		p, _ := NewPacer(PacerConfig{Mode: ModePredictive, MinOutcomes: 1})
		s := benchState(20, 1)
		s.Estimates = &est
		if d := p.Decide(s); d.Dial < 0 || d.Dial > p.Config().MaxPerDecision {
			t.Fatalf("Decide with restored estimates = %+v", d)
		}
	})
}
