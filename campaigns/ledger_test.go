package campaigns

import (
	"testing"
	"time"
)

func TestAbandonLedger(t *testing.T) {
	msk, _ := RussianZone(3)
	l := NewAbandonLedger(msk)
	day0 := time.Date(2026, 11, 1, 10, 0, 0, 0, msk)
	// 40 days, 100 live answers a day, day i abandons i%4.
	for i := 0; i < 40; i++ {
		for j := 0; j < 100; j++ {
			l.Record(day0.AddDate(0, 0, i).Add(time.Duration(j)*time.Minute), j < i%4)
		}
	}
	now := day0.AddDate(0, 0, 39).Add(10 * time.Hour) // 20:00 on the last day
	day, month := l.Windows(now)
	if day != (Window{Live: 100, Abandoned: 39 % 4}) {
		t.Errorf("Windows(day 39).day = %+v, want 100 live, 3 abandoned", day)
	}
	wantAb := 0
	for i := 10; i < 40; i++ {
		wantAb += i % 4
	}
	if month != (Window{Live: 3000, Abandoned: wantAb}) {
		t.Errorf("Windows(day 39).month = %+v, want 3000 live, %d abandoned", month, wantAb)
	}
	if len(l.days) != 30 {
		t.Errorf("ledger keeps %d days, want 30", len(l.days))
	}
	// The day is the campaign's local day: 23:30 UTC is already tomorrow in Moscow.
	next := time.Date(2026, 12, 10, 23, 30, 0, 0, time.UTC)
	l.Record(next, true)
	day, _ = l.Windows(next)
	if day != (Window{Live: 1, Abandoned: 1}) {
		t.Errorf("Windows(23:30 UTC).day = %+v, want the new Moscow day with 1/1", day)
	}
	if r := day.Rate(); r != 1 {
		t.Errorf("Rate() = %v, want 1", r)
	}
}
