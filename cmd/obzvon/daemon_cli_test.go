package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xuri/excelize/v2"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// registryList is a registry in Windows-1251 (the sample survey list of
// 60 persons) with two bad rows at the end: a 31 February and a short
// policy number.
const registryList = "testdata/registry-cp1251.csv"

// runningDaemon is the real obzvon binary serving a temporary data
// directory.
type runningDaemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
	logs *bytes.Buffer
	data string
	http string // base URL of the TCP API (HTTPS: httpsClient trusts it)
}

// startCLIDaemon builds and starts `obzvon serve` on free loopback ports and
// waits until its admin socket answers /readyz.
func startCLIDaemon(t *testing.T) *runningDaemon {
	t.Helper()
	bin := buildBinary(t)
	data := t.TempDir()
	httpPort := peertest.FreePort(t)
	rtp := peertest.FreeMediaPort(t)
	cfg := fmt.Sprintf("[sip]\nport = %d\n[http]\nlisten = \"127.0.0.1:%d\"\n[rtp]\nport_min = %d\nport_max = %d\n[data]\ndir = %q\n[calls]\ndrain_timeout = \"1s\"\n",
		peertest.FreePort(t), httpPort, rtp, rtp+3, data)
	cfgPath := filepath.Join(t.TempDir(), "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &runningDaemon{t: t, done: make(chan struct{}), logs: &bytes.Buffer{}, data: data, http: fmt.Sprintf("https://127.0.0.1:%d", httpPort)}
	d.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill() // by PID: only the daemon this test started
			<-d.done
		}
	})
	hc := socketAPI(adminSocketPath(data)).hc
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := hc.Get("http://obzvon/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return d
			}
		}
		select {
		case <-d.done:
			t.Fatalf("daemon exited before it was ready: %v\n%s", d.err, d.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon's admin socket never answered /readyz: %v\n%s", err, d.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (d *runningDaemon) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	select {
	case <-d.done:
		if d.err != nil {
			d.t.Fatalf("daemon exit after SIGTERM: %v\n%s", d.err, d.logs)
		}
	case <-time.After(30 * time.Second):
		d.t.Fatalf("daemon did not exit after SIGTERM\n%s", d.logs)
	}
	if _, err := os.Stat(adminSocketPath(d.data)); !os.IsNotExist(err) {
		d.t.Errorf("admin socket left behind after exit (stat: %v)", err)
	}
}

