package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
)

// `obzvon journal events` prints a stream's events in [--from, --to) as
// JSON lines, the same through a running daemon's admin socket and from
// the directory; a bad stream name or time is a usage error.
func TestJournalEvents(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "journal")
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var evs []journal.Event
	for i, k := range []string{"enter", "offer", "connect", "complete"} {
		evs = append(evs, journal.Event{Time: base.Add(time.Duration(i) * time.Minute), Data: []byte(`{"kind":"` + k + `"}`)})
	}
	if err := j.AppendEvents(context.Background(), "acd", evs); err != nil {
		t.Fatal(err)
	}
	want := "{\"kind\":\"offer\"}\n{\"kind\":\"connect\"}\n"
	args := []string{"journal", "events", "--dir", dir, "--from", base.Add(time.Minute).Format(time.RFC3339), "--to", base.Add(3 * time.Minute).Format(time.RFC3339)}

	// A daemon holds the journal: the command asks it over the socket.
	sock := adminSocketPath(data)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.NewHandler(api.Options{Admin: true, Journal: j}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	out, err := runCLI(t, args...)
	if err != nil || out != want {
		t.Errorf("journal events via the daemon = %q, %v; want %q", out, err, want)
	}
	_ = srv.Close()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// No daemon: it reads the directory.
	out, err = runCLI(t, args...)
	if err != nil || out != want {
		t.Errorf("journal events from the directory = %q, %v; want %q", out, err, want)
	}
	out, err = runCLI(t, "journal", "events", "--dir", dir)
	if err != nil || strings.Count(out, "\n") != 4 {
		t.Errorf("journal events (all) = %q, %v; want 4 lines", out, err)
	}
	if out, err := runCLI(t, "journal", "events", "--dir", dir, "--stream", "ACD/x"); err == nil || !strings.Contains(err.Error(), `--stream "ACD/x"`) {
		t.Errorf("a bad stream name = %q, %v; want an error naming --stream", out, err)
	}
	if out, err := runCLI(t, "journal", "events", "--dir", dir, "--from", "yesterday"); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("a bad --from = %q, %v; want an error naming --from", out, err)
	}
}
