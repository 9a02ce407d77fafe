package campaigns

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
)

func TestModeStringParse(t *testing.T) {
	for m := ModePreview; m <= ModeAgentless; m++ {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	for _, bad := range []string{"", "unknown", "Predictive", "fast"} {
		if _, err := ParseMode(bad); !errors.Is(err, ErrBadMode) {
			t.Errorf("ParseMode(%q) error = %v, want ErrBadMode", bad, err)
		}
	}
	if s := Mode(42).String(); s != "unknown" {
		t.Errorf("Mode(42).String() = %q, want unknown", s)
	}
	for o := OutcomeLive; o <= OutcomeAbandoned; o++ {
		got, err := ParseOutcome(o.String())
		if err != nil || got != o {
			t.Errorf("ParseOutcome(%q) = %v, %v", o.String(), got, err)
		}
	}
	for r := ReasonPaced; r <= ReasonMaxPerDecision; r++ {
		got, err := ParseReason(r.String())
		if err != nil || got != r {
			t.Errorf("ParseReason(%q) = %v, %v", r.String(), got, err)
		}
	}
	for b := BlockNone; b <= BlockNoWindow; b++ {
		got, err := ParseBlock(b.String())
		if err != nil || got != b {
			t.Errorf("ParseBlock(%q) = %v, %v", b.String(), got, err)
		}
	}
	for _, bad := range []string{"", "unknown", "Live", "busy "} {
		if _, err := ParseOutcome(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("ParseOutcome(%q) error = %v, want ErrBadName", bad, err)
		}
		if _, err := ParseReason(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("ParseReason(%q) error = %v, want ErrBadName", bad, err)
		}
		if _, err := ParseBlock(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("ParseBlock(%q) error = %v, want ErrBadName", bad, err)
		}
	}
	for _, s := range []string{Outcome(99).String(), Reason(-1).String(), Block(99).String(), Mode(9).String()} {
		if s != "unknown" {
			t.Errorf("out-of-range String() = %q, want unknown", s)
		}
	}
}

func TestPacerConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  PacerConfig
		err  error
	}{
		{"ok", PacerConfig{Mode: ModePredictive}, nil},
		{"no mode", PacerConfig{}, ErrBadMode},
		{"ratio below 1", PacerConfig{Mode: ModeRatio, Ratio: 0.5}, ErrBadPacerConfig},
		{"ratio NaN", PacerConfig{Mode: ModeRatio, Ratio: math.NaN()}, ErrBadPacerConfig},
		{"target 100%", PacerConfig{Mode: ModePredictive, TargetAbandon: 1}, ErrBadPacerConfig},
		{"setpoint over target", PacerConfig{Mode: ModePredictive, TargetAbandon: 0.03, Setpoint: 0.05}, ErrBadPacerConfig},
		{"negative grace", PacerConfig{Mode: ModePredictive, Grace: -time.Second}, ErrBadPacerConfig},
		{"negative ivr", PacerConfig{Mode: ModeAgentless, IVRCapacity: -1}, ErrBadPacerConfig},
	}
	for _, tt := range tests {
		_, err := NewPacer(tt.cfg)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("NewPacer(%s) error = %v, want %v", tt.name, err, tt.err)
		}
	}
}

func agents(ready, talk, wrap int, talkFor, wrapFor time.Duration) []Agent {
	var a []Agent
	for i := 0; i < ready; i++ {
		a = append(a, Agent{State: acd.StateReady})
	}
	for i := 0; i < talk; i++ {
		a = append(a, Agent{State: acd.StateTalking, InState: talkFor})
	}
	for i := 0; i < wrap; i++ {
		a = append(a, Agent{State: acd.StateWrapUp, InState: wrapFor})
	}
	return a
}

func calls(n int, ringing time.Duration) []Call {
	c := make([]Call, n)
	for i := range c {
		c[i].Ringing = ringing
	}
	return c
}

