package campaigns

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/journal"
)

// The runner: one loop per running campaign that gives the pacer the
// real state and places what it decides.
//
// Every tick (250 ms) the loop builds a State — the operators the ACD
// lets the campaign use (Operators), the calls it has in flight, the live
// answers waiting for an operator, its learned Estimates, its abandonment
// today and over 30 days (an AbandonLedger loaded from the journal's
// ledger, which every attempt end updates in its own transaction) and the
// trunks' free capacity (Dialer) — asks Pacer.Decide, and dials that many
// due contacts, priority callbacks first. Each dial is decided by the
// calling rules inside one journal transaction (Compiled.PlanDial through
// Store.ChangeContact): a contact is dialed only if it is pending, so
// never twice at once, and every decision not to dial is kept. The
// Dialer places the call and reports its progress (CallEvent) back to the
// loop, which alone owns the runner's state; the end of a call ends its
// attempt in one transaction (result, contact's next state, ledger). A
// call that reached an operator keeps its attempt open for the
// operator's survey card, up to the campaign's card timeout.
//
// At start the runner recovers what a crash or a restart left: attempts
// without a result whose call is gone end as failed (counted once), and
// those that were with an operator wait for the card again. When the
// trunks fail (5xx, no response) for TrunkFailures attempts in a row, the
// runner pauses the campaign with the reason. It stops when the campaign
// is no longer running and its calls have ended.

// Store is what the runner reads and writes in the journal;
// *journal.Journal implements it.
type Store interface {
	Campaign(ctx context.Context, id string) (*journal.Campaign, error)
	Campaigns(ctx context.Context) ([]journal.Campaign, error)
	UpdateCampaign(ctx context.Context, who journal.Actor, id string, fn func(c *journal.Campaign) error) (*journal.Campaign, error)
	DueContacts(ctx context.Context, campaign string, now time.Time, limit int) ([]journal.Contact, error)
	DuePriority(ctx context.Context, campaign string, now time.Time, limit int) ([]journal.Contact, error)
	ChangeContact(ctx context.Context, campaign, id string, fn func(c *journal.Contact) (*journal.ContactChange, error)) error
	ChangeAttempt(ctx context.Context, id string, fn func(a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error)) error
	OpenAttempts(ctx context.Context, campaign string) ([]journal.Attempt, error)
	Attempt(ctx context.Context, id string) (*journal.Attempt, error)
	Ledger(ctx context.Context, campaign, from, to string) ([]journal.LedgerDay, error)
	DNCSet(ctx context.Context) (map[string]struct{}, error)
	ContactCounts(ctx context.Context, campaign string) (map[journal.ContactStatus]int, error)
	PutCampaignEstimates(ctx context.Context, campaign string, data json.RawMessage) error
	CampaignEstimatesOf(ctx context.Context, campaign string) (json.RawMessage, error)
	NewID(t time.Time) string
}

// Dialer is the SIP side of a campaign: it places calls and tells how
// much the trunks can take.
type Dialer interface {
	// Place starts the call of d in the background and returns at once.
	// The call reports its progress through report, in order, ending
	// with exactly one CallEnded; report never blocks for long. When ctx
	// is done the call is hung up (and still reports its end).
	Place(ctx context.Context, d *DialRequest, report func(CallEvent))
	// Capacity returns what the trunks tried for a campaign preferring
	// trunk can take now, and false when every one of them is backed off.
	Capacity(trunk string) (Trunk, bool)
}

// DialRequest is one call the runner asks the Dialer to place.
type DialRequest struct {
	Campaign string
	Attempt  string
	Contact  string
	// Phone is the E.164 number to call.
	Phone string
	Mode  Mode
	// Settings are the campaign's compiled settings (trunk, caller ID,
	// ring timeout, AMD action, prompts, grace).
	Settings *Compiled
	// Script is the campaign's survey script (the IVR of agentless mode).
	Script *Script
	// Grace is how long a live answer may wait for an operator.
	Grace time.Duration
	// Agent, when set, is the operator who asked for this call (a
	// preview, or a callback they own): only they take the live answer.
	Agent string
}

// CallEventKind is a step of a campaign call.
type CallEventKind int

// Steps of a campaign call, in the order they can happen.
const (
	// CallUnknown is the zero value.
	CallUnknown CallEventKind = iota
	// CallAnswered: the far end answered (answering-machine detection
	// runs when the campaign has it).
	CallAnswered
	// CallLive: a person (or a machine passed on as one) waits for an
	// operator; in agentless mode the IVR starts.
	CallLive
	// CallMachine: detection found an answering machine.
	CallMachine
	// CallConnected: the call is on operator Agent's session leg.
	CallConnected
	// CallAbandoned: no operator took the live answer within the grace
	// period; the safe-harbor message plays.
	CallAbandoned
	// CallEnded: the call is over; End says how.
	CallEnded
)

var callEventNames = [...]string{"unknown", "answered", "live", "machine", "connected", "abandoned", "ended"}

// String returns the step's name.
func (k CallEventKind) String() string {
	if k < 0 || int(k) >= len(callEventNames) {
		return "unknown"
	}
	return callEventNames[k]
}

