package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
)

// A campaign export that fails (unknown campaign, bad format, the daemon
// refusing or cut off mid-file) leaves the file already under FILE as it
// was and no other file behind; one that succeeds replaces it.
func TestCampaignExportKeepsFileOnFailure(t *testing.T) {
	data := t.TempDir()
	jdir := filepath.Join(data, "journal")
	mustRun(t, "campaign", "create", "--dir", jdir, "--title", "Диспансеризация", "--script", "screening", "disp")
	mustRun(t, "campaign", "load", "--dir", jdir, "disp", writeSurveyList(t, 3))

	out := t.TempDir()
	const old = "last week's results"
	results := filepath.Join(out, "results.xlsx")
	pdf := filepath.Join(out, "results.pdf")
	for _, f := range []string{results, pdf} {
		if err := os.WriteFile(f, []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept := func(what string) {
		t.Helper()
		for _, f := range []string{results, pdf} {
			if b, err := os.ReadFile(f); err != nil || string(b) != old {
				t.Errorf("%s: %s = %q, %v; want it as it was", what, filepath.Base(f), b, err)
			}
		}
		if ents, _ := os.ReadDir(out); len(ents) != 2 {
			t.Errorf("%s: %d files in the directory, want the 2 there before", what, len(ents))
		}
	}
	fails := func(want string, args ...string) {
		t.Helper()
		_, errs, code := runCmd(args...)
		if code != exitFailure || !strings.Contains(errs, want) {
			t.Errorf("obzvon %s: exit %d, %q; want exit %d naming %q", strings.Join(args, " "), code, errs, exitFailure, want)
		}
		kept(strings.Join(args[2:], " "))
	}

	// The journal opened by the CLI.
	fails("campaign nope: not found", "campaign", "export", "--dir", jdir, "nope", results)
	fails(`format "pdf"`, "campaign", "export", "--dir", jdir, "disp", pdf)

	// The daemon: an error answer, and a file cut off in the middle.
	sock := t.TempDir()
	serveSocket(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/nope/") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"campaign nope: not found"}`))
			return
		}
		w.Header().Set("Content-Length", "100000")
		_, _ = w.Write([]byte("PK\x03\x04 half a workbook"))
	}))
	viaSock := filepath.Join(sock, "journal")
	fails("campaign nope: not found", "campaign", "export", "--dir", viaSock, "nope", results)
	fails("the file from the daemon broke off", "campaign", "export", "--dir", viaSock, "disp", results)

	mustRun(t, "campaign", "export", "--dir", jdir, "disp", results)
	if b, err := os.ReadFile(results); err != nil || !strings.HasPrefix(string(b), "PK") {
		t.Errorf("results.xlsx after a good export = %.20q, %v; want a workbook", b, err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 2 {
		t.Errorf("%d files in the directory after a good export, want 2", len(ents))
	}
}

// The campaign commands' errors about their input say what is wrong and
// nothing else: a missing file by its name (no Go operation names), and
// a refused load without the blank line that ends a load's progress.
func TestCampaignInputErrors(t *testing.T) {
	jdir := filepath.Join(t.TempDir(), "journal")
	mustRun(t, "campaign", "create", "--dir", jdir, "--title", "Диспансеризация", "--script", "screening", "disp")
	missing := filepath.Join(t.TempDir(), "missing")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"load", "disp", missing + ".csv"}, missing + ".csv: no such file or directory"},
		{[]string{"load", "nope", writeSurveyList(t, 1)}, "campaign nope: not found"},
		{[]string{"create", "x", "--title", "X", "--script-file", missing + ".toml"}, missing + ".toml: no such file or directory"},
		{[]string{"create", "x", "--title", "X", "--script", "screening", "--settings", missing + ".json"}, missing + ".json: no such file or directory"},
		{[]string{"dnc", "--file", missing + ".csv"}, missing + ".csv: no such file or directory"},
	} {
		args := append([]string{"campaign", c.args[0], "--dir", jdir}, c.args[1:]...)
		out, errs, code := runCmd(args...)
		if code != exitFailure || errs != c.want || out != "" {
			t.Errorf("obzvon %s: exit %d, stdout %q, stderr %q; want exit %d and only %q", strings.Join(args, " "), code, out, errs, exitFailure, c.want)
		}
	}
}