func TestDecideTable(t *testing.T) {
	warm := trainedEstimates(rand.New(rand.NewPCG(1, 1)), 0.3, 3000)
	cold := NewEstimates(Priors{})
	tests := []struct {
		name       string
		cfg        PacerConfig
		state      State
		dial       int
		mode       Mode
		reason     Reason
		atLeast    bool // dial is a lower bound
		wantReserv int
	}{
		{"preview never dials", PacerConfig{Mode: ModePreview},
			State{Agents: agents(5, 0, 0, 0, 0)}, 0, ModePreview, ReasonPreview, false, 0},
		{"progressive one per ready agent", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(3, 2, 0, time.Minute, 0), Calls: calls(1, time.Second)}, 2, ModeProgressive, ReasonPaced, false, 0},
		{"progressive counts waiting live answers", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(3, 0, 0, 0, 0), WaitingLive: 1}, 2, ModeProgressive, ReasonPaced, false, 0},
		{"progressive no agents", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(0, 3, 0, time.Minute, 0)}, 0, ModeProgressive, ReasonNoAgents, false, 0},
		{"ratio 2", PacerConfig{Mode: ModeRatio, Ratio: 2},
			State{Agents: agents(3, 0, 0, 0, 0), Calls: calls(1, time.Second)}, 5, ModeRatio, ReasonPaced, false, 0},
		{"ratio 2.5 rounds down", PacerConfig{Mode: ModeRatio, Ratio: 2.5},
			State{Agents: agents(3, 0, 0, 0, 0)}, 7, ModeRatio, ReasonPaced, false, 0},
		{"channels bound", PacerConfig{Mode: ModeRatio, Ratio: 3},
			State{Agents: agents(10, 0, 0, 0, 0), Trunk: Trunk{Channels: 12, InUse: 8}}, 4, ModeRatio, ReasonChannels, false, 0},
		{"channels full", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(10, 0, 0, 0, 0), Trunk: Trunk{Channels: 12, InUse: 12}}, 0, ModeProgressive, ReasonChannels, false, 0},
		{"cps bound", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(10, 0, 0, 0, 0), Trunk: Trunk{CPS: 5, StartedLastSecond: 2}}, 3, ModeProgressive, ReasonCPS, false, 0},
		{"fractional cps", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(10, 0, 0, 0, 0), Trunk: Trunk{CPS: 0.5}}, 1, ModeProgressive, ReasonCPS, false, 0},
		{"max per decision", PacerConfig{Mode: ModeProgressive, MaxPerDecision: 4},
			State{Agents: agents(10, 0, 0, 0, 0)}, 4, ModeProgressive, ReasonMaxPerDecision, false, 0},
		{"agentless bounded by channels", PacerConfig{Mode: ModeAgentless},
			State{Trunk: Trunk{Channels: 30, InUse: 10, CPS: 100}}, 20, ModeAgentless, ReasonChannels, false, 0},
		{"agentless bounded by IVR", PacerConfig{Mode: ModeAgentless, IVRCapacity: 10},
			State{Estimates: warm, IVRActive: 4, Calls: calls(10, time.Second)}, 10, ModeAgentless, ReasonPaced, false, 0},
		{"agentless IVR full", PacerConfig{Mode: ModeAgentless, IVRCapacity: 10},
			State{Estimates: warm, IVRActive: 10}, 0, ModeAgentless, ReasonIVR, false, 0},
		{"predictive cold start is progressive", PacerConfig{Mode: ModePredictive},
			State{Estimates: cold, Agents: agents(4, 6, 0, time.Minute, 0), Calls: calls(1, time.Second)}, 3, ModeProgressive, ReasonColdStart, false, 0},
		{"predictive without estimates is progressive", PacerConfig{Mode: ModePredictive},
			State{Agents: agents(2, 0, 0, 0, 0)}, 2, ModeProgressive, ReasonColdStart, false, 0},
		{"predictive day budget spent", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm, Agents: agents(4, 6, 0, time.Minute, 0), Day: Window{Live: 400, Abandoned: 12}}, 4, ModeProgressive, ReasonBudgetSpent, false, 0},
		{"predictive 30-day budget spent", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm, Agents: agents(4, 6, 0, time.Minute, 0), Day: Window{Live: 50}, Month: Window{Live: 4000, Abandoned: 120}}, 4, ModeProgressive, ReasonBudgetSpent, false, 0},
		{"predictive dials ahead of ready agents", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm, Agents: agents(4, 6, 0, time.Minute, 0)}, 5, ModePredictive, ReasonPaced, true, 0},
		{"predictive dials for agents in wrap-up", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm, Agents: agents(0, 0, 5, 0, 10*time.Second)}, 1, ModePredictive, ReasonPaced, true, 0},
		{"predictive no agent can be free in time", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm, Agents: agents(0, 5, 0, 0, 0)}, 0, ModePredictive, ReasonNoAgents, false, 0},
		{"predictive no agents at all", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm}, 0, ModePredictive, ReasonNoAgents, false, 0},
		{"predictive enough calls in flight", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm, Agents: agents(2, 0, 0, 0, 0), Calls: calls(20, 4*time.Second)}, 0, ModePredictive, ReasonNoAgents, false, 0},
		{"blending keeps agents for inbound", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(20, 0, 0, 0, 0), Inbound: &Inbound{CallsPerHour: 200, HandleTime: 180 * time.Second, Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}},
			6, ModeProgressive, ReasonPaced, false, 14},
		{"blending counts agents already on inbound and waiting callers", PacerConfig{Mode: ModeProgressive},
			State{Agents: append(agents(20, 0, 0, 0, 0), Agent{State: acd.StateTalking, Inbound: true}, Agent{State: acd.StateWrapUp, Inbound: true}),
				Inbound: &Inbound{Waiting: 1, CallsPerHour: 200, HandleTime: 180 * time.Second, Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}},
			7, ModeProgressive, ReasonPaced, false, 13},
		{"blending with patience uses Erlang A", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(20, 0, 0, 0, 0), Inbound: &Inbound{CallsPerHour: 200, HandleTime: 180 * time.Second, Patience: 120 * time.Second, Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}},
			8, ModeProgressive, ReasonPaced, false, 12},
		{"blending: a busy pool answers inbound without idle agents", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(5, 40, 0, time.Minute, 0), Inbound: &Inbound{CallsPerHour: 200, HandleTime: 180 * time.Second, Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}},
			5, ModeProgressive, ReasonPaced, false, 0},
		{"blending: a small pool keeps two idle", PacerConfig{Mode: ModeProgressive},
			State{Agents: agents(4, 8, 0, time.Minute, 0), Inbound: &Inbound{CallsPerHour: 60, HandleTime: 180 * time.Second, Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}},
			2, ModeProgressive, ReasonPaced, false, 2},
		{"blending: an absurd inbound rate stops outbound", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm, Agents: agents(30, 20, 0, time.Minute, 0), Inbound: &Inbound{CallsPerHour: 1e9, HandleTime: 180 * time.Second, Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}},
			0, ModePredictive, ReasonInboundNeeds, false, 50},
		{"blending inbound takes everyone", PacerConfig{Mode: ModePredictive},
			State{Estimates: warm, Agents: agents(10, 0, 0, 0, 0), Inbound: &Inbound{CallsPerHour: 200, HandleTime: 180 * time.Second, Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}},
			0, ModePredictive, ReasonInboundNeeds, false, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPacer(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			st := tt.state
			d := p.Decide(&st)
			if (tt.atLeast && d.Dial < tt.dial) || (!tt.atLeast && d.Dial != tt.dial) || d.Mode != tt.mode || d.Reason != tt.reason || d.Reserved != tt.wantReserv {
				t.Errorf("Decide(%s) = %+v, want dial %d (at least: %v), mode %v, reason %v, reserved %d",
					tt.name, d, tt.dial, tt.atLeast, tt.mode, tt.reason, tt.wantReserv)
			}
		})
	}
}