// CallEvent is one step of a campaign call, reported by the Dialer.
type CallEvent struct {
	Attempt string
	Kind    CallEventKind
	At      time.Time
	// Agent is the operator of CallConnected.
	Agent string
	// AMD and AMDTime are the detection's verdict and time (CallLive,
	// CallMachine) when it ran.
	AMD     string
	AMDTime time.Duration
	// End is the attempt's end (CallEnded).
	End *AttemptEnd
}

// Metrics receives the runner's figures; *metrics.Campaigns implements
// it. Windows are "day" and "30d".
type Metrics interface {
	Attempt(campaign, result string)
	AbandonRatio(campaign, window string, ratio float64)
	DialLevel(campaign string, level float64)
	Contacts(campaign, state string, n int)
	// DialDecision counts one decision of the calling rules on a contact
	// the pacer asked a call for: dial (true) or not now (false).
	DialDecision(campaign string, dial bool)
}

// RunnerOptions configure runners. Store and Dialer are required.
type RunnerOptions struct {
	Store  Store
	Dialer Dialer
	// Operators are the ACD's operators (nil: none, so only agentless
	// campaigns dial).
	Operators Operators
	// Metrics receives figures (nil: none).
	Metrics Metrics
	// Logger (nil discards).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now). Timers are the time package's
	// (testing/synctest fakes both).
	Now func() time.Time
	// Tick is how often the pacer decides (default 250 ms).
	Tick time.Duration
	// Drain is how long a stopping runner waits for its calls to end
	// (default 10 s).
	Drain time.Duration
}

// systemActor is who the runner acts as in the journal's audit.
var systemActor = journal.Actor{Login: "system", Role: journal.RoleCampaignStaff}

// callPhase is where a call of the runner is.
type callPhase int

const (
	phaseRinging   callPhase = iota // dialed, not answered (in flight)
	phaseDetecting                  // answered, AMD deciding (in flight)
	phaseWaiting                    // a live answer waiting for an operator
	phaseIVR                        // agentless: in the IVR
	phaseConnected                  // with an operator
	phaseDone                       // machine, abandoned: being hung up
)

// runCall is one call of the runner.
type runCall struct {
	attempt, contact string
	dialAt           time.Time
	phase            callPhase
	observed         bool // its dial outcome went to the estimates
	connectedAt      time.Time
	agent            string
	held             string // the operator held for this call (Holder)
	amd              string
	amdTime          time.Duration
}

// Runner runs one campaign. Run it with Run; it is not safe for
// concurrent use otherwise.
type Runner struct {
	id   string
	o    RunnerOptions
	log  *slog.Logger
	done chan struct{}

	events   chan CallEvent
	requests chan dialForReq

	camp   *journal.Campaign
	cp     *Compiled
	script *Script
	pacer  *Pacer
	est    *Estimates
	ledger *AbandonLedger
	dnc    DNCSet
	calls  map[string]*runCall  // by attempt
	byCont map[string]string    // contact → attempt
	cards  map[string]time.Time // attempts awaiting a card → deadline
	// wrapping are the operators whose call of this campaign ended, by
	// login, with that end: their wrap-up is over when the ACD shows them
	// in another state (learnWrap).
	wrapping map[string]time.Time
	running  bool

	trunkFails int
	lastReload time.Time
	lastCounts time.Time
	lastSave   time.Time
	lastDNC    time.Time
	lastCards  time.Time
	agentsBuf  []Agent
	state      State
}

// NewRunner returns a runner for campaign id.
func NewRunner(id string, o RunnerOptions) *Runner {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = 250 * time.Millisecond
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
	if o.Operators == nil {
		o.Operators = OperatorsFunc{}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{id: id, o: o, log: log.With("campaign", id), done: make(chan struct{}),
		events: make(chan CallEvent, 256), requests: make(chan dialForReq), calls: map[string]*runCall{}, byCont: map[string]string{},
		cards: map[string]time.Time{}, wrapping: map[string]time.Time{}}
}

// Run runs the campaign until it is no longer running and its calls have
// ended, or until ctx is done (then its calls are hung up and their ends
// recorded, for at most RunnerOptions.Drain). It returns an error only
// when the campaign cannot be loaded.
func (r *Runner) Run(ctx context.Context) error {
	defer close(r.done)
	if err := r.load(ctx); err != nil {
		return err
	}
	r.recover(ctx)
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	tick := time.NewTicker(r.o.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			r.drain(cancelCalls)
			return nil
		case ev := <-r.events:
			r.handle(ctx, ev)
		case q := <-r.requests:
			q.reply <- r.dialFor(ctx, callCtx, q)
		case <-tick.C:
			r.step(ctx, callCtx)
			if !r.running && len(r.calls) == 0 && len(r.cards) == 0 {
				r.saveEstimates(ctx)
				return nil
			}
		}
	}
}

// drain hangs up the calls in progress and records their ends.
func (r *Runner) drain(cancelCalls context.CancelFunc) {
	cancelCalls()
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Drain)
	defer cancel()
	for len(r.calls) > 0 {
		select {
		case ev := <-r.events:
			r.handle(ctx, ev)
		case <-ctx.Done():
			r.log.Warn("stopping with calls whose end is not recorded (recovered at the next start)", "calls", len(r.calls), "hint", "nothing to do: the next start ends their attempts as failed")
			return
		}
	}
	r.saveEstimates(ctx)
}

