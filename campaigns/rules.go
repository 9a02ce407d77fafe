package campaigns

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Calling rules decide, at dial time, whether a contact may be dialed now
// and, if not, why and from when. They are pure functions of the rules, the
// contact's history and the time.

// Sentinel errors of the calling rules.
var (
	// ErrBadZone reports a time zone that is neither an IANA name nor a
	// UTC/MSK offset.
	ErrBadZone = errors.New("unknown time zone")
	// ErrBadRules reports a calling rule out of range.
	ErrBadRules = errors.New("bad calling rule")
)

// RussianZone returns the fixed-offset zone of Russia at UTC+offset hours
// (2 for Kaliningrad … 12 for Kamchatka); Russia has no daylight saving
// time. The zone is named like "MSK+2" (Moscow is UTC+3, "MSK").
func RussianZone(offset int) (*time.Location, error) {
	if offset < 2 || offset > 12 {
		return nil, fmt.Errorf("UTC%+d: Russian zones are UTC+2 to UTC+12: %w", offset, ErrBadZone)
	}
	name := "MSK"
	if d := offset - 3; d != 0 {
		name = fmt.Sprintf("MSK%+d", d)
	}
	return time.FixedZone(name, offset*3600), nil
}

// LoadZone resolves a contact's time zone: an IANA name ("Europe/Moscow",
// "Asia/Yekaterinburg", "America/New_York"), "UTC+5" / "UTC-3" (whole
// hours), or a Moscow offset "MSK", "MSK+2", "MSK-1" (Russian zones only).
func LoadZone(name string) (*time.Location, error) {
	s := strings.TrimSpace(name)
	switch up := strings.ToUpper(s); {
	case up == "MSK":
		return RussianZone(3)
	case strings.HasPrefix(up, "MSK+") || strings.HasPrefix(up, "MSK-"):
		d, err := strconv.Atoi(up[3:])
		if err != nil {
			return nil, fmt.Errorf("zone %q: %w", name, ErrBadZone)
		}
		return RussianZone(3 + d)
	case up == "UTC":
		return time.UTC, nil
	case strings.HasPrefix(up, "UTC+") || strings.HasPrefix(up, "UTC-"):
		h, err := strconv.Atoi(up[3:])
		if err != nil || h < -12 || h > 14 {
			return nil, fmt.Errorf("zone %q: want UTC-12 to UTC+14: %w", name, ErrBadZone)
		}
		if h >= 2 && h <= 12 {
			return RussianZone(h)
		}
		return time.FixedZone(fmt.Sprintf("UTC%+d", h), h*3600), nil
	}
	if s == "" || s == "Local" {
		return nil, fmt.Errorf("zone %q: %w", name, ErrBadZone)
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("zone %q: %w", name, ErrBadZone)
	}
	return loc, nil
}

// Span is a part of a day, [From, To) as offsets from local midnight.
type Span struct {
	From, To time.Duration
}

// Date is a calendar date in the contact's local time.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the local calendar date of t.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "2026-01-07".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD: %w", s, ErrBadRules)
	}
	return DateOf(t), nil
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// CallingWindow is when contacts may be called, in each contact's local time:
// spans per weekday (indexed by time.Weekday) and holidays with no calls.
type CallingWindow struct {
	Days     [7][]Span
	Holidays []Date
}

// DefaultWindow returns weekdays 09:00–21:00 and weekends 10:00–18:00, no
// holidays.
func DefaultWindow() CallingWindow {
	var w CallingWindow
	for d := time.Sunday; d <= time.Saturday; d++ {
		if d == time.Saturday || d == time.Sunday {
			w.Days[d] = []Span{{10 * time.Hour, 18 * time.Hour}}
		} else {
			w.Days[d] = []Span{{9 * time.Hour, 21 * time.Hour}}
		}
	}
	return w
}

// Validate checks the spans (within the day, From < To, sorted, not
// overlapping).
func (w CallingWindow) Validate() error {
	for d, spans := range w.Days {
		for i, s := range spans {
			if s.From < 0 || s.To > 24*time.Hour || s.From >= s.To {
				return fmt.Errorf("window %v span %v–%v: want 0 <= from < to <= 24h: %w", time.Weekday(d), s.From, s.To, ErrBadRules)
			}
			if i > 0 && s.From < spans[i-1].To {
				return fmt.Errorf("window %v span %v–%v overlaps or precedes the one before: %w", time.Weekday(d), s.From, s.To, ErrBadRules)
			}
		}
	}
	return nil
}