// An unknown campaign is named once ("campaign nope: not found", not
// "update campaign nope: campaign nope: not found"), on the journal and
// through the daemon.
func TestCampaignNotFoundSaidOnce(t *testing.T) {
	data := t.TempDir()
	jdir := filepath.Join(data, "journal")
	mustRun(t, "campaign", "create", "--dir", jdir, "--title", "Д", "--script", "screening", "disp")
	check := func(via string) {
		t.Helper()
		for _, verb := range []string{"start", "pause", "stop", "status", "export", "why", "load", "callbacks"} {
			args := []string{"campaign", verb, "--dir", jdir, "nope"}
			switch verb {
			case "export":
				args = append(args, filepath.Join(t.TempDir(), "r.csv"))
			case "why":
				args = append(args, "2619482199300000")
			case "load":
				args = append(args, writeSurveyList(t, 1))
			}
			if _, errs, code := runCmd(args...); code != exitFailure || errs != "campaign nope: not found" {
				t.Errorf("%s: obzvon campaign %s nope: exit %d, %q; want exactly \"campaign nope: not found\"", via, verb, code, errs)
			}
		}
	}
	check("journal")
	j, err := journal.Open(journal.DefaultOptions(jdir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	serveSocket(t, data, api.NewHandler(api.Options{Admin: true, Journal: j}))
	check("daemon")
}

// campaign why shows times in the person's zone and names it ("09:00:00
// MSK"), whatever the zone of the machine it runs on.
func TestCampaignWhyNamesTheZone(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("EST", -5*3600)
	t.Cleanup(func() { time.Local = local })
	jdir := filepath.Join(t.TempDir(), "journal")
	mustRun(t, "campaign", "create", "--dir", jdir, "--title", "Д", "--script", "screening", "disp")
	mustRun(t, "campaign", "load", "--dir", jdir, "disp", writeSurveyList(t, 1))
	mustRun(t, "campaign", "dnc", "--dir", jdir, "89123450000")
	j, err := journal.Open(journal.DefaultOptions(jdir))
	if err != nil {
		t.Fatal(err)
	}
	d, err := j.DNC(context.Background(), "+79123450000")
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "campaign", "why", "--dir", jdir, "disp", "2619482199300000")
	msk := time.FixedZone("MSK", 3*3600)
	want := "  DNC: +79123450000 since " + d.Added.In(msk).Format("2006-01-02 15:04:05") + " MSK (api)\n"
	if !strings.Contains(out, "zone MSK (from mo_code)\n") || !strings.Contains(out, want) || strings.Contains(out, " EST") {
		t.Errorf("campaign why:\n%s\nwant the zone named and %q", out, want)
	}
}

// campaign export says what it wrote: the file, the campaign, how many
// persons, the format.
func TestCampaignExportSaysWhatItWrote(t *testing.T) {
	jdir := filepath.Join(t.TempDir(), "journal")
	mustRun(t, "campaign", "create", "--dir", jdir, "--title", "Д", "--script", "screening", "disp")
	mustRun(t, "campaign", "load", "--dir", jdir, "disp", writeSurveyList(t, 3))
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"r.xlsx"}, "r.xlsx: campaign disp, 3 contacts with their results (XLSX)\n"},
		{[]string{"r.csv", "--cp1251", "--mo", "260001"}, "r.csv: campaign disp, 3 contacts with their results (CSV, Windows-1251, MO 260001)\n"},
		{[]string{"r0.csv", "--mo", "999999"}, "r0.csv: campaign disp, 0 contacts with their results (CSV, UTF-8, MO 999999)\n"},
	} {
		name := filepath.Join(dir, c.args[0])
		args := append([]string{"campaign", "export", "--dir", jdir, "disp", name}, c.args[1:]...)
		if out := mustRun(t, args...); out != filepath.Join(dir, c.want) {
			t.Errorf("obzvon %s = %q, want %q", strings.Join(args, " "), out, filepath.Join(dir, c.want))
		}
	}
}

// Counts read as English: "1 row", "1 phone", not "1 rows", "1 phones".
func TestCampaignCountsInEnglish(t *testing.T) {
	jdir := filepath.Join(t.TempDir(), "journal")
	mustRun(t, "campaign", "create", "--dir", jdir, "--title", "Д", "--script", "screening", "disp")
	if out := mustRun(t, "campaign", "load", "--dir", jdir, "disp", writeSurveyList(t, 1)); !strings.Contains(out, ": 1 row, 0 merged") {
		t.Errorf("load of one row = %q", out)
	}
	if out := mustRun(t, "campaign", "dnc", "--dir", jdir, "89123450000"); out != "do-not-call: 1 phone, 1 new on the list\n" {
		t.Errorf("dnc of one phone = %q", out)
	}
	if out := mustRun(t, "campaign", "dnc", "--dir", jdir, "--list"); !strings.HasSuffix(out, "\n1 phone on the do-not-call list\n") {
		t.Errorf("dnc --list of one phone = %q", out)
	}
}

// `obzvon help campaign dnc` shows the help of campaign dnc (it showed
// that of campaign), and a subcommand's unknown flag is a usage error
// (exit 2) with a hint naming the whole command, not its help page.
func TestSubcommandHelpAndUsageErrors(t *testing.T) {
	out, errs, code := runCmd("help", "campaign", "dnc")
	if code != 0 || !strings.Contains(out, "obzvon campaign dnc - the do-not-call list") || !strings.Contains(out, "--remove PHONE") {
		t.Errorf("help campaign dnc: exit %d, %q %q", code, out, errs)
	}
	out, errs, code = runCmd("campaign", "dnc", "--bogus")
	if code != exitUsage || out != "" || errs != "flag provided but not defined: -bogus\nTry: obzvon campaign dnc --help" {
		t.Errorf("campaign dnc --bogus: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
