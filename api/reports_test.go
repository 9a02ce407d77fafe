package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
)

// storeACDEvents writes events to the journal as the desk does.
func storeACDEvents(t *testing.T, j *journal.Journal, evs []acd.Event, raw ...string) {
	t.Helper()
	var batch []journal.Event
	for _, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, journal.Event{Time: e.Time, Data: b})
	}
	for _, r := range raw {
		batch = append(batch, journal.Event{Time: evs[0].Time, Data: []byte(r)})
	}
	if err := j.AppendEvents(context.Background(), dialer.ACDStream, batch); err != nil {
		t.Fatal(err)
	}
}

// TestQueueReportEndpoint: the report and the queue_log of the events in
// the journal, for an administrator; unreadable events are left out;
// bad queries get errors naming the parameter.
func TestQueueReportEndpoint(t *testing.T) {
	e := newEnv(t)
	admin := e.account("boss", journal.RoleAdmin)
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return day.Add(time.Duration(s) * time.Second) }
	storeACDEvents(t, e.j, []acd.Event{
		{Time: at(0), Kind: acd.EventEnter, Queue: "main", Call: "c1", Position: 1},
		{Time: at(3), Kind: acd.EventConnect, Queue: "main", Call: "c1", Agent: "anna", Wait: 3 * time.Second},
		{Time: at(63), Kind: acd.EventComplete, Queue: "main", Call: "c1", Agent: "anna", Reason: "caller", Wait: 3 * time.Second, Talk: time.Minute},
		{Time: at(100), Kind: acd.EventEnter, Queue: "main", Call: "c2", Position: 1},
		{Time: at(130), Kind: acd.EventAbandon, Queue: "main", Call: "c2", Position: 1, Wait: 30 * time.Second},
		{Time: at(140), Kind: acd.EventEnter, Queue: "main", Call: "c1/consult", Position: 1, Consult: true},
		{Time: at(4000), Kind: acd.EventEnter, Queue: "main", Call: "c3", Position: 1},
	}, `{"t":"2026-03-02T09:00:00Z","kind":"teleport"}`, `not json`)

	var rep acd.Report
	e.ok(req{method: "GET", token: admin,
		path: "/api/v1/reports/queues?from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00Z&interval=15m"}, http.StatusOK, &rep)
	if len(rep.Queues) != 1 || rep.Queues[0].Queue != "main" {
		t.Fatalf("report queues %+v", rep.Queues)
	}
	tot := rep.Queues[0].Total
	if tot.Offered != 2 || tot.Answered != 1 || tot.Abandoned != 1 || tot.AbandonedInSL != 0 || rep.IntervalSeconds != 900 {
		t.Errorf("report total %+v (interval %v s), want 2 offered, 1 answered, 1 abandoned", tot, rep.IntervalSeconds)
	}
	if !strings.Contains(e.logs.String(), "not readable") {
		t.Errorf("unreadable events not logged:\n%s", e.logs.String())
	}

	w := e.ok(req{method: "GET", token: admin, path: "/api/v1/reports/queue-log?from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00Z"}, http.StatusOK, nil)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("queue-log content type %q", ct)
	}
	want := "1772442000|c1|main|NONE|ENTERQUEUE|||1\n" +
		"1772442003|c1|main|Agent/anna|CONNECT|3||0\n" +
		"1772442063|c1|main|Agent/anna|COMPLETECALLER|3|60|1\n" +
		"1772442100|c2|main|NONE|ENTERQUEUE|||1\n" +
		"1772442130|c2|main|NONE|ABANDON|1|1|30\n"
	if got := w.Body.String(); got != want {
		t.Errorf("queue-log:\n%s\nwant\n%s", got, want)
	}

	for _, tc := range []struct {
		query string
		code  int
		want  string
	}{
		{"to=2026-03-02T10:00:00Z", 400, "from"},
		{"from=2026-03-02T09:00:00Z&to=yesterday", 400, "to"},
		{"from=2026-03-02T10:00:00Z&to=2026-03-02T09:00:00Z", 422, "not after"},
		{"from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00Z&interval=20m", 422, "15m, 30m or 60m"},
		{"from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00Z&interval=soon", 400, "interval"},
	} {
		w := e.do(req{method: "GET", token: admin, path: "/api/v1/reports/queues?" + tc.query})
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET reports/queues?%s = %d %s, want %d naming %q", tc.query, w.Code, w.Body, tc.code, tc.want)
		}
	}
}
