package campaigns

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// Contacts at dial time.
//
// The functions here are the campaign's domain rules applied to stored
// contacts: Plan decides whether a contact is dialed now (and on which
// phone) or why not; Finish turns an attempt's end into the contact's next
// state; ApplyCard does the same for a survey card an operator saves. Each
// returns a journal.ContactChange that the journal writes in one
// transaction, so the contact, its attempt, the decision not to dial, the
// DNC entry and the abandonment ledger never disagree.

// Settings are a campaign's dialing settings, stored with the campaign as
// JSON. Zero fields take the defaults of DefaultSettings.
type Settings struct {
	Mode string `json:"mode"`
	// Trunk names the [[trunk]] to dial through (empty: the first).
	Trunk string `json:"trunk,omitempty"`
	// CallerID is the number shown to the called person (empty: the
	// trunk's).
	CallerID string `json:"caller_id,omitempty"`
	// Zone is the time zone of contacts whose own zone is unknown, and of
	// the campaign's days (abandonment ledger).
	Zone string `json:"zone,omitempty"`
	// Weekdays and Weekend are the calling hours, "09:00-21:00".
	Weekdays string `json:"weekdays,omitempty"`
	Weekend  string `json:"weekend,omitempty"`
	// Holidays are days without calls, YYYY-MM-DD.
	Holidays       []string `json:"holidays,omitempty"`
	MaxAttempts    int      `json:"max_attempts,omitempty"`
	MaxPerPhoneDay int      `json:"max_per_phone_day,omitempty"`
	// RetryDelays by result (busy, no_answer, machine, failed, abandoned),
	// Go durations ("15m").
	RetryDelays map[string]string `json:"retry_delays,omitempty"`
	// NoRedialAfterAbandon is a Go duration; "0s" means none.
	NoRedialAfterAbandon string `json:"no_redial_after_abandon,omitempty"`
	// TargetAbandon is the abandonment limit (fraction of live answers).
	TargetAbandon float64 `json:"target_abandon,omitempty"`
	Ratio         float64 `json:"ratio,omitempty"`
	// MaxChannels bounds the campaign's simultaneous calls (0: the trunk's).
	MaxChannels int `json:"max_channels,omitempty"`
	// SafeHarborPrompt is played to a live answer no operator took.
	SafeHarborPrompt string `json:"safe_harbor_prompt,omitempty"`
	// RingTimeout is a Go duration (empty: calls.ring_timeout).
	RingTimeout string `json:"ring_timeout,omitempty"`
	// AMD is what answering-machine detection does on answer: "off" (no
	// detection: every answer is a person), "hangup" (a machine is hung
	// up), "message" (a machine hears MachinePrompt, then is hung up) or
	// "operator" (a machine goes to an operator like a person).
	AMD string `json:"amd,omitempty"`
	// MachinePrompt is the message left on an answering machine.
	MachinePrompt string `json:"machine_prompt,omitempty"`
	// AMDInitialSilence: an answer with no word this long is taken for a
	// person (AMD's verdict unknown) (a Go duration; default 2.5s).
	AMDInitialSilence string `json:"amd_initial_silence,omitempty"`
	// CardTimeout is how long after a call with an operator the attempt
	// waits for the operator's survey card before it is closed as
	// reached (a Go duration, default 15m).
	CardTimeout string `json:"card_timeout,omitempty"`
	// TrunkFailures is how many attempts in a row may fail on the trunk
	// (5xx, no response, no trunk) before the campaign pauses itself
	// (default 5).
	TrunkFailures int `json:"trunk_failures,omitempty"`
	// WrapUp is the operators' wrap-up after a call of this campaign (a
	// Go duration; empty: the ACD's default). It also seeds the pacer's
	// wrap-up estimate unless PriorWrap is set.
	WrapUp string `json:"wrap_up,omitempty"`
	// PriorLive, PriorRing, PriorTalk and PriorWrap seed the pacer's
	// estimates of a new campaign (defaults: DefaultPriors): the share of
	// live answers and Go durations.
	PriorLive float64 `json:"prior_live,omitempty"`
	PriorRing string  `json:"prior_ring,omitempty"`
	PriorTalk string  `json:"prior_talk,omitempty"`
	PriorWrap string  `json:"prior_wrap,omitempty"`
}

