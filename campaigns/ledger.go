package campaigns

import "time"

// ledgerDays is the length of the rolling abandonment window.
const ledgerDays = 30

// AbandonLedger counts live answers and abandoned calls per calendar day in
// the campaign's time zone and gives the pacer its Day and rolling 30-day
// windows. The dialer records every live answer once, when it is connected
// or abandoned. An AbandonLedger is not safe for concurrent use.
type AbandonLedger struct {
	loc  *time.Location
	days map[Date]Window
}

// NewAbandonLedger returns an empty ledger whose days are those of loc
// (nil: UTC).
func NewAbandonLedger(loc *time.Location) *AbandonLedger {
	if loc == nil {
		loc = time.UTC
	}
	return &AbandonLedger{loc: loc, days: make(map[Date]Window, ledgerDays+1)}
}

// Record counts one live answer at t, abandoned or connected, and forgets
// days that left the rolling window.
func (l *AbandonLedger) Record(t time.Time, abandoned bool) {
	d := DateOf(t.In(l.loc))
	w := l.days[d]
	w.Live++
	if abandoned {
		w.Abandoned++
	}
	l.days[d] = w
	oldest := l.oldest(t)
	for k := range l.days {
		if k.before(oldest) {
			delete(l.days, k)
		}
	}
}

// Windows returns the counts of the local day of now and of the 30 days
// ending with it.
func (l *AbandonLedger) Windows(now time.Time) (day, month Window) {
	today := DateOf(now.In(l.loc))
	oldest := l.oldest(now)
	for k, w := range l.days {
		if k.before(oldest) || today.before(k) {
			continue
		}
		month.Live += w.Live
		month.Abandoned += w.Abandoned
		if k == today {
			day = w
		}
	}
	return day, month
}

func (l *AbandonLedger) oldest(now time.Time) Date {
	n := now.In(l.loc)
	return DateOf(time.Date(n.Year(), n.Month(), n.Day()-(ledgerDays-1), 12, 0, 0, 0, l.loc))
}

func (d Date) before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}
