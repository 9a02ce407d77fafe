package main

import (
	"encoding/json"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
)

// TestJournalCheckThroughDaemonAndAfterKill checks the journal's indexes
// through the running daemon's admin socket (with and without --repair),
// then kills the daemon with SIGKILL and checks the directory at once:
// Badger refuses to open a crashed journal read-only ("Log truncate
// required"), so the check must open it read-write. A registry search on
// the stopped daemon's directory must leave a durable audit entry under
// the local user's name.
func TestJournalCheckThroughDaemonAndAfterKill(t *testing.T) {
	d := startCLIDaemon(t)
	dir := filepath.Join(d.data, "journal")
	report := filepath.Join(t.TempDir(), "errors.csv") // not beside the list in testdata
	mustRun(t, "registry", "load", "--dir", dir, "--json", "--report", report, registryList)

	out, errs, code := runCmd("journal", "check", "--dir", dir)
	if code != 0 || !strings.Contains(errs, "agree") || out != "" {
		t.Fatalf("journal check via the daemon = exit %d, %q, %q; want 0 and agreement", code, out, errs)
	}
	var res api.CheckResult
	if err := json.Unmarshal([]byte(mustRun(t, "journal", "check", "--dir", dir, "--repair", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Repaired || len(res.Problems) != 0 || len(res.Left) != 0 {
		t.Errorf("journal check --repair via the daemon = %+v, want a repair that found nothing", res)
	}
	// The daemon's stderr reaches d.logs through a pipe: wait for the line
	// rather than read it once (it came late under load).
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(d.logs.String(), "journal indexes repaired"); {
		if time.Now().After(deadline) {
			t.Errorf("the daemon did not log the repair: the check did not go through it\n%s", d.logs)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	// SIGKILL right after writes: the memtable's log is not truncated.
	mustRun(t, "registry", "load", "--dir", dir, "--report", report, registryList)
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	out, errs, code = runCmd("journal", "check", "--dir", dir)
	if code != 0 || !strings.Contains(errs, "agree") {
		t.Fatalf("journal check right after SIGKILL = exit %d, %q, %q; want 0 and agreement", code, out, errs)
	}

	// A read of personal data without a daemon is audited durably.
	if out := mustRun(t, "registry", "search", "--dir", dir, "--surname", "а", "--json"); !strings.Contains(out, "enp") {
		t.Fatalf("registry search on the directory = %q, want persons", out)
	}
	u, _ := user.Current()
	o := journal.DefaultOptions(dir)
	j, err := journal.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	es, err := j.Audit(t.Context(), journal.Actor{Login: "test", Role: journal.RoleAdmin}, journal.AuditQuery{Account: "cli:" + u.Username})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range es {
		if e.Op == "search" && e.Subject == "registry:" {
			found = true
		}
	}
	if !found {
		t.Errorf("audit of cli:%s = %+v, want the registry search made on the stopped daemon's directory", u.Username, es)
	}
}
