package main

import (
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
)

// The day's plot: a point when the figures change, one a minute while
// they do not, a fresh start at local midnight.
func TestQueueHistory(t *testing.T) {
	var h queueHistory
	day := time.Date(2026, 12, 7, 10, 0, 0, 0, time.Local)
	q := func(waiting int) []acd.QueueView { return []acd.QueueView{{Name: "main", Waiting: waiting}} }
	h.record(day, q(0))
	h.record(day.Add(time.Second), q(0)) // unchanged: no point
	h.record(day.Add(2*time.Second), q(2))
	h.record(day.Add(3*time.Second), q(2))
	h.record(day.Add(2*time.Second+time.Minute), q(2)) // a minute later: a point
	if n := len(h.pts); n != 3 {
		t.Fatalf("%d points %+v, want 3 (start, change, a minute on)", n, h.pts)
	}
	if h.pts[1].Waiting != 2 || h.pts[0].ServiceLevel != 1 {
		t.Errorf("points %+v: want waiting 2 at the change and service level 1 before any call counted", h.pts)
	}
	h.record(day.Add(24*time.Hour), q(1)) // the next day
	if len(h.pts) != 1 || h.pts[0].Waiting != 1 {
		t.Errorf("after midnight %+v, want only the new day's point", h.pts)
	}
	h.record(day, nil) // no queues: nothing to plot
	if len(h.pts) != 1 {
		t.Errorf("a point without queues was recorded: %+v", h.pts)
	}
}
