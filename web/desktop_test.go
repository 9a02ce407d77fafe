package web_test

// The desktop is tested in headless Chromium (Debian's chromium, driven
// over the DevTools protocol with chromedp) against the real appliance:
// the obzvon binary built from ../cmd/obzvon, serving HTTPS with its
// self-signed certificate on a loopback port, its journal in a temporary
// directory, seeded through the admin socket like an installer would.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// password of every seeded account.
const password = "correct horse battery staple"

// Seeded accounts.
const (
	loginL1      = "ivanova"  // level-1 operator, extension 1001
	loginL1Other = "sidorova" // another level-1 operator, extension 1002
	loginL2      = "petrov"   // level-2 operator, extension 2001 (recommended by the scripts)
	loginL2Other = "kuznetsov"
	loginAdmin   = "smirnova" // administrator
	loginSuper   = "volkova"  // supervisor
	loginStaff   = "orlov"    // campaign staff
	personENP    = "2600000000000017"
	personSurn   = "Ковалёва"
	personPhone  = "+79161112233"
)

// registryCSV is the insured registry the tests load: three persons.
const registryCSV = "Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Код МО\n" +
	personSurn + ";Татьяна;Игоревна;12.03.1961;" + personENP + ";89161112233;MO1\n" +
	"Ковалёв;Сергей;Петрович;01.02.1958;2600000000000025;89162223344;MO1\n" +
	"Лебедева;Нина;Андреевна;23.09.1990;2600000000000033;;MO2\n"

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds cmd/obzvon once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "obzvon-web-test-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "obzvon")
		out, err := exec.Command("go", "build", "-o", builtBin, "../cmd/obzvon").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// appliance is a running obzvon serve.
type appliance struct {
	t    *testing.T
	cmd  *exec.Cmd
	data string
	base string // https://127.0.0.1:PORT
	logs peertest.SyncBuffer
	done chan struct{}
	err  error
	sock *http.Client
	spki string // base64 SHA-256 of the certificate's public key
	sip  string // 127.0.0.1:PORT of its SIP listener
}

var readyRE = regexp.MustCompile(`msg="obzvon ready".* http=(\S+)`)

// startAppliance starts the binary on loopback (HTTP on port 0, the
// address read from its log) and seeds accounts, the catalog and the
// registry.
func startAppliance(t *testing.T) *appliance {
	t.Helper()
	return startApplianceWith(t, "")
}

// startApplianceWith starts the appliance with extra configuration (TOML
// tables such as [[trunk]]) appended to the test's own.
func startApplianceWith(t *testing.T, extra string) *appliance {
	t.Helper()
	bin := binary(t)
	a := &appliance{t: t, data: t.TempDir(), done: make(chan struct{})}
	// RTP in the desktop tests' band (34000-35999), 40 ports per run.
	rtp := 34000 + (os.Getpid()%50)*40
	sipPort := peertest.FreePort(t)
	a.sip = fmt.Sprintf("127.0.0.1:%d", sipPort)
	cfg := fmt.Sprintf("[sip]\nport = %d\n[http]\nlisten = \"127.0.0.1:0\"\n[rtp]\nport_min = %d\nport_max = %d\n[data]\ndir = %q\n[calls]\ndrain_timeout = \"1s\"\n",
		sipPort, rtp, rtp+39, a.data) + extra
	cfgPath := filepath.Join(t.TempDir(), "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	a.cmd.Stdout, a.cmd.Stderr = &a.logs, &a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(a.stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := readyRE.FindStringSubmatch(a.logs.String()); m != nil {
			a.base = "https://" + m[1]
			break
		}
		select {
		case <-a.done:
			t.Fatalf("obzvon exited before it was ready: %v\n%s", a.err, a.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("obzvon not ready in 60 s:\n%s", a.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sockPath := filepath.Join(a.data, "obzvon.sock")
	a.sock = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sockPath)
		}}}
	a.spki = a.certSPKI()
	a.seed()
	return a
}