// randomState returns an arbitrary but well-formed state.
func randomState(rng *rand.Rand, est *Estimates) State {
	s := State{Estimates: est}
	n := rng.IntN(120)
	for i := 0; i < n; i++ {
		st := acd.States[rng.IntN(len(acd.States))]
		s.Agents = append(s.Agents, Agent{State: st, InState: secs(rng.ExpFloat64() * 60), Inbound: rng.IntN(5) == 0})
	}
	for i := rng.IntN(80); i > 0; i-- {
		s.Calls = append(s.Calls, Call{Ringing: secs(rng.Float64() * 40)})
	}
	s.WaitingLive = rng.IntN(3)
	s.Day = Window{Live: rng.IntN(2000)}
	s.Day.Abandoned = rng.IntN(s.Day.Live/20 + 1)
	s.Month = Window{Live: s.Day.Live + rng.IntN(50000)}
	s.Month.Abandoned = s.Day.Abandoned + rng.IntN((s.Month.Live-s.Day.Live)/25+1)
	if rng.IntN(2) == 0 {
		s.Trunk.Channels = rng.IntN(200)
		s.Trunk.InUse = rng.IntN(s.Trunk.Channels + 5)
	}
	if rng.IntN(2) == 0 {
		s.Trunk.CPS = rng.Float64() * 30
		s.Trunk.StartedLastSecond = rng.IntN(35)
	}
	if rng.IntN(4) == 0 {
		s.Inbound = &Inbound{Waiting: rng.IntN(5), CallsPerHour: rng.Float64() * 600, HandleTime: secs(30 + rng.Float64()*300),
			Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}
	}
	s.IVRActive = rng.IntN(40)
	return s
}

