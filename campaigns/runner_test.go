package campaigns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/journal"
)

// The journal is the runner's store.
var _ Store = (*journal.Journal)(nil)

// fakeCenter is the dialer, the trunk and the operators of a runner test,
// on the bubble's fake clock. What happens to a call is decided by the
// last digit of its phone, as the SIPp trunk of the dialer's tests does:
// 0-3 a person answers after 3 s (+ the digit before it in 100 ms, so no
// two events share an instant), 4-5 busy after 2 s, 6-7 no answer (the
// ring timeout), 8-9 an answering machine. A person is connected to the
// longest-ready operator within the grace period or abandoned (a 4 s
// safe-harbor message); operators talk 20-40 s, wrap up 5 s, and save a
// card for even contacts (the others run into the card timeout). Every
// wait of a call is offset by its contact's own microseconds, so no two
// goroutines wake at the same instant and a run replays exactly.
type fakeCenter struct {
	t     *testing.T
	j     *journal.Journal
	cp    *Compiled
	zones map[string]string // contact → zone
	dnc   map[string]bool
	ring  time.Duration

	mu        sync.Mutex
	agents    []fakeAgent
	active    map[string]bool // contacts with a call up
	maxLive   int
	placed    []string // "contact@unix-ms" in order
	placedFor []string // "contact>agent" of the calls an operator asked for
	errs      []string
	inUse     int
	channels  int
}

type fakeAgent struct {
	name  string
	state acd.State
	since time.Time
}

func newFakeCenter(t *testing.T, j *journal.Journal, cp *Compiled, agents int) *fakeCenter {
	f := &fakeCenter{t: t, j: j, cp: cp, zones: map[string]string{}, dnc: map[string]bool{}, active: map[string]bool{},
		ring: 20 * time.Second}
	for i := range agents {
		f.agents = append(f.agents, fakeAgent{name: fmt.Sprintf("op%d", i+1), state: acd.StateReady, since: time.Now()})
	}
	return f
}

// holdingCenter is a fakeCenter whose operators can be held for the calls
// they ask for (campaigns.Holder): one hold per operator at a time.
type holdingCenter struct {
	*fakeCenter
	hmu   sync.Mutex
	holds map[string]string // agent → attempt
}

func (h *holdingCenter) Hold(agent, attempt string, lease time.Duration) error {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	if cur, ok := h.holds[agent]; ok {
		return fmt.Errorf("%s is held for %s", agent, cur)
	}
	if lease < h.cp.Ring {
		return fmt.Errorf("hold of %v is shorter than the ring timeout %v", lease, h.cp.Ring)
	}
	h.holds[agent] = attempt
	return nil
}

func (h *holdingCenter) Release(agent, attempt string) {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	if h.holds[agent] == attempt {
		delete(h.holds, agent)
	}
}

// held lists "agent>attempt" of the holds in force, sorted.
func (h *holdingCenter) held() []string {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	var out []string
	for a, at := range h.holds {
		out = append(out, a+">"+at)
	}
	slices.Sort(out)
	return out
}

func (f *fakeCenter) errorf(format string, args ...any) {
	f.mu.Lock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeCenter) Agents(campaign string, dst []Agent) []Agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, a := range f.agents {
		dst = append(dst, Agent{State: a.state, InState: now.Sub(a.since), Login: a.name})
	}
	return dst
}

func (f *fakeCenter) Inbound(string) *Inbound { return nil }

func (f *fakeCenter) Capacity(string) (Trunk, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Trunk{Channels: f.channels, InUse: f.inUse}, true
}