// stop ends the appliance with SIGTERM (by PID) and checks a clean exit.
func (a *appliance) stop() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
		if a.err != nil {
			a.t.Errorf("obzvon exit after SIGTERM: %v", a.err)
		}
	case <-time.After(30 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
		a.t.Errorf("obzvon did not stop in 30 s after SIGTERM")
	}
}

// certSPKI returns the base64 SHA-256 of the self-signed certificate's
// public key, for Chromium's --ignore-certificate-errors-spki-list: the
// browser then trusts this certificate and no other.
func (a *appliance) certSPKI() string {
	b, err := os.ReadFile(filepath.Join(a.data, "tls", "selfsigned.crt"))
	if err != nil {
		a.t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		a.t.Fatal("selfsigned.crt: no PEM")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		a.t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// admin calls the admin socket's API; out (if not nil) gets the JSON.
func (a *appliance) admin(method, path string, body any, out any) {
	a.t.Helper()
	if err := a.adminErr(method, path, body, out); err != nil {
		a.t.Fatal(err)
	}
}

func (a *appliance) adminErr(method, path string, body any, out any) error {
	var r io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		r, ct = strings.NewReader(b), "application/octet-stream"
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return err
		}
		r = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, "http://obzvon"+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", ct)
	}
	res, err := a.sock.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s = %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// seed adds the accounts, a catalog whose scripts recommend the level-2
// operator, and the registry.
func (a *appliance) seed() {
	a.t.Helper()
	for _, acc := range []map[string]any{
		{"login": loginL1, "display_name": "Иванова Анна Сергеевна", "roles": []string{"operator_l1"}, "organization": "ТФОМС", "extension": "1001", "password": password},
		{"login": loginL1Other, "display_name": "Сидорова Мария Олеговна", "roles": []string{"operator_l1"}, "organization": "ТФОМС", "extension": "1002", "password": password},
		{"login": loginL2, "display_name": "Петров Игорь Васильевич", "roles": []string{"operator_l2"}, "organization": "ТФОМС", "extension": "2001", "password": password},
		{"login": loginL2Other, "display_name": "Кузнецов Олег Петрович", "roles": []string{"rep_l2"}, "organization": "СМО «Здоровье»", "extension": "2002", "password": password},
		{"login": loginAdmin, "display_name": "Смирнова Ольга Павловна", "roles": []string{"admin"}, "organization": "ТФОМС", "extension": "3001", "password": password},
		{"login": loginSuper, "display_name": "Волкова Елена Игоревна", "roles": []string{"supervisor"}, "organization": "ТФОМС", "extension": "3002", "password": password},
		{"login": loginStaff, "display_name": "Орлов Павел Андреевич", "roles": []string{"campaign_staff"}, "organization": "ТФОМС", "password": password},
	} {
		a.admin("POST", "/api/v1/accounts", acc, nil)
	}
	topics, scripts, err := journal.DefaultCatalog()
	if err != nil {
		a.t.Fatal(err)
	}
	for i := range scripts {
		scripts[i].Recommended = []string{loginL2, loginL2Other}
	}
	tj, _ := json.Marshal(topics)
	sj, _ := json.Marshal(scripts)
	a.admin("POST", "/api/v1/catalog/load", map[string]json.RawMessage{"topics": tj, "scripts": sj}, nil)
	var res struct {
		Rows, Rejected int
	}
	a.admin("POST", "/api/v1/registry/load?name=registry.csv", registryCSV, &res)
	if res.Rows != 3 || res.Rejected != 0 {
		a.t.Fatalf("registry load = %+v, want 3 rows", res)
	}
}

// createAppeal creates an appeal through the admin socket (as the
// administrator) and returns it.
func (a *appliance) createAppeal(body map[string]any) journal.Appeal {
	a.t.Helper()
	var out journal.Appeal
	a.admin("POST", "/api/v1/appeals", body, &out)
	return out
}

// appeal reads an appeal through the admin socket.
func (a *appliance) appeal(ref string) journal.Appeal {
	a.t.Helper()
	var out journal.Appeal
	a.admin("GET", "/api/v1/appeals/"+ref, nil, &out)
	return out
}

// firstTopic returns a consultation topic whose title contains word.
func (a *appliance) topic(kind, word string) journal.Topic {
	a.t.Helper()
	var ts []journal.Topic
	a.admin("GET", "/api/v1/catalog/topics?kind="+kind, nil, &ts)
	for _, x := range ts {
		if strings.Contains(strings.ToLower(x.Title), strings.ToLower(word)) {
			return x
		}
	}
	a.t.Fatalf("no %s topic with %q", kind, word)
	return journal.Topic{}
}

// ---- The browser ----------------------------------------------------------

// browser is one headless Chromium with a fresh profile; each user gets
// a tab in a browser context of its own (own cookies: own session).
type browser struct {
	t   *testing.T
	app *appliance
	ctx context.Context
}

// chromiumPath finds Debian's chromium; under CI=true a missing browser
// fails the test (RequirePeer), elsewhere it skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return peertest.RequirePeer(t, "chromium")
}