// checkInvariants checks what must hold for any decision on any state.
func checkInvariants(t *testing.T, cfg PacerConfig, s *State, d Decision) {
	t.Helper()
	cfg = cfg.withDefaults()
	ready := 0
	for _, a := range s.Agents {
		if a.State == acd.StateReady {
			ready++
		}
	}
	switch {
	case d.Dial < 0 || d.Dial > cfg.MaxPerDecision:
		t.Fatalf("Decide = %+v: dial outside [0, %d]", d, cfg.MaxPerDecision)
	case s.Trunk.Channels > 0 && d.Dial > 0 && s.Trunk.InUse+d.Dial > s.Trunk.Channels:
		t.Fatalf("Decide = %+v exceeds channels %+v", d, s.Trunk)
	case s.Trunk.CPS > 0 && d.Dial > 0 && float64(s.Trunk.StartedLastSecond+d.Dial) > math.Max(math.Floor(s.Trunk.CPS), 1):
		t.Fatalf("Decide = %+v exceeds CPS %+v", d, s.Trunk)
	case cfg.Mode == ModePreview && d.Dial != 0:
		t.Fatalf("preview Decide = %+v, want 0", d)
	case d.Mode == ModeProgressive && d.Dial > 0 && len(s.Calls)+d.Dial > ready-s.WaitingLive-d.Reserved:
		t.Fatalf("progressive Decide = %+v: %d in flight + dial > %d ready - %d waiting - %d reserved",
			d, len(s.Calls), ready, s.WaitingLive, d.Reserved)
	case math.IsNaN(d.Risk) || d.Risk < 0 || d.Risk > 1:
		t.Fatalf("Decide = %+v: risk out of [0, 1]", d)
	}
	if cfg.Mode == ModePredictive && d.Dial > 0 {
		// No agent can be free in time: nothing ready and nobody busy.
		busy := 0
		for _, a := range s.Agents {
			if a.State == acd.StateTalking || a.State == acd.StateWrapUp {
				busy++
			}
		}
		if ready == 0 && busy == 0 {
			t.Fatalf("predictive Decide = %+v with no agent who could be free", d)
		}
	}
}

func TestDecideProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ests := []*Estimates{nil, NewEstimates(Priors{}), trainedEstimates(rng, 0.3, 3000), trainedEstimates(rng, 0.05, 3000), trainedEstimates(rng, 0.9, 3000)}
	for mode := ModePreview; mode <= ModeAgentless; mode++ {
		cfg := PacerConfig{Mode: mode, IVRCapacity: 30}
		p, err := NewPacer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3000; i++ {
			s := randomState(rng, ests[rng.IntN(len(ests))])
			d := p.Decide(&s)
			checkInvariants(t, cfg, &s, d)
		}
	}
}

