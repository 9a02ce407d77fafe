package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icholy/digest"
	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// exampleOrder is the order the examples run in, so that each finds what
// an earlier one made (the account, the registry file, the backup, the
// campaign). A read-only command may be listed twice, before and after
// the daemon starts, so that its examples run as printed both on the
// journal the CLI opens and through the daemon's admin socket (campaign
// dnc too: its first examples put back the phones its last ones remove).
var exampleOrder = []string{
	"version", "check-config", "plan", "simulate", "serve",
	"agent add", "agent list", "agent passwd", "agent disable",
	"registry generate", "registry load", "registry search",
	"catalog load", "catalog search",
	"journal calls", "journal events", "journal search", "journal export", "journal audit", "journal check",
	"journal backup", "journal restore", "journal rotate-key",
	"campaign create", "campaign load", "campaign dnc", "campaign status", "campaign why", "campaign export",
	// From here on, a daemon runs (startExampleDaemon).
	"agent start", "agent pause", "agent ready", "agent status", "queue status",
	"report queues", "report queue-log", "agent finish",
	"campaign start", "campaign dnc", "campaign pause", "campaign callbacks", "campaign status", "campaign why", "campaign export",
	"campaign stop",
}

// firstDaemonExample is where the examples test starts a daemon on the
// sandbox's journal.
const firstDaemonExample = "agent start"

// splitWords splits a command line as a shell would for these examples:
// words separated by spaces, '…' and "…" quoting.
func splitWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote, word := false, rune(0), false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, word = r, true
		case r == ' ' || r == '\t':
			if word {
				out = append(out, cur.String())
				cur.Reset()
				word = false
			}
		default:
			cur.WriteRune(r)
			word = true
		}
		_ = in
	}
	if word {
		out = append(out, cur.String())
	}
	return out
}

// helpExamples runs `obzvon <path> --help` and returns the lines under
// EXAMPLES, as printed.
func helpExamples(t *testing.T, bin, path string) []string {
	t.Helper()
	out, err := exec.Command(bin, append(strings.Fields(path), "--help")...).CombinedOutput()
	if err != nil {
		t.Fatalf("obzvon %s --help: %v\n%s", path, err, out)
	}
	_, after, ok := strings.Cut(string(out), "EXAMPLES:\n")
	if !ok {
		return nil
	}
	var ex []string
	for _, l := range strings.Split(after, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "obzvon ") {
			break
		}
		ex = append(ex, l)
	}
	return ex
}

// leafPaths lists every command that runs something (has no subcommands).
func leafPaths(cmds []*cli.Command, prefix string) []string {
	var out []string
	for _, c := range cmds {
		if c.Name == "help" || c.Hidden {
			continue
		}
		p := strings.TrimSpace(prefix + " " + c.Name)
		if len(c.Subcommands) == 0 {
			out = append(out, p)
		}
		out = append(out, leafPaths(c.Subcommands, p)...)
	}
	return out
}

// sandbox makes a scratch directory with the files the examples name and
// returns it with the environment to run obzvon in it.
func sandbox(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "var", "journal"), 0o750)) // the CLI's default journal
	base := 18500 + (os.Getpid()%25)*20                            // daemon tests' band
	cfg := fmt.Sprintf("[sip]\nport = %d\n[http]\nlisten = \"127.0.0.1:%d\"\n[rtp]\nport_min = %d\nport_max = %d\n[data]\ndir = %q\n[calls]\ndrain_timeout = \"1s\"\n",
		peertest.FreePort(t), peertest.FreePort(t), base, base+19, filepath.Join(dir, "srv"))
	must(os.WriteFile(filepath.Join(dir, "obzvon.toml"), []byte(cfg), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "catalog"), 0o755))
	for _, f := range []string{"topics.json", "scripts.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "journal", "catalog", "oms", f))
		must(err)
		must(os.WriteFile(filepath.Join(dir, "catalog", f), b, 0o644))
	}
	// An encrypted journal for rotate-key, and both keys.
	must(os.WriteFile(filepath.Join(dir, "journal.key"), []byte(strings.Repeat("ab", 32)+"\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "journal.key.new"), []byte(strings.Repeat("cd", 32)+"\n"), 0o600))
	o := journal.DefaultOptions(filepath.Join(dir, "encrypted"))
	o.EncryptionKeyFile = filepath.Join(dir, "journal.key")
	j, err := journal.Open(o)
	must(err)
	must(j.Close())
	campaignSandbox(t, dir)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "OBZVON_") {
			env = append(env, e)
		}
	}
	return dir, env
}

