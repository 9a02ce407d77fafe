package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
