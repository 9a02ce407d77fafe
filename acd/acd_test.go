package acd

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)} }
func (c *clock) set(t time.Time)     { c.t = t }

type recorder struct{ events []Event }

func (r *recorder) Record(e Event) { r.events = append(r.events, e) }

func (r *recorder) kinds() []string {
	var out []string
	for _, e := range r.events {
		if e.Kind != EventAgentState {
			out = append(out, e.Kind.String())
		}
	}
	return out
}

func newTestACD(t *testing.T, c *clock, queues ...QueueConfig) (*ACD, *recorder) {
	t.Helper()
	if len(queues) == 0 {
		queues = []QueueConfig{{Name: "main", WrapUp: 10 * time.Second, SLThreshold: 20 * time.Second}}
	}
	rec := &recorder{}
	a, err := New(Options{Queues: queues, Now: c.now, Sink: rec, Rand: rand.New(rand.NewPCG(1, 2)),
		PauseReasons: []string{"обед", "обучение"}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return a, rec
}

func login(t *testing.T, a *ACD, name string, level int, queues ...string) {
	t.Helper()
	cfg := AgentConfig{Login: name, Extension: "1" + name, Level: level, Delivery: DeliverySession}
	for _, q := range queues {
		cfg.Queues = append(cfg.Queues, Member{Queue: q})
	}
	if err := a.Login(cfg); err != nil {
		t.Fatalf("Login(%s) = %v", name, err)
	}
}

func enqueue(t *testing.T, a *ACD, id, queue string) *Ticket {
	t.Helper()
	tk, err := a.Enqueue(Entry{ID: id, Queue: queue, Caller: "+7900" + id})
	if err != nil {
		t.Fatalf("Enqueue(%s) = %v", id, err)
	}
	return tk
}

// offered returns the pending notice of tk, failing if there is none.
func offered(t *testing.T, tk *Ticket) Notice {
	t.Helper()
	select {
	case n := <-tk.Notices():
		return n
	default:
		t.Fatalf("call %s: no notice", tk.ID())
		return Notice{}
	}
}

func noNotice(t *testing.T, tk *Ticket) {
	t.Helper()
	select {
	case n := <-tk.Notices():
		t.Fatalf("call %s: unexpected notice %+v", tk.ID(), n)
	default:
	}
}

func state(t *testing.T, a *ACD, login string) State {
	t.Helper()
	v, _ := a.Agent(login)
	return v.State
}

func TestOfferConnectWrapUpReady(t *testing.T) {
	c := newClock()
	a, rec := newTestACD(t, c)
	login(t, a, "anna", 1, "main")
	c.add(3 * time.Second)
	tk := enqueue(t, a, "c1", "main")
	n := offered(t, tk)
	if n.Kind != NoticeOffer || n.Agent != "anna" || n.Extension != "1anna" || n.Delivery != DeliverySession {
		t.Fatalf("notice = %+v", n)
	}
	if got := state(t, a, "anna"); got != StateReserved {
		t.Fatalf("state after offer = %v, want reserved", got)
	}
	c.add(40 * time.Millisecond)
	if err := a.Connected("c1", "anna"); err != nil {
		t.Fatal(err)
	}
	if got := state(t, a, "anna"); got != StateTalking {
		t.Fatalf("state after connect = %v", got)
	}
	c.add(60 * time.Second)
	if err := a.Hangup("c1", "caller"); err != nil {
		t.Fatal(err)
	}
	v, _ := a.Agent("anna")
	if v.State != StateWrapUp || !v.WrapUntil.Equal(c.t.Add(10*time.Second)) {
		t.Fatalf("after hangup: %v until %v", v.State, v.WrapUntil)
	}
	if next := a.Tick(); !next.Equal(c.t.Add(10 * time.Second)) {
		t.Fatalf("next deadline = %v, want end of wrap-up", next)
	}
	if err := a.ExtendWrapUp("anna", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.add(10 * time.Second)
	a.Tick()
	if got := state(t, a, "anna"); got != StateWrapUp {
		t.Fatalf("extended wrap-up ended early: %v", got)
	}
	c.add(5 * time.Second)
	a.Tick()
	if got := state(t, a, "anna"); got != StateReady {
		t.Fatalf("after wrap-up: %v, want ready", got)
	}
	want := []string{"enter", "offer", "connect", "complete"}
	if got := rec.kinds(); !equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	var conn Event
	for _, e := range rec.events {
		if e.Kind == EventConnect {
			conn = e
		}
	}
	if conn.Wait != 40*time.Millisecond || conn.Agent != "anna" || conn.Call != "c1" {
		t.Fatalf("connect event = %+v", conn)
	}
	s := a.Snapshot()
	q := s.Queues[0]
	if q.Today.Offered != 1 || q.Today.Answered != 1 || q.Today.AnsweredInSL != 1 || q.Today.Completed != 1 {
		t.Fatalf("counters = %+v", q.Today)
	}
	if sl, ok := q.Today.ServiceLevel(); !ok || sl != 1 {
		t.Fatalf("SL = %v %v", sl, ok)
	}
	// anna: ready 3 s + 40 ms reserved, talking 60 s, wrap-up 15 s.
	if got := s.StateSeconds[StateTalking]; got != 60 {
		t.Errorf("talking seconds = %v, want 60", got)
	}
	if got := s.StateSeconds[StateWrapUp]; got != 15 {
		t.Errorf("wrap-up seconds = %v, want 15", got)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStrategies(t *testing.T) {
	// Three ready agents with different idle times and call counts; the
	// queue's strategy decides who gets each of four calls in turn (each
	// call ends at once without wrap-up, so the agent is ready again).
	type want []string
	tests := []struct {
		strategy Strategy
		want     want
	}{
		// Idle since: cyril 0 s (logged in first), boris 1 s, anna 2 s.
		// Each agent taking a call becomes the most recently idle.
		{StrategyLongestIdle, want{"cyril", "boris", "anna", "cyril"}},
		// Logins in order after the last one served, wrapping round.
		{StrategyRoundRobin, want{"anna", "boris", "cyril", "anna"}},
		// Fewest calls; ties to the longest idle.
		{StrategyFewestCalls, want{"cyril", "boris", "anna", "cyril"}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy.String(), func(t *testing.T) {
			c := newClock()
			a, _ := newTestACD(t, c, QueueConfig{Name: "main", Strategy: tt.strategy})
			login(t, a, "cyril", 1, "main")
			c.add(time.Second)
			login(t, a, "boris", 1, "main")
			c.add(time.Second)
			login(t, a, "anna", 1, "main")
			c.add(time.Second)
			for i, w := range tt.want {
				id := string(rune('a' + i))
				tk := enqueue(t, a, id, "main")
				n := offered(t, tk)
				if n.Agent != w {
					t.Fatalf("call %d went to %s, want %s", i, n.Agent, w)
				}
				if err := a.Connected(id, n.Agent); err != nil {
					t.Fatal(err)
				}
				c.add(time.Second)
				if err := a.Hangup(id, "caller"); err != nil {
					t.Fatal(err)
				}
				c.add(time.Second)
			}
		})
	}
	t.Run("random", func(t *testing.T) {
		c := newClock()
		a, _ := newTestACD(t, c, QueueConfig{Name: "main", Strategy: StrategyRandom})
		for _, n := range []string{"anna", "boris", "cyril"} {
			login(t, a, n, 1, "main")
		}
		seen := map[string]int{}
		for i := range 300 {
			id := string(rune(0x1000 + i))
			n := offered(t, enqueue(t, a, id, "main"))
			seen[n.Agent]++
			if _, err := a.Leave(id, OutcomeAbandoned); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []string{"anna", "boris", "cyril"} {
			if seen[n] < 60 {
				t.Errorf("random strategy chose %s %d times of 300: %v", n, seen[n], seen)
			}
		}
	})
}

func TestPenaltyAndTiers(t *testing.T) {
	c := newClock()
	a, _ := newTestACD(t, c, QueueConfig{Name: "main", Level2After: 30 * time.Second})
	// anna: level 1, penalty 1; boris: level 1, penalty 0; lena: level 2.
	if err := a.Login(AgentConfig{Login: "anna", Level: 1, Delivery: DeliverySession, Queues: []Member{{Queue: "main", Penalty: 1}}}); err != nil {
		t.Fatal(err)
	}
	login(t, a, "boris", 1, "main")
	login(t, a, "lena", 2, "main")
	// Longest idle would pick anna, but boris has the lower penalty.
	if n := offered(t, enqueue(t, a, "c1", "main")); n.Agent != "boris" {
		t.Fatalf("c1 to %s, want boris (penalty 0)", n.Agent)
	}
	if n := offered(t, enqueue(t, a, "c2", "main")); n.Agent != "anna" {
		t.Fatalf("c2 to %s, want anna (level 1 before level 2)", n.Agent)
	}
	for _, x := range [][2]string{{"c1", "boris"}, {"c2", "anna"}} {
		if err := a.Connected(x[0], x[1]); err != nil {
			t.Fatal(err)
		}
	}
	tk := enqueue(t, a, "c3", "main")
	noNotice(t, tk) // lena is level 2: not before 30 s
	next := a.Tick()
	if !next.Equal(c.t.Add(30 * time.Second)) {
		t.Fatalf("next deadline %v, want the tier opening in 30 s", next)
	}
	c.add(29 * time.Second)
	a.Tick()
	noNotice(t, tk)
	c.add(time.Second)
	a.Tick()
	if n := offered(t, tk); n.Agent != "lena" {
		t.Fatalf("c3 to %s after 30 s, want lena", n.Agent)
	}
}

func TestLeaseExpiryRequeuesAtPlace(t *testing.T) {
	c := newClock()
	a, rec := newTestACD(t, c)
	login(t, a, "anna", 1, "main")
	t1 := enqueue(t, a, "c1", "main")
	t2 := enqueue(t, a, "c2", "main")
	if n := offered(t, t1); n.Agent != "anna" {
		t.Fatal(n)
	}
	noNotice(t, t2)
	if p, _, _, ok := a.Position("c2"); !ok || p != 1 {
		t.Fatalf("c2 position = %d %v", p, ok)
	}
	c.add(5*time.Second + 2*time.Millisecond)
	a.Tick()
	if n := offered(t, t1); n.Kind != NoticeRevoked {
		t.Fatalf("c1 notice after lease = %+v, want revoked", n)
	}
	v, _ := a.Agent("anna")
	if v.State != StatePaused || v.Reason != PauseNoAnswer {
		t.Fatalf("anna after lapsed lease: %v %q", v.State, v.Reason)
	}
	// c1 is back at its place: ahead of c2.
	if got := a.WaitingCalls("main"); !equal(got, []string{"c1", "c2"}) {
		t.Fatalf("waiting = %v", got)
	}
	if err := a.Connected("c1", "anna"); !errors.Is(err, ErrStaleOffer) {
		t.Fatalf("Connected after lapse = %v, want ErrStaleOffer", err)
	}
	login(t, a, "boris", 1, "main")
	if n := offered(t, t1); n.Agent != "boris" {
		t.Fatalf("c1 to %s, want boris", n.Agent)
	}
	if got := rec.kinds(); !equal(got, []string{"enter", "offer", "enter", "no_answer", "offer"}) {
		t.Fatalf("events = %v", got)
	}
}

func TestRingNoAnswerPausesAgent(t *testing.T) {
	c := newClock()
	a, _ := newTestACD(t, c)
	if err := a.Login(AgentConfig{Login: "anna", Delivery: DeliveryRing, Queues: []Member{{Queue: "main"}}}); err != nil {
		t.Fatal(err)
	}
	login(t, a, "boris", 1, "main")
	c.add(time.Second)
	tk := enqueue(t, a, "c1", "main")
	n := offered(t, tk)
	if n.Agent != "anna" || n.Delivery != DeliveryRing || !n.Deadline.Equal(c.t.Add(45*time.Second)) {
		t.Fatalf("offer = %+v", n)
	}
	if err := a.OfferFailed("c1", "anna", FailNoAnswer); err != nil {
		t.Fatal(err)
	}
	v, _ := a.Agent("anna")
	if v.State != StatePaused || v.Reason != PauseNoAnswer {
		t.Fatalf("anna: %v %q", v.State, v.Reason)
	}
	if n := offered(t, tk); n.Agent != "boris" {
		t.Fatalf("c1 re-offered to %s, want boris", n.Agent)
	}
	if err := a.Ready("anna"); err != nil {
		t.Fatal(err)
	}
	if got := state(t, a, "anna"); got != StateReady {
		t.Fatalf("anna after Ready: %v", got)
	}
}

func TestAgentGoneRequeuesAtHead(t *testing.T) {
	c := newClock()
	a, rec := newTestACD(t, c)
	login(t, a, "anna", 1, "main")
	t1 := enqueue(t, a, "c1", "main")
	offered(t, t1)
	if err := a.Connected("c1", "anna"); err != nil {
		t.Fatal(err)
	}
	t2 := enqueue(t, a, "c2", "main")
	c.add(10 * time.Second)
	if err := a.AgentGone("anna", "session leg dropped"); err != nil {
		t.Fatal(err)
	}
	if n := offered(t, t1); n.Kind != NoticeRevoked {
		t.Fatalf("c1 notice = %+v", n)
	}
	if got := a.WaitingCalls("main"); !equal(got, []string{"c1", "c2"}) {
		t.Fatalf("waiting = %v, want c1 at the head", got)
	}
	if got := state(t, a, "anna"); got != StateLoggedOut {
		t.Fatalf("anna: %v", got)
	}
	login(t, a, "boris", 1, "main")
	if n := offered(t, t1); n.Agent != "boris" {
		t.Fatalf("c1 to %s", n.Agent)
	}
	noNotice(t, t2)
	if err := a.Connected("c1", "boris"); err != nil {
		t.Fatal(err)
	}
	q := a.Snapshot().Queues[0]
	if q.Today.Answered != 1 {
		t.Fatalf("answered = %d: a requeued call is answered once", q.Today.Answered)
	}
	if got := rec.kinds(); !equal(got, []string{"enter", "offer", "connect", "enter", "requeue", "offer", "connect"}) {
		t.Fatalf("events = %v", got)
	}
}

func TestPauseDuringCallAndLogout(t *testing.T) {
	c := newClock()
	a, _ := newTestACD(t, c)
	login(t, a, "anna", 1, "main")
	if err := a.Pause("anna", "перекур"); !errors.Is(err, ErrBadReason) {
		t.Fatalf("Pause with an unknown reason = %v", err)
	}
	offered(t, enqueue(t, a, "c1", "main"))
	if err := a.Connected("c1", "anna"); err != nil {
		t.Fatal(err)
	}
	if err := a.Pause("anna", "обед"); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Agent("anna"); v.State != StateTalking || v.Pending != "pause:обед" {
		t.Fatalf("pause during a call: %v pending %q", v.State, v.Pending)
	}
	if err := a.Hangup("c1", "agent"); err != nil {
		t.Fatal(err)
	}
	c.add(10 * time.Second)
	a.Tick()
	if v, _ := a.Agent("anna"); v.State != StatePaused || v.Reason != "обед" {
		t.Fatalf("after wrap-up: %v %q, want paused обед", v.State, v.Reason)
	}
	// A call arriving now waits: nobody is ready.
	tk := enqueue(t, a, "c2", "main")
	noNotice(t, tk)
	if err := a.Ready("anna"); err != nil {
		t.Fatal(err)
	}
	offered(t, tk)
	// Logout with an outstanding offer: the call goes back, the agent out.
	if err := a.Logout("anna", ""); err != nil {
		t.Fatal(err)
	}
	if n := offered(t, tk); n.Kind != NoticeRevoked {
		t.Fatalf("notice = %+v", n)
	}
	if got := a.WaitingCalls("main"); !equal(got, []string{"c2"}) {
		t.Fatalf("waiting = %v", got)
	}
	if err := a.Login(AgentConfig{Login: "anna", Delivery: DeliverySession}); err != nil {
		t.Fatal(err)
	}
	if err := a.Login(AgentConfig{Login: "anna", Delivery: DeliverySession}); !errors.Is(err, ErrAlreadyWorking) {
		t.Fatalf("second Login = %v", err)
	}
	if err := a.Ready("ghost"); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("Ready(ghost) = %v", err)
	}
}

func TestInboundBeforeCampaignAndPersonalCalls(t *testing.T) {
	c := newClock()
	a, _ := newTestACD(t, c,
		QueueConfig{Name: "inbound", Kind: KindInbound},
		QueueConfig{Name: "survey", Kind: KindOutbound})
	tOut := enqueue(t, a, "o1", "survey")
	c.add(time.Second)
	tIn := enqueue(t, a, "i1", "inbound")
	login(t, a, "anna", 1, "inbound", "survey")
	if n := offered(t, tIn); n.Agent != "anna" {
		t.Fatal("the inbound call must go first")
	}
	noNotice(t, tOut)
	// A transfer to one agent: only she may take it.
	tP, err := a.Enqueue(Entry{ID: "p1", Queue: "inbound", Agent: "boris"})
	if err != nil {
		t.Fatal(err)
	}
	login(t, a, "cyril", 1, "inbound", "survey")
	if n := offered(t, tOut); n.Agent != "cyril" {
		t.Fatalf("o1 to %s, want cyril (p1 waits for boris)", n.Agent)
	}
	login(t, a, "boris", 1)
	if n := offered(t, tP); n.Agent != "boris" {
		t.Fatalf("p1 to %s", n.Agent)
	}
}

func TestQueueFullAbandonAndServiceLevel(t *testing.T) {
	c := newClock()
	a, rec := newTestACD(t, c, QueueConfig{Name: "main", MaxLen: 2, SLThreshold: 20 * time.Second})
	enqueue(t, a, "c1", "main")
	enqueue(t, a, "c2", "main")
	if _, err := a.Enqueue(Entry{ID: "c3", Queue: "main"}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third call = %v, want ErrQueueFull", err)
	}
	if _, err := a.Enqueue(Entry{ID: "c1", Queue: "main"}); !errors.Is(err, ErrDuplicateEntry) {
		t.Fatalf("duplicate = %v", err)
	}
	if _, err := a.Enqueue(Entry{ID: "x", Queue: "nope"}); !errors.Is(err, ErrUnknownQueue) {
		t.Fatalf("unknown queue = %v", err)
	}
	c.add(5 * time.Second)
	if w, err := a.Leave("c1", OutcomeAbandoned); err != nil || w != 5*time.Second {
		t.Fatalf("Leave = %v, %v", w, err)
	}
	c.add(25 * time.Second) // c2 has waited 30 s
	login(t, a, "anna", 1, "main")
	if err := a.Connected("c2", "anna"); err != nil {
		t.Fatal(err)
	}
	enqueue(t, a, "c4", "main")
	c.add(21 * time.Second)
	if _, err := a.Leave("c4", OutcomeAbandoned); err != nil {
		t.Fatal(err)
	}
	q := a.Snapshot().Queues[0]
	// Answered 1 (after 30 s: outside SL); abandoned 2, one within 20 s.
	want := QueueCounters{Offered: 4, Answered: 1, Abandoned: 2, AbandonedInSL: 1, Full: 1, WaitSum: 30 * time.Second}
	if q.Today != want {
		t.Fatalf("counters = %+v\nwant %+v", q.Today, want)
	}
	if sl, _ := q.Today.ServiceLevel(); sl != 0 {
		t.Fatalf("SL = %v, want 0 of 2", sl)
	}
	if got := rec.kinds(); !equal(got, []string{"enter", "enter", "full", "abandon", "offer", "connect", "enter", "abandon"}) {
		t.Fatalf("events = %v", got)
	}
	// The next day starts from zero.
	c.set(time.Date(2026, 12, 8, 0, 0, 1, 0, time.UTC))
	if q := a.Snapshot().Queues[0]; q.Today != (QueueCounters{}) {
		t.Fatalf("next day counters = %+v", q.Today)
	}
}

func TestEstimateWait(t *testing.T) {
	tests := []struct {
		pos, ready, working int
		aht                 time.Duration
		want                time.Duration
	}{
		{1, 1, 3, time.Minute, 0},
		{1, 0, 3, 3 * time.Minute, time.Minute},
		{4, 1, 3, 3 * time.Minute, 3 * time.Minute},
		{2, 0, 0, time.Minute, 2 * time.Minute},
	}
	for _, tt := range tests {
		if got := EstimateWait(tt.pos, tt.ready, tt.working, tt.aht); got != tt.want {
			t.Errorf("EstimateWait(%d, %d, %d, %v) = %v, want %v", tt.pos, tt.ready, tt.working, tt.aht, got, tt.want)
		}
	}
	// Fed by the queue's own service: after one 60 s call + 10 s wrap-up
	// with one agent, the second caller in line waits ~2×70 s.
	c := newClock()
	a, _ := newTestACD(t, c)
	if _, _, have, _ := a.Position("x"); have {
		t.Fatal("estimate for an unknown call")
	}
	login(t, a, "anna", 1, "main")
	offered(t, enqueue(t, a, "c1", "main"))
	_ = a.Connected("c1", "anna")
	c.add(60 * time.Second)
	_ = a.Hangup("c1", "caller")
	enqueue(t, a, "c2", "main")
	enqueue(t, a, "c3", "main")
	pos, ewt, have, ok := a.Position("c3")
	if !ok || !have || pos != 2 || ewt != 140*time.Second {
		t.Fatalf("Position(c3) = %d, %v, %v, %v; want 2, 2m20s", pos, ewt, have, ok)
	}
}

// Operators who serve two queues take the callers of both in the order
// they came: a caller of q2 behind three callers of q1 waits for four of
// them to free up, not one. The estimate counts the callers of another
// queue ahead by the share of that queue's operators who also serve this
// one: all of them when the queues share their operators, none when the
// queues have operators of their own.
func TestEstimateWaitSharedOperators(t *testing.T) {
	qs := []QueueConfig{{Name: "q1"}, {Name: "q2"}}
	setup := func(t *testing.T, members [][]string) (*ACD, *clock) {
		c := newClock()
		a, _ := newTestACD(t, c, qs...)
		for i, m := range members {
			login(t, a, string(rune('a'+i)), 1, m...)
		}
		// A 60 s call in each queue gives both an average handling time.
		for _, q := range []string{"q1", "q2"} {
			n := offered(t, enqueue(t, a, "first-"+q, q))
			_ = a.Connected("first-"+q, n.Agent)
		}
		c.add(60 * time.Second)
		for _, q := range []string{"q1", "q2"} {
			if err := a.Hangup("first-"+q, "caller"); err != nil {
				t.Fatal(err)
			}
		}
		// Every operator busy.
		for i := range members {
			id := "busy" + string(rune('0'+i))
			q := members[i][len(members[i])-1]
			n := offered(t, enqueue(t, a, id, q))
			_ = a.Connected(id, n.Agent)
		}
		for _, id := range []string{"w1", "w2", "w3"} {
			enqueue(t, a, id, "q1")
		}
		enqueue(t, a, "x", "q2")
		return a, c
	}
	t.Run("shared", func(t *testing.T) {
		a, _ := setup(t, [][]string{{"q1", "q2"}, {"q1", "q2"}, {"q1", "q2"}, {"q1", "q2"}})
		// x is fourth in line for the four operators: one frees up every
		// 60/4 s, x waits 4 × 15 s.
		pos, ewt, have, ok := a.Position("x")
		if !ok || !have || pos != 1 || ewt != 60*time.Second {
			t.Errorf("Position(x) = %d, %v, %v, %v; want place 1 in q2, 1m0s", pos, ewt, have, ok)
		}
	})
	t.Run("own operators", func(t *testing.T) {
		a, _ := setup(t, [][]string{{"q1"}, {"q1"}, {"q2"}, {"q2"}})
		// q1's callers do not hold up q2's two operators: 1 × 60/2 s.
		if _, ewt, _, _ := a.Position("x"); ewt != 30*time.Second {
			t.Errorf("estimate of x = %v, want 30s", ewt)
		}
	})
	t.Run("partly shared", func(t *testing.T) {
		a, _ := setup(t, [][]string{{"q1"}, {"q2", "q1"}, {"q2"}, {"q2"}})
		// One of q1's two operators serves q2 as well: half of q1's three
		// callers ahead fall to q2's operators (1.5 → 2 ahead, x third):
		// 3 × 60/3 s.
		if _, ewt, _, _ := a.Position("x"); ewt != 60*time.Second {
			t.Errorf("estimate of x = %v, want 1m0s", ewt)
		}
	})
}

func TestAttendedTransfer(t *testing.T) {
	c := newClock()
	a, rec := newTestACD(t, c)
	login(t, a, "anna", 1, "main")
	offered(t, enqueue(t, a, "c1", "main"))
	_ = a.Connected("c1", "anna")
	c.add(30 * time.Second)
	// anna consults boris about c1.
	login(t, a, "boris", 2)
	tk, err := a.Enqueue(Entry{ID: "c1/consult", Queue: "main", Agent: "boris", Consult: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := offered(t, tk); n.Agent != "boris" {
		t.Fatal(n)
	}
	_ = a.Connected("c1/consult", "boris")
	c.add(10 * time.Second)
	if err := a.CompleteTransfer("c1", "c1/consult"); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Agent("anna"); v.State != StateWrapUp {
		t.Fatalf("anna after the transfer: %v", v.State)
	}
	if v, _ := a.Agent("boris"); v.State != StateTalking || v.Call != "c1" {
		t.Fatalf("boris after the transfer: %v on %q", v.State, v.Call)
	}
	c.add(20 * time.Second)
	if err := a.Hangup("c1", "caller"); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Agent("boris"); v.State != StateWrapUp {
		t.Fatalf("boris after the call: %v", v.State)
	}
	q := a.Snapshot().Queues[0]
	if q.Today.Answered != 1 || q.Today.Offered != 1 || q.Today.Completed != 1 {
		t.Errorf("counters %+v: one call, answered once (the consultation is not counted)", q.Today)
	}
	want := []string{"enter", "offer", "connect", "enter", "offer", "connect", "transfer", "connect", "complete"}
	if got := rec.kinds(); !equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// TestOnOfferRunsAtTheDecision checks that a ticket's OnOffer sees each
// offer, with the decision's time, before the offer is on Notices, and
// does not see revocations.
func TestOnOfferRunsAtTheDecision(t *testing.T) {
	c := newClock()
	a, _ := newTestACD(t, c)
	tk := enqueue(t, a, "c1", "main")
	var seen []Notice
	queuedBefore := -1
	tk.OnOffer(func(n Notice) {
		seen = append(seen, n)
		queuedBefore = len(tk.Notices())
	})
	c.add(2 * time.Second)
	login(t, a, "anna", 1, "main")
	if len(seen) != 1 || seen[0].Agent != "anna" || !seen[0].At.Equal(c.now()) || queuedBefore != 0 {
		t.Fatalf("OnOffer saw %+v (with %d notices queued); want anna's offer at %v, before it was queued", seen, queuedBefore, c.now())
	}
	if n := offered(t, tk); n.Agent != "anna" {
		t.Fatalf("notice = %+v, want anna's offer", n)
	}
	if err := a.AgentGone("anna", "test"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 {
		t.Errorf("OnOffer saw %d notices, want only the offer (not the revocation)", len(seen))
	}
}

// TestEntryOnOfferSeesAnOfferMadeByEnqueue: with an operator ready, the
// offer is decided inside Enqueue; Entry.OnOffer sees it.
func TestEntryOnOfferSeesAnOfferMadeByEnqueue(t *testing.T) {
	c := newClock()
	a, _ := newTestACD(t, c)
	login(t, a, "anna", 1, "main")
	var seen []Notice
	tk, err := a.Enqueue(Entry{ID: "c1", Queue: "main", OnOffer: func(n Notice) { seen = append(seen, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].Agent != "anna" {
		t.Fatalf("OnOffer saw %+v; want anna's offer made by Enqueue", seen)
	}
	if n := offered(t, tk); n.Agent != "anna" {
		t.Fatalf("notice = %+v, want anna's offer", n)
	}
}

// A held agent takes no other call while the call placed for it rings,
// takes that one at once when it is answered, and goes back to where it
// was (ready, or its pause) when the call fails or the lease ends.
func TestHoldReservesAgentForItsOutboundCall(t *testing.T) {
	c := newClock()
	a, _ := newTestACD(t, c,
		QueueConfig{Name: "inbound", Kind: KindInbound},
		QueueConfig{Name: "survey", Kind: KindOutbound})
	login(t, a, "anna", 1, "inbound", "survey")
	if err := a.Hold("anna", "cb1", 40*time.Second); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Agent("anna"); v.State != StateReserved || v.Reason != HoldReason {
		t.Fatalf("held anna is %s (%q), want reserved (%q)", v.State, v.Reason, HoldReason)
	}
	// An inbound caller arrives while the citizen's phone rings: it waits.
	tIn := enqueue(t, a, "i1", "inbound")
	noNotice(t, tIn)
	if err := a.Hold("anna", "cb2", time.Minute); !errors.Is(err, ErrBadMove) {
		t.Fatalf("a second hold = %v, want ErrBadMove", err)
	}
	// The citizen answers: the call goes to anna at once.
	tCB, err := a.Enqueue(Entry{ID: "cb1", Queue: "survey", Agent: "anna"})
	if err != nil {
		t.Fatal(err)
	}
	if n := offered(t, tCB); n.Agent != "anna" {
		t.Fatalf("cb1 offered to %q", n.Agent)
	}
	noNotice(t, tIn)
	if err := a.Connected("cb1", "anna"); err != nil {
		t.Fatal(err)
	}
	if err := a.Hangup("cb1", "caller"); err != nil {
		t.Fatal(err)
	}
	// The survey queue has no wrap-up: the waiting caller is next.
	if n := offered(t, tIn); n.Agent != "anna" {
		t.Fatalf("i1 offered to %q after the callback", n.Agent)
	}
	if _, err := a.Leave("i1", OutcomeAbandoned); err != nil {
		t.Fatal(err)
	}

	// Held from a pause: a failed call puts her back on her pause.
	if err := a.Pause("anna", "обед"); err != nil {
		t.Fatal(err)
	}
	if err := a.Hold("anna", "cb3", 40*time.Second); err != nil {
		t.Fatal(err)
	}
	a.Release("anna", "other") // not her hold: nothing changes
	if v, _ := a.Agent("anna"); v.State != StateReserved {
		t.Fatalf("a release of another call freed anna: %s", v.State)
	}
	a.Release("anna", "cb3")
	if v, _ := a.Agent("anna"); v.State != StatePaused || v.Reason != "обед" {
		t.Fatalf("after the release anna is %s (%q), want paused (обед)", v.State, v.Reason)
	}

	// Held from ready: the lease ends the hold by itself.
	if err := a.Ready("anna"); err != nil {
		t.Fatal(err)
	}
	if err := a.Hold("anna", "cb4", 40*time.Second); err != nil {
		t.Fatal(err)
	}
	tIn2 := enqueue(t, a, "i2", "inbound")
	c.add(39 * time.Second)
	a.Tick()
	noNotice(t, tIn2)
	c.add(2 * time.Second)
	a.Tick()
	if n := offered(t, tIn2); n.Agent != "anna" {
		t.Fatalf("after the lease i2 offered to %q, want anna", n.Agent)
	}
	// Not working: no hold.
	if err := a.Hold("ghost", "cb5", time.Minute); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("Hold(ghost) = %v", err)
	}
}