// campaignSandbox puts in dir the files the campaign examples name: the
// survey list (60 persons, in UTF-8 and in Windows-1251 as exported from
// the registry, and as an XLSX workbook), a copy of the built-in followup
// script, a campaign's settings and a do-not-call file.
func campaignSandbox(t *testing.T, dir string) {
	t.Helper()
	copyFile := func(from, to string) []byte {
		t.Helper()
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return b
	}
	list := copyFile(filepath.Join("..", "..", "lists", "testdata", "survey-list.csv"), "survey-list.csv")
	copyFile(filepath.Join("..", "..", "lists", "testdata", "survey-list-cp1251.csv"), "survey-list-cp1251.csv")
	copyFile(filepath.Join("..", "..", "campaigns", "scripts", "followup.toml"), "followup.toml")
	r := csv.NewReader(bytes.NewReader(list))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var x bytes.Buffer
	if err := lists.WriteXLSX(&x, lists.Table{Name: "Лист1", Header: rows[0], Rows: rows[1:]}); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"survey-list.xlsx": x.String(),
		"dispnab-2026.json": `{"mode": "progressive", "weekdays": "09:00-20:00", "weekend": "10:00-16:00",
  "holidays": ["2026-05-01", "2026-05-09"], "max_attempts": 3,
  "retry_delays": {"busy": "30m", "no_answer": "3h"}}
`,
		"dnc.csv": "Телефон;Причина\n8 (980) 841-48-52;жалоба в страховую компанию\n+7 936 671-27-68;просил не звонить\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Every command's --help shows examples, and each runs as printed and
// succeeds; every "Try:" hint in the CLI's messages parses (no usage
// error). Flags after positional arguments are part of the examples.
func TestHelpExamplesRunAsPrinted(t *testing.T) {
	bin := buildBinary(t)
	leaves := leafPaths(newApp().Commands, "")
	for _, p := range leaves {
		if !slices.Contains(exampleOrder, p) {
			t.Errorf("command %q is not in exampleOrder: give it examples", p)
		}
	}
	dir, env := sandbox(t)
	run := func(line string) (string, int) {
		words := splitWords(line)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, words[1:]...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return string(out), code
	}
	for _, path := range exampleOrder {
		if path == firstDaemonExample {
			startExampleDaemon(t, bin, dir, env)
		}
		exs := helpExamples(t, bin, path)
		if len(exs) == 0 {
			t.Errorf("obzvon %s --help shows no EXAMPLES", path)
			continue
		}
		for _, line := range exs {
			if path == "serve" {
				runServeExample(t, bin, dir, env, line)
				continue
			}
			start := time.Now()
			out, code := run(line)
			if d := time.Since(start); d > 5*time.Second {
				t.Logf("%s took %v", line, d.Round(time.Millisecond))
			}
			if code != 0 {
				t.Errorf("%s\nexit %d:\n%s", line, code, out)
			}
		}
	}

	// The "Try:" hints: each parses as printed.
	for _, hint := range tryHints(t) {
		var out string
		var code int
		if strings.HasPrefix(hint, "obzvon serve") {
			out, code = parseServe(hint) // running it would bind the default ports
		} else {
			out, code = run(hint)
		}
		if code == exitUsage || strings.Contains(out, "flag provided but not defined") || strings.Contains(out, "Incorrect Usage") {
			t.Errorf("Try: %s\nfails to parse (exit %d):\n%s", hint, code, out)
		}
	}
}

// parseServe parses a serve command line as the CLI does, without
// serving: the action only applies the log flags.
func parseServe(line string) (string, int) {
	app := newApp()
	for _, c := range app.Commands {
		if c.Name == "serve" {
			c.Action = func(c *cli.Context) error { return applyLogFlags(c, config.Default()) }
		}
	}
	var out strings.Builder
	app.Writer, app.ErrWriter = &out, &out
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := runApp(app, splitWords(line))
	if ec, ok := err.(cli.ExitCoder); ok {
		return out.String() + ec.Error(), ec.ExitCode()
	}
	if err != nil {
		return out.String() + err.Error(), exitFailure
	}
	return out.String(), 0
}

// runServeExample starts the serve example, waits until it logs that it
// is ready, stops it with SIGTERM and checks a clean exit.
func runServeExample(t *testing.T, bin, dir string, env []string, line string) {
	t.Helper()
	words := splitWords(line)
	cmd := exec.Command(bin, words[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var logs peertest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"obzvon ready"`) {
		select {
		case err := <-done:
			t.Fatalf("%s exited before it was ready: %v\n%s", line, err, logs.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("%s: not ready in 60 s\n%s", line, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: exit after SIGTERM: %v\n%s", line, err, logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Errorf("%s: still running 30 s after SIGTERM", line)
	}
}

// tryHints returns every literal "Try: obzvon …" hint in this package's
// sources (hints built with format verbs are left out).
func tryHints(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, part := range strings.Split(s, "Try: ")[1:] {
				hint, _, _ := strings.Cut(part, "\n")
				// A hint ending in a space is completed at run time ("… " + login).
				if strings.HasPrefix(hint, "obzvon ") && !strings.Contains(hint, "%") && !strings.HasSuffix(hint, " ") && !seen[hint] {
					seen[hint] = true
					out = append(out, hint)
				}
			}
			return true
		})
	}
	if len(out) < 15 {
		t.Fatalf("found %d Try: hints; the scan is broken", len(out))
	}
	return out
}

// startExampleDaemon starts `obzvon serve` on the sandbox's default
// journal (var/), so the CLI's examples reach it over var/obzvon.sock,
// gives ivanova (made by the agent add example) a known SIP secret, an
// appeal she deferred (for campaign callbacks) and registers a phone for
// her (one digest REGISTER from this test), so that the ACD's and the
// campaigns' examples run as printed. The daemon is stopped at test end.
func startExampleDaemon(t *testing.T, bin, dir string, env []string) {
	t.Helper()
	const secret = "Wq7-example-Zt4m"
	j, err := journal.Open(journal.DefaultOptions(filepath.Join(dir, "var", "journal")))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.SetSIPSecret(context.Background(), journal.Actor{Login: "root", Role: journal.RoleAdmin}, "ivanova", "obzvon", secret); err != nil {
		t.Fatal(err)
	}
	deferAppeal(t, j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	sipPort, httpPort := peertest.FreePort(t), peertest.FreePort(t)
	base := 18500 + (os.Getpid()%25)*20 + 10
	cfg := fmt.Sprintf("[sip]\nport = %d\n[http]\nlisten = \"127.0.0.1:%d\"\n[rtp]\nport_min = %d\nport_max = %d\n[data]\ndir = %q\n[calls]\ndrain_timeout = \"1s\"\n",
		sipPort, httpPort, base, base+9, filepath.Join(dir, "var"))
	cfgPath := filepath.Join(dir, "daemon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Dir, cmd.Env = dir, env
	var logs peertest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // by PID: the daemon this test started
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(logs.String(), "obzvon ready"); {
		select {
		case err := <-done:
			t.Fatalf("example daemon exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("example daemon not ready in 60 s\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := registerPhone(fmt.Sprintf("127.0.0.1:%d", sipPort), "1001", secret); err != nil {
		t.Fatalf("register ivanova's phone: %v\n%s", err, logs.String())
	}
}

// deferAppeal stores an appeal that ivanova took and deferred (closed as
// forwarded with notice to herself): she is to call Фёдорова back, whom
// campaign callbacks makes a callback of hers.
func deferAppeal(t *testing.T, j *journal.Journal) {
	t.Helper()
	ctx := context.Background()
	op := journal.Actor{Login: "ivanova", Role: journal.RoleOperatorL1}
	a := &journal.Appeal{Channel: journal.ChannelPhone, Phone: "+79937865797", Kind: journal.KindConsultation, Topic: "cons-policy-replace",
		Text:   "Сменила фамилию, как переоформить полис?",
		Person: journal.PersonData{ENP: "2619482199351819", Surname: "Фёдорова", Name: "Мария", Patronymic: "Ивановна", Birth: "1988-07-04"}}
	if err := j.CreateAppeal(ctx, op, a); err != nil {
		t.Fatal(err)
	}
	_, err := j.Move(ctx, op, a.ID, journal.Step{Move: journal.MoveClose, Resolution: journal.ResolutionForwarded, To: "ivanova",
		Comment: "уточнить в МО и перезвонить"})
	if err != nil {
		t.Fatal(err)
	}
}

// registerPhone sends REGISTER for user, answers the digest challenge
// with secret and waits for 200: a phone that registers and does nothing
// else (enough for ring-mode work).
func registerPhone(registrar, user, secret string) error {
	c, err := net.Dial("udp", registrar)
	if err != nil {
		return err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	send := func(cseq int, auth string) (string, error) {
		msg := "REGISTER sip:" + registrar + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-ex" + strconv.Itoa(cseq) + ";rport\r\n" +
			"Max-Forwards: 70\r\n" +
			"From: <sip:" + user + "@" + registrar + ">;tag=ex1\r\n" +
			"To: <sip:" + user + "@" + registrar + ">\r\n" +
			"Call-ID: example-phone-" + user + "\r\n" +
			"CSeq: " + strconv.Itoa(cseq) + " REGISTER\r\n" +
			"Contact: <sip:" + user + "@" + local + ">\r\n" +
			"Expires: 600\r\n" + auth +
			"Content-Length: 0\r\n\r\n"
		if _, err := c.Write([]byte(msg)); err != nil {
			return "", err
		}
		buf := make([]byte, 4096)
		for {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				return "", err
			}
			if res := string(buf[:n]); !strings.HasPrefix(res, "SIP/2.0 100") {
				return res, nil
			}
		}
	}
	res, err := send(1, "")
	if err != nil {
		return err
	}
	var chal string
	for _, line := range strings.Split(res, "\r\n") {
		if v, ok := strings.CutPrefix(line, "WWW-Authenticate: "); ok {
			chal = v
		}
	}
	ch, err := digest.ParseChallenge(chal)
	if err != nil {
		return fmt.Errorf("challenge %q: %w", chal, err)
	}
	cred, err := digest.Digest(ch, digest.Options{Method: "REGISTER", URI: "sip:" + registrar, Username: user, Password: secret, Count: 1})
	if err != nil {
		return err
	}
	res, err = send(2, "Authorization: "+cred.String()+"\r\n")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(res, "SIP/2.0 200") {
		return fmt.Errorf("REGISTER answered %q", strings.SplitN(res, "\r\n", 2)[0])
	}
	return nil
}