// newBrowser starts Chromium as the design requires it on this machine
// (root: no sandbox; no background networking) with a 1366×768 window,
// trusting the appliance's self-signed certificate only.
func newBrowser(t *testing.T, app *appliance) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "ru-RU"),
		chromedp.Env("LANG=ru_RU.UTF-8", "LANGUAGE=ru"),
		chromedp.Flag("ignore-certificate-errors-spki-list", app.spki),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first Run starts the browser; its context keeps it running.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		acancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		acancel()
	})
	return &browser{t: t, app: app, ctx: ctx}
}

// tab is one user's tab: its own browser context (cookies, storage).
type tab struct {
	t      *testing.T
	app    *appliance
	ctx    context.Context
	mu     sync.Mutex
	errors []string // console errors, exceptions, failed loads
	status map[string]int64
}

// tab opens a tab in a new browser context, collecting console errors,
// uncaught exceptions, error log entries and document statuses.
func (b *browser) tab(t *testing.T) *tab {
	t.Helper()
	tb := &tab{t: t, app: b.app, status: map[string]int64{}}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		cancel()
		t.Fatalf("new tab: %v", err)
	}
	t.Cleanup(cancel)
	tb.ctx = ctx
	return tb
}

func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			tb.errors = append(tb.errors, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		msg := ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
		tb.errors = append(tb.errors, "exception: "+msg)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			tb.errors = append(tb.errors, fmt.Sprintf("log %s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument {
			tb.status[ev.Response.URL] = ev.Response.Status
		}
	}
}

// stepTimeout bounds one browser step on a loaded 2-core machine.
const stepTimeout = 30 * time.Second

// void makes an action of any result an action of none.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// fail stops the test with what the tab shows.
func (tb *tab) fail(what string, err error) {
	tb.t.Helper()
	tctx, tcancel := context.WithTimeout(tb.ctx, 5*time.Second)
	url, _ := chromedp.Run(tctx, chromedp.Location())
	text, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
	tcancel()
	if len(text) > 2000 {
		text = text[:2000]
	}
	tb.t.Fatalf("%s: %v\nat %s\npage text: %s\nbrowser errors: %v", what, err, url, text, tb.takeErrors())
}

// run performs actions, failing the test with the page's state on error.
func (tb *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.fail(what, err)
	}
}

// takeErrors returns and clears the browser errors collected so far.
func (tb *tab) takeErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	e := tb.errors
	tb.errors = nil
	return e
}

// noErrors fails the test if the pages logged errors or warnings, except
// those containing one of allowed (an expected 403 document, say).
func (tb *tab) noErrors(where string, allowed ...string) {
	tb.t.Helper()
	for _, e := range tb.takeErrors() {
		ok := false
		for _, a := range allowed {
			if strings.Contains(e, a) {
				ok = true
			}
		}
		if !ok {
			tb.t.Errorf("%s: browser error: %s", where, e)
		}
	}
}