// Predictive never dials when no agent can be free before a live answer's
// grace period ends: every agent just started talking (talk plus wrap-up
// cannot end within ~20 s) or is away.
func TestPredictiveNeverDialsWithoutAgents(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	est := trainedEstimates(rng, 0.3, 3000)
	p, _ := NewPacer(PacerConfig{Mode: ModePredictive})
	for i := 0; i < 500; i++ {
		s := State{Estimates: est}
		for j := rng.IntN(200); j > 0; j-- {
			st := acd.StateTalking
			if rng.IntN(3) == 0 {
				st = acd.StatePaused
			}
			s.Agents = append(s.Agents, Agent{State: st, InState: secs(rng.Float64() * 0.5)})
		}
		for j := rng.IntN(10); j > 0; j-- {
			s.Calls = append(s.Calls, Call{Ringing: secs(rng.Float64() * 20)})
		}
		if d := p.Decide(&s); d.Dial != 0 {
			t.Fatalf("Decide(%d agents just connected) = %+v, want 0", len(s.Agents), d)
		}
	}
}

// The predictive mode dials more the further the measured abandonment is
// below the setpoint, and less above it.
func TestPredictiveFeedback(t *testing.T) {
	est := trainedEstimates(rand.New(rand.NewPCG(5, 5)), 0.3, 3000)
	p, _ := NewPacer(PacerConfig{Mode: ModePredictive})
	base := State{Estimates: est, Agents: agents(3, 40, 7, 90*time.Second, 8*time.Second), Calls: calls(5, 2*time.Second)}
	low, high := base, base
	low.Day, low.Month = Window{Live: 1000, Abandoned: 0}, Window{Live: 1000, Abandoned: 0}
	high.Day, high.Month = Window{Live: 1000, Abandoned: 28}, Window{Live: 1000, Abandoned: 28}
	dl, dh := p.Decide(&low), p.Decide(&high)
	if dl.Dial <= dh.Dial || dl.Risk < dh.Risk {
		t.Errorf("Decide(no abandons) = %+v, Decide(2.8%% abandons) = %+v; want more calls and risk with fewer abandons", dl, dh)
	}
}

// The exact supply-minus-demand distribution matches brute-force
// enumeration of the Bernoulli and Poisson terms.
func TestConvolutionExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for trial := 0; trial < 200; trial++ {
		p := &Pacer{}
		p.resetPMF(0, 40)
		type term struct {
			q    float64
			sign int
		}
		var terms []term
		for i := rng.IntN(8); i >= 0; i-- {
			tm := term{rng.Float64(), 1 - 2*rng.IntN(2)}
			terms = append(terms, tm)
			p.pmf[0] = p.convolve(0, p.pmf[0], tm.q, tm.sign)
		}
		ls, ld := rng.Float64()*2, rng.Float64()*2
		p.pmf[0] = p.convolvePoisson(0, p.pmf[0], ls, +1)
		p.pmf[0] = p.convolvePoisson(0, p.pmf[0], ld, -1)
		// Brute force: enumerate Bernoulli outcomes, Poisson counts up to 30.
		want := map[int]float64{}
		for mask := 0; mask < 1<<len(terms); mask++ {
			pr, v := 1.0, 0
			for i, tm := range terms {
				if mask&(1<<i) != 0 {
					pr *= tm.q
					v += tm.sign
				} else {
					pr *= 1 - tm.q
				}
			}
			for a := 0; a < 30; a++ {
				pa := math.Exp(-ls) * math.Pow(ls, float64(a)) / math.Gamma(float64(a+1))
				for b := 0; b < 30; b++ {
					pb := math.Exp(-ld) * math.Pow(ld, float64(b)) / math.Gamma(float64(b+1))
					want[v+a-b] += pr * pa * pb
				}
			}
		}
		for i, got := range p.pmf[0] {
			v := p.lo[0] + i
			if math.Abs(got-want[v]) > 1e-9 {
				t.Fatalf("trial %d: P(X=%d) = %v, want %v", trial, v, got, want[v])
			}
		}
	}
}