// AMDAction is what a campaign does with an answer, by answering-machine
// detection.
type AMDAction int

// AMD actions.
const (
	// AMDOff runs no detection: every answer is taken for a person.
	AMDOff AMDAction = iota
	// AMDHangup hangs up on a machine (result machine).
	AMDHangup
	// AMDMessage leaves the campaign's machine message, then hangs up.
	AMDMessage
	// AMDOperator passes a machine to an operator like a person.
	AMDOperator
)

var amdActionNames = [...]string{"off", "hangup", "message", "operator"}

// String returns the action's name as written in settings.
func (a AMDAction) String() string {
	if a < 0 || int(a) >= len(amdActionNames) {
		return "off"
	}
	return amdActionNames[a]
}

// DefaultSettings returns progressive dialing in the default window
// (weekdays 09:00–21:00, weekends 10:00–18:00, Moscow time for contacts
// without a zone) with the retry rules of DefaultRules.
func DefaultSettings() Settings {
	return Settings{Mode: "progressive", Zone: "MSK", Weekdays: "09:00-21:00", Weekend: "10:00-18:00",
		MaxAttempts: 5, MaxPerPhoneDay: 3, NoRedialAfterAbandon: "72h", TargetAbandon: 0.03,
		SafeHarborPrompt: "safe-harbor", AMD: "off", MachinePrompt: "machine-message", CardTimeout: "15m", TrunkFailures: 5,
		RetryDelays: map[string]string{"busy": "15m", "no_answer": "1h", "failed": "1h", "machine": "2h", "abandoned": "72h"}}
}

// ErrBadSettings is wrapped by errors about campaign settings.
var ErrBadSettings = errors.New("bad campaign settings")

// withDefaults fills zero fields from DefaultSettings.
func (s Settings) withDefaults() Settings {
	d := DefaultSettings()
	if s.Mode == "" {
		s.Mode = d.Mode
	}
	if s.Zone == "" {
		s.Zone = d.Zone
	}
	if s.Weekdays == "" {
		s.Weekdays = d.Weekdays
	}
	if s.Weekend == "" {
		s.Weekend = d.Weekend
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = d.MaxAttempts
	}
	if s.MaxPerPhoneDay == 0 {
		s.MaxPerPhoneDay = d.MaxPerPhoneDay
	}
	if s.NoRedialAfterAbandon == "" {
		s.NoRedialAfterAbandon = d.NoRedialAfterAbandon
	}
	if s.TargetAbandon == 0 {
		s.TargetAbandon = d.TargetAbandon
	}
	if s.SafeHarborPrompt == "" {
		s.SafeHarborPrompt = d.SafeHarborPrompt
	}
	if s.AMD == "" {
		s.AMD = d.AMD
	}
	if s.MachinePrompt == "" {
		s.MachinePrompt = d.MachinePrompt
	}
	if s.CardTimeout == "" {
		s.CardTimeout = d.CardTimeout
	}
	if s.TrunkFailures == 0 {
		s.TrunkFailures = d.TrunkFailures
	}
	rd := map[string]string{}
	for k, v := range d.RetryDelays {
		rd[k] = v
	}
	for k, v := range s.RetryDelays {
		rd[k] = v
	}
	s.RetryDelays = rd
	return s
}

// Compiled is a campaign's settings made ready for dialing.
type Compiled struct {
	Settings Settings
	Mode     Mode
	Zone     *time.Location
	Rules    Rules
	Ring     time.Duration
	// AMD is the answering-machine action, AMDInitialSilence its
	// detector's initial silence (0: the detector's default).
	AMD               AMDAction
	AMDInitialSilence time.Duration
	// CardTimeout is how long a call's attempt waits for the operator's
	// card (Settings.CardTimeout).
	CardTimeout time.Duration
	// Priors seed the estimates of a campaign without saved ones.
	Priors Priors
	// WrapUp is Settings.WrapUp (0: the ACD's default).
	WrapUp time.Duration
}