func (w CallingWindow) holiday(d Date) bool { return slices.Contains(w.Holidays, d) }

// maxWindowSearch bounds the search for the next open time.
const maxWindowSearch = 400

// NextOpen returns the first time at or after t (in loc) inside the window,
// and false when the window has no open time within 400 days.
func (w CallingWindow) NextOpen(t time.Time, loc *time.Location) (time.Time, bool) {
	lt := t.In(loc)
	y, m, d := lt.Date()
	for i := 0; i < maxWindowSearch; i++ {
		midnight := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		day := DateOf(midnight)
		if w.holiday(day) {
			continue
		}
		for _, s := range w.Days[midnight.Weekday()] {
			from := atOffset(day, s.From, loc)
			to := atOffset(day, s.To, loc)
			if !lt.Before(to) {
				continue
			}
			if lt.Before(from) {
				return from, true
			}
			return lt, true
		}
	}
	return time.Time{}, false
}

// atOffset returns the local wall-clock time off after midnight of day
// (wall clock, so a span keeps its hours across DST changes).
func atOffset(day Date, off time.Duration, loc *time.Location) time.Time {
	if off >= 24*time.Hour {
		return time.Date(day.Year, day.Month, day.Day+1, 0, 0, 0, 0, loc)
	}
	h := int(off / time.Hour)
	mi := int((off % time.Hour) / time.Minute)
	sec := int((off % time.Minute) / time.Second)
	return time.Date(day.Year, day.Month, day.Day, h, mi, sec, 0, loc)
}

// Attempt is one dial of a contact, with its result.
type Attempt struct {
	At     time.Time
	Phone  string
	Result Outcome
}

// Callback is a call the contact agreed to at a time. Agent owns it (empty:
// any agent); past Deadline an owned callback goes to any agent.
type Callback struct {
	At       time.Time
	Agent    string
	Deadline time.Time
}

// ContactState is what the rules need to know about one contact: its zone,
// its dial history, a scheduled callback and its own DNC flag.
type ContactState struct {
	// Zone is the contact's local time zone (nil: UTC).
	Zone     *time.Location
	Attempts []Attempt
	Callback *Callback
	// DNC is set when the contact itself asked not to be called.
	DNC bool
}

// DNC is a do-not-call list.
type DNC interface {
	// Blocked reports whether phone (E.164) must not be called.
	Blocked(phone string) bool
}

// DNCSet is an in-memory DNC list of E.164 numbers.
type DNCSet map[string]struct{}

// Blocked reports whether phone is in the set.
func (s DNCSet) Blocked(phone string) bool { _, ok := s[phone]; return ok }

// Rules are a campaign's calling rules. Zero limits mean no limit; zero
// delays take the defaults of DefaultRules where noted.
type Rules struct {
	Window CallingWindow
	// MaxAttempts caps all attempts of a contact (final: never again).
	MaxAttempts int
	// MaxPerPhoneDay and MaxPerPhoneWeek cap attempts on one phone per
	// local calendar day and per local week (Monday to Sunday).
	MaxPerPhoneDay, MaxPerPhoneWeek int
	// RetryDelay is the wait after an attempt, by its result.
	RetryDelay map[Outcome]time.Duration
	// NoRedialAfterAbandon is the period after an abandoned call during
	// which the contact is not called again. Zero means none: the retry
	// delay of OutcomeAbandoned alone applies (DefaultRules sets 72 h).
	NoRedialAfterAbandon time.Duration
	// DNC lists blocked phones (nil: none).
	DNC DNC
}

// DefaultRules returns the default window, 5 attempts per contact, 3 per
// phone per day and 10 per week, retries after 15 min (busy), 1 h (no
// answer, failed), 2 h (machine), and 72 h of no redial after an abandoned
// call.
func DefaultRules() Rules {
	return Rules{
		Window: DefaultWindow(), MaxAttempts: 5, MaxPerPhoneDay: 3, MaxPerPhoneWeek: 10,
		RetryDelay: map[Outcome]time.Duration{
			OutcomeBusy: 15 * time.Minute, OutcomeNoAnswer: time.Hour, OutcomeFailed: time.Hour,
			OutcomeMachine: 2 * time.Hour, OutcomeAbandoned: 72 * time.Hour,
		},
		NoRedialAfterAbandon: 72 * time.Hour,
	}
}