// Large pooled means use a window around the mode; P(A - B <= 0) for
// A ~ Poisson(40) supply and B ~ Poisson(45) demand matches a direct sum.
func TestConvolutionLargePoisson(t *testing.T) {
	p := &Pacer{}
	p.resetPMF(0, 10)
	p.pmf[0] = p.convolvePoisson(0, p.pmf[0], 40, +1)
	p.pmf[0] = p.convolvePoisson(0, p.pmf[0], 45, -1)
	got := p.probNoAgent(0)
	logPois := func(l float64, k int) float64 {
		lg, _ := math.Lgamma(float64(k + 1))
		return -l + float64(k)*math.Log(l) - lg
	}
	want := 0.0
	for a := 0; a < 200; a++ {
		for b := a; b < 250; b++ {
			want += math.Exp(logPois(40, a) + logPois(45, b))
		}
	}
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("P(Poisson(40) - Poisson(45) <= 0) = %v, want %v", got, want)
	}
}

func FuzzDecide(f *testing.F) {
	f.Add(uint64(1), uint8(4), uint16(10), uint16(5), int32(3), int32(0), float32(5), float32(0), uint16(0), uint16(0))
	f.Add(uint64(2), uint8(2), uint16(0), uint16(0), int32(0), int32(0), float32(0), float32(100), uint16(180), uint16(0))
	f.Add(uint64(3), uint8(3), uint16(500), uint16(900), int32(-5), int32(-1), float32(-1), float32(1e9), uint16(65535), uint16(1))
	est := trainedEstimates(rand.New(rand.NewPCG(9, 9)), 0.3, 2000)
	f.Fuzz(func(t *testing.T, seed uint64, mode uint8, nAgents, nCalls uint16, channels, inUse int32, cps, inCPH float32, inAHT, patience uint16) {
		rng := rand.New(rand.NewPCG(seed, 1))
		cfg := PacerConfig{Mode: Mode(1 + int(mode)%5), IVRCapacity: int(nAgents % 64)}
		p, err := NewPacer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := State{Estimates: est, Trunk: Trunk{Channels: int(channels % 1000), InUse: int(inUse % 1000), CPS: float64(cps)}}
		if s.Trunk.Channels < 0 || s.Trunk.CPS < 0 || math.IsNaN(s.Trunk.CPS) || math.IsInf(s.Trunk.CPS, 0) {
			s.Trunk = Trunk{}
		}
		for i := 0; i < int(nAgents%600); i++ {
			// Arbitrary, even nonsensical, times in state.
			s.Agents = append(s.Agents, Agent{State: acd.State(rng.IntN(9) - 1), InState: time.Duration(diff(rng.Int64(), rng.Int64()))})
		}
		for i := 0; i < int(nCalls%600); i++ {
			s.Calls = append(s.Calls, Call{Ringing: time.Duration(diff(rng.Int64(), rng.Int64()))})
		}
		if inCPH != 0 {
			s.Inbound = &Inbound{Waiting: rng.IntN(5) - 1, CallsPerHour: float64(inCPH), HandleTime: time.Duration(inAHT) * time.Second,
				Patience: time.Duration(patience) * time.Second, Target: acd.Target{Fraction: rng.Float64() * 1.2, AnswerTime: 20}}
		}
		s.WaitingLive = rng.IntN(5) - 2
		s.Day = Window{Live: rng.IntN(100) - 10, Abandoned: rng.IntN(100) - 10}
		s.Month = Window{Live: rng.IntN(1000) - 10, Abandoned: rng.IntN(100) - 10}
		d := p.Decide(&s)
		if d.Dial < 0 || d.Dial > p.Config().MaxPerDecision || math.IsNaN(d.Risk) {
			t.Fatalf("Decide = %+v: absurd answer", d)
		}
		if s.Trunk.Channels > 0 && d.Dial > 0 && s.Trunk.InUse+d.Dial > s.Trunk.Channels {
			t.Fatalf("Decide = %+v exceeds channels %+v", d, s.Trunk)
		}
	})
}

