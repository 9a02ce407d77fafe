package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// campaignDaemonConfig is a daemon config whose campaigns dial the SIPp
// trunk on trunkPort.
func campaignDaemonConfig(t *testing.T, data string, httpPort, trunkPort int) string {
	t.Helper()
	base := 18000 + (os.Getpid()%25)*40
	cfg := fmt.Sprintf(`[sip]
port = %d
[http]
listen = "127.0.0.1:%d"
[rtp]
port_min = %d
port_max = %d
[data]
dir = %q
[calls]
drain_timeout = "1s"
[[trunk]]
name = "carrier"
address = "127.0.0.1:%d"
caller_id = "78652000000"
max_channels = 6
`, peertest.FreePort(t), httpPort, base, base+39, data, trunkPort)
	path := filepath.Join(t.TempDir(), "obzvon.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeSurveyList writes a list of n persons whose phones end in 0..9 in
// turn (the SIPp trunk's outcome: live, busy, no answer, machine).
func writeSurveyList(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Код МО;Наименование МО;Год\n")
	for i := range n {
		fmt.Fprintf(&b, "Иванова;Анна;Сергеевна;01.02.1960;26194821993%05d;8912345%02d%02d;260001;Поликлиника № 1;2026\n", i, i/10, i%10*11%100)
	}
	path := filepath.Join(t.TempDir(), "list.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func campaignStatusJSON(t *testing.T, jdir, id string) campaigns.Status {
	t.Helper()
	var st campaigns.Status
	out := mustRun(t, "campaign", "status", "--dir", jdir, "--json", id)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("campaign status --json = %q: %v", out, err)
	}
	return st
}

// kill -9 of the daemon in the middle of a campaign, then a restart: the
// calls cut off end once, as failed (interrupted by a restart), no contact
// is lost or left dialing, none is dialed twice at once, every attempt is
// counted once (contact, attempt and ledger agree) and the trunk saw one
// INVITE per attempt.
func TestCampaignSurvivesKill9(t *testing.T) {
	peertest.RequirePeer(t, "sipp")
	bin := buildBinary(t)
	data := t.TempDir()
	jdir := filepath.Join(data, "journal")
	trunkPort, httpPort := peertest.FreePort(t), peertest.FreePort(t)
	sipp := peertest.StartSIPpFor(t, 5*time.Minute, "uas_campaign.xml", "-p", strconv.Itoa(trunkPort),
		"-mp", strconv.Itoa(peertest.FreeMediaPort(t)), "-d", "1000", "-trace_msg")
	peertest.WaitUDPBound(t, trunkPort, 30*time.Second)
	cfg := campaignDaemonConfig(t, data, httpPort, trunkPort)
	d := startDaemon(t, bin, cfg, httpPort)

	settings := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(settings, []byte(`{"weekdays":"00:00-24:00","weekend":"00:00-24:00","ring_timeout":"3s","trunk":"carrier"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 40
	mustRun(t, "campaign", "create", "--dir", jdir, "--title", "Информирование", "--script", "informing", "--mode", "agentless",
		"--settings", settings, "inf")
	mustRun(t, "campaign", "load", "--dir", jdir, "inf", writeSurveyList(t, n))
	mustRun(t, "campaign", "start", "--dir", jdir, "inf")

	deadline := time.Now().Add(60 * time.Second)
	for campaignStatusJSON(t, jdir, "inf").Attempts[""] < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("no 4 calls in progress after 60 s: %+v", campaignStatusJSON(t, jdir, "inf").Attempts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := d.cmd.Process.Kill(); err != nil { // SIGKILL, by PID
		t.Fatal(err)
	}
	_ = d.wait(10 * time.Second)

	j, err := journal.Open(journal.DefaultOptions(jdir))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	open, _ := j.OpenAttempts(ctx, "inf")
	before, _ := j.Attempts(ctx, "inf", "", time.Time{}, time.Time{})
	j.Close()
	if len(open) < 4 {
		t.Fatalf("%d attempts open after kill -9, want the >= 4 calls that were up", len(open))
	}

	d = startDaemon(t, bin, cfg, httpPort)
	// On until the restarted campaign has dialed more and a person has
	// heard the whole IVR (reached: a live answer on the ledger).
	deadline = time.Now().Add(150 * time.Second)
	for st := campaignStatusJSON(t, jdir, "inf"); st.Attempts["reached"] < 1 || len(attemptsTotal(st)) <= len(before)+2; st = campaignStatusJSON(t, jdir, "inf") {
		if time.Now().After(deadline) {
			t.Fatalf("the campaign did not go on after the restart: %+v", st.Attempts)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.wait(30 * time.Second); err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, d.logs.String())
	}
	sipp.Stop()

	j, err = journal.Open(journal.DefaultOptions(jdir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, a := range open {
		got, err := j.Attempt(ctx, a.ID)
		if err != nil || got.Result != "failed" || !strings.Contains(got.Note, "restart") {
			t.Errorf("attempt %s cut off by kill -9: %+v, %v; want failed, interrupted by a restart", a.ID, got, err)
		}
	}
	attempts, _ := j.Attempts(ctx, "inf", "", time.Time{}, time.Time{})
	byContact := map[string][]journal.Attempt{}
	live := 0
	for _, a := range attempts {
		byContact[a.Contact] = append(byContact[a.Contact], a)
		if a.Result == "" {
			t.Errorf("attempt %s has no result after a clean stop", a.ID)
		}
		if r, _ := campaigns.ParseResult(a.Result); r.Live() {
			live++
		}
	}
	contacts := 0
	_ = j.Contacts(ctx, "inf", journal.ContactsFilter{}, func(c *journal.Contact) bool {
		contacts++
		if c.Status == journal.ContactDialing {
			t.Errorf("contact %s left dialing", c.ID)
		}
		as := byContact[c.ID]
		if len(c.Attempts) != len(as) {
			t.Errorf("contact %s lists %d attempts, the journal has %d", c.ID, len(c.Attempts), len(as))
		}
		slices.SortFunc(as, func(a, b journal.Attempt) int { return a.Started.Compare(b.Started) })
		for i := 1; i < len(as); i++ {
			if as[i].Started.Before(as[i-1].Ended) {
				t.Errorf("contact %s dialed at %v while its call of %v went on until %v", c.ID, as[i].Started, as[i-1].Started, as[i-1].Ended)
			}
		}
		return true
	})
	if contacts != n {
		t.Errorf("%d contacts after the crash, want %d", contacts, n)
	}
	ledger, _ := j.Ledger(ctx, "inf", "2000-01-01", "2100-01-01")
	counted := 0
	for _, l := range ledger {
		counted += l.Live
	}
	if counted != live {
		t.Errorf("ledger counts %d live answers, the attempts %d: each counted once", counted, live)
	}
	invites := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?s)INVITE sip:[^\n]*\n.*?Call-ID: ([^\r\n]+)`).FindAllStringSubmatch(sippMessages(t, sipp), -1) {
		invites[m[1]] = true
	}
	if len(invites) != len(attempts) {
		t.Errorf("the trunk got %d INVITEs, the journal has %d attempts: want one INVITE per attempt", len(invites), len(attempts))
	}
	t.Logf("%d attempts (%d open at kill -9), %d live, %d INVITEs", len(attempts), len(open), live, len(invites))
}

// attemptsTotal lists the attempts of a status, one entry per attempt.
func attemptsTotal(st campaigns.Status) []string {
	var out []string
	for r, n := range st.Attempts {
		for range n {
			out = append(out, r)
		}
	}
	return out
}

func sippMessages(t *testing.T, s *peertest.SIPp) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(s.Dir(), "*_messages.log"))
	var b strings.Builder
	for _, f := range m {
		d, _ := os.ReadFile(f)
		b.Write(d)
	}
	return b.String()
}
