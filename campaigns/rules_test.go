package campaigns

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // IANA zones in tests do not depend on the host's tzdata
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatalf("LoadZone(%q): %v", name, err)
	}
	return loc
}

func TestLoadZone(t *testing.T) {
	tests := []struct {
		name    string
		offset  int // seconds east of UTC on 2026-11-25 12:00 UTC
		wantErr bool
	}{
		{"MSK", 3 * 3600, false},
		{"MSK-1", 2 * 3600, false},
		{"MSK+2", 5 * 3600, false},
		{"MSK+9", 12 * 3600, false},
		{"UTC+7", 7 * 3600, false},
		{"utc+12", 12 * 3600, false},
		{"UTC-5", -5 * 3600, false},
		{"UTC", 0, false},
		{"Europe/Moscow", 3 * 3600, false},
		{"Asia/Yekaterinburg", 5 * 3600, false},
		{"Asia/Kamchatka", 12 * 3600, false},
		{"Europe/Kaliningrad", 2 * 3600, false},
		{"America/New_York", -5 * 3600, false},
		{"MSK+10", 0, true},
		{"MSK-2", 0, true},
		{"UTC+15", 0, true},
		{"UTC+x", 0, true},
		{"Mars/Olympus_Mons", 0, true},
		{"", 0, true},
		{"Local", 0, true},
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		loc, err := LoadZone(tt.name)
		if tt.wantErr {
			if !errors.Is(err, ErrBadZone) {
				t.Errorf("LoadZone(%q) error = %v, want ErrBadZone", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("LoadZone(%q): %v", tt.name, err)
			continue
		}
		if _, off := at.In(loc).Zone(); off != tt.offset {
			t.Errorf("LoadZone(%q) offset = %d, want %d", tt.name, off, tt.offset)
		}
	}
	for h := 2; h <= 12; h++ {
		loc, err := RussianZone(h)
		if err != nil {
			t.Fatalf("RussianZone(%d): %v", h, err)
		}
		// No DST: the offset is the same in January and July.
		_, jan := time.Date(2026, 1, 15, 0, 0, 0, 0, loc).Zone()
		_, jul := time.Date(2026, 7, 15, 0, 0, 0, 0, loc).Zone()
		if jan != h*3600 || jul != h*3600 {
			t.Errorf("RussianZone(%d) offsets %d/%d, want %d", h, jan, jul, h*3600)
		}
	}
}

func TestCheck(t *testing.T) {
	msk := mustZone(t, "MSK")
	kgd := mustZone(t, "UTC+2")
	ekb := mustZone(t, "MSK+2")
	kam := mustZone(t, "UTC+12")
	nyc := mustZone(t, "America/New_York")
	rules := DefaultRules()
	for d := 1; d <= 8; d++ {
		rules.Window.Holidays = append(rules.Window.Holidays, Date{2027, time.January, d})
	}
	rules.DNC = DNCSet{"+79990000000": {}}
	const phone, other = "+79161234567", "+79031234567"
	// Wednesday 25 November 2026.
	at := func(loc *time.Location, mo time.Month, d, h, mi int) time.Time {
		return time.Date(2026, mo, d, h, mi, 0, 0, loc)
	}
	wed := func(loc *time.Location, h, mi int) time.Time { return at(loc, time.November, 25, h, mi) }
	attempts := func(res Outcome, times ...time.Time) []Attempt {
		var a []Attempt
		for _, tm := range times {
			a = append(a, Attempt{At: tm, Phone: phone, Result: res})
		}
		return a
	}
	noAnswers := func(n int) []Attempt {
		var a []Attempt
		for i := 0; i < n; i++ {
			a = append(a, Attempt{At: at(msk, time.November, 23+i/4, 9+i%4, 0), Phone: phone, Result: OutcomeNoAnswer})
		}
		return a
	}
	weekRules := rules
	weekRules.MaxAttempts, weekRules.MaxPerPhoneDay = 0, 0
	// A zero no-redial period means none (it used to be read as 72 h):
	// only the retry delay of an abandoned call (here 1 h) applies.
	noRedial := rules
	noRedial.NoRedialAfterAbandon = 0
	noRedial.RetryDelay = map[Outcome]time.Duration{OutcomeAbandoned: time.Hour}

	tests := []struct {
		name   string
		rules  *Rules
		now    time.Time
		c      ContactState
		phone  string
		agent  string
		ok     bool
		reason Block
		next   time.Time
		cbAgnt string
	}{
		{"open in Moscow", &rules, wed(msk, 10, 0), ContactState{Zone: msk}, phone, "", true, BlockNone, time.Time{}, ""},
		{"same instant, evening in Kamchatka", &rules, wed(msk, 10, 0), ContactState{Zone: kam}, phone, "", true, BlockNone, time.Time{}, ""},
		{"late in Moscow: next morning", &rules, wed(msk, 22, 0), ContactState{Zone: msk}, phone, "", false, BlockOutsideWindow, at(msk, time.November, 26, 9, 0), ""},
		{"early in Kaliningrad", &rules, wed(time.UTC, 6, 30), ContactState{Zone: kgd}, phone, "", false, BlockOutsideWindow, wed(kgd, 9, 0), ""},
		{"night in Kamchatka while Moscow works", &rules, wed(msk, 13, 0), ContactState{Zone: kam}, phone, "", false, BlockOutsideWindow, at(kam, time.November, 26, 9, 0), ""},
		{"Yekaterinburg two hours ahead", &rules, wed(msk, 19, 30), ContactState{Zone: ekb}, phone, "", false, BlockOutsideWindow, at(ekb, time.November, 26, 9, 0), ""},
		{"no zone means UTC", &rules, wed(time.UTC, 8, 0), ContactState{}, phone, "", false, BlockOutsideWindow, wed(time.UTC, 9, 0), ""},
		{"Saturday opens at 10", &rules, at(msk, time.November, 28, 9, 30), ContactState{Zone: msk}, phone, "", false, BlockOutsideWindow, at(msk, time.November, 28, 10, 0), ""},
		{"Friday night to Saturday", &rules, at(msk, time.November, 27, 21, 30), ContactState{Zone: msk}, phone, "", false, BlockOutsideWindow, at(msk, time.November, 28, 10, 0), ""},
		{"New Year's Eve past the holidays", &rules, at(msk, time.December, 31, 22, 0), ContactState{Zone: msk}, phone, "", false, BlockOutsideWindow, time.Date(2027, 1, 9, 10, 0, 0, 0, msk), ""},
		{"on a holiday", &rules, time.Date(2027, 1, 3, 12, 0, 0, 0, msk), ContactState{Zone: msk}, phone, "", false, BlockHoliday, time.Date(2027, 1, 9, 10, 0, 0, 0, msk), ""},
		{"New York on the DST change keeps wall-clock hours", &rules, at(time.UTC, time.March, 8, 13, 0), ContactState{Zone: nyc}, phone, "", false, BlockOutsideWindow, at(time.UTC, time.March, 8, 14, 0), ""},
		{"New York in winter", &rules, wed(time.UTC, 14, 0), ContactState{Zone: nyc}, phone, "", true, BlockNone, time.Time{}, ""},
		{"busy: retry in 15 min", &rules, wed(msk, 10, 5), ContactState{Zone: msk, Attempts: attempts(OutcomeBusy, wed(msk, 10, 0))}, phone, "", false, BlockRetryDelay, wed(msk, 10, 15), ""},
		{"busy: retry delay over", &rules, wed(msk, 10, 16), ContactState{Zone: msk, Attempts: attempts(OutcomeBusy, wed(msk, 10, 0))}, phone, "", true, BlockNone, time.Time{}, ""},
		{"no answer: retry in 1 h", &rules, wed(msk, 10, 5), ContactState{Zone: msk, Attempts: attempts(OutcomeNoAnswer, wed(msk, 10, 0))}, phone, "", false, BlockRetryDelay, wed(msk, 11, 0), ""},
		{"machine late: retry lands after closing, next morning", &rules, wed(msk, 20, 0), ContactState{Zone: msk, Attempts: attempts(OutcomeMachine, wed(msk, 19, 30))}, phone, "", false, BlockRetryDelay, at(msk, time.November, 26, 9, 0), ""},
		{"abandoned: 72 h no redial", &rules, wed(msk, 12, 0), ContactState{Zone: msk, Attempts: attempts(OutcomeAbandoned, wed(msk, 10, 0))}, phone, "", false, BlockAbandoned, at(msk, time.November, 28, 10, 0), ""},
		{"abandoned, no-redial period 0: only the retry delay", &noRedial, wed(msk, 10, 30), ContactState{Zone: msk, Attempts: attempts(OutcomeAbandoned, wed(msk, 10, 0))}, phone, "", false, BlockRetryDelay, wed(msk, 11, 0), ""},
		{"abandoned, no-redial period 0, retry delay over", &noRedial, wed(msk, 11, 0), ContactState{Zone: msk, Attempts: attempts(OutcomeAbandoned, wed(msk, 10, 0))}, phone, "", true, BlockNone, time.Time{}, ""},
		{"abandoned holds despite a later attempt", &rules, at(msk, time.November, 27, 12, 0),
			ContactState{Zone: msk, Attempts: append(attempts(OutcomeAbandoned, wed(msk, 10, 0)), Attempt{At: at(msk, time.November, 26, 10, 0), Phone: other, Result: OutcomeBusy})},
			phone, "", false, BlockAbandoned, at(msk, time.November, 28, 10, 0), ""},
		{"attempts used up", &rules, wed(msk, 12, 0), ContactState{Zone: msk, Attempts: noAnswers(5)}, phone, "", false, BlockMaxAttempts, time.Time{}, ""},
		{"phone day cap", &rules, wed(msk, 13, 0), ContactState{Zone: msk, Attempts: attempts(OutcomeNoAnswer, wed(msk, 9, 0), wed(msk, 10, 0), wed(msk, 11, 0))}, phone, "", false, BlockPhoneDay, at(msk, time.November, 26, 9, 0), ""},
		{"phone day cap is per phone", &rules, wed(msk, 13, 0), ContactState{Zone: msk, Attempts: attempts(OutcomeNoAnswer, wed(msk, 9, 0), wed(msk, 10, 0), wed(msk, 11, 0))}, other, "", true, BlockNone, time.Time{}, ""},
		{"phone day cap counts the local day", &rules, wed(kam, 9, 30), ContactState{Zone: kam, Attempts: attempts(OutcomeNoAnswer, at(kam, time.November, 24, 18, 0), at(kam, time.November, 24, 19, 0), at(kam, time.November, 24, 20, 0))}, phone, "", true, BlockNone, time.Time{}, ""},
		{"phone week cap", &weekRules, wed(msk, 13, 0), ContactState{Zone: msk, Attempts: noAnswers(10)}, phone, "", false, BlockPhoneWeek, at(msk, time.November, 30, 9, 0), ""},
		{"callback later today", &rules, wed(msk, 10, 0), ContactState{Zone: msk, Callback: &Callback{At: wed(msk, 15, 0)}}, phone, "", false, BlockCallbackPending, wed(msk, 15, 0), ""},
		{"callback at night waits for the window", &rules, wed(msk, 10, 0), ContactState{Zone: msk, Callback: &Callback{At: wed(msk, 23, 0)}}, phone, "", false, BlockCallbackPending, at(msk, time.November, 26, 9, 0), ""},
		{"callback due, any agent", &rules, wed(msk, 15, 1), ContactState{Zone: msk, Callback: &Callback{At: wed(msk, 15, 0)}}, phone, "", true, BlockNone, time.Time{}, ""},
		{"owned callback: owner may dial", &rules, wed(msk, 10, 30), ContactState{Zone: msk, Callback: &Callback{At: wed(msk, 10, 0), Agent: "ivanova", Deadline: wed(msk, 12, 0)}}, phone, "ivanova", true, BlockNone, time.Time{}, "ivanova"},
		{"owned callback: others wait for the deadline", &rules, wed(msk, 10, 30), ContactState{Zone: msk, Callback: &Callback{At: wed(msk, 10, 0), Agent: "ivanova", Deadline: wed(msk, 12, 0)}}, phone, "", false, BlockCallbackOwned, wed(msk, 12, 0), ""},
		{"owned callback past its deadline goes to anyone", &rules, wed(msk, 12, 30), ContactState{Zone: msk, Callback: &Callback{At: wed(msk, 10, 0), Agent: "ivanova", Deadline: wed(msk, 12, 0)}}, phone, "petrov", true, BlockNone, time.Time{}, ""},
		{"owned callback without deadline stays owned", &rules, wed(msk, 12, 30), ContactState{Zone: msk, Callback: &Callback{At: wed(msk, 10, 0), Agent: "ivanova"}}, phone, "", false, BlockCallbackOwned, time.Time{}, "ivanova"},
		{"callback agreed after a busy attempt replaces the retry delay", &rules, wed(msk, 10, 2),
			ContactState{Zone: msk, Attempts: attempts(OutcomeBusy, wed(msk, 10, 0)), Callback: &Callback{At: wed(msk, 10, 1)}}, phone, "", true, BlockNone, time.Time{}, ""},
		{"callback does not lift the abandon period", &rules, wed(msk, 12, 0),
			ContactState{Zone: msk, Attempts: attempts(OutcomeAbandoned, wed(msk, 10, 0)), Callback: &Callback{At: wed(msk, 11, 0)}}, phone, "", false, BlockAbandoned, at(msk, time.November, 28, 10, 0), ""},
		{"DNC phone", &rules, wed(msk, 10, 0), ContactState{Zone: msk}, "+79990000000", "", false, BlockDNC, time.Time{}, ""},
		{"DNC contact", &rules, wed(msk, 10, 0), ContactState{Zone: msk, DNC: true}, phone, "", false, BlockDNC, time.Time{}, ""},
		{"DNC beats a due callback", &rules, wed(msk, 16, 0), ContactState{Zone: msk, DNC: true, Callback: &Callback{At: wed(msk, 15, 0)}}, phone, "", false, BlockDNC, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rules.Check(tt.now, &tt.c, tt.phone, tt.agent)
			if got.OK != tt.ok || got.Reason != tt.reason || !got.Next.Equal(tt.next) || got.Agent != tt.cbAgnt {
				t.Errorf("Check(%s) = {ok %v reason %v next %v agent %q}, want {ok %v reason %v next %v agent %q}",
					tt.now.Format(time.RFC3339), got.OK, got.Reason, got.Next.Format(time.RFC3339), got.Agent,
					tt.ok, tt.reason, tt.next.Format(time.RFC3339), tt.cbAgnt)
			}
		})
	}
}

// Whatever the history, a "not now" answer that is not final names a time
// in the future, inside the window, at which Check says yes (or gives a
// later time for a reason that only then applies).
func TestCheckNextIsEligible(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	rules := DefaultRules()
	rules.Window.Holidays = []Date{{2026, time.December, 31}, {2027, time.January, 1}}
	results := []Outcome{OutcomeBusy, OutcomeNoAnswer, OutcomeMachine, OutcomeFailed, OutcomeAbandoned, OutcomeLive}
	base := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3000; i++ {
		loc, _ := RussianZone(2 + rng.IntN(11))
		now := base.Add(time.Duration(rng.Int64N(int64(20 * 24 * time.Hour))))
		c := ContactState{Zone: loc}
		for j := rng.IntN(5); j > 0; j-- {
			c.Attempts = append(c.Attempts, Attempt{At: now.Add(-time.Duration(rng.Int64N(int64(96 * time.Hour)))),
				Phone: "+7916000000" + string(rune('0'+rng.IntN(2))), Result: results[rng.IntN(len(results))]})
		}
		if rng.IntN(3) == 0 {
			c.Callback = &Callback{At: now.Add(time.Duration(rng.Int64N(int64(48*time.Hour))) - 24*time.Hour)}
			if rng.IntN(2) == 0 {
				c.Callback.Agent = "ivanova"
				c.Callback.Deadline = c.Callback.At.Add(2 * time.Hour)
			}
		}
		v := rules.Check(now, &c, "+79160000000", "")
		if v.OK || v.Next.IsZero() {
			continue
		}
		if !v.Next.After(now) {
			t.Fatalf("Check(%v) = %+v: next not after now", now, v)
		}
		if open, _ := rules.Window.NextOpen(v.Next, loc); !open.Equal(v.Next) {
			t.Fatalf("Check(%v) = %+v: next outside the window (opens %v)", now, v, open)
		}
		if v2 := rules.Check(v.Next, &c, "+79160000000", ""); !v2.OK && !v2.Next.After(v.Next) {
			t.Fatalf("Check(%v) = %+v, then at next %+v: not eligible and no progress", now, v, v2)
		}
	}
}

func TestRulesValidate(t *testing.T) {
	ok := DefaultRules()
	if err := ok.Validate(); err != nil {
		t.Fatalf("DefaultRules().Validate() = %v", err)
	}
	bad := []func(r *Rules){
		func(r *Rules) { r.Window.Days[time.Monday] = []Span{{10 * time.Hour, 9 * time.Hour}} },
		func(r *Rules) {
			r.Window.Days[time.Monday] = []Span{{9 * time.Hour, 13 * time.Hour}, {12 * time.Hour, 18 * time.Hour}}
		},
		func(r *Rules) { r.Window.Days[time.Monday] = []Span{{9 * time.Hour, 25 * time.Hour}} },
		func(r *Rules) { r.MaxAttempts = -1 },
		func(r *Rules) { r.RetryDelay = map[Outcome]time.Duration{OutcomeBusy: -time.Minute} },
		func(r *Rules) { r.NoRedialAfterAbandon = -time.Hour },
	}
	for i, mutate := range bad {
		r := DefaultRules()
		mutate(&r)
		if err := r.Validate(); !errors.Is(err, ErrBadRules) {
			t.Errorf("case %d: Validate() = %v, want ErrBadRules", i, err)
		}
	}
	if _, err := ParseDate("2027-13-01"); !errors.Is(err, ErrBadRules) {
		t.Errorf("ParseDate(2027-13-01) error = %v, want ErrBadRules", err)
	}
	if d, err := ParseDate("2027-01-07"); err != nil || d != (Date{2027, time.January, 7}) || d.String() != "2027-01-07" {
		t.Errorf("ParseDate(2027-01-07) = %v, %v", d, err)
	}
}

// A window that never opens gives a final answer.
func TestCheckNoWindow(t *testing.T) {
	r := DefaultRules()
	r.Window = CallingWindow{}
	v := r.Check(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), &ContactState{}, "+79160000000", "")
	if v.OK || v.Reason != BlockNoWindow || !v.Next.IsZero() {
		t.Errorf("Check(empty window) = %+v, want final no_window", v)
	}
}