// report is the Dialer's way back into the loop.
func (r *Runner) report(ev CallEvent) {
	select {
	case r.events <- ev:
	case <-r.done:
	}
}

// load reads the campaign, its script, settings, estimates, ledger and
// DNC list.
func (r *Runner) load(ctx context.Context) error {
	c, err := r.o.Store.Campaign(ctx, r.id)
	if err != nil {
		return err
	}
	if err := r.apply(c); err != nil {
		return err
	}
	r.est = NewEstimates(r.cp.Priors)
	if b, err := r.o.Store.CampaignEstimatesOf(ctx, r.id); err == nil {
		e := NewEstimates(r.cp.Priors)
		if err := json.Unmarshal(b, e); err == nil {
			r.est = e
		} else {
			r.log.Warn("saved estimates unreadable: starting from priors", "error", err, "hint", "nothing to do: the campaign learns again; check the journal if it repeats")
		}
	}
	now := r.o.Now()
	r.ledger = NewAbandonLedger(r.cp.Zone)
	today := DateOf(now.In(r.cp.Zone))
	from := DateOf(time.Date(today.Year, today.Month, today.Day-(ledgerDays-1), 12, 0, 0, 0, r.cp.Zone))
	days, err := r.o.Store.Ledger(ctx, r.id, from.String(), today.String())
	if err != nil {
		return fmt.Errorf("campaign %s: ledger: %w", r.id, err)
	}
	for _, d := range days {
		if dd, err := ParseDate(d.Day); err == nil {
			r.ledger.add(dd, Window{Live: d.Live, Abandoned: d.Abandoned})
		}
	}
	r.refreshDNC(ctx, now)
	r.lastReload = now
	return nil
}

// apply takes a campaign's (new) settings.
func (r *Runner) apply(c *journal.Campaign) error {
	cp, err := CompiledOf(c)
	if err != nil {
		return fmt.Errorf("campaign %s: %w", r.id, err)
	}
	sc, err := ScriptOf(c)
	if err != nil {
		return fmt.Errorf("campaign %s: %w", r.id, err)
	}
	if r.cp == nil || r.cp.Mode != cp.Mode || r.cp.Settings.Ratio != cp.Settings.Ratio || r.cp.Settings.TargetAbandon != cp.Settings.TargetAbandon ||
		r.cp.Settings.MaxChannels != cp.Settings.MaxChannels {
		// An agentless campaign is bounded by its IVR calls: max_channels,
		// else defaultIVRCalls (a trunk without limits would otherwise
		// take every contact at once).
		ivr := cp.Settings.MaxChannels
		if ivr == 0 {
			ivr = defaultIVRCalls
		}
		p, err := NewPacer(PacerConfig{Mode: cp.Mode, Ratio: cp.Settings.Ratio, TargetAbandon: cp.Settings.TargetAbandon, IVRCapacity: ivr})
		if err != nil {
			return fmt.Errorf("campaign %s: %w", r.id, err)
		}
		r.pacer = p
	}
	if r.dnc != nil {
		cp.Rules.DNC = r.dnc
	}
	r.camp, r.cp, r.script = c, cp, sc
	r.running = c.Status == journal.CampaignRunning
	return nil
}

// changeContact writes a change of contact that the rules decide on the
// runner's copy of the do-not-call list (a dial, a decision not to dial);
// when the journal says the copy is stale (a phone was taken off the
// list since it was read), the list is read again and the change decided
// again.
func (r *Runner) changeContact(ctx context.Context, contact string, fn func(c *journal.Contact) (*journal.ContactChange, error)) error {
	return r.freshDNC(ctx, func() error { return r.o.Store.ChangeContact(ctx, r.id, contact, fn) })
}

// changeAttempt is changeContact for the end of an attempt.
func (r *Runner) changeAttempt(ctx context.Context, id string, fn func(a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error)) error {
	return r.freshDNC(ctx, func() error { return r.o.Store.ChangeAttempt(ctx, id, fn) })
}

func (r *Runner) freshDNC(ctx context.Context, write func() error) error {
	for try := 1; ; try++ {
		err := write()
		if try == 3 || !errors.Is(err, journal.ErrDNCChanged) {
			return err
		}
		r.refreshDNC(ctx, r.o.Now())
	}
}

func (r *Runner) refreshDNC(ctx context.Context, now time.Time) {
	set, err := r.o.Store.DNCSet(ctx)
	if err != nil {
		r.log.Warn("DNC list unreadable: not dialing until it is", "error", err, "hint", "check the journal (disk, obzvon journal check); dialing resumes once it reads")
		r.dnc = nil
		return
	}
	r.dnc = DNCSet(set)
	r.cp.Rules.DNC = r.dnc
	r.lastDNC = now
}

