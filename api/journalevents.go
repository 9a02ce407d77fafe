package api

import (
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// GET /api/v1/journal/events?stream=acd[&from=RFC3339&to=RFC3339]: the
// events of one append-only stream of the journal (the ACD's agent and
// queue events) whose time is in [from, to), oldest first, one JSON
// document a line (application/x-ndjson) as their producer wrote them.
// For `obzvon journal events`, reports and benchmarks. A read error
// after the first line aborts the response, so a client never takes a
// cut stream for a whole one.

func (s *server) routesJournalEvents() {
	s.handle("GET /api/v1/journal/events", rRead, journal.ResourceJournal, s.journalEvents)
}

// streamNameRE is what a stream name may be (the journal keeps streams
// under e/<stream>/).
var streamNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// EventsUntil is the end of an open-ended period of events.
var EventsUntil = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// ParseEventsQuery reads stream, from and to of an events request: the
// stream is required, from defaults to the beginning and to to the end.
func ParseEventsQuery(stream, from, to string) (time.Time, time.Time, error) {
	if !streamNameRE.MatchString(stream) {
		return time.Time{}, time.Time{}, fmt.Errorf("stream %q: want a stream name such as acd (lowercase letters, digits, - and _)", stream)
	}
	var f, t time.Time
	var err error
	if from != "" {
		if f, err = time.Parse(time.RFC3339Nano, from); err != nil {
			return f, t, fmt.Errorf("from %q: want an RFC 3339 time such as 2026-11-27T00:00:00Z", from)
		}
	}
	t = EventsUntil
	if to != "" {
		if t, err = time.Parse(time.RFC3339Nano, to); err != nil {
			return f, t, fmt.Errorf("to %q: want an RFC 3339 time such as 2026-11-28T00:00:00Z", to)
		}
	}
	if !t.After(f) {
		return f, t, fmt.Errorf("to %s is not after from %s", to, from)
	}
	return f, t, nil
}

func (s *server) journalEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	stream := q.Get("stream")
	from, to, err := ParseEventsQuery(stream, q.Get("from"), q.Get("to"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// A day of a busy ACD is hundreds of thousands of lines: no write
	// deadline; the scan ends with the stream or when the client goes.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	n := 0
	err = s.j.Events(r.Context(), stream, from, to, func(e journal.Event) error {
		if n == 0 {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Cache-Control", "no-store")
		}
		n++
		if _, err := w.Write(e.Data); err != nil {
			return err
		}
		_, err := w.Write([]byte{'\n'})
		return err
	})
	switch {
	case err != nil && n == 0:
		s.fail(w, r, err)
	case err != nil:
		s.log.Error("journal events cut mid-stream", "stream", stream, "events", n, keyError, err, keyHint, "the client got an aborted stream: run it again; run obzvon journal check if it repeats")
		panic(http.ErrAbortHandler)
	case n == 0:
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
	s.log.Debug("journal events sent", keyBy, p.login, "stream", stream, "events", n)
}