func TestEstimatesLearn(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	est := trainedEstimates(rng, 0.3, 5000)
	if lp := est.LiveProb(); math.Abs(lp-0.3) > 0.04 {
		t.Errorf("LiveProb() = %v after 5000 outcomes at 0.3, want 0.3 ± 0.04", lp)
	}
	if m := est.MeanTalk().Seconds(); math.Abs(m-120) > 20 {
		t.Errorf("MeanTalk() = %v s, want about 120 s", m)
	}
	// Handle time doubles: the estimate follows within a few hundred talks.
	for i := 0; i < 1000; i++ {
		est.ObserveTalk(secs(rng.ExpFloat64() * 240))
	}
	if m := est.MeanTalk().Seconds(); math.Abs(m-240) > 40 {
		t.Errorf("MeanTalk() = %v s after talks doubled, want about 240 s", m)
	}
	if got := est.Outcomes(); got != 5000 {
		t.Errorf("Outcomes() = %d, want 5000", got)
	}
	q := est.live.quantile(0.5)
	if q < 7 || q > 11 {
		t.Errorf("median live ring time = %v, want about 9 s", q)
	}
}

// diff is a - b, for two independent random draws (any sign).
func diff(a, b int64) int64 { return a - b }

// Blending puts inbound first: for any state with blended inbound, more
// inbound callers waiting never makes the pacer dial more or reserve
// fewer agents, in every dialing mode; and with ready agents to spare,
// each waiting caller takes one of them from outbound.
func TestInboundWaitingDialsLess(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	ests := []*Estimates{nil, NewEstimates(Priors{}), trainedEstimates(rng, 0.3, 3000)}
	for _, mode := range []Mode{ModeProgressive, ModeRatio, ModePredictive} {
		cfg := PacerConfig{Mode: mode}
		checked := 0
		for i := 0; i < 3000; i++ {
			s := randomState(rng, ests[rng.IntN(len(ests))])
			if s.Inbound == nil {
				s.Inbound = &Inbound{CallsPerHour: rng.Float64() * 600, HandleTime: secs(30 + rng.Float64()*300),
					Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}
			}
			s.Trunk = Trunk{}
			more := s
			in := *s.Inbound
			in.Waiting += 1 + rng.IntN(4)
			more.Inbound = &in
			// Fresh pacers: the decision depends on the state only.
			p1, _ := NewPacer(cfg)
			p2, _ := NewPacer(cfg)
			d0, d1 := p1.Decide(&s), p2.Decide(&more)
			if d1.Dial > d0.Dial || d1.Reserved < d0.Reserved {
				t.Fatalf("%v: %d inbound waiting: dial %d reserved %d; %d waiting: dial %d reserved %d (want no more dialing, no fewer reserved)",
					mode, s.Inbound.Waiting, d0.Dial, d0.Reserved, in.Waiting, d1.Dial, d1.Reserved)
			}
			if d0.Dial > 0 {
				checked++
			}
		}
		if checked < 100 {
			t.Errorf("%v: only %d states dialed at all: the property was hardly tested", mode, checked)
		}
	}
	// Twenty ready agents, light inbound: every waiting caller is one
	// outbound call fewer.
	p, _ := NewPacer(PacerConfig{Mode: ModeProgressive})
	st := State{Agents: agents(20, 0, 0, 0, 0), Inbound: &Inbound{CallsPerHour: 60, HandleTime: 180 * time.Second, Target: acd.Target{Fraction: 0.8, AnswerTime: 20}}}
	base := p.Decide(&st).Dial
	for w := 1; w <= 3; w++ {
		in := *st.Inbound
		in.Waiting = w
		s := st
		s.Inbound = &in
		if d := p.Decide(&s); d.Dial != base-w {
			t.Errorf("%d inbound callers waiting: dial %d, want %d (%d without)", w, d.Dial, base-w, base)
		}
	}
}