// recover ends what a crash or a restart left open.
func (r *Runner) recover(ctx context.Context) {
	open, err := r.o.Store.OpenAttempts(ctx, r.id)
	if err != nil {
		r.log.Error("open attempts unreadable", "error", err, "hint", "check the journal; calls cut off by the last stop are ended at the next start")
		return
	}
	now := r.o.Now()
	for i := range open {
		a := &open[i]
		if a.Agent != "" {
			// With an operator: the card may still come.
			r.cards[a.ID] = cmpTime(a.Ended, now).Add(r.cp.CardTimeout)
			continue
		}
		err := r.changeAttempt(ctx, a.ID, func(a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error) {
			if a.Result != "" {
				return nil, nil
			}
			return r.cp.Recover(now, a, c)
		})
		if err != nil {
			r.log.Error("recover attempt", "attempt", a.ID, "error", err, "hint", "check the journal; the attempt is tried again at the next start")
			continue
		}
		r.metric().Attempt(r.id, ResultFailed.String())
		r.log.Info("recovered an attempt cut off by a restart", "attempt", a.ID)
	}
}

func (r *Runner) metric() Metrics {
	if r.o.Metrics == nil {
		return nopMetrics{}
	}
	return r.o.Metrics
}

type nopMetrics struct{}

func (nopMetrics) Attempt(string, string)               {}
func (nopMetrics) AbandonRatio(string, string, float64) {}
func (nopMetrics) DialLevel(string, float64)            {}
func (nopMetrics) Contacts(string, string, int)         {}
func (nopMetrics) DialDecision(string, bool)            {}

// step is one tick: housekeeping, then one pacing decision.
func (r *Runner) step(ctx, callCtx context.Context) {
	now := r.o.Now()
	if now.Sub(r.lastReload) >= time.Second {
		r.lastReload = now
		if c, err := r.o.Store.Campaign(ctx, r.id); err == nil {
			if err := r.apply(c); err != nil {
				r.log.Error("settings refused: not dialing", "error", err, "hint", "fix the campaign settings (obzvon campaign status names the key)")
				r.running = false
			}
		}
	}
	if now.Sub(r.lastDNC) >= 5*time.Second {
		r.refreshDNC(ctx, now)
	}
	if now.Sub(r.lastCounts) >= 5*time.Second {
		r.lastCounts = now
		r.publishCounts(ctx, now)
	}
	if now.Sub(r.lastSave) >= 30*time.Second {
		r.lastSave = now
		r.saveEstimates(ctx)
	}
	r.expireCards(ctx, now)
	if !r.running || r.dnc == nil {
		return
	}
	r.decide(ctx, callCtx, now)
}

// wrapStale bounds how long an operator whose call ended is watched for
// the end of their wrap-up (one who left, or a wrap-up extended for long,
// teaches nothing).
const wrapStale = 10 * time.Minute

// learnWrap observes the wrap-up of each operator whose call of this
// campaign ended, once the ACD shows them in a state begun after that end
// (ready, paused, on the next call): the wrap-up is then known to have
// lasted from the call's end to that state's start — zero when the
// campaign's queue has none. Without it the estimate kept its prior (15 s)
// whatever the operators really took.
func (r *Runner) learnWrap(now time.Time) {
	if len(r.wrapping) == 0 {
		return
	}
	for _, a := range r.agentsBuf {
		ended, ok := r.wrapping[a.Login]
		if !ok || a.Login == "" || a.State == acd.StateWrapUp {
			continue
		}
		start := now.Add(-a.InState)
		if a.State.Busy() && start.Before(ended) {
			continue // still the call itself: the ACD has not seen its end yet
		}
		r.est.ObserveWrap(max(start.Sub(ended), 0))
		delete(r.wrapping, a.Login)
	}
	for login, ended := range r.wrapping {
		if now.Sub(ended) > wrapStale {
			delete(r.wrapping, login)
		}
	}
}

// decide builds the State, asks the pacer and dials.
func (r *Runner) decide(ctx, callCtx context.Context, now time.Time) {
	trunk, up := r.o.Dialer.Capacity(r.cp.Settings.Trunk)
	if !up {
		return
	}
	st := &r.state
	r.agentsBuf = r.o.Operators.Agents(r.id, r.agentsBuf[:0])
	st.Agents = r.agentsBuf
	r.learnWrap(now)
	st.Calls = st.Calls[:0]
	st.WaitingLive, st.IVRActive = 0, 0
	for _, c := range r.calls {
		switch c.phase {
		case phaseRinging, phaseDetecting:
			st.Calls = append(st.Calls, Call{Ringing: now.Sub(c.dialAt)})
		case phaseWaiting:
			st.WaitingLive++
		case phaseIVR:
			st.IVRActive++
		}
	}
	// In a fixed order: the pacer's sums then do not depend on the map's.
	slices.SortFunc(st.Calls, func(a, b Call) int { return cmp.Compare(a.Ringing, b.Ringing) })
	st.Estimates = r.est
	st.Day, st.Month = r.ledger.Windows(now)
	if m := r.cp.Settings.MaxChannels; m > 0 {
		if trunk.Channels == 0 || m-len(r.calls) < trunk.Channels-trunk.InUse {
			trunk.Channels, trunk.InUse = m, len(r.calls)
		}
	}
	st.Trunk = trunk
	st.Inbound = r.o.Operators.Inbound(r.id)
	d := r.pacer.Decide(st)
	usable := 0
	for _, a := range st.Agents {
		if a.State != acd.StatePaused {
			usable++
		}
	}
	level := float64(len(st.Calls))
	if r.cp.Mode != ModeAgentless {
		level /= float64(max(usable, 1))
	}
	m := r.metric()
	m.DialLevel(r.id, level)
	m.AbandonRatio(r.id, "day", st.Day.Rate())
	m.AbandonRatio(r.id, "30d", st.Month.Rate())
	if d.Dial > 0 {
		r.place(ctx, callCtx, now, d)
	}
}

