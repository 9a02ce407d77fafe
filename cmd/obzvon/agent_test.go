package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/journal"
)

func TestAgentCommands(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "agent", "add", "--dir", dir, "--json", "--name", "Иванова Анна", "--role", "operator_l1", "--role", "rep_l1",
		"--org", "ТФОМС", "--ext", "1021", "ivanova")
	if err != nil {
		t.Fatalf("agent add: %v\n%s", err, out)
	}
	var added struct{ Login, Password, SIP_Secret string }
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.Password == "" || added.SIP_Secret == "" {
		t.Fatalf("agent add --json = %q (%v), want generated password and SIP secret", out, err)
	}
	out, err = runCLI(t, "agent", "list", "--dir", dir)
	if err != nil || !strings.Contains(out, "ivanova") || !strings.Contains(out, "operator_l1,rep_l1") || !strings.Contains(out, "active") {
		t.Fatalf("agent list = %q, %v", out, err)
	}
	if _, err := runCLI(t, "agent", "add", "--dir", dir, "--name", "X", "--role", "boss", "x"); err == nil || !strings.Contains(err.Error(), `--role "boss"`) {
		t.Fatalf("agent add --role boss = %v, want a usage error", err)
	}
	if _, err := runCLI(t, "agent", "add", "--dir", dir, "--name", "X", "--role", "admin", "--ext", "1021", "other"); err == nil || !strings.Contains(err.Error(), "extension 1021") {
		t.Fatalf("agent add with a taken extension = %v", err)
	}
	out, err = runCLI(t, "agent", "passwd", "--dir", dir, "ivanova")
	if err != nil || len(strings.TrimSpace(out)) != 14 {
		t.Fatalf("agent passwd = %q, %v, want a new 14-char password", out, err)
	}
	newPassword := strings.TrimSpace(out)
	if _, err := runCLI(t, "agent", "disable", "--dir", dir, "ivanova"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "agent", "disable", "--dir", dir, "ghost"); err == nil || !strings.Contains(err.Error(), `no account "ghost"`) {
		t.Fatalf("agent disable ghost = %v", err)
	}

	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	if _, err := j.VerifyPassword(ctx, "ivanova", added.Password); err == nil {
		t.Error("old password still works after agent passwd")
	}
	if _, err := j.VerifyPassword(ctx, "ivanova", newPassword); !errors.Is(err, journal.ErrDisabled) {
		t.Errorf("VerifyPassword(new, disabled) = %v, want ErrDisabled", err)
	}
	a, _ := j.Account(ctx, "ivanova")
	if want, _ := journal.DigestHA1("ivanova", "obzvon", added.SIP_Secret); a.SIPHA1MD5 != want {
		t.Errorf("stored HA1 %s, want H(ivanova:obzvon:printed secret) %s", a.SIPHA1MD5, want)
	}
}

func TestJournalAudit(t *testing.T) {
	dir := t.TempDir()
	if _, err := runCLI(t, "agent", "add", "--dir", dir, "--name", "Иванова Анна", "--role", "operator_l1", "ivanova"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "agent", "disable", "--dir", dir, "ivanova"); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "journal", "audit", "--dir", dir, "--subject", "account:ivanova", "--json")
	var es []journal.AuditEntry
	if err != nil || json.Unmarshal([]byte(out), &es) != nil || len(es) != 2 || es[0].Op != "create" || es[1].Op != "disable" || !strings.HasPrefix(es[0].Account, "cli:") {
		t.Fatalf("journal audit = %q, %v; want create and disable by cli:<user>", out, err)
	}
	if _, err := runCLI(t, "journal", "audit", "--dir", dir, "--account", "a", "--person", "b"); err == nil {
		t.Fatal("journal audit with two selectors succeeded")
	}
}
