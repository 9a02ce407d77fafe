package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
)

// serveSocket serves h on DATA/obzvon.sock the way the daemon does.
func serveSocket(t *testing.T, data string, h http.Handler) {
	t.Helper()
	ln, err := net.Listen("unix", adminSocketPath(data))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
}

// TestJournalBackupThroughDaemon: while a daemon holds the journal, the
// backup command streams it over the admin socket.
func TestJournalBackupThroughDaemon(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "journal")
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c := &journal.CallRecord{Direction: "inbound", Arrived: time.Now()}
	if err := j.PutCall(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	serveSocket(t, data, api.NewHandler(api.Options{Admin: true, Calls: j, Journal: j}))

	file := filepath.Join(t.TempDir(), "j.bak")
	if out, err := runCLI(t, "journal", "backup", "--dir", dir, file); err != nil {
		t.Fatalf("journal backup while the daemon runs: %v\n%s", err, out)
	}
	target := filepath.Join(t.TempDir(), "restored")
	if out, err := runCLI(t, "journal", "restore", file, target); err != nil {
		t.Fatalf("journal restore: %v\n%s", err, out)
	}
	out, err := runCLI(t, "journal", "calls", "--dir", target, "--json")
	if err != nil || !strings.Contains(out, c.ID) {
		t.Fatalf("calls in the restored journal = %q, %v; want %s", out, err, c.ID)
	}
	// The daemon audited the backup.
	entries, err := j.Audit(context.Background(), journal.Actor{Login: "t", Role: journal.RoleAdmin}, journal.AuditQuery{Account: "socket"})
	if err != nil || len(entries) != 1 || entries[0].Op != "backup" {
		t.Errorf("audit of the socket = %+v, %v; want one backup entry", entries, err)
	}
}

// TestJournalBackupThroughDaemonTruncated: a stream that ends without the
// completion mark leaves no backup file and fails.
func TestJournalBackupThroughDaemonTruncated(t *testing.T) {
	data := t.TempDir()
	serveSocket(t, data, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", api.BackupTrailer)
		_, _ = w.Write([]byte("OBZVON-JOURNAL-BACKUP 1\npartial"))
	}))
	file := filepath.Join(t.TempDir(), "j.bak")
	out, err := runCLI(t, "journal", "backup", "--dir", filepath.Join(data, "journal"), file)
	if err == nil || !strings.Contains(err.Error(), "backup incomplete") {
		t.Fatalf("journal backup of a truncated stream = %v\n%s; want an incomplete-backup error", err, out)
	}
	for _, f := range []string{file, file + ".partial"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed backup (stat: %v)", f, err)
		}
	}
}