// defaultIVRCalls bounds an agentless campaign's calls in the IVR when
// its settings set no max_channels.
const defaultIVRCalls = 30

// maxExamined bounds the contacts one decision looks at, so that a long
// run of contacts that may not be called now (outside their window) does
// not hold the loop: they are moved to their next time as they are seen.
const maxExamined = 200

// place dials up to d.Dial due contacts, priority callbacks first.
func (r *Runner) place(ctx, callCtx context.Context, now time.Time, d Decision) {
	want := d.Dial
	examined := 0
	for _, due := range []func(context.Context, string, time.Time, int) ([]journal.Contact, error){
		r.o.Store.DuePriority, r.o.Store.DueContacts} {
		if want <= 0 || examined >= maxExamined {
			return
		}
		list, err := due(ctx, r.id, now, min(want+maxExamined/4, maxExamined-examined))
		if err != nil {
			r.log.Error("due contacts unreadable", "error", err, "hint", "check the journal; dialing resumes at the next decision")
			return
		}
		for i := range list {
			if want <= 0 || examined >= maxExamined {
				return
			}
			c := &list[i]
			if _, busy := r.byCont[c.ID]; busy {
				continue
			}
			examined++
			if r.dialOne(ctx, callCtx, now, c.ID, d.Mode) {
				want--
			}
		}
	}
}

// dialOne decides one contact in a transaction and, when the rules allow
// it now, places its call.
func (r *Runner) dialOne(ctx, callCtx context.Context, now time.Time, contact string, mode Mode) bool {
	attempt := r.o.Store.NewID(now)
	var plan *Plan
	err := r.changeContact(ctx, contact, func(c *journal.Contact) (*journal.ContactChange, error) {
		p, err := r.cp.PlanDial(now, c, attempt, mode.String(), r.cp.Settings.Trunk)
		if err != nil {
			return nil, err
		}
		plan = p
		return p.Change, nil
	})
	if err != nil {
		// Not pending any more (an operator dialed it, a card closed it):
		// nothing to do.
		r.log.Debug("contact not dialed", "error", err)
		return false
	}
	r.metric().DialDecision(r.id, plan.Dial)
	if !plan.Dial {
		return false
	}
	rc := &runCall{attempt: attempt, contact: contact, dialAt: now}
	r.calls[attempt] = rc
	r.byCont[contact] = attempt
	req := &DialRequest{Campaign: r.id, Attempt: attempt, Contact: contact, Phone: plan.Phone, Mode: r.cp.Mode,
		Settings: r.cp, Script: r.script, Grace: r.pacer.Config().Grace}
	r.o.Dialer.Place(callCtx, req, r.report)
	return true
}

// ErrNotRunning: the campaign has no runner (not running, or this
// daemon has not started it yet).
var ErrNotRunning = errors.New("campaign not running")

// ErrNotNow: the calling rules (or the campaign's state) do not allow
// this call now; the error says why.
var ErrNotNow = errors.New("not dialed now")

type dialForReq struct {
	contact, agent string
	reply          chan DialForResult
}

