package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
)

// reportJournal is a journal directory with a morning's ACD events (the
// daemon stopped), and a configuration with the queues' thresholds.
func reportJournal(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "journal")
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return day.Add(time.Duration(s) * time.Second) }
	sec := func(s int) time.Duration { return time.Duration(s) * time.Second }
	evs := []acd.Event{
		{Time: at(-60), Kind: acd.EventAgentState, Agent: "anna", Prev: acd.StateLoggedOut, State: acd.StateReady, Queues: []string{"main"}},
		{Time: at(0), Kind: acd.EventEnter, Queue: "main", Call: "c1", Position: 1},
		{Time: at(0), Kind: acd.EventAgentState, Agent: "anna", Prev: acd.StateReady, State: acd.StateReserved},
		{Time: at(0), Kind: acd.EventOffer, Queue: "main", Call: "c1", Agent: "anna"},
		{Time: at(2), Kind: acd.EventAgentState, Agent: "anna", Prev: acd.StateReserved, State: acd.StateTalking},
		{Time: at(2), Kind: acd.EventConnect, Queue: "main", Call: "c1", Agent: "anna", Wait: sec(2), Position: 1},
		{Time: at(62), Kind: acd.EventComplete, Queue: "main", Call: "c1", Agent: "anna", Reason: "caller", Wait: sec(2), Talk: sec(60)},
		{Time: at(62), Kind: acd.EventAgentState, Agent: "anna", Prev: acd.StateTalking, State: acd.StateWrapUp},
		{Time: at(77), Kind: acd.EventAgentState, Agent: "anna", Prev: acd.StateWrapUp, State: acd.StatePaused, Reason: "обед"},
		{Time: at(900), Kind: acd.EventEnter, Queue: "main", Call: "c2", Position: 1},
		{Time: at(906), Kind: acd.EventTimeout, Queue: "main", Call: "c2", Position: 1, Wait: sec(6)},
		{Time: at(906), Kind: acd.EventEnter, Queue: "second", Call: "c2", Position: 1},
		{Time: at(918), Kind: acd.EventAbandon, Queue: "second", Call: "c2", Position: 1, Wait: sec(12)},
		{Time: at(1800), Kind: acd.EventAgentState, Agent: "anna", Prev: acd.StatePaused, State: acd.StateLoggedOut, Reason: "finish"},
	}
	var batch []journal.Event
	for _, e := range evs {
		b, _ := json.Marshal(e)
		batch = append(batch, journal.Event{Time: e.Time, Data: b})
	}
	if err := j.AppendEvents(context.Background(), dialer.ACDStream, batch); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(t.TempDir(), "obzvon.toml")
	if err := os.WriteFile(cfg, []byte(`[[queue]]
name = "main"
service_level = "80/20"
max_wait = "6s"
overflow = "queue:second"

[[queue]]
name = "second"
service_level = "90/10"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

// TestReportCommandsWithoutDaemon: with the daemon stopped, the reports
// read the journal directory and the configuration's thresholds; --json
// is a stable interface (go test -update rewrites the golden file).
func TestReportCommandsWithoutDaemon(t *testing.T) {
	// The intervals follow the local clock: fix it for the golden file.
	local := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = local })

	dir, cfg := reportJournal(t)
	args := []string{"--dir", dir, "--config", cfg, "--from", "2026-03-02T09:00:00Z", "--to", "2026-03-02T10:00:00Z"}
	out := mustRun(t, append([]string{"report", "queues", "--interval", "15m", "--json"}, args...)...)
	golden := filepath.Join("testdata", "report-queues.golden")
	if updateGolden() {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if out != string(want) {
		t.Errorf("report queues --json differs from %s:\n%s", golden, out)
	}
	var rep acd.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Queues) != 2 || rep.Queues[1].Queue != "second" || rep.Queues[1].SLThresholdSeconds != 10 {
		t.Errorf("queues %+v: want main and second with the configured 10 s threshold", rep.Queues)
	}

	table := mustRun(t, append([]string{"report", "queues"}, args...)...)
	for _, w := range []string{"QUEUE", "main", "2026-03-02 09:00–10:00", "total (SL 20s)", "second", "100.0%"} {
		if !strings.Contains(table, w) {
			t.Errorf("report queues table lacks %q:\n%s", w, table)
		}
	}

	log := mustRun(t, append([]string{"report", "queue-log"}, args...)...)
	for _, w := range []string{"|c1|main|Agent/anna|CONNECT|2||2\n", "|c2|main|NONE|EXITWITHTIMEOUT|1|1|6\n",
		"|c2|second|NONE|ABANDON|1|1|12\n", "|NONE|NONE|Agent/anna|AGENTLOGOFF|SIP/anna|1860\n"} {
		if !strings.Contains(log, w) {
			t.Errorf("queue-log lacks %q:\n%s", w, log)
		}
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report", "queues", "--interval", "20m"}, exitUsage, "want 15m, 30m or 60m"},
		{[]string{"report", "queues", "--from", "2026-03-02", "--to", "2026-03-01"}, exitUsage, "not after"},
		{[]string{"report", "queue-log", "--from", "yesterday"}, exitUsage, "--from"},
		{[]string{"report", "queues", "--config", filepath.Join(t.TempDir(), "none.toml")}, exitFailure, "none.toml"},
	} {
		full := append(append([]string{}, tc.args...), "--dir", dir)
		if !strings.Contains(strings.Join(tc.args, " "), "--config") {
			full = append(full, "--config", cfg)
		}
		_, errs, code := runCmd(full...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("obzvon %s: exit %d %q, want %d with %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.want)
		}
	}
}