// Compile checks s (with defaults filled) and returns it ready for use;
// an error names the bad setting.
func (s Settings) Compile() (*Compiled, error) {
	s = s.withDefaults()
	bad := func(key string, v any, why string) (*Compiled, error) {
		return nil, fmt.Errorf("%w: %s = %v: %s", ErrBadSettings, key, v, why)
	}
	c := &Compiled{Settings: s}
	var err error
	if c.Mode, err = ParseMode(s.Mode); err != nil {
		return bad("mode", s.Mode, "want preview, progressive, ratio, predictive or agentless")
	}
	if c.Zone, err = LoadZone(s.Zone); err != nil {
		return bad("zone", s.Zone, err.Error())
	}
	r := DefaultRules()
	for _, sp := range []struct {
		key, v string
		days   []time.Weekday
	}{{"weekdays", s.Weekdays, []time.Weekday{1, 2, 3, 4, 5}}, {"weekend", s.Weekend, []time.Weekday{0, 6}}} {
		span, err := parseSpan(sp.v)
		if err != nil {
			return bad(sp.key, sp.v, err.Error())
		}
		for _, d := range sp.days {
			r.Window.Days[d] = nil
			if span.To > span.From {
				r.Window.Days[d] = []Span{span}
			}
		}
	}
	for _, h := range s.Holidays {
		d, err := ParseDate(h)
		if err != nil {
			return bad("holidays", h, "want YYYY-MM-DD")
		}
		r.Window.Holidays = append(r.Window.Holidays, d)
	}
	if s.MaxAttempts < 0 || s.MaxPerPhoneDay < 0 {
		return bad("max_attempts", s.MaxAttempts, "must not be negative")
	}
	r.MaxAttempts, r.MaxPerPhoneDay = s.MaxAttempts, s.MaxPerPhoneDay
	for k, v := range s.RetryDelays {
		res, err := ParseResult(k)
		if err != nil || res.Final() || !slices.Contains([]Result{ResultBusy, ResultNoAnswer, ResultFailed, ResultMachine, ResultAbandoned}, res) {
			return bad("retry_delays."+k, v, "want busy, no_answer, failed, machine or abandoned")
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return bad("retry_delays."+k, v, "want a duration like 15m or 2h")
		}
		r.RetryDelay[res.Outcome()] = d
	}
	if r.NoRedialAfterAbandon, err = time.ParseDuration(s.NoRedialAfterAbandon); err != nil || r.NoRedialAfterAbandon < 0 {
		return bad("no_redial_after_abandon", s.NoRedialAfterAbandon, "want a duration like 72h (0s: none)")
	}
	if !(s.TargetAbandon > 0 && s.TargetAbandon < 0.5) {
		return bad("target_abandon", s.TargetAbandon, "want a fraction in (0, 0.5), e.g. 0.03")
	}
	if s.Ratio != 0 && (s.Ratio < 1 || s.Ratio > 20) {
		return bad("ratio", s.Ratio, "want 1..20")
	}
	if s.MaxChannels < 0 {
		return bad("max_channels", s.MaxChannels, "must not be negative")
	}
	if s.RingTimeout != "" {
		if c.Ring, err = time.ParseDuration(s.RingTimeout); err != nil || c.Ring < time.Second {
			return bad("ring_timeout", s.RingTimeout, "want a duration of at least 1s")
		}
	}
	if i := slices.Index(amdActionNames[:], s.AMD); i >= 0 {
		c.AMD = AMDAction(i)
	} else {
		return bad("amd", s.AMD, "want off, hangup, message or operator")
	}
	if s.AMDInitialSilence != "" {
		if c.AMDInitialSilence, err = time.ParseDuration(s.AMDInitialSilence); err != nil || c.AMDInitialSilence < 500*time.Millisecond || c.AMDInitialSilence > 5*time.Second {
			return bad("amd_initial_silence", s.AMDInitialSilence, "want a duration of 500ms..5s")
		}
	}
	if c.CardTimeout, err = time.ParseDuration(s.CardTimeout); err != nil || c.CardTimeout < time.Second {
		return bad("card_timeout", s.CardTimeout, "want a duration of at least 1s, e.g. 15m")
	}
	if s.TrunkFailures < 1 || s.TrunkFailures > 1000 {
		return bad("trunk_failures", s.TrunkFailures, "want 1..1000")
	}
	if s.PriorLive != 0 && !(s.PriorLive > 0 && s.PriorLive < 1) {
		return bad("prior_live", s.PriorLive, "want a fraction in (0, 1)")
	}
	c.Priors.LiveProb = s.PriorLive
	if s.WrapUp != "" {
		if c.WrapUp, err = time.ParseDuration(s.WrapUp); err != nil || c.WrapUp < 0 || c.WrapUp > time.Hour {
			return bad("wrap_up", s.WrapUp, "want a duration of 0s..1h, e.g. 15s")
		}
		c.Priors.Wrap = c.WrapUp
	}
	for _, pd := range []struct {
		key, v string
		to     *time.Duration
	}{{"prior_ring", s.PriorRing, &c.Priors.LiveRing}, {"prior_talk", s.PriorTalk, &c.Priors.Talk}, {"prior_wrap", s.PriorWrap, &c.Priors.Wrap}} {
		if pd.v == "" {
			continue
		}
		d, err := time.ParseDuration(pd.v)
		if err != nil || d <= 0 {
			return bad(pd.key, pd.v, "want a positive duration like 9s")
		}
		*pd.to = d
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSettings, err)
	}
	c.Rules = r
	return c, nil
}