// take reserves the longest-ready operator (only, when set, the one
// who asked for the call), or "".
func (f *fakeCenter) take(only string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	best := -1
	for i, a := range f.agents {
		if only != "" && a.name != only {
			continue
		}
		if a.state == acd.StateReady && (best < 0 || a.since.Before(f.agents[best].since)) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	f.agents[best].state, f.agents[best].since = acd.StateTalking, time.Now()
	return f.agents[best].name
}

func (f *fakeCenter) setAgent(name string, st acd.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.agents {
		if f.agents[i].name == name {
			f.agents[i].state, f.agents[i].since = st, time.Now()
		}
	}
}

func (f *fakeCenter) Place(ctx context.Context, d *DialRequest, report func(CallEvent)) {
	now := time.Now()
	f.mu.Lock()
	if f.active[d.Contact] {
		f.errs = append(f.errs, fmt.Sprintf("contact %s dialed while a call to it is up", d.Contact))
	}
	f.active[d.Contact] = true
	f.inUse++
	f.maxLive = max(f.maxLive, len(f.active))
	f.placed = append(f.placed, fmt.Sprintf("%s@%d", d.Contact, now.UnixMilli()))
	if d.Agent != "" {
		f.placedFor = append(f.placedFor, d.Contact+">"+d.Agent)
	}
	if f.dnc[d.Phone] {
		f.errs = append(f.errs, fmt.Sprintf("contact %s dialed on DNC phone %s", d.Contact, d.Phone))
	}
	zone := f.zones[d.Contact]
	f.mu.Unlock()
	loc, _ := LoadZone(zone)
	if open, ok := f.cp.Rules.Window.NextOpen(now, loc); !ok || open.After(now) {
		f.errorf("contact %s (zone %s) dialed at %s local time, outside its window", d.Contact, zone, now.In(loc).Format("Mon 15:04"))
	}
	go f.call(ctx, d, report)
}

func (f *fakeCenter) call(ctx context.Context, d *DialRequest, report func(CallEvent)) {
	digit := int(d.Phone[len(d.Phone)-1] - '0')
	tenth := time.Duration(d.Phone[len(d.Phone)-2]-'0') * 100 * time.Millisecond
	var idx int
	fmt.Sscanf(d.Contact[len(d.Contact)-5:], "%d", &idx)
	off := time.Duration(idx+1) * time.Microsecond
	end := func(e AttemptEnd) {
		f.mu.Lock()
		delete(f.active, d.Contact)
		f.inUse--
		f.mu.Unlock()
		e.Ended = time.Now()
		report(CallEvent{Attempt: d.Attempt, Kind: CallEnded, At: e.Ended, End: &e})
	}
	wait := func(dur time.Duration) bool {
		select {
		case <-time.After(dur + off):
			return true
		case <-ctx.Done():
			return false
		}
	}
	switch {
	case digit >= 4 && digit <= 5:
		if !wait(2*time.Second + tenth) {
			end(AttemptEnd{Result: ResultFailed, Note: "stopped"})
			return
		}
		end(AttemptEnd{Result: ResultBusy, SIPCode: 486})
		return
	case digit >= 6 && digit <= 7:
		wait(f.ring)
		end(AttemptEnd{Result: ResultNoAnswer, SIPCode: 408})
		return
	}
	if !wait(3*time.Second + tenth) {
		end(AttemptEnd{Result: ResultFailed, Note: "stopped"})
		return
	}
	answered := time.Now()
	report(CallEvent{Attempt: d.Attempt, Kind: CallAnswered, At: answered})
	if digit >= 8 {
		wait(2 * time.Second)
		report(CallEvent{Attempt: d.Attempt, Kind: CallMachine, At: time.Now(), AMD: "machine", AMDTime: 2 * time.Second})
		end(AttemptEnd{Result: ResultMachine, SIPCode: 200, Answered: answered, AMD: "machine", AMDTime: 2 * time.Second})
		return
	}
	report(CallEvent{Attempt: d.Attempt, Kind: CallLive, At: time.Now()})
	var agent string
	deadline := time.Now().Add(d.Grace)
	for agent = f.take(d.Agent); agent == "" && time.Now().Before(deadline); agent = f.take(d.Agent) {
		wait(100 * time.Millisecond)
	}
	if agent == "" {
		report(CallEvent{Attempt: d.Attempt, Kind: CallAbandoned, At: time.Now()})
		safe := time.Since(answered)
		wait(4 * time.Second)
		end(AttemptEnd{Result: ResultAbandoned, SIPCode: 200, Answered: answered, SafeHarbor: safe})
		return
	}
	report(CallEvent{Attempt: d.Attempt, Kind: CallConnected, At: time.Now(), Agent: agent})
	wait(20*time.Second + 2*tenth*10)
	end(AttemptEnd{Result: ResultReached, SIPCode: 200, Answered: answered, Agent: agent})
	f.setAgent(agent, acd.StateWrapUp)
	if d.Contact[len(d.Contact)-1]%2 == 0 {
		// The operator saves the card in wrap-up.
		wait(2 * time.Second)
		_, err := SaveCard(context.Background(), f.j, journal.Actor{Login: agent, Role: journal.RoleOperatorL1}, d.Campaign, d.Contact,
			CardRequest{Result: "reached", Answers: map[string]string{"passed": "no", "plan": "yes", "plan_date": "2000-02-01"}}, time.Now())
		if err != nil {
			f.errorf("card of %s: %v", d.Contact, err)
		}
		wait(3 * time.Second)
	} else {
		wait(5 * time.Second)
	}
	f.setAgent(agent, acd.StateReady)
}

type recMetrics struct {
	mu       sync.Mutex
	attempts map[string]int
	day      float64
}

func (m *recMetrics) Attempt(_, result string) {
	m.mu.Lock()
	m.attempts[result]++
	m.mu.Unlock()
}
func (m *recMetrics) AbandonRatio(_, w string, r float64) {
	if w == "day" {
		m.mu.Lock()
		m.day = r
		m.mu.Unlock()
	}
}
func (m *recMetrics) DialLevel(string, float64)    {}
func (m *recMetrics) Contacts(string, string, int) {}
func (m *recMetrics) DialDecision(string, bool)    {}

// runnerRun is what one replay of the runner test produced.
type runnerRun struct {
	placed   []string
	attempts []journal.Attempt
	contacts []journal.Contact
	skips    map[string][]journal.Skip
	ledger   []journal.LedgerDay
	metrics  map[string]int
	errs     []string
}

// runCampaign runs a 60-contact campaign on the fake center in a bubble
// starting Saturday 2000-01-01 08:00 UTC (11:00 in Moscow) until every
// contact is settled or 2 h pass.
func runCampaign(t *testing.T, mode string, agents int) runnerRun {
	var out runnerRun
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		ctx := context.Background()
		j, err := journal.Open(journal.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		set := Settings{Mode: mode, Weekdays: "09:00-21:00", Weekend: "10:00-18:00", CardTimeout: "1m",
			RetryDelays: map[string]string{"busy": "2m", "no_answer": "5m", "machine": "10m"}, NoRedialAfterAbandon: "30m"}
		if _, err := Create(ctx, j, staff, CreateRequest{ID: "disp-2026", Title: "Диспансеризация", Script: "screening", Settings: set}); err != nil {
			t.Fatal(err)
		}
		cp, err := CompiledOf(mustCampaign(t, j))
		if err != nil {
			t.Fatal(err)
		}
		f := newFakeCenter(t, j, cp, agents)
		var list []journal.Contact
		for i := range 60 {
			enp := fmt.Sprintf("26194821993%05d", i)
			phone := fmt.Sprintf("+791234%05d", i*7%100000)
			c := contact(enp, phone)
			switch {
			case i%15 == 3:
				c.Zone = "Asia/Kamchatka" // 20:00 there: outside the weekend window
			case i%20 == 7:
				f.dnc[phone] = true
			}
			f.zones[enp] = c.Zone
			list = append(list, c)
		}
		if _, err := j.LoadContacts(ctx, staff, "disp-2026", list, "list.csv", nil); err != nil {
			t.Fatal(err)
		}
		var dnc []journal.DNCEntry
		for p := range f.dnc {
			dnc = append(dnc, journal.DNCEntry{Phone: p, Source: "file"})
		}
		if _, err := j.AddDNC(ctx, staff, dnc); err != nil {
			t.Fatal(err)
		}
		if _, err := SetStatus(ctx, j, staff, "disp-2026", journal.CampaignRunning, ""); err != nil {
			t.Fatal(err)
		}
		m := &recMetrics{attempts: map[string]int{}}
		r := NewRunner("disp-2026", RunnerOptions{Store: j, Dialer: f, Operators: f, Metrics: m})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		for range 720 { // 2 h in 10 s steps
			time.Sleep(10 * time.Second)
			counts, _ := j.ContactCounts(ctx, "disp-2026")
			due, _ := j.DueContacts(ctx, "disp-2026", time.Now(), 1)
			if counts[journal.ContactDialing] == 0 && len(due) == 0 {
				// Everything dialable now is settled; what is left is
				// pending for later (retries, window, callbacks).
				break
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		out.attempts, _ = j.Attempts(ctx, "disp-2026", "", time.Time{}, time.Time{})
		out.skips = map[string][]journal.Skip{}
		_ = j.Contacts(ctx, "disp-2026", journal.ContactsFilter{}, func(c *journal.Contact) bool {
			out.contacts = append(out.contacts, *c)
			s, _ := j.Skips(ctx, "disp-2026", c.ID)
			out.skips[c.ID] = s
			return true
		})
		out.ledger, _ = j.Ledger(ctx, "disp-2026", "1999-12-01", "2000-12-31")
		f.mu.Lock()
		out.placed, out.errs = f.placed, f.errs
		f.mu.Unlock()
		out.metrics = m.attempts
	})
	return out
}

func mustCampaign(t *testing.T, j *journal.Journal) *journal.Campaign {
	c, err := j.Campaign(context.Background(), "disp-2026")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runningCampaign makes, in a bubble, an in-memory journal with campaign
// disp-2026 (set) and contacts loaded (in MSK at the fake center), calls
// prepare (if any) before the campaign is started, and returns the
// journal and a fake center of agents operators. The journal closes with
// the test.
func runningCampaign(t *testing.T, set Settings, agents int, contacts []journal.Contact, prepare func(j *journal.Journal, f *fakeCenter)) (*journal.Journal, *fakeCenter) {
	t.Helper()
	ctx := context.Background()
	j, err := journal.Open(journal.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	if _, err := Create(ctx, j, staff, CreateRequest{ID: "disp-2026", Title: "Д", Script: "screening", Settings: set}); err != nil {
		t.Fatal(err)
	}
	cp, _ := CompiledOf(mustCampaign(t, j))
	f := newFakeCenter(t, j, cp, agents)
	for _, c := range contacts {
		f.zones[c.ID] = "MSK"
	}
	if _, err := j.LoadContacts(ctx, staff, "disp-2026", contacts, "list.csv", nil); err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(j, f)
	}
	if _, err := SetStatus(ctx, j, staff, "disp-2026", journal.CampaignRunning, ""); err != nil {
		t.Fatal(err)
	}
	return j, f
}

// runFor runs a runner of disp-2026 on f until stop is called.
func runFor(j *journal.Journal, f *fakeCenter) (stop func()) {
	r := NewRunner("disp-2026", RunnerOptions{Store: j, Dialer: f, Operators: f})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() {
		cancel()
		<-done
	}
}

// The runner on a virtual day: every dial the rules allow, none twice at
// once, none outside its window, none on DNC, every decision not to dial
// kept with its reason, every attempt ended once (journal, ledger and
// metrics agree), and the same inputs replay to the same dials.
func TestRunnerVirtualDay(t *testing.T) {
	run := runCampaign(t, "progressive", 4)
	for _, e := range run.errs {
		t.Error(e)
	}
	if len(run.placed) < 40 {
		t.Fatalf("%d calls placed, want the campaign to have run (>= 40)", len(run.placed))
	}
	byContact := map[string]journal.Contact{}
	for _, c := range run.contacts {
		byContact[c.ID] = c
	}
	results := map[string]int{}
	live, abandoned := 0, 0
	for _, a := range run.attempts {
		if a.Result == "" {
			t.Errorf("attempt %s of %s has no result after the run", a.ID, a.Contact)
		}
		results[a.Result]++
		if r, _ := ParseResult(a.Result); r.Live() {
			live++
			if r == ResultAbandoned {
				abandoned++
				if a.SafeHarborMillis <= 0 {
					t.Errorf("abandoned attempt %s has no safe-harbor delay", a.ID)
				}
			}
		}
	}
	if len(run.attempts) != len(run.placed) {
		t.Errorf("%d attempts in the journal, %d calls placed: want one attempt per call", len(run.attempts), len(run.placed))
	}
	for res, n := range results {
		if run.metrics[res] != n {
			t.Errorf("metrics count %d attempts %s, the journal %d", run.metrics[res], res, n)
		}
	}
	ledgerLive, ledgerAb := 0, 0
	for _, d := range run.ledger {
		ledgerLive += d.Live
		ledgerAb += d.Abandoned
	}
	if ledgerLive != live || ledgerAb != abandoned {
		t.Errorf("ledger counts %d live / %d abandoned, attempts %d / %d: each live answer counted once", ledgerLive, ledgerAb, live, abandoned)
	}
	if live > 0 && float64(abandoned) > 0.03*float64(live) {
		t.Errorf("abandoned %d of %d live answers, want <= 3 %% (progressive)", abandoned, live)
	}
	for i := range 60 {
		enp := fmt.Sprintf("26194821993%05d", i)
		c := byContact[enp]
		switch {
		case i%15 == 3:
			if len(c.Attempts) > 0 || !hasSkip(run.skips[enp], "outside_window") || c.Status != journal.ContactPending {
				t.Errorf("contact %d (Kamchatka, 20:00): %d attempts, status %s, skips %v; want none, pending, an outside_window skip",
					i, len(c.Attempts), c.Status, run.skips[enp])
			}
		case i%20 == 7:
			if len(c.Attempts) > 0 || !hasSkip(run.skips[enp], "dnc") {
				t.Errorf("contact %d (DNC): %d attempts, skips %v; want none and a dnc skip", i, len(c.Attempts), run.skips[enp])
			}
		}
		if c.Status == journal.ContactDialing {
			t.Errorf("contact %d still dialing after the run", i)
		}
	}
	if results["reached"] == 0 || results["busy"] == 0 || results["no_answer"] == 0 || results["machine"] == 0 {
		t.Errorf("results %v: want reached, busy, no_answer and machine among them", results)
	}
	// Replay: the same campaign on the same virtual clock dials the same
	// contacts at the same times.
	again := runCampaign(t, "progressive", 4)
	if !slices.Equal(run.placed, again.placed) {
		t.Errorf("replay differs:\n first %v\nsecond %v", head(run.placed), head(again.placed))
	}
}

func head(s []string) string {
	if len(s) > 12 {
		s = s[:12]
	}
	return strings.Join(s, " ")
}

func hasSkip(s []journal.Skip, reason string) bool {
	return slices.ContainsFunc(s, func(k journal.Skip) bool { return k.Reason == reason })
}

// Without operators a progressive campaign dials nothing; an agentless one
// dials at once.
func TestRunnerNeedsOperatorsUnlessAgentless(t *testing.T) {
	none := runCampaign(t, "progressive", 0)
	if len(none.placed) != 0 {
		t.Errorf("progressive without operators placed %d calls, want 0", len(none.placed))
	}
}

// errStore fails every write after a point: a crash between two writes.
type errStore struct {
	*journal.Journal
	mu     sync.Mutex
	writes int
	limit  int
}

var errCrashed = errors.New("crashed")

func (s *errStore) ChangeAttempt(ctx context.Context, id string, fn func(a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error)) error {
	s.mu.Lock()
	s.writes++
	dead := s.writes > s.limit
	s.mu.Unlock()
	if dead {
		return errCrashed
	}
	return s.Journal.ChangeAttempt(ctx, id, fn)
}

// A runner cut off in the middle (its attempt ends no longer written, as
// when the process is killed) leaves open attempts; the next runner ends
// each of them exactly once and dials on: no contact lost, none dialing,
// none dialed twice at once.
func TestRunnerRecoversAfterCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		ctx := context.Background()
		j, err := journal.Open(journal.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		set := Settings{Mode: "progressive", Weekdays: "00:00-24:00", Weekend: "00:00-24:00", CardTimeout: "1m"}
		if _, err := Create(ctx, j, staff, CreateRequest{ID: "disp-2026", Title: "Д", Script: "screening", Settings: set}); err != nil {
			t.Fatal(err)
		}
		cp, _ := CompiledOf(mustCampaign(t, j))
		f := newFakeCenter(t, j, cp, 3)
		var list []journal.Contact
		for i := range 30 {
			enp := fmt.Sprintf("26194821993%05d", i)
			list = append(list, contact(enp, fmt.Sprintf("+7912345%04d", i)))
			f.zones[enp] = "MSK"
		}
		if _, err := j.LoadContacts(ctx, staff, "disp-2026", list, "list.csv", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := SetStatus(ctx, j, staff, "disp-2026", journal.CampaignRunning, ""); err != nil {
			t.Fatal(err)
		}
		crash := &errStore{Journal: j, limit: 12}
		r1 := NewRunner("disp-2026", RunnerOptions{Store: crash, Dialer: f, Operators: f, Drain: time.Second})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r1.Run(rctx) }()
		time.Sleep(40 * time.Second)
		cancel()
		<-done
		synctest.Wait()
		open, _ := j.OpenAttempts(ctx, "disp-2026")
		if len(open) == 0 {
			t.Fatal("the cut-off runner left no open attempt; the test proves nothing")
		}
		f.mu.Lock()
		clear(f.active) // the calls are gone with the process
		f.inUse = 0
		f.mu.Unlock()
		r2 := NewRunner("disp-2026", RunnerOptions{Store: j, Dialer: f, Operators: f})
		rctx, cancel = context.WithCancel(ctx)
		go func() { done <- r2.Run(rctx) }()
		time.Sleep(30 * time.Minute)
		cancel()
		<-done
		for _, a := range open {
			got, err := j.Attempt(ctx, a.ID)
			if err != nil || got.Result == "" {
				t.Errorf("attempt %s open before the restart: after it %+v, %v; want ended", a.ID, got, err)
			}
		}
		attempts, _ := j.Attempts(ctx, "disp-2026", "", time.Time{}, time.Time{})
		perContact := map[string]int{}
		for _, a := range attempts {
			perContact[a.Contact]++
			if a.Result == "" && a.Agent == "" {
				t.Errorf("attempt %s still open after the second runner", a.ID)
			}
		}
		_ = j.Contacts(ctx, "disp-2026", journal.ContactsFilter{}, func(c *journal.Contact) bool {
			if c.Status == journal.ContactDialing {
				t.Errorf("contact %s still dialing", c.ID)
			}
			if len(c.Attempts) != perContact[c.ID] {
				t.Errorf("contact %s lists %d attempts, the journal has %d", c.ID, len(c.Attempts), perContact[c.ID])
			}
			return true
		})
		for _, e := range f.errs {
			t.Error(e)
		}
	})
}

// A priority callback (a person abandoned earlier, past the no-redial
// period) is dialed before contacts that were due long before it.
func TestRunnerPriorityCallbackFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		ctx := context.Background()
		set := Settings{Mode: "progressive", Weekdays: "00:00-24:00", Weekend: "00:00-24:00"}
		var list []journal.Contact
		for i := range 5 {
			list = append(list, contact(fmt.Sprintf("26194821993%05d", i), fmt.Sprintf("+7912345%04d", i*10+4))) // busy: short calls
		}
		last := list[4].ID
		j, f := runningCampaign(t, set, 1, list, func(j *journal.Journal, _ *fakeCenter) {
			err := j.ChangeContact(ctx, "disp-2026", last, func(c *journal.Contact) (*journal.ContactChange, error) {
				n := c.Clone()
				n.Callback = &journal.ContactCallback{At: time.Now().Add(-time.Minute), Priority: true}
				n.Next = n.Callback.At
				return &journal.ContactChange{Contact: n}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
		stop := runFor(j, f)
		time.Sleep(time.Second)
		stop()
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.placed) == 0 || !strings.HasPrefix(f.placed[0], last+"@") {
			t.Errorf("first dials %v, want the priority callback %s first", f.placed, last)
		}
	})
}

// Preview mode: the pacer never dials; an operator who previewed a card
// dials it (DialFor), the attempt names them and the live answer goes to
// them, not to the longer-ready operator; the rules still decide (a DNC
// phone is refused and nothing is written); a callback owned by one
// operator is refused to another and dialed for its owner; a person
// already being called is refused.
func TestRunnerDialForPreviewAndOwnedCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		ctx := context.Background()
		j, err := journal.Open(journal.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		set := Settings{Mode: "preview", Weekdays: "00:00-24:00", Weekend: "00:00-24:00"}
		if _, err := Create(ctx, j, staff, CreateRequest{ID: "disp-2026", Title: "Д", Script: "screening", Settings: set}); err != nil {
			t.Fatal(err)
		}
		cp, _ := CompiledOf(mustCampaign(t, j))
		f := newFakeCenter(t, j, cp, 2) // op1 is ready longer than op2
		var list []journal.Contact
		for i := range 4 {
			enp := fmt.Sprintf("26194821993%05d", i)
			list = append(list, contact(enp, fmt.Sprintf("+7912345%04d", i*10+1))) // a person answers
			f.zones[enp] = "MSK"
		}
		if _, err := j.LoadContacts(ctx, staff, "disp-2026", list, "list.csv", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := j.AddDNC(ctx, staff, []journal.DNCEntry{{Phone: list[1].Phones[0].Number, Source: "api"}}); err != nil {
			t.Fatal(err)
		}
		owned := list[2].ID
		err = j.ChangeContact(ctx, "disp-2026", owned, func(c *journal.Contact) (*journal.ContactChange, error) {
			n := c.Clone()
			n.Callback = &journal.ContactCallback{At: time.Now().Add(-time.Minute), Agent: "op1"}
			n.Next = n.Callback.At
			return &journal.ContactChange{Contact: n}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := SetStatus(ctx, j, staff, "disp-2026", journal.CampaignRunning, ""); err != nil {
			t.Fatal(err)
		}
		h := &holdingCenter{fakeCenter: f, holds: map[string]string{}}
		r := NewRunner("disp-2026", RunnerOptions{Store: j, Dialer: f, Operators: h})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		time.Sleep(2 * time.Second)
		f.mu.Lock()
		placed := len(f.placed)
		f.mu.Unlock()
		if placed != 0 {
			t.Fatalf("preview campaign dialed %d calls by itself", placed)
		}

		before, _ := j.Contact(ctx, staff, "disp-2026", list[1].ID)
		if res := r.DialFor(ctx, list[1].ID, "op2"); !errors.Is(res.Err, ErrNotNow) || !strings.Contains(res.Err.Error(), "dnc") {
			t.Errorf("DialFor of a DNC phone = %+v, want ErrNotNow naming dnc", res)
		}
		after, _ := j.Contact(ctx, staff, "disp-2026", list[1].ID)
		if len(after.Attempts) != 0 || after.Status != before.Status || after.Block != before.Block {
			t.Errorf("a refused DialFor changed the contact: %+v -> %+v", before, after)
		}
		if res := r.DialFor(ctx, owned, "op2"); !errors.Is(res.Err, ErrNotNow) || !strings.Contains(res.Err.Error(), "callback_owned by op1") {
			t.Errorf("DialFor of op1's callback by op2 = %+v, want refused naming op1", res)
		}
		if held := h.held(); len(held) != 0 {
			t.Errorf("refused dials left operators held: %v", held)
		}
		res := r.DialFor(ctx, list[0].ID, "op2")
		if res.Err != nil || res.Attempt == "" || res.Phone != list[0].Phones[0].Number {
			t.Fatalf("DialFor(op2) = %+v", res)
		}
		if held := h.held(); !slices.Equal(held, []string{"op2>" + res.Attempt}) {
			t.Errorf("while the call rings the holds are %v, want op2 held for it", held)
		}
		if again := r.DialFor(ctx, list[0].ID, "op1"); !errors.Is(again.Err, ErrNotNow) {
			t.Errorf("DialFor of a person being called = %+v, want ErrNotNow", again)
		}
		// op2 is held for the call in flight: a second dial is refused and
		// writes nothing.
		if busy := r.DialFor(ctx, list[3].ID, "op2"); !errors.Is(busy.Err, ErrNotNow) || !strings.Contains(busy.Err.Error(), "cannot take a call") {
			t.Errorf("DialFor by an operator held for another call = %+v, want ErrNotNow", busy)
		}
		if ct, _ := j.Contact(ctx, staff, "disp-2026", list[3].ID); len(ct.Attempts) != 0 {
			t.Errorf("a dial refused for a busy operator wrote attempts %+v", ct.Attempts)
		}
		time.Sleep(40 * time.Second) // op2's call ends, op2 wraps up
		if res := r.DialFor(ctx, owned, "op1"); res.Err != nil {
			t.Errorf("DialFor of op1's callback by op1 = %+v", res)
		}
		time.Sleep(40 * time.Second)
		cancel()
		<-done

		if held := h.held(); len(held) != 0 {
			t.Errorf("after the calls ended operators are still held: %v", held)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if want := []string{list[0].ID + ">op2", owned + ">op1"}; !slices.Equal(f.placedFor, want) {
			t.Errorf("calls placed for operators %v, want %v", f.placedFor, want)
		}
		if len(f.placed) != 2 {
			t.Errorf("placed %v, want only the two asked for", f.placed)
		}
		if len(f.errs) > 0 {
			t.Errorf("fake center: %v", f.errs)
		}
		for _, c := range []struct{ contact, agent string }{{list[0].ID, "op2"}, {owned, "op1"}} {
			ct, err := j.Contact(ctx, staff, "disp-2026", c.contact)
			if err != nil || len(ct.Attempts) != 1 {
				t.Fatalf("contact %s = %+v, %v", c.contact, ct, err)
			}
			a, err := j.Attempt(ctx, ct.Attempts[0].ID)
			if err != nil || a.Agent != c.agent || a.Mode != "preview" || a.Result != ResultReached.String() {
				t.Errorf("attempt of %s = %+v, %v; want reached by %s, mode preview", c.contact, a, err, c.agent)
			}
		}
	})
}

// An operator may press «Позвонить» the moment a preview campaign is
// started: the manager starts its runner at once for the request instead
// of answering "not running" until its next scan.
func TestManagerDialForRightAfterStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		ctx := context.Background()
		j, err := journal.Open(journal.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		set := Settings{Mode: "preview", Weekdays: "00:00-24:00", Weekend: "00:00-24:00"}
		if _, err := Create(ctx, j, staff, CreateRequest{ID: "disp-2026", Title: "Д", Script: "screening", Settings: set}); err != nil {
			t.Fatal(err)
		}
		cp, _ := CompiledOf(mustCampaign(t, j))
		f := newFakeCenter(t, j, cp, 1)
		p := contact("2619482199300001", "+79123450001")
		f.zones[p.ID] = "MSK"
		if _, err := j.LoadContacts(ctx, staff, "disp-2026", []journal.Contact{p}, "list.csv", nil); err != nil {
			t.Fatal(err)
		}
		m := NewManager(RunnerOptions{Store: j, Dialer: f, Operators: f})
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { m.Run(mctx); close(done) }()
		synctest.Wait() // the first scan: nothing runs
		if res := m.DialFor(ctx, "disp-2026", p.ID, "op1"); !errors.Is(res.Err, ErrNotRunning) {
			t.Errorf("DialFor of a created campaign = %+v, want ErrNotRunning", res)
		}
		if _, err := SetStatus(ctx, j, staff, "disp-2026", journal.CampaignRunning, ""); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res := m.DialFor(ctx, "disp-2026", p.ID, "op1")
		if res.Err != nil || res.Attempt == "" {
			t.Errorf("DialFor right after the start = %+v, want dialed", res)
		}
		if waited := time.Since(start); waited >= time.Second {
			t.Errorf("DialFor waited %v for the runner: the next scan, not one asked for", waited)
		}
		time.Sleep(time.Minute)
		cancel()
		<-done
	})
}

// A phone taken off the do-not-call list while the campaign runs is
// dialed again: the contact the list had exhausted is dialed on it within
// seconds, although the runner's copy of the list (refreshed every 5 s)
// still had the phone when it looked next (the journal refuses a
// decision taken on a stale copy, and the runner reads the list again).
func TestRunnerDialsAPhoneTakenOffDNC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		ctx := context.Background()
		set := Settings{Mode: "progressive", Weekdays: "00:00-24:00", Weekend: "00:00-24:00"}
		const phone = "+79123450004" // busy: a short call
		c := contact("2619482199300001", phone)
		j, f := runningCampaign(t, set, 1, []journal.Contact{c}, func(j *journal.Journal, f *fakeCenter) {
			f.dnc[phone] = true
			if _, err := j.AddDNC(ctx, staff, []journal.DNCEntry{{Phone: phone, Source: "api"}}); err != nil {
				t.Fatal(err)
			}
		})
		stop := runFor(j, f)
		defer stop()
		time.Sleep(2 * time.Second)
		if ct, _ := j.Contact(ctx, staff, "disp-2026", c.ID); ct.Status != journal.ContactExhausted || !ct.Phones[0].DNC {
			t.Fatalf("with the phone on the list: %v %+v; want exhausted, the phone held by the list", ct.Status, ct.Phones)
		}

		f.mu.Lock()
		f.dnc[phone] = false
		f.mu.Unlock()
		if _, err := RemoveDNC(ctx, j, staff, phone, "попросил звонить", time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(6 * time.Second)
		f.mu.Lock()
		placed, errs := slices.Clone(f.placed), slices.Clone(f.errs)
		f.mu.Unlock()
		if len(placed) == 0 || !strings.HasPrefix(placed[0], c.ID+"@") {
			ct, _ := j.Contact(ctx, staff, "disp-2026", c.ID)
			t.Fatalf("6 s after the removal: placed %v, contact %v %+v block %q; want it dialed", placed, ct.Status, ct.Phones, ct.Block)
		}
		for _, e := range errs {
			t.Error(e)
		}
		ct, _ := j.Contact(ctx, staff, "disp-2026", c.ID)
		if len(ct.Attempts) == 0 || ct.Attempts[0].Phone != phone || ct.Phones[0].Wrong {
			t.Errorf("contact after the removal = %+v", ct)
		}
	})
}