// login logs in on the daemon's TCP API and returns the status.
func (d *runningDaemon) login(login, password string) int {
	d.t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	res, err := d.httpsClient().Post(d.http+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// mustRun runs obzvon in this process and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := runCmd(args...)
	if code != 0 {
		t.Fatalf("obzvon %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// socketAPI is a client of the daemon's admin socket at path, for what no
// CLI command does (creating an appeal).
func socketAPI(path string) *adminAPI {
	return &adminAPI{hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", path)
		}}}}
}

// runCmdStdin is runCmd with stdin.
func runCmdStdin(stdin string, args ...string) (stdout, stderr string, code int) {
	app := newApp()
	var out, errb bytes.Buffer
	app.Reader, app.Writer, app.ErrWriter = strings.NewReader(stdin), &out, &errb
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := runApp(app, append([]string{"obzvon"}, args...))
	if err != nil {
		code = exitFailure
		if ec, ok := err.(interface{ ExitCode() int }); ok {
			code = ec.ExitCode()
		}
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

// loadResult is registry load --json.
type loadResult struct {
	Rows, Inserted, Updated, Unchanged, Rejected int
	Encoding                                     string
	Errors                                       []struct {
		Line   int
		Column string
		Reason string
	}
}

func decodeLoad(t *testing.T, out string) loadResult {
	t.Helper()
	var r loadResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("registry load --json printed %q: %v", out, err)
	}
	return r
}

// TestStaffCommandsThroughTheDaemon runs the staff commands against the
// real daemon while it holds the journal's lock, then, after SIGTERM, the
// same commands on the directory: the answers must be the same.
func TestStaffCommandsThroughTheDaemon(t *testing.T) {
	d := startCLIDaemon(t)
	dir := filepath.Join(d.data, "journal")
	// The lock is really held: opening the directory fails.
	if j, err := journal.Open(journal.DefaultOptions(dir)); err == nil {
		j.Close()
		t.Fatal("opened the journal while the daemon runs; the test would not show the socket is used")
	}

	var password, sipSecret string
	t.Run("agent add", func(t *testing.T) {
		out := mustRun(t, "agent", "add", "--dir", dir, "--json", "--name", "Иванова Анна", "--role", "operator_l1", "--role", "rep_l1",
			"--org", "ТФОМС", "--ext", "1021", "--queue", "oms", "ivanova")
		var added struct {
			Login, Password string
			SIPSecret       string `json:"sip_secret"`
			Realm           string `json:"sip_realm"`
		}
		if err := json.Unmarshal([]byte(out), &added); err != nil || added.Login != "ivanova" || len(added.Password) != 14 || len(added.SIPSecret) != 16 || added.Realm != "obzvon" {
			t.Fatalf("agent add --json via the daemon = %q (%v), want the login, a password and a SIP secret", out, err)
		}
		password, sipSecret = added.Password, added.SIPSecret
		if code := d.login("ivanova", password); code != 200 {
			t.Errorf("login with the printed password = %d, want 200", code)
		}
		out, errs, code := runCmd("agent", "add", "--dir", dir, "--name", "Петров", "--role", "supervisor", "petrov")
		if code != 0 || !strings.Contains(out, "added petrov (Петров)") || !strings.Contains(out, "password:") || !strings.Contains(out, "SIP secret:") ||
			!strings.Contains(errs, "Secrets are shown only now") {
			t.Errorf("agent add (text) via the daemon = exit %d\n%s\n%s", code, out, errs)
		}
	})
	t.Run("daemon errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			code int
			msg  string
		}{
			{"taken extension", []string{"agent", "add", "--dir", dir, "--name", "X", "--role", "admin", "--ext", "1021", "other"}, exitFailure, "extension 1021"},
			{"taken login", []string{"agent", "add", "--dir", dir, "--name", "X", "--role", "admin", "ivanova"}, exitFailure, "ivanova"},
			{"unknown role", []string{"agent", "add", "--dir", dir, "--name", "X", "--role", "boss", "x"}, exitUsage, "Try:"},
			{"passwd of nobody", []string{"agent", "passwd", "--dir", dir, "ghost"}, exitFailure, "no account \"ghost\"\nTry: obzvon agent list"},
			{"disable nobody", []string{"agent", "disable", "--dir", dir, "ghost"}, exitFailure, "no account \"ghost\""},
			{"short password", []string{"agent", "passwd", "--dir", dir, "--password-stdin", "ivanova"}, exitFailure, "password"},
			{"search nothing", []string{"catalog", "search", "--dir", dir}, exitUsage, "Try: obzvon catalog search"},
			{"no such appeal", []string{"journal", "search", "--dir", dir, "--number", "2026-999999"}, exitFailure, "2026-999999"},
			{"bad birth date", []string{"registry", "search", "--dir", dir, "--birth", "вчера"}, exitFailure, "Try: obzvon registry search"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out, errs, code := runCmdStdin("x\n", tc.args...)
				if code != tc.code || !strings.Contains(errs, tc.msg) || out != "" {
					t.Errorf("obzvon %s = exit %d, stdout %q, stderr %q; want exit %d, nothing on stdout, %q on stderr",
						strings.Join(tc.args, " "), code, out, errs, tc.code, tc.msg)
				}
			})
		}
	})
	t.Run("agent passwd", func(t *testing.T) {
		fresh := strings.TrimSpace(mustRun(t, "agent", "passwd", "--dir", dir, "ivanova"))
		if len(fresh) != 14 {
			t.Fatalf("agent passwd printed %q, want a 14-character password", fresh)
		}
		if code := d.login("ivanova", password); code != 401 {
			t.Errorf("login with the old password = %d, want 401", code)
		}
		if code := d.login("ivanova", fresh); code != 200 {
			t.Errorf("login with the new password = %d, want 200", code)
		}
		if sip := strings.TrimSpace(mustRun(t, "agent", "passwd", "--dir", dir, "--sip", "ivanova")); len(sip) != 14 || sip == sipSecret {
			t.Errorf("agent passwd --sip printed %q, want a new 14-character secret", sip)
		}
	})
	t.Run("registry load", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "errors.csv") // not beside the list in testdata
		got := decodeLoad(t, mustRun(t, "registry", "load", "--dir", dir, "--json", "--report", report, registryList))
		want := decodeLoad(t, mustRun(t, "registry", "load", "--dir", t.TempDir(), "--json", "--report", report, registryList)) // no daemon there
		if got.Rows != 60 || got.Inserted != 60 || got.Rejected != 2 || len(got.Errors) != 2 || got.Errors[0].Column != "Дата рождения" || got.Errors[1].Column != "ЕНП" {
			t.Errorf("registry load via the daemon = %+v, want 60 inserted and the 2 bad rows", got)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("registry load via the daemon = %+v\ndirectly = %+v", got, want)
		}
		out, errs, code := runCmd("registry", "load", "--dir", dir, "--report", report, registryList)
		if code != 0 || !strings.Contains(out, "60 rows loaded: 0 inserted, 0 updated, 60 unchanged") || !strings.Contains(out, "2 rejected") ||
			!strings.Contains(errs, "line 62: Дата рождения:") || strings.Contains(out, "Дата рождения") {
			t.Errorf("registry load (text) again via the daemon: exit %d, stdout %q, stderr %q; want counts on stdout, row errors on stderr", code, out, errs)
		}
		// A workbook: the daemon tells the format by the file's name.
		x := excelize.NewFile()
		for i, r := range [][]any{{"Фамилия", "Имя", "Отчество", "Дата рождения", "ЕНП"}, {"Зуева", "Ада", "Петровна", 28141, "1000000000000009"}} {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			_ = x.SetSheetRow("Sheet1", cell, &r)
		}
		xlsx := filepath.Join(t.TempDir(), "list.xlsx")
		if err := x.SaveAs(xlsx); err != nil {
			t.Fatal(err)
		}
		if r := decodeLoad(t, mustRun(t, "registry", "load", "--dir", dir, "--json", xlsx)); r.Inserted != 1 || r.Rejected != 0 {
			t.Errorf("registry load of an XLSX via the daemon = %+v, want 1 inserted", r)
		}
		if out := mustRun(t, "registry", "search", "--dir", dir, "--surname", "зуева", "--json"); !strings.Contains(out, `"birth":"1977-01-16"`) {
			t.Errorf("search of the XLSX person via the daemon = %q", out)
		}
	})
	t.Run("catalog load", func(t *testing.T) {
		if out := mustRun(t, "catalog", "load", "--dir", dir, "--default"); !strings.HasPrefix(out, "loaded 38 topics, 37 answer scripts") {
			t.Errorf("catalog load --default via the daemon = %q", out)
		}
		if out := mustRun(t, "catalog", "load", "--dir", dir, "../../journal/catalog/oms"); !strings.HasPrefix(out, "loaded 38 topics, 37 answer scripts") {
			t.Errorf("catalog load DIR via the daemon = %q", out)
		}
		if _, errs, code := runCmd("catalog", "load", "--dir", dir, t.TempDir()); code != exitFailure || !strings.Contains(errs, "topics.json") {
			t.Errorf("catalog load of an empty dir = exit %d %q, want 1 naming topics.json", code, errs)
		}
	})

	// An appeal to find and export, created through the socket like the
	// desktop would.
	hc := socketAPI(adminSocketPath(d.data))
	var person struct{ ENP, Phone string }
	var persons []journal.Person
	if err := hc.get(context.Background(), "/api/v1/registry/persons", map[string][]string{"surname": {"Орлова"}, "name": {"Ольга"}}, &persons); err != nil || len(persons) == 0 {
		t.Fatalf("registry/persons Орлова Ольга = %+v, %v", persons, err)
	}
	person.ENP, person.Phone = persons[0].ENP, persons[0].Phone
	var appeal journal.Appeal
	if err := hc.do(context.Background(), "POST", "/api/v1/appeals", map[string]any{
		"channel": "phone", "phone": person.Phone, "person": journal.PersonData{ENP: persons[0].ENP, Surname: persons[0].Surname, Name: persons[0].Name, Patronymic: persons[0].Patronymic, Birth: persons[0].Birth}, "kind": "complaint", "topic": "compl-paid-services",
		"text": "Взяли деньги за анализы", "assignee": "1021", "queue": "oms",
	}, "", &appeal); err != nil {
		t.Fatalf("create appeal: %v", err)
	}

	reads := [][]string{
		{"agent", "list", "--dir", dir, "--json"},
		{"agent", "list", "--dir", dir},
		{"registry", "search", "--dir", dir, "--surname", "орл", "--json"},
		{"registry", "search", "--dir", dir, "--surname", "орл"},
		{"catalog", "search", "--dir", dir, "--kind", "complaint", "--json", "взяли", "деньги"},
		{"catalog", "search", "--dir", dir, "взяли", "деньги"},
		{"journal", "search", "--dir", dir, "--phone", person.Phone, "--json"},
		{"journal", "search", "--dir", dir, "--enp", person.ENP},
		{"journal", "search", "--dir", dir, "--number", appeal.Number, "--json"},
		{"journal", "export", "--dir", dir, "--format", "json"},
		{"journal", "export", "--dir", dir, "--from", time.Now().Add(-time.Hour).Format(time.RFC3339)},
		{"journal", "export", "--dir", dir, "--to", "2020-01-01", "--format", "json"},
	}
	t.Run("disable", func(t *testing.T) {
		mustRun(t, "agent", "disable", "--dir", dir, "petrov")
	})
	viaDaemon := map[string]string{}
	for _, args := range reads {
		viaDaemon[strings.Join(args, " ")] = mustRun(t, args...)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{reads[0], []string{`"login": "ivanova"`, `"sip": true`, `"extension": "1021"`}},
		{reads[1], []string{"ivanova", "operator_l1,rep_l1", "petrov", "disabled"}},
		{reads[2], []string{`"surname":"Орлова"`, person.ENP}},
		{reads[4], []string{`"id":"compl-paid-services"`}},
		{reads[6], []string{appeal.Number}},
		{reads[7], []string{appeal.Number, "Жалоба"}},
		{reads[8], []string{appeal.ID}},
		{reads[9], []string{appeal.Number, "Взяли деньги за анализы"}},
		{reads[10], []string{"\ufeffНомер;", appeal.Number, "Взяли деньги за анализы"}},
		{reads[11], []string{"[]"}},
	} {
		out := viaDaemon[strings.Join(tc.args, " ")]
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("obzvon %s via the daemon lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}

	// The audit is readable through the daemon too, and names the local
	// user who loaded the registry through the socket.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	audit := mustRun(t, "journal", "audit", "--dir", dir, "--account", "socket:"+me.Username, "--json")
	if !strings.Contains(audit, `"op":"load"`) {
		t.Errorf("journal audit via the daemon lacks the registry load:\n%.2000s", audit)
	}

	d.stop()

	// Without the daemon, the same commands read the directory and print
	// the same.
	for _, args := range reads {
		key := strings.Join(args, " ")
		if got := mustRun(t, args...); got != viaDaemon[key] {
			t.Errorf("obzvon %s\ndirectly:\n%s\nvia the daemon:\n%s", key, got, viaDaemon[key])
		}
	}
	// And the writes work directly again.
	out := mustRun(t, "agent", "add", "--dir", dir, "--json", "--name", "Сидоров", "--role", "admin", "--no-sip", "sidorov")
	if !strings.Contains(out, `"login":"sidorov"`) || !strings.Contains(out, `"password":"`) || strings.Contains(out, "sip_secret") {
		t.Errorf("agent add directly = %q", out)
	}
	if r := decodeLoad(t, mustRun(t, "registry", "load", "--dir", dir, "--json", "--report", filepath.Join(t.TempDir(), "errors.csv"), registryList)); r.Rows != 60 || r.Unchanged != 60 || r.Rejected != 2 {
		t.Errorf("registry load directly after the daemon = %+v, want 60 unchanged, 2 rejected", r)
	}
	if out := mustRun(t, "catalog", "load", "--dir", dir, "--default"); !strings.HasPrefix(out, "loaded 38 topics") {
		t.Errorf("catalog load directly = %q", out)
	}
	mustRun(t, "agent", "passwd", "--dir", dir, "--sip", "ivanova")
	mustRun(t, "agent", "disable", "--dir", dir, "--enable", "petrov")

	// The daemon audited what the CLI did through it under the local user
	// on the socket (SO_PEERCRED).
	me, err = user.Current()
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Audit(context.Background(), journal.Actor{Login: "t", Role: journal.RoleAdmin}, journal.AuditQuery{Account: "socket:" + me.Username})
	ops := map[string]int{}
	for _, e := range entries {
		ops[e.Op]++
	}
	if err != nil || ops["load"] < 4 || ops["export"] == 0 {
		t.Errorf("audit of the socket: ops %v, %v; want the registry and catalog loads and the export", ops, err)
	}
}

// TestDaemonFailuresPrintLikeTheCLI: a daemon's server error names the
// daemon and its log; a refusal prints the daemon's message alone; both
// exit 1 with nothing on stdout. Usage errors are found before the
// daemon is asked.
func TestDaemonFailuresPrintLikeTheCLI(t *testing.T) {
	data := t.TempDir()
	var asked atomic.Int32
	serveSocket(t, data, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/accounts":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"internal error"}`))
		case "/api/v1/registry/load":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"load registry: denied: role supervisor"}`))
		default:
			w.WriteHeader(http.StatusBadGateway) // no JSON body, as from a proxy
		}
	}))
	dir := filepath.Join(data, "journal")
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"agent", "list", "--dir", dir}, exitFailure, "daemon: 500 Internal Server Error: internal error (details in the daemon's log)"},
		{[]string{"registry", "load", "--dir", dir, registryList}, exitFailure, "load registry: denied: role supervisor"},
		{[]string{"catalog", "search", "--dir", dir, "полис"}, exitFailure, "daemon: 502 Bad Gateway: answer without an error message (details in the daemon's log)\nTry: obzvon catalog search"},
		{[]string{"journal", "search", "--dir", dir, "--enp", "123"}, exitUsage, "--enp \"123\": a policy number has 16 digits\nTry:"},
		{[]string{"agent", "passwd", "--dir", dir}, exitUsage, "agent passwd needs exactly one LOGIN\nTry: obzvon agent passwd ivanova"},
	} {
		out, errs, code := runCmd(tc.args...)
		if code != tc.code || !strings.HasPrefix(errs, tc.stderr) || out != "" {
			t.Errorf("obzvon %s = exit %d, stdout %q, stderr %q; want exit %d, stderr %q", strings.Join(tc.args, " "), code, out, errs, tc.code, tc.stderr)
		}
	}
	if n := asked.Load(); n != 3 {
		t.Errorf("the daemon was asked %d times, want 3 (usage errors never reach it)", n)
	}
}