// parseSpan parses "09:00-21:00" ("00:00-24:00" is the whole day, "-" or
// "off" is no calls).
func parseSpan(s string) (Span, error) {
	s = strings.TrimSpace(s)
	if s == "-" || s == "off" {
		return Span{}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Span{}, errors.New(`want "HH:MM-HH:MM" or "off"`)
	}
	f, err1 := parseClock(from)
	t, err2 := parseClock(to)
	if err1 != nil || err2 != nil || f >= t {
		return Span{}, errors.New(`want "HH:MM-HH:MM" with the start before the end`)
	}
	return Span{f, t}, nil
}

func parseClock(s string) (time.Duration, error) {
	var h, m int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// ParseSettings decodes stored settings.
func ParseSettings(b json.RawMessage) (Settings, error) {
	var s Settings
	if len(b) == 0 {
		return DefaultSettings(), nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%w: %v", ErrBadSettings, err)
	}
	return s.withDefaults(), nil
}

// zoneOf returns the contact's zone, or def when it has none (or a bad
// one).
func zoneOf(c *journal.Contact, def *time.Location) *time.Location {
	if c.Zone != "" {
		if loc, err := LoadZone(c.Zone); err == nil {
			return loc
		}
	}
	return def
}

// StateOf returns the calling rules' view of a stored contact.
func StateOf(c *journal.Contact, def *time.Location) *ContactState {
	st := &ContactState{Zone: zoneOf(c, def)}
	for _, a := range c.Attempts {
		if a.Result == "" {
			continue
		}
		r, err := ParseResult(a.Result)
		if err != nil {
			r = ResultFailed
		}
		st.Attempts = append(st.Attempts, Attempt{At: a.At, Phone: a.Phone, Result: r.Outcome()})
	}
	if cb := c.Callback; cb != nil {
		st.Callback = &Callback{At: cb.At, Agent: cb.Agent, Deadline: cb.Deadline}
	}
	return st
}

// Choose decides whether contact c may be dialed now by agent (empty: the
// runner) and on which phone: the first phone, in list order, not marked
// wrong that the rules allow now. When none may be dialed, the verdict of
// the phone that opens first is returned (BlockNoPhone when none is left).
func (cp *Compiled) Choose(now time.Time, c *journal.Contact, agent string) (string, Verdict) {
	st := StateOf(c, cp.Zone)
	var best Verdict
	bestPhone := ""
	for _, p := range c.Phones {
		if p.Wrong {
			continue
		}
		v := cp.Rules.Check(now, st, p.Number, agent)
		if v.OK {
			return p.Number, v
		}
		switch {
		case bestPhone == "":
			best, bestPhone = v, p.Number
		case best.Next.IsZero() && !v.Next.IsZero(), !v.Next.IsZero() && v.Next.Before(best.Next):
			best, bestPhone = v, p.Number
		}
	}
	if bestPhone == "" {
		return "", Verdict{Reason: BlockNoPhone}
	}
	return bestPhone, best
}

// Plan is the runner's decision about one due contact: either a new
// attempt (Dial) or the contact pushed to its next eligible time, with
// the reason recorded when it changed.
type Plan struct {
	Dial    bool
	Phone   string
	Verdict Verdict
	Change  *journal.ContactChange
}

// PlanDial decides, at now, whether due contact c is dialed. attemptID is
// the id the attempt gets (made by the caller, so that running the
// decision again gives the same records). A contact that is not pending
// gives (nil, error).
func (cp *Compiled) PlanDial(now time.Time, c *journal.Contact, attemptID, mode, trunk string) (*Plan, error) {
	return cp.PlanDialFor(now, c, attemptID, mode, trunk, "")
}

// PlanDialFor is PlanDial for an operator who asked to dial c (a preview,
// or a callback they own); agent "" is the pacer dialing for any
// operator. The attempt names the operator.
func (cp *Compiled) PlanDialFor(now time.Time, c *journal.Contact, attemptID, mode, trunk, agent string) (*Plan, error) {
	if c == nil {
		return nil, errors.New("contact not found")
	}
	if c.Status != journal.ContactPending {
		return nil, fmt.Errorf("contact is %s, not pending", c.Status)
	}
	phone, v := cp.Choose(now, c, agent)
	n := c.Clone()
	p := &Plan{Phone: phone, Verdict: v, Change: &journal.ContactChange{Contact: n}}
	if v.OK {
		p.Dial = true
		n.Status, n.Block = journal.ContactDialing, ""
		n.Attempts = append(n.Attempts, journal.AttemptRef{ID: attemptID, At: now, Phone: phone})
		p.Change.Attempt = &journal.Attempt{ID: attemptID, Campaign: c.Campaign, Contact: c.ID, Phone: phone,
			Trunk: trunk, Mode: mode, Started: now}
		if v.Callback && v.Agent != "" {
			p.Change.Attempt.Agent = v.Agent
		}
		if agent != "" {
			p.Change.Attempt.Agent = agent
		}
		return p, nil
	}
	cp.block(now, n, p.Change, phone, v)
	return p, nil
}

// block records that n is not dialed now for verdict v: a final reason
// exhausts it, another moves its Next; a Skip is added when the reason or
// its time changed.
func (cp *Compiled) block(now time.Time, n *journal.Contact, ch *journal.ContactChange, phone string, v Verdict) {
	reason := v.Reason.String()
	changed := n.Block != reason || !n.Next.Equal(v.Next)
	n.Block = reason
	switch {
	case v.Reason == BlockDNC && phone != "":
		// This phone is on the DNC list: not again while it is there;
		// another phone may be. The journal writes this only if the phone
		// is still on the list (the rules' copy may be seconds old).
		for i := range n.Phones {
			if n.Phones[i].Number == phone {
				n.Phones[i].Wrong, n.Phones[i].DNC = true, true
			}
		}
		ch.OnDNC = phone
		if n.HasPhone() {
			n.Status, n.Next = journal.ContactPending, now
		} else {
			n.Status, n.Next = journal.ContactExhausted, time.Time{}
		}
	case v.Reason.Final() || v.Next.IsZero() && v.Reason != BlockCallbackOwned:
		n.Status, n.Next = journal.ContactExhausted, time.Time{}
	case v.Next.IsZero():
		// A callback owned by an operator without a deadline: only that
		// operator dials it; the runner looks again in an hour.
		n.Status, n.Next = journal.ContactPending, now.Add(time.Hour)
	default:
		n.Status, n.Next = journal.ContactPending, v.Next
	}
	if changed {
		ch.Skip = &journal.Skip{Campaign: n.Campaign, Contact: n.ID, At: now, Phone: phone, Reason: reason,
			Next: n.Next, Detail: v.Reason.Russian()}
	}
}

// Outcome of an attempt as the dialer (or IVR) reports it.
type AttemptEnd struct {
	Result   Result
	SIPCode  int
	Answered time.Time
	Ended    time.Time
	CallID   string
	Agent    string
	AMD      string
	AMDTime  time.Duration
	// SafeHarbor is the delay from answer to the safe-harbor message of
	// an abandoned call.
	SafeHarbor time.Duration
	// TrunkFailure is set when the call failed on the trunks (5xx, no
	// response, no trunk available), not at the called number.
	TrunkFailure bool
	// Answers, Refusal, Comment and Reschedule come from the survey (IVR
	// or operator), already checked against the script.
	Answers    map[string]string
	Refusal    string
	Comment    string
	Reschedule *Reschedule
	Note       string
	// By is who saved the result ("" for the dialer).
	By journal.Actor
}

// Finish ends attempt a of contact c with e at now and returns what to
// write. An attempt that already has a result is an error (an attempt is
// counted once).
func (cp *Compiled) Finish(now time.Time, a *journal.Attempt, c *journal.Contact, e AttemptEnd) (*journal.ContactChange, error) {
	if a.Result != "" {
		return nil, fmt.Errorf("attempt %s already ended: %s", a.ID, a.Result)
	}
	if e.Result == ResultUnknown {
		return nil, errors.New("attempt end without a result")
	}
	na := *a
	na.Result, na.SIPCode, na.Answered, na.Ended = e.Result.String(), e.SIPCode, e.Answered, e.Ended
	if na.Ended.IsZero() {
		na.Ended = now
	}
	na.CallID, na.Agent, na.AMD, na.AMDMillis = e.CallID, cmpOr(e.Agent, a.Agent), e.AMD, int(e.AMDTime/time.Millisecond)
	na.SafeHarborMillis, na.Note = int(e.SafeHarbor/time.Millisecond), e.Note
	n := c.Clone()
	for i := range n.Attempts {
		if n.Attempts[i].ID == a.ID {
			n.Attempts[i].Result = na.Result
		}
	}
	ch := &journal.ContactChange{Contact: n, Attempt: &na}
	if e.Result.Live() {
		ch.Live, ch.Abandoned = true, e.Result == ResultAbandoned
		ch.LedgerDay = DateOf(cmpTime(e.Answered, now).In(cp.Zone)).String()
	}
	if err := cp.settle(now, n, ch, a.Phone, e); err != nil {
		return nil, err
	}
	return ch, nil
}

// ApplyCard applies a survey card an operator saves for contact c (after
// or without a call of the runner): answers, refusal, comment, result,
// reschedule. The last attempt, when it is still open and the operator's,
// is ended with it.
func (cp *Compiled) ApplyCard(now time.Time, script *Script, c *journal.Contact, e AttemptEnd) (*journal.ContactChange, error) {
	if !e.Result.ByOperator() {
		return nil, &AnswerError{"result", fmt.Sprintf("%q is not a result an operator saves (want one of %s)", e.Result, operatorResults())}
	}
	if !script.AllowsResult(e.Result) {
		return nil, &AnswerError{"result", fmt.Sprintf("script %s does not allow %s", script.Name, e.Result)}
	}
	ans, err := script.CheckAnswers(e.Answers, e.Result == ResultReached)
	if err != nil {
		return nil, err
	}
	e.Answers = ans
	if e.Result == ResultRefused {
		if _, ok := script.RefusalText(e.Refusal); !ok {
			return nil, &AnswerError{"refusal", fmt.Sprintf("%q is not a refusal reason of script %s", e.Refusal, script.Name)}
		}
	} else if e.Refusal != "" {
		return nil, &AnswerError{"refusal", "only a refused result has a refusal reason"}
	}
	if e.Result == ResultRescheduled {
		if e.Reschedule == nil || !e.Reschedule.At.After(now) {
			return nil, &AnswerError{"reschedule", "a rescheduled result needs a time in the future"}
		}
	} else if e.Reschedule != nil {
		return nil, &AnswerError{"reschedule", "only a rescheduled result has a time"}
	}
	if len([]rune(e.Comment)) > maxTextAnswer {
		return nil, &AnswerError{"comment", fmt.Sprintf("at most %d characters", maxTextAnswer)}
	}
	if c.Status == journal.ContactDone {
		return nil, &AnswerError{"result", fmt.Sprintf("the contact already has the final result %s", c.Result)}
	}
	// The open attempt this card belongs to, if any.
	var open string
	if k := len(c.Attempts) - 1; k >= 0 && c.Attempts[k].Result == "" {
		open = c.Attempts[k].ID
	}
	n := c.Clone()
	ch := &journal.ContactChange{Contact: n, Audit: "save", Who: e.By, Detail: "result " + e.Result.String()}
	phone := ""
	if open != "" {
		n.Attempts[len(n.Attempts)-1].Result = e.Result.String()
		phone = n.Attempts[len(n.Attempts)-1].Phone
		ch.CloseAttempt, ch.CloseResult, ch.CloseAgent = open, e.Result.String(), e.By.Login
		if e.Result.Live() {
			ch.Live, ch.LedgerDay = true, DateOf(now.In(cp.Zone)).String()
		}
	} else if len(n.Phones) > 0 {
		phone = n.Phones[0].Number
	}
	if err := cp.settle(now, n, ch, phone, e); err != nil {
		return nil, err
	}
	return ch, nil
}

// settle sets the contact's answers, result and next state after e.
func (cp *Compiled) settle(now time.Time, n *journal.Contact, ch *journal.ContactChange, phone string, e AttemptEnd) error {
	n.Result = e.Result.String()
	if e.Answers != nil || e.Refusal != "" || e.Comment != "" || e.By.Login != "" {
		n.Answers, n.Refusal, n.Comment = e.Answers, e.Refusal, e.Comment
		n.SavedBy, n.SavedAt = e.By.Login, now
	}
	if n.Callback != nil && !n.Callback.At.After(now) {
		n.Callback = nil // it was this call
	}
	switch e.Result {
	case ResultReached, ResultRefused:
		n.Status, n.Next, n.Block, n.Callback = journal.ContactDone, time.Time{}, "", nil
		return nil
	case ResultDNC:
		n.Status, n.Next, n.Block, n.Callback = journal.ContactDone, time.Time{}, "", nil
		if phone != "" {
			ch.DNC = &journal.DNCEntry{Phone: phone, Added: now, By: cmpOr(e.By.Login, "system"), Source: "result", Campaign: n.Campaign}
		}
		return nil
	case ResultWrongNumber:
		for i := range n.Phones {
			if n.Phones[i].Number == phone {
				n.Phones[i].Wrong = true
			}
		}
	case ResultRescheduled:
		n.Callback = &journal.ContactCallback{At: e.Reschedule.At, Agent: e.Reschedule.Agent}
		if e.Reschedule.Agent != "" {
			n.Callback.Deadline = e.Reschedule.At.Add(2 * time.Hour)
		}
	case ResultAbandoned:
		// A priority callback once the no-redial period is over.
		n.Callback = &journal.ContactCallback{At: now.Add(cp.Rules.NoRedialAfterAbandon), Priority: true}
	}
	n.Status = journal.ContactPending
	p, v := cp.Choose(now, n, "")
	if v.OK {
		n.Next, n.Block = now, ""
		return nil
	}
	cp.block(now, n, ch, p, v)
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func cmpTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

// ReleaseDNC is what taking phone off the do-not-call list does to
// contact c, given the decisions not to dial it (skips): the phone, when
// the list was why it was not called, is called again; a "do not call"
// result the person gave on it is withdrawn (the person asked to be
// called after all). A contact that was exhausted or done because of it
// is pending again when the rules allow it now or later (attempts left),
// else exhausted with the rules' reason, recorded as a decision not to
// dial. A phone that someone said is not the person's stays wrong. nil
// means nothing changes.
func (cp *Compiled) ReleaseDNC(now time.Time, c *journal.Contact, phone string, skips []journal.Skip) *journal.ContactChange {
	n := c.Clone()
	freed := false
	for i := range n.Phones {
		p := &n.Phones[i]
		if p.Number != phone || !p.Wrong {
			continue
		}
		// Contacts blocked before the DNC flag existed: a decision not to
		// dial this phone because of the list, and no one saying it is
		// a wrong number.
		if p.DNC || skippedForDNC(skips, phone) && !saidWrongNumber(c, phone) {
			p.Wrong, p.DNC = false, false
			freed = true
		}
	}
	withdrawn := c.Status == journal.ContactDone && c.Result == ResultDNC.String() && dncResultPhone(c) == phone
	if !freed && !withdrawn {
		return nil
	}
	ch := &journal.ContactChange{Contact: n, Detail: "phone " + phone + " released from the do-not-call list"}
	if withdrawn {
		n.Result = ""
		ch.Detail = "do-not-call result withdrawn: phone " + phone + " left the list"
	}
	switch {
	case withdrawn, n.Status == journal.ContactExhausted, n.Status == journal.ContactPending:
		n.Status = journal.ContactPending
		p, v := cp.Choose(now, n, "")
		if v.OK {
			n.Next, n.Block = now, ""
		} else {
			cp.block(now, n, ch, p, v)
		}
	}
	return ch
}

// skippedForDNC reports whether a decision not to dial phone was that it
// is on the do-not-call list.
func skippedForDNC(skips []journal.Skip, phone string) bool {
	return slices.ContainsFunc(skips, func(s journal.Skip) bool { return s.Phone == phone && s.Reason == BlockDNC.String() })
}

// saidWrongNumber reports whether a call on phone ended "wrong number".
func saidWrongNumber(c *journal.Contact, phone string) bool {
	return slices.ContainsFunc(c.Attempts, func(a journal.AttemptRef) bool {
		return a.Phone == phone && a.Result == ResultWrongNumber.String()
	})
}

// dncResultPhone is the phone a contact's "do not call" result was given
// on (and put on the list): that of its last attempt with the result, or
// its first phone for a card saved without a call.
func dncResultPhone(c *journal.Contact) string {
	for i := len(c.Attempts) - 1; i >= 0; i-- {
		if c.Attempts[i].Result == ResultDNC.String() {
			return c.Attempts[i].Phone
		}
	}
	if len(c.Phones) > 0 {
		return c.Phones[0].Number
	}
	return ""
}

// Recover ends an attempt left open by a crash or a restart: its call is
// gone, so it is counted once, as failed, and the contact goes back to
// the rules. (An attempt whose call had reached an operator is not
// recovered: it waits for the operator's card, see EndCall.)
func (cp *Compiled) Recover(now time.Time, a *journal.Attempt, c *journal.Contact) (*journal.ContactChange, error) {
	e := AttemptEnd{Result: ResultFailed, Ended: now, Note: "interrupted by a restart of the dialer"}
	if !a.Answered.IsZero() {
		e.Answered = a.Answered
	}
	return cp.Finish(now, a, c, e)
}

// EndCall records the end of an attempt's call. When the attempt already
// has a result (an operator saved the card during the call) only the
// call's details are added to it. When awaitCard is set (the call was
// with an operator) the details are stored and the attempt stays open, so
// the operator's card gives its result (the contact stays dialing);
// otherwise the attempt ends with e as Finish does.
func (cp *Compiled) EndCall(now time.Time, a *journal.Attempt, c *journal.Contact, e AttemptEnd, awaitCard bool) (*journal.ContactChange, error) {
	if a.Result == "" && !awaitCard {
		return cp.Finish(now, a, c, e)
	}
	na := *a
	if na.Answered.IsZero() {
		na.Answered = e.Answered
	}
	na.Ended = cmpTime(e.Ended, now)
	na.SIPCode = cmp.Or(na.SIPCode, e.SIPCode)
	na.CallID, na.Agent = cmpOr(na.CallID, e.CallID), cmpOr(na.Agent, e.Agent)
	na.AMD, na.AMDMillis = cmpOr(na.AMD, e.AMD), cmp.Or(na.AMDMillis, int(e.AMDTime/time.Millisecond))
	if na.Note == "" {
		na.Note = e.Note
	}
	return &journal.ContactChange{Attempt: &na}, nil
}

// Progress records what is known of an attempt's call while it goes on
// (answered, with whom, the AMD decision), so that a restart finds it.
func (cp *Compiled) Progress(a *journal.Attempt, answered time.Time, agent, amd string, amdTime time.Duration) *journal.ContactChange {
	na := *a
	if na.Answered.IsZero() {
		na.Answered = answered
	}
	na.Agent = cmpOr(agent, na.Agent)
	if amd != "" {
		na.AMD, na.AMDMillis = amd, int(amdTime/time.Millisecond)
	}
	return &journal.ContactChange{Attempt: &na}
}