// documentStatus returns the HTTP status of the last document loaded
// from path.
func (tb *tab) documentStatus(path string) int64 {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.status[tb.app.base+path]
}

// open navigates to path and waits for the document.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.run("open "+path, chromedp.Navigate(tb.app.base+path), chromedp.WaitReady(chromedp.CSS("body")))
	tb.settle()
}

// settle waits until the page's scripts have run (a click before that
// would find no listener, as a user's could).
func (tb *tab) settle() {
	tb.t.Helper()
	tb.wait("the page's scripts", `document.readyState === 'complete'`)
}

// location returns the current path (with query).
func (tb *tab) location() string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		tb.fail("location", err)
	}
	return strings.TrimPrefix(u, tb.app.base)
}

// login signs in through the login form and waits for the landing page.
func (tb *tab) login(login string) {
	tb.t.Helper()
	tb.open("/login")
	tb.submitLogin(login)
}

// submitLogin fills and sends the login form shown now.
func (tb *tab) submitLogin(login string) {
	tb.t.Helper()
	tb.run("log in as "+login,
		chromedp.WaitVisible(chromedp.ID("login")),
		void(chromedp.Poll[bool](`document.readyState === 'complete'`)),
		chromedp.SendKeys(chromedp.ID("login"), login),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("logout")),
	)
	tb.settle()
}

// wait polls a JS condition until it is true. A navigation during the
// wait (a page that moves on by itself) is waited through.
func (tb *tab) wait(what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ctx, cancel := context.WithDeadline(tb.ctx, deadline)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool]("(() => { try { return !!("+cond+"); } catch (e) { return false; } })()",
			chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		if time.Now().Before(deadline) && navigated(err) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		tb.fail("wait for "+what, err)
	}
}

// navigated reports whether err says the page changed under a command.
func navigated(err error) bool {
	m := err.Error()
	return strings.Contains(m, "navigated or closed") || strings.Contains(m, "context was destroyed") ||
		strings.Contains(m, "Cannot find context") || strings.Contains(m, "No node with given id") ||
		strings.Contains(m, "Could not find node with given id")
}

// waitText waits until the element sel shows want.
func (tb *tab) waitText(sel, want string) {
	tb.t.Helper()
	tb.wait(fmt.Sprintf("%q in %s", want, sel), fmt.Sprintf(`document.querySelector(%q).innerText.includes(%q)`, sel, want))
}

// eval evaluates a JS expression (promises awaited) and decodes it.
func eval[T any](tb *tab, what, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.fail(what, err)
	}
	return v
}

// visibleJS finds the first visible, enabled element matching sel whose
// text or aria-label is text.
func visibleJS(sel, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q)].find((x) => x.offsetParent !== null && !x.disabled && `+
		`((x.innerText || '').trim() === %q || (x.getAttribute('aria-label') || '') === %q))`, sel, text, text)
}

// click waits for, then clicks, the visible element sel with text (exact
// text or aria-label), as a user would (mouse events at its centre).
//
// A live page may render the element anew between finding and clicking
// it (an event reloads a list): the click is then retried on the new
// element, as a user would click again.
func (tb *tab) click(sel, text string) {
	tb.t.Helper()
	tb.settle()
	deadline := time.Now().Add(stepTimeout)
	for {
		tb.wait(fmt.Sprintf("%s %q", sel, text), visibleJS(sel, text))
		if !eval[bool](tb, "mark "+text, `(() => { document.querySelectorAll('[data-test-click]').forEach((e) => e.removeAttribute('data-test-click')); `+
			`const e = `+visibleJS(sel, text)+`; if (!e) return false; e.setAttribute('data-test-click', '1'); e.scrollIntoView({block: 'center'}); return true; })()`) {
			continue // gone since the wait: find it again
		}
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`[data-test-click="1"]`)))
		cancel()
		if err == nil {
			return
		}
		// Replaced under the click: the marked element left the page.
		if time.Now().Before(deadline) && !eval[bool](tb, "marked element still there", `!!document.querySelector('[data-test-click="1"]')`) {
			continue
		}
		tb.fail("click "+text, err)
	}
}

// setJS sets the value of #id and fires input and change, as a picker
// or a select does.
func setJS(id, value string) string {
	return fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('input', {bubbles: true})); `+
		`e.dispatchEvent(new Event('change', {bubbles: true})); return e.value === %q; })()`, id, value, value)
}