// Validate checks the rules and names the first bad one.
func (r Rules) Validate() error {
	if err := r.Window.Validate(); err != nil {
		return err
	}
	if r.MaxAttempts < 0 || r.MaxPerPhoneDay < 0 || r.MaxPerPhoneWeek < 0 {
		return fmt.Errorf("attempt caps %d/%d/%d: must be >= 0: %w", r.MaxAttempts, r.MaxPerPhoneDay, r.MaxPerPhoneWeek, ErrBadRules)
	}
	for o, d := range r.RetryDelay {
		if d < 0 {
			return fmt.Errorf("retry delay for %v: %v: must be >= 0: %w", o, d, ErrBadRules)
		}
	}
	if r.NoRedialAfterAbandon < 0 {
		return fmt.Errorf("no-redial period %v: must be >= 0: %w", r.NoRedialAfterAbandon, ErrBadRules)
	}
	return nil
}

// Block is why a contact may not be dialed now.
type Block int

// Reasons not to dial.
const (
	// BlockNone means the contact may be dialed now.
	BlockNone Block = iota
	// BlockDNC: the phone or the contact is on a do-not-call list (final).
	BlockDNC
	// BlockMaxAttempts: the contact used all its attempts (final).
	BlockMaxAttempts
	// BlockPhoneDay: the phone reached its attempts for the local day.
	BlockPhoneDay
	// BlockPhoneWeek: the phone reached its attempts for the local week.
	BlockPhoneWeek
	// BlockRetryDelay: too soon after the last attempt for its result.
	BlockRetryDelay
	// BlockAbandoned: within the no-redial period after an abandoned call.
	BlockAbandoned
	// BlockCallbackPending: a callback is scheduled later.
	BlockCallbackPending
	// BlockCallbackOwned: the callback belongs to another agent until its
	// deadline.
	BlockCallbackOwned
	// BlockOutsideWindow: outside the calling hours in the contact's time.
	BlockOutsideWindow
	// BlockHoliday: a holiday in the contact's time.
	BlockHoliday
	// BlockNoWindow: the window never opens (within 400 days) (final).
	BlockNoWindow
	// BlockNoPhone: the contact has no phone left that may be called
	// (none in the list, or every one wrong) (final).
	BlockNoPhone
)

var blockNames = [...]string{"none", "dnc", "max_attempts", "phone_day_cap", "phone_week_cap", "retry_delay",
	"abandoned_no_redial", "callback_pending", "callback_owned", "outside_window", "holiday", "no_window", "no_phone"}

// String returns the reason's name, a bounded label.
func (b Block) String() string {
	if b < 0 || int(b) >= len(blockNames) {
		return "unknown"
	}
	return blockNames[b]
}

// Final reports whether the block never lifts by itself.
func (b Block) Final() bool {
	return b == BlockDNC || b == BlockMaxAttempts || b == BlockNoWindow || b == BlockNoPhone
}

var blockRussian = [...]string{"", "номер в списке «не звонить»", "исчерпаны попытки", "лимит звонков на номер за день",
	"лимит звонков на номер за неделю", "пауза перед повторным звонком", "72 часа после сброшенного звонка",
	"назначен перезвон на другое время", "перезвон закреплён за другим оператором", "вне разрешённого времени звонков",
	"праздничный день", "нет разрешённого времени звонков", "нет телефона для звонка"}

// Russian explains the reason to campaign staff.
func (b Block) Russian() string {
	if b <= 0 || int(b) >= len(blockRussian) {
		return b.String()
	}
	return blockRussian[b]
}

// ParseBlock parses a reason name as printed by String ("none" included).
func ParseBlock(s string) (Block, error) {
	if s == "none" {
		return BlockNone, nil
	}
	i, err := parseName(blockNames[:], s, "calling block")
	return Block(i), err
}

