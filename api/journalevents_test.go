package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// The events of a stream come back in time order within [from, to), one
// JSON document a line; a bad stream or time is a 400 naming it, and only
// roles that may read the journal get them.
func TestJournalEvents(t *testing.T) {
	e := newEnv(t)
	admin := e.account("boss", journal.RoleAdmin)
	op := e.account("ivanova", journal.RoleOperatorL1)
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	// Appended out of order and in two streams.
	for _, ev := range []struct {
		stream string
		at     time.Duration
		data   string
	}{
		{"acd", 2 * time.Second, `{"kind":"connect"}`},
		{"acd", time.Second, `{"kind":"enter"}`},
		{"acd", time.Hour, `{"kind":"complete"}`},
		{"other", 1500 * time.Millisecond, `{"kind":"elsewhere"}`},
	} {
		if err := e.j.AppendEvents(ctx, ev.stream, []journal.Event{{Time: base.Add(ev.at), Data: []byte(ev.data)}}); err != nil {
			t.Fatal(err)
		}
	}
	w := e.ok(req{method: "GET", path: "/api/v1/journal/events?stream=acd&from=2026-11-27T10:00:00Z&to=2026-11-27T10:30:00Z", token: admin}, 200, nil)
	if got, want := w.Body.String(), "{\"kind\":\"enter\"}\n{\"kind\":\"connect\"}\n"; got != want {
		t.Errorf("events = %q, want %q", got, want)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	w = e.ok(req{method: "GET", path: "/api/v1/journal/events?stream=acd", token: admin}, 200, nil)
	if n := strings.Count(w.Body.String(), "\n"); n != 3 {
		t.Errorf("the whole stream has %d lines, want 3: %q", n, w.Body)
	}
	w = e.ok(req{method: "GET", path: "/api/v1/journal/events?stream=none", token: admin}, 200, nil)
	if w.Body.Len() != 0 {
		t.Errorf("an empty stream = %q", w.Body)
	}
	for _, tc := range []struct{ query, want string }{
		{"", `stream \"\"`},
		{"stream=../acd", "stream"},
		{"stream=acd&from=today", `from \"today\"`},
		{"stream=acd&to=2026-11-27", `to \"2026-11-27\"`},
		{"stream=acd&from=2026-11-28T00:00:00Z&to=2026-11-27T00:00:00Z", "not after"},
	} {
		w := e.do(req{method: "GET", path: "/api/v1/journal/events?" + tc.query, token: admin})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("?%s = %d %s, want 400 naming %s", tc.query, w.Code, w.Body, tc.want)
		}
	}
	if w := e.do(req{method: "GET", path: "/api/v1/journal/events?stream=acd", token: op}); w.Code != http.StatusForbidden {
		t.Errorf("an operator reading the journal's events = %d, want 403", w.Code)
	}
}
