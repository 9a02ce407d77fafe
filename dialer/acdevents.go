package dialer

// Reading the ACD's events back from the journal (the desk writes them,
// stream ACDStream, as the JSON of acd.Event) for the queue reports.

import (
	"context"
	"encoding/json"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/journal"
)

// EventReader reads a stream of stored events; *journal.Journal
// implements it.
type EventReader interface {
	Events(ctx context.Context, stream string, from, to time.Time, fn func(journal.Event) error) error
}

// ReadACDEvents returns the ACD's events stored in [from, to), in time
// order, and how many stored events it could not read (written by a
// newer version, or damaged): those are left out.
func ReadACDEvents(ctx context.Context, j EventReader, from, to time.Time) ([]acd.Event, int, error) {
	var (
		out     []acd.Event
		skipped int
	)
	err := j.Events(ctx, ACDStream, from, to, func(je journal.Event) error {
		var e acd.Event
		if err := json.Unmarshal(je.Data, &e); err != nil || e.Kind == acd.EventUnknown {
			skipped++
			return nil
		}
		if e.Time.IsZero() {
			e.Time = je.Time
		}
		out = append(out, e)
		return nil
	})
	return out, skipped, err
}

// ReadReportEvents returns the events a report or export of [from, to)
// needs: from acd.ReportLookback before from to acd.ReportLookahead after
// to, but not past now. The second result is where the read ended (the
// report's Now).
func ReadReportEvents(ctx context.Context, j EventReader, from, to, now time.Time) ([]acd.Event, time.Time, int, error) {
	end := to.Add(acd.ReportLookahead)
	if now.Before(end) {
		end = now
	}
	start := from.Add(-acd.ReportLookback)
	if !end.After(start) {
		return nil, end, 0, nil
	}
	evs, skipped, err := ReadACDEvents(ctx, j, start, end)
	return evs, end, skipped, err
}
