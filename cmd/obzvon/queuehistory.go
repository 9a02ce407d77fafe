package main

import (
	"math"
	"sync"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/api"
)

// queueHistoryEvery is the longest gap between two points of the day's
// plot while nothing changes; a change is a point at once.
const queueHistoryEvery = time.Minute

// queueHistoryMax bounds the day's points (a busy day changes often).
const queueHistoryMax = 4 * 24 * 60

// queueHistory is today's course of the queues as the wallboard plots
// it: the mean service level of the queues (1 when none counts yet) and
// the callers waiting in all of them. It starts afresh at local midnight.
type queueHistory struct {
	mu  sync.Mutex
	day string
	pts []api.QueueSample
}

// record adds a point for qs at now when the figures changed or a minute
// went by since the last point.
func (h *queueHistory) record(now time.Time, qs []acd.QueueView) {
	if len(qs) == 0 {
		return
	}
	p := api.QueueSample{At: now.UTC()}
	for _, q := range qs {
		sl, ok := q.Today.ServiceLevel()
		if !ok || math.IsNaN(sl) {
			sl = 1
		}
		p.ServiceLevel += sl
		p.Waiting += q.Waiting
	}
	p.ServiceLevel /= float64(len(qs))
	h.mu.Lock()
	defer h.mu.Unlock()
	if day := now.Local().Format(time.DateOnly); day != h.day {
		h.day, h.pts = day, h.pts[:0]
	}
	if n := len(h.pts); n > 0 {
		last := h.pts[n-1]
		if last.ServiceLevel == p.ServiceLevel && last.Waiting == p.Waiting && now.Sub(last.At) < queueHistoryEvery {
			return
		}
	}
	if len(h.pts) >= queueHistoryMax {
		h.pts = append(h.pts[:0], h.pts[1:]...)
	}
	h.pts = append(h.pts, p)
}

// Today implements api.QueueHistory.
func (h *queueHistory) Today() []api.QueueSample {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.day != time.Now().Local().Format(time.DateOnly) {
		return nil
	}
	return append([]api.QueueSample(nil), h.pts...)
}