// DialForResult is what an operator's request to dial gave: the attempt
// and the phone called, or the error saying why not.
type DialForResult struct {
	Attempt string `json:"attempt,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Err     error  `json:"-"`
}

// DialFor asks the runner to dial contact now for agent, the operator
// who previewed the card (preview mode) or owns its callback: the calling
// rules decide as for any dial (windows, DNC, attempts, an owned callback
// only for its owner), the attempt names the operator, and the live
// answer is offered to that operator only. Nothing is written when the
// rules say no.
func (r *Runner) DialFor(ctx context.Context, contact, agent string) DialForResult {
	q := dialForReq{contact: contact, agent: agent, reply: make(chan DialForResult, 1)}
	select {
	case r.requests <- q:
	case <-r.done:
		return DialForResult{Err: ErrNotRunning}
	case <-ctx.Done():
		return DialForResult{Err: ctx.Err()}
	}
	select {
	case res := <-q.reply:
		return res
	case <-ctx.Done():
		return DialForResult{Err: ctx.Err()}
	}
}

// holdSlack is what an operator's hold for a call placed at their request
// allows beyond the ring timeout and the grace: answering-machine
// detection and the trunk's answer reaching the desk.
const holdSlack = 10 * time.Second

// errRefused aborts a contact change the rules refused for an operator.
var errRefused = errors.New("refused")

func (r *Runner) dialFor(ctx, callCtx context.Context, q dialForReq) DialForResult {
	switch {
	case !r.running:
		return DialForResult{Err: ErrNotRunning}
	case q.agent == "":
		return DialForResult{Err: fmt.Errorf("%w: no operator named", ErrNotNow)}
	}
	if _, busy := r.byCont[q.contact]; busy {
		return DialForResult{Err: fmt.Errorf("%w: this person is being called now", ErrNotNow)}
	}
	trunk, up := r.o.Dialer.Capacity(r.cp.Settings.Trunk)
	if !up {
		return DialForResult{Err: fmt.Errorf("%w: the trunk is down", ErrNotNow)}
	}
	if trunk.Channels > 0 && trunk.InUse >= trunk.Channels {
		return DialForResult{Err: fmt.Errorf("%w: every channel of the trunk is in use", ErrNotNow)}
	}
	now := r.o.Now()
	attempt := r.o.Store.NewID(now)
	// The operator is held for the call before it is committed: while it
	// rings no other call takes them, and an operator on a call cannot
	// ask for one.
	holder, _ := r.o.Operators.(Holder)
	if holder != nil {
		if err := holder.Hold(q.agent, attempt, r.cp.Ring+holdSlack+r.pacer.Config().Grace); err != nil {
			return DialForResult{Err: fmt.Errorf("%w: the operator cannot take a call now: %v", ErrNotNow, err)}
		}
	}
	release := func() {
		if holder != nil {
			holder.Release(q.agent, attempt)
		}
	}
	var plan *Plan
	err := r.changeContact(ctx, q.contact, func(c *journal.Contact) (*journal.ContactChange, error) {
		p, err := r.cp.PlanDialFor(now, c, attempt, ModePreview.String(), r.cp.Settings.Trunk, q.agent)
		if err != nil {
			return nil, err
		}
		plan = p
		if !p.Dial {
			return nil, errRefused
		}
		return p.Change, nil
	})
	if err != nil {
		release()
	}
	switch {
	case errors.Is(err, errRefused):
		v := plan.Verdict
		why := v.Reason.String()
		if v.Reason == BlockCallbackOwned {
			why += " by " + v.Agent
		}
		if !v.Next.IsZero() {
			why += " until " + v.Next.Format(time.RFC3339)
		}
		r.metric().DialDecision(r.id, false)
		return DialForResult{Err: fmt.Errorf("%w: %s", ErrNotNow, why)}
	case err != nil:
		return DialForResult{Err: fmt.Errorf("%w: %v", ErrNotNow, err)}
	}
	r.metric().DialDecision(r.id, true)
	rc := &runCall{attempt: attempt, contact: q.contact, dialAt: now}
	if holder != nil {
		rc.held = q.agent
	}
	r.calls[attempt] = rc
	r.byCont[q.contact] = attempt
	req := &DialRequest{Campaign: r.id, Attempt: attempt, Contact: q.contact, Phone: plan.Phone, Mode: r.cp.Mode,
		Settings: r.cp, Script: r.script, Grace: r.pacer.Config().Grace, Agent: q.agent}
	r.o.Dialer.Place(callCtx, req, r.report)
	return DialForResult{Attempt: attempt, Phone: plan.Phone}
}

// handle applies one call event.
func (r *Runner) handle(ctx context.Context, ev CallEvent) {
	c := r.calls[ev.Attempt]
	if c == nil {
		return
	}
	switch ev.Kind {
	case CallAnswered:
		c.phase = phaseDetecting
	case CallLive:
		c.amd, c.amdTime = ev.AMD, ev.AMDTime
		if !c.observed {
			r.est.ObserveDial(OutcomeLive, ev.At.Sub(c.dialAt))
			c.observed = true
		}
		c.phase = phaseWaiting
		if r.cp.Mode == ModeAgentless {
			c.phase = phaseIVR
			r.ledger.Record(ev.At, false)
		}
		r.progress(ctx, c, ev.At, "")
	case CallMachine:
		c.amd, c.amdTime = ev.AMD, ev.AMDTime
		if !c.observed {
			r.est.ObserveDial(OutcomeMachine, ev.At.Sub(c.dialAt))
			c.observed = true
		}
		c.phase = phaseDone
		r.progress(ctx, c, ev.At, "")
	case CallConnected:
		c.phase, c.agent, c.connectedAt = phaseConnected, ev.Agent, ev.At
		r.ledger.Record(ev.At, false)
		r.progress(ctx, c, ev.At, ev.Agent)
	case CallAbandoned:
		c.phase = phaseDone
		r.ledger.Record(ev.At, true)
	case CallEnded:
		r.ended(ctx, c, ev)
	}
}

// progress writes what is known of a call so far to its attempt.
func (r *Runner) progress(ctx context.Context, c *runCall, answered time.Time, agent string) {
	err := r.o.Store.ChangeAttempt(ctx, c.attempt, func(a *journal.Attempt, _ *journal.Contact) (*journal.ContactChange, error) {
		return r.cp.Progress(a, answered, agent, c.amd, c.amdTime), nil
	})
	if err != nil {
		r.log.Error("attempt progress not saved", "attempt", c.attempt, "error", err, "hint", "check the journal; the attempt still ends when its call does")
	}
}

// ended records a call's end.
func (r *Runner) ended(ctx context.Context, c *runCall, ev CallEvent) {
	// The operator's hold ends once the attempt's end is written: what
	// their desktop reads then shows the result.
	if h, ok := r.o.Operators.(Holder); ok && c.held != "" {
		defer h.Release(c.held, c.attempt)
	}
	delete(r.calls, c.attempt)
	delete(r.byCont, c.contact)
	e := AttemptEnd{Result: ResultFailed}
	if ev.End != nil {
		e = *ev.End
	}
	if e.Ended.IsZero() {
		e.Ended = ev.At
	}
	if e.AMD == "" {
		e.AMD, e.AMDTime = c.amd, c.amdTime
	}
	if e.Agent == "" {
		e.Agent = c.agent
	}
	if !c.observed {
		if o := e.Result.Outcome(); o != OutcomeLive && o != OutcomeAbandoned {
			r.est.ObserveDial(o, e.Ended.Sub(c.dialAt))
		}
	}
	if !c.connectedAt.IsZero() {
		r.est.ObserveTalk(e.Ended.Sub(c.connectedAt))
		if c.agent != "" {
			r.wrapping[c.agent] = e.Ended
		}
	}
	// A call that reached an operator gets its result from the card.
	awaitCard := c.agent != ""
	r.trunkHealth(ctx, e)
	now := r.o.Now()
	var result string
	// The end is saved even when the campaign is pausing or stopping (the
	// failure just seen may be what paused it: ctx is then cancelled): a
	// call that ended must not stay "dialing" until the next start.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := r.changeAttempt(wctx, c.attempt, func(a *journal.Attempt, ct *journal.Contact) (*journal.ContactChange, error) {
		ch, err := r.cp.EndCall(now, a, ct, e, awaitCard)
		if err == nil && ch.Attempt != nil {
			result = ch.Attempt.Result
		}
		return ch, err
	})
	if err != nil {
		r.log.Error("attempt end not saved (recovered at the next start)", "attempt", c.attempt, "error", err, "hint", "check the journal; restart the daemon to end the attempt as failed")
		return
	}
	if awaitCard && result == "" {
		r.cards[c.attempt] = e.Ended.Add(r.cp.CardTimeout)
		return
	}
	r.metric().Attempt(r.id, result)
	if e.Result == ResultDNC && r.dnc != nil {
		if p := r.phoneOf(ctx, c.attempt); p != "" {
			r.dnc[p] = struct{}{}
		}
	}
}

func (r *Runner) phoneOf(ctx context.Context, attempt string) string {
	phone := ""
	_ = r.o.Store.ChangeAttempt(ctx, attempt, func(a *journal.Attempt, _ *journal.Contact) (*journal.ContactChange, error) {
		phone = a.Phone
		return nil, nil
	})
	return phone
}

// trunkHealth counts attempts in a row that failed on the trunks and
// pauses the campaign when there are TrunkFailures of them.
func (r *Runner) trunkHealth(ctx context.Context, e AttemptEnd) {
	if e.TrunkFailure {
		r.trunkFails++
	} else {
		r.trunkFails = 0
	}
	if r.trunkFails < r.cp.Settings.TrunkFailures || !r.running {
		return
	}
	code := e.SIPCode
	reason := fmt.Sprintf("транк недоступен: %d вызовов подряд не прошли через транк (последний ответ: %s); обзвон приостановлен, контакты ждут повтора",
		r.trunkFails, sipText(code))
	_, err := r.o.Store.UpdateCampaign(ctx, systemActor, r.id, func(c *journal.Campaign) error {
		if c.Status != journal.CampaignRunning {
			return errNotRunning
		}
		c.Status, c.Reason = journal.CampaignPaused, reason
		return nil
	})
	switch {
	case err == nil:
		r.log.Warn("campaign paused: the trunks fail", "failures", r.trunkFails, "code", code, "hint", "check the trunk (address, credentials, the carrier), then obzvon campaign start")
		r.running = false
		r.trunkFails = 0
	case errors.Is(err, errNotRunning):
		r.running = false
	default:
		r.log.Error("pause campaign", "error", err, "hint", "pause the campaign by hand: obzvon campaign pause")
	}
}

var errNotRunning = errors.New("campaign is not running")

func sipText(code int) string {
	if code == 0 {
		return "нет ответа"
	}
	return fmt.Sprintf("SIP %d", code)
}

// expireCards counts the cards operators saved and closes the attempts
// whose operator saved none in time.
func (r *Runner) expireCards(ctx context.Context, now time.Time) {
	if len(r.cards) == 0 || now.Sub(r.lastCards) < 2*time.Second {
		return
	}
	r.lastCards = now
	for id, deadline := range r.cards {
		if a, err := r.o.Store.Attempt(ctx, id); err == nil && a.Result != "" {
			delete(r.cards, id)
			r.metric().Attempt(r.id, a.Result)
			continue
		}
		if now.Before(deadline) {
			continue
		}
		delete(r.cards, id)
		var result string
		err := r.changeAttempt(ctx, id, func(a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error) {
			if a.Result != "" {
				result = a.Result // the card came just now
				return nil, nil
			}
			ch, err := r.cp.Finish(now, a, c, AttemptEnd{Result: ResultReached, Answered: a.Answered, Ended: cmpTime(a.Ended, now),
				CallID: a.CallID, Agent: a.Agent, SIPCode: a.SIPCode, AMD: a.AMD, AMDTime: time.Duration(a.AMDMillis) * time.Millisecond,
				Note: "the operator saved no survey card within the card timeout"})
			if err == nil {
				result = ResultReached.String()
			}
			return ch, err
		})
		if err != nil {
			r.log.Error("close attempt without a card", "attempt", id, "error", err, "hint", "check the journal; it is tried again at the next tick")
			continue
		}
		if result != "" {
			r.metric().Attempt(r.id, result)
		}
	}
}

// publishCounts sets the contacts gauges.
func (r *Runner) publishCounts(ctx context.Context, now time.Time) {
	if r.o.Metrics == nil {
		return
	}
	counts, err := r.o.Store.ContactCounts(ctx, r.id)
	if err != nil {
		return
	}
	for _, st := range journal.ContactStatuses {
		r.o.Metrics.Contacts(r.id, st.String(), counts[st])
	}
}

func (r *Runner) saveEstimates(ctx context.Context) {
	b, err := json.Marshal(r.est)
	if err != nil {
		return
	}
	if err := r.o.Store.PutCampaignEstimates(ctx, r.id, b); err != nil {
		r.log.Warn("estimates not saved", "error", err, "hint", "check the journal; a restart then starts from older estimates")
	}
}

// add merges a stored day into the ledger (at load).
func (l *AbandonLedger) add(d Date, w Window) {
	x := l.days[d]
	x.Live += w.Live
	x.Abandoned += w.Abandoned
	l.days[d] = x
}

// Manager runs a Runner for every running campaign: it looks at the
// journal every second, starts a runner when a campaign starts (or is
// found running at start-up, after a crash) and lets runners end by
// themselves when their campaign is paused or stopped.
type Manager struct {
	o RunnerOptions

	mu      sync.Mutex
	runners map[string]*Runner // running campaign → its runner

	running map[string]chan struct{} // campaign → closed when its runner ends
	ended   chan string
	// kick asks for a scan now; scanned (under mu) is closed at the end
	// of each scan and replaced.
	kick    chan struct{}
	scanned chan struct{}
}

// NewManager returns a manager of runners made with o.
func NewManager(o RunnerOptions) *Manager {
	return &Manager{o: o, running: map[string]chan struct{}{}, ended: make(chan string, 16), runners: map[string]*Runner{},
		kick: make(chan struct{}, 1), scanned: make(chan struct{})}
}

// DialFor asks campaign's runner to dial contact now for agent
// (Runner.DialFor); ErrNotRunning when the campaign has no runner.
func (m *Manager) DialFor(ctx context.Context, campaign, contact, agent string) DialForResult {
	m.mu.Lock()
	r, scanned := m.runners[campaign], m.scanned
	m.mu.Unlock()
	if r == nil {
		// Started a moment ago: its runner comes with the next scan,
		// asked for now rather than at the next second's.
		if c, err := m.o.Store.Campaign(ctx, campaign); err != nil || c.Status != journal.CampaignRunning {
			return DialForResult{Err: ErrNotRunning}
		}
		select {
		case m.kick <- struct{}{}:
		default:
		}
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		for r == nil {
			select {
			case <-scanned:
			case <-t.C:
				return DialForResult{Err: ErrNotRunning}
			case <-ctx.Done():
				return DialForResult{Err: ctx.Err()}
			}
			m.mu.Lock()
			r, scanned = m.runners[campaign], m.scanned
			m.mu.Unlock()
		}
	}
	return r.DialFor(ctx, contact, agent)
}

// Run manages runners until ctx is done, then waits for them to stop.
func (m *Manager) Run(ctx context.Context) {
	log := m.o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		m.scan(ctx, log)
		select {
		case <-ctx.Done():
			for id, done := range m.running {
				<-done
				delete(m.running, id)
			}
			return
		case id := <-m.ended:
			delete(m.running, id)
			m.mu.Lock()
			delete(m.runners, id)
			m.mu.Unlock()
		case <-m.kick:
		case <-t.C:
		}
	}
}

// scan starts a runner for each running campaign without one, then tells
// those waiting for a scan (DialFor).
func (m *Manager) scan(ctx context.Context, log *slog.Logger) {
	defer func() {
		m.mu.Lock()
		close(m.scanned)
		m.scanned = make(chan struct{})
		m.mu.Unlock()
	}()
	list, err := m.o.Store.Campaigns(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("campaigns unreadable", "error", err, "hint", "check the journal; runners start once it reads")
		}
		return
	}
	for _, c := range list {
		if c.Status != journal.CampaignRunning {
			continue
		}
		if _, ok := m.running[c.ID]; ok {
			continue
		}
		done := make(chan struct{})
		m.running[c.ID] = done
		r := NewRunner(c.ID, m.o)
		m.mu.Lock()
		m.runners[c.ID] = r
		m.mu.Unlock()
		go func(id string) {
			defer close(done)
			if err := r.Run(ctx); err != nil {
				log.Error("campaign runner", "campaign", id, "error", err, "hint", "fix what the error names, then obzvon campaign start")
			}
			select {
			case m.ended <- id:
			case <-ctx.Done():
			}
		}(c.ID)
		log.Info("campaign runner started", "campaign", c.ID)
	}
}