// typeInto replaces the value of input #id by typing text.
//
// The page's scripts have run first (a document still loading may be
// replaced under the keys); if the field is rendered anew meanwhile, it is
// typed into again from empty.
func (tb *tab) typeInto(id, text string) {
	tb.t.Helper()
	tb.settle()
	deadline := time.Now().Add(stepTimeout)
	for {
		tb.wait("#"+id, fmt.Sprintf(`document.getElementById(%q).offsetParent !== null`, id))
		eval[bool](tb, "clear #"+id, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = ''; e.focus(); return true; })()`, id))
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		_, err := chromedp.Run(ctx, chromedp.SendKeys(chromedp.ID(id), text))
		cancel()
		if err == nil {
			return
		}
		if time.Now().Before(deadline) && navigated(err) {
			continue
		}
		tb.fail("type into #"+id, err)
	}
}

// choose selects value in the select #id as a user would (a change event).
func (tb *tab) choose(id, value string) {
	tb.t.Helper()
	tb.wait("option "+value+" in #"+id, fmt.Sprintf(`[...document.getElementById(%q).options].some((o) => o.value === %q)`, id, value))
	if !eval[bool](tb, "choose "+value+" in #"+id, setJS(id, value)) {
		tb.t.Fatalf("could not choose %s in #%s", value, id)
	}
}

// value returns the value of the input #id.
func (tb *tab) value(id string) string {
	tb.t.Helper()
	return eval[string](tb, "value of #"+id, fmt.Sprintf(`document.getElementById(%q).value`, id))
}

// screenshot captures the viewport as PNG.
func (tb *tab) screenshot() []byte {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.fail("screenshot", err)
	}
	return b
}

// clickCSS clicks the element sel.
func clickCSS(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel))
}

// setDate sets a date input (a picker has no locale-free keystrokes).
func (tb *tab) setDate(id, yyyymmdd string) {
	tb.t.Helper()
	if !eval[bool](tb, "set #"+id, setJS(id, yyyymmdd)) {
		tb.t.Fatalf("could not set #%s to %s", id, yyyymmdd)
	}
}

// evalAction evaluates JS for its effect.
func evalAction(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](expr)
}

// registeredRE is baresip's log line of a successful registration
// ("1001@127.0.0.1: {0/UDP/v4} 200 OK () [1 binding]").
var registeredRE = regexp.MustCompile(`200 OK .*\[\d+ binding`)

// startWork waits until the operator's phone has registered, then presses
// «Начало работы» and waits for the session leg: Активен, Свободен.
func (tb *tab) startWork(phone *peertest.Baresip) {
	tb.t.Helper()
	waitRegistered(tb.t, phone)
	tb.waitText("#phone-status", "Не активен")
	tb.click("#phone button", "Начало работы")
	tb.waitText("#phone-status", "Активен")
	tb.waitText("#phone-state", "Свободен")
}

// waitRegistered waits until baresip says its registration succeeded.
func waitRegistered(t *testing.T, phone *peertest.Baresip) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !registeredRE.MatchString(phone.Output()) {
		if time.Now().After(deadline) {
			t.Fatalf("the phone did not register in %v:\n%s", stepTimeout, phone.Output())
		}
		time.Sleep(20 * time.Millisecond) // poll baresip's log for the line
	}
}
