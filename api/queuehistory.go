package api

import (
	"net/http"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// QueueSample is one point of the wallboard's plot of the day.
type QueueSample struct {
	At time.Time `json:"t"`
	// ServiceLevel is the mean of the queues' service levels today (1
	// for a queue with no call counted yet); Waiting the callers waiting
	// in all queues.
	ServiceLevel float64 `json:"service_level"`
	Waiting      int     `json:"waiting"`
}

// QueueHistory gives today's points (oldest first).
type QueueHistory interface {
	Today() []QueueSample
}

// routesQueueHistory mounts GET /api/v1/queues/history: the course of
// service level and waiting callers since midnight, for the wallboard.
func (s *server) routesQueueHistory() {
	if s.queueDay == nil || s.desk == nil {
		return
	}
	s.handle("GET /api/v1/queues/history", rRead, journal.ResourceAgent, func(w http.ResponseWriter, r *http.Request, p *principal) {
		out := s.queueDay.Today()
		if out == nil {
			out = []QueueSample{}
		}
		writeJSON(w, http.StatusOK, out)
	})
}
