package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// campaign dnc --list, --export and --remove, on the journal the CLI
// opens and through a daemon's admin socket, print the same: the list
// with who put each phone there, when (named zone) and why; the export
// says what it wrote; a removal needs a reason, names the entry removed
// and the contact whose "do not call" card put the phone there (pending
// again). Bad input is refused naming what is wrong and changes nothing.
func TestCampaignDNCListExportRemove(t *testing.T) {
	outputs := map[string][]string{}
	for _, via := range []string{"journal", "daemon"} {
		t.Run(via, func(t *testing.T) {
			data := t.TempDir()
			jdir := filepath.Join(data, "journal")
			list := writeSurveyList(t, 3) // phones 89123450000, 89123450011, 89123450022
			mustRun(t, "campaign", "create", "--dir", jdir, "--title", "Диспансеризация", "--script", "screening", "disp")
			mustRun(t, "campaign", "load", "--dir", jdir, "disp", list)
			j, err := journal.Open(journal.DefaultOptions(jdir))
			if err != nil {
				t.Fatal(err)
			}
			op := journal.Actor{Login: "ivanova", Role: journal.RoleOperatorL1}
			if _, err := campaigns.SaveCard(context.Background(), j, op, "disp", "2619482199300000", campaigns.CardRequest{Result: "dnc"}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if via == "daemon" {
				serveSocket(t, data, api.NewHandler(api.Options{Admin: true, Journal: j}))
				t.Cleanup(func() { j.Close() })
			} else if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			run := func(args ...string) (string, string, int) {
				return runCmd(append([]string{"campaign", "dnc", "--dir", jdir}, args...)...)
			}
			if out := mustRun(t, "campaign", "dnc", "--dir", jdir, "89123450011", "--reason", "просил не звонить"); out != "do-not-call: 1 phone, 1 new on the list\n" {
				t.Errorf("dnc PHONE = %q", out)
			}

			out, _, _ := run("--list")
			row := regexp.MustCompile(`(?m)^\+79123450011 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]{3} +\S+ +api +- +просил не звонить$`)
			if !strings.HasPrefix(out, "PHONE         ADDED  ") || !row.MatchString(out) ||
				!regexp.MustCompile(`(?m)^\+79123450000 .* ivanova +result +disp +-$`).MatchString(out) ||
				!strings.HasSuffix(out, "\n2 phones on the do-not-call list\n") {
				t.Errorf("--list:\n%s", out)
			}
			var entries []journal.DNCEntry
			out, _, _ = run("--list", "--phone", "8 (912) 345-00-11", "--json")
			if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 1 || entries[0].Phone != "+79123450011" || entries[0].Reason != "просил не звонить" {
				t.Errorf("--list --phone --json = %q, %v", out, err)
			}
			if out, _, code := run("--list", "--phone", "89123459999"); code != 0 || out != "89123459999 is not on the do-not-call list\n" {
				t.Errorf("--list --phone of a phone not on it: exit %d, %q", code, out)
			}
			csvFile := filepath.Join(t.TempDir(), "dnc.csv")
			if out, errs, code := run("--export", csvFile); code != 0 || out != csvFile+": 2 phones of the do-not-call list (CSV, UTF-8)\n" {
				t.Errorf("--export: exit %d, %q %q", code, out, errs)
			}
			if b, err := os.ReadFile(csvFile); err != nil || !strings.HasPrefix(string(b), "\ufeffТелефон;Добавлен;Кем;Источник;Кампания;Причина\r\n+79123450000;") {
				t.Errorf("exported file = %q, %v", b, err)
			}

			// Refused, naming the problem; the list stays.
			for _, c := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"--remove", "89123450011"}, exitUsage, "campaign dnc --remove needs --reason: why the phone may be called again (kept in the audit log)\nTry: "},
				{[]string{"--remove", "8912", "--reason", "x"}, exitFailure, `bad phone number: "8912" is not a Russian number (+7 and 10 digits)`},
				{[]string{"--remove", "89123459999", "--reason", "x"}, exitFailure, "+79123459999 is not on the do-not-call list"},
				{[]string{"--list", "--remove", "89123450011"}, exitUsage, "give one of --list, --export and --remove"},
				{[]string{"--remove", "89123450011", "89123450022", "--reason", "x"}, exitUsage, "not with --list, --export or --remove"},
				{[]string{"--phone", "89123450011"}, exitUsage, "--phone selects what --list or --export show"},
				{[]string{"--list", "--phone", "12345"}, exitFailure, `bad phone number: "12345"`},
			} {
				out, errs, code := run(c.args...)
				if code != c.code || !strings.Contains(errs, c.want) || out != "" {
					t.Errorf("dnc %s: exit %d, stdout %q, stderr %q; want exit %d, %q", strings.Join(c.args, " "), code, out, errs, c.code, c.want)
				}
				outputs[via] = append(outputs[via], errs)
			}
			if out, _, _ := run("--list"); !strings.HasSuffix(out, "\n2 phones on the do-not-call list\n") {
				t.Errorf("the list after refused removals:\n%s", out)
			}

			out, errs, code := run("--remove", "8 912 345-00-00", "--reason", "гражданин попросил звонить")
			head := regexp.MustCompile(`^do-not-call: \+79123450000 removed \(on the list since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]{3}, by ivanova, source result\)\n` +
				`1 contact may be called on it again:\n  CAMPAIGN +CONTACT +STATUS +NEXT\n  disp +2619482199300000 +pending +`)
			if code != 0 || !head.MatchString(out) {
				t.Errorf("--remove: exit %d, %q %q", code, out, errs)
			}
			out, errs, code = run("--remove", "89123450011", "--reason", "добавлен по ошибке", "--json")
			var rm campaigns.DNCRemoval
			if err := json.Unmarshal([]byte(out), &rm); code != 0 || err != nil || rm.Removed.Reason != "просил не звонить" || rm.Reason != "добавлен по ошибке" || len(rm.Released) != 0 {
				t.Errorf("--remove --json: exit %d, %q %q", code, out, errs)
			}
			if out, _, _ := run("--list"); out != "PHONE  ADDED  BY  SOURCE  CAMPAIGN  REASON\n0 phones on the do-not-call list\n" {
				t.Errorf("the list after the removals:\n%q", out)
			}
			if via == "journal" {
				out = mustRun(t, "journal", "audit", "--dir", jdir, "--subject", "dnc:+79123450000")
				if !strings.Contains(out, "delete") || !strings.Contains(out, "reason: гражданин попросил звонить; on the list since") {
					t.Errorf("audit of the removal:\n%s", out)
				}
			}
		})
	}
	if a, b := strings.Join(outputs["journal"], "\n"), strings.Join(outputs["daemon"], "\n"); a != b {
		t.Errorf("errors differ between the journal and the daemon:\n%s\n---\n%s", a, b)
	}
}