// Verdict is the answer of Check.
type Verdict struct {
	// OK is true when the contact may be dialed now.
	OK bool
	// Reason is why not (BlockNone when OK).
	Reason Block
	// Next is when the contact becomes eligible; zero when OK, when it
	// never will (DNC, attempts used up, no window), and for a callback
	// owned by another agent without a deadline (only Agent may dial it).
	Next time.Time
	// Callback is true when the dial would be a scheduled callback, and
	// Agent names its owner (empty: any agent).
	Callback bool
	Agent    string
}

// Check decides whether contact c may be dialed on phone now by agent
// (empty: the pacer, for any agent). A "no" carries the binding reason and
// the next time the contact becomes eligible, which is always inside the
// calling window.
func (r *Rules) Check(now time.Time, c *ContactState, phone, agent string) Verdict {
	loc := c.Zone
	if loc == nil {
		loc = time.UTC
	}
	if c.DNC || (r.DNC != nil && r.DNC.Blocked(phone)) {
		return Verdict{Reason: BlockDNC}
	}
	if r.MaxAttempts > 0 && len(c.Attempts) >= r.MaxAttempts {
		return Verdict{Reason: BlockMaxAttempts}
	}

	earliest, why := now, BlockNone
	later := func(t time.Time, b Block) {
		if t.After(earliest) {
			earliest, why = t, b
		}
	}

	// Retry delay after the last attempt and no redial after abandonment.
	var last *Attempt
	for i := range c.Attempts {
		a := &c.Attempts[i]
		if last == nil || a.At.After(last.At) {
			last = a
		}
		if a.Result == OutcomeAbandoned && r.NoRedialAfterAbandon > 0 {
			later(a.At.Add(r.NoRedialAfterAbandon), BlockAbandoned)
		}
	}
	cb := c.Callback
	if last != nil && (cb == nil || !cb.At.After(last.At)) {
		// A callback agreed after the last attempt replaces the retry delay.
		later(last.At.Add(r.RetryDelay[last.Result]), BlockRetryDelay)
	}

	// Per-phone caps in the contact's local day and week.
	if r.MaxPerPhoneDay > 0 || r.MaxPerPhoneWeek > 0 {
		ln := now.In(loc)
		dayStart := time.Date(ln.Year(), ln.Month(), ln.Day(), 0, 0, 0, 0, loc)
		back := (int(ln.Weekday()) + 6) % 7 // days since Monday
		weekStart := time.Date(ln.Year(), ln.Month(), ln.Day()-back, 0, 0, 0, 0, loc)
		var today, week int
		for _, a := range c.Attempts {
			if a.Phone != phone || a.At.After(now) {
				continue
			}
			if !a.At.Before(dayStart) {
				today++
			}
			if !a.At.Before(weekStart) {
				week++
			}
		}
		if r.MaxPerPhoneDay > 0 && today >= r.MaxPerPhoneDay {
			later(time.Date(ln.Year(), ln.Month(), ln.Day()+1, 0, 0, 0, 0, loc), BlockPhoneDay)
		}
		if r.MaxPerPhoneWeek > 0 && week >= r.MaxPerPhoneWeek {
			later(time.Date(ln.Year(), ln.Month(), ln.Day()-back+7, 0, 0, 0, 0, loc), BlockPhoneWeek)
		}
	}

	// Scheduled callback: not before its time; an owned one only for its
	// agent until the deadline.
	isCallback, owner := false, ""
	if cb != nil {
		later(cb.At, BlockCallbackPending)
		isCallback = true
		if cb.Agent != "" && (cb.Deadline.IsZero() || earliest.Before(cb.Deadline)) {
			owner = cb.Agent
			if agent != cb.Agent {
				if cb.Deadline.IsZero() {
					return Verdict{Reason: BlockCallbackOwned, Callback: true, Agent: cb.Agent}
				}
				later(cb.Deadline, BlockCallbackOwned)
				owner = ""
			}
		}
	}

	// The window: the earliest time inside calling hours.
	open, ok := r.Window.NextOpen(earliest, loc)
	if !ok {
		return Verdict{Reason: BlockNoWindow}
	}
	if open.After(earliest) && why == BlockNone {
		why = BlockOutsideWindow
		if r.Window.holiday(DateOf(earliest.In(loc))) {
			why = BlockHoliday
		}
	}
	if !open.After(now) {
		return Verdict{OK: true, Callback: isCallback, Agent: owner}
	}
	return Verdict{Reason: why, Next: open, Callback: isCallback, Agent: owner}
}