// The runner learns the operators' real wrap-up from the ACD's states: an
// operator ready 5 s after the call ended moves the estimate from its 15 s
// prior toward 5 s (only the simulator learned it before: a campaign kept
// its prior however its operators worked).
func TestRunnerLearnsWrapUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		ctx := context.Background()
		j, err := journal.Open(journal.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		set := Settings{Mode: "progressive", Weekdays: "00:00-24:00", Weekend: "00:00-24:00"}
		if _, err := Create(ctx, j, staff, CreateRequest{ID: "disp-2026", Title: "Д", Script: "screening", Settings: set}); err != nil {
			t.Fatal(err)
		}
		cp, _ := CompiledOf(mustCampaign(t, j))
		f := newFakeCenter(t, j, cp, 1)
		var list []journal.Contact
		for i := range 3 {
			enp := fmt.Sprintf("26194821993%05d", 2*i+1) // odd: the operator is ready 5 s after the call
			list = append(list, contact(enp, fmt.Sprintf("+7912345%04d", i*10+1)))
			f.zones[enp] = "MSK"
		}
		if _, err := j.LoadContacts(ctx, staff, "disp-2026", list, "list.csv", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := SetStatus(ctx, j, staff, "disp-2026", journal.CampaignRunning, ""); err != nil {
			t.Fatal(err)
		}
		r := NewRunner("disp-2026", RunnerOptions{Store: j, Dialer: f, Operators: f})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		time.Sleep(time.Second)
		prior := r.est.wrap.mean()
		time.Sleep(3 * time.Minute) // three calls of ~25 s, each followed by 5 s of wrap-up
		cancel()
		<-done
		if prior < 10 {
			t.Fatalf("wrap-up prior %.1f s, want the 15 s default", prior)
		}
		if got := r.est.wrap.mean(); got > prior-1 {
			t.Errorf("wrap-up estimate %.1f s after three 5 s wrap-ups (prior %.1f s): not learned", got, prior)
		}
		if len(f.errs) > 0 {
			t.Errorf("fake center: %v", f.errs)
		}
	})
}
