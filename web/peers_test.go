package web_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
)

// startWithPeers starts the appliance and a browser for a test with real
// phones and callers (baresip and SIPp, required).
func startWithPeers(t *testing.T) (*appliance, *browser) {
	t.Helper()
	peertest.RequirePeer(t, "baresip")
	peertest.RequirePeer(t, "sipp")
	app := startAppliance(t)
	return app, newBrowser(t, app)
}

// openWallboard opens the wallboard and waits for its live stream.
func (tb *tab) openWallboard() {
	tb.t.Helper()
	tb.open("/wallboard")
	tb.wait("the stream", `document.getElementById('live').innerText === 'На связи'`)
}

// registerCallAppeal registers an appeal for the current call as the
// manual has it: «Добавить» opens the card with the caller's number, the
// registry search by it finds Ковалёва («Прикрепить»), a topic found by
// keywords, the text; «Сохранить» opens the appeal's page. It returns the
// appeal's id.
func (tb *tab) registerCallAppeal(text string) string {
	tb.t.Helper()
	tb.click("#call button", "Добавить")
	tb.wait("the card", `location.pathname === '/appeals/new'`)
	tb.waitText("#rs-results", personENP)
	tb.click("#rs-results button", "Прикрепить "+personSurn+" Татьяна Игоревна")
	tb.typeInto("c-topic-q", "прикрепление поликлиника")
	tb.wait("a topic hit", `document.querySelectorAll('#c-topic-hits button').length > 0`)
	tb.run("pick the first topic", clickCSS("#c-topic-hits button"))
	tb.wait("a topic", `document.getElementById('c-topic').value !== ''`)
	tb.typeInto("c-text", text)
	tb.click("button", "Сохранить")
	tb.wait("the appeal page", `location.pathname.startsWith('/appeals/') && location.pathname !== '/appeals/new' && !!document.getElementById('a-title')`)
	return strings.TrimPrefix(tb.location(), "/appeals/")
}

// phoneUser is an account with a SIP secret, and its softphone.
type phoneUser struct {
	login, name, role, ext, secret string
	queues                         []string
	// tone, when set, is the phone's microphone: a sine of this frequency.
	tone float64
}

// startPhoneUser creates u's account (organization ТФОМС, the tests'
// password) and starts its baresip, registering with the appliance; the
// microphone plays for 4 minutes.
func (a *appliance) startPhoneUser(u phoneUser) *peertest.Baresip {
	a.t.Helper()
	acc := map[string]any{"login": u.login, "display_name": u.name, "roles": []string{u.role}, "organization": "ТФОМС",
		"extension": u.ext, "password": password, "sip_secret": u.secret, "sip_realm": "obzvon"}
	if len(u.queues) > 0 {
		acc["queues"] = u.queues
	}
	a.admin("POST", "/api/v1/accounts", acc, nil)
	return peertest.StartBaresip(a.t, peertest.BaresipOptions{User: u.ext, Password: u.secret, Registrar: a.sip, MicSeconds: 240, MicTone: u.tone})
}

// callQueue starts a SIPp caller from number (testdata/uac_caller.xml:
// a 1 kHz tone) dialing the queue's 8800; it stays on until hung up.
// mediaPort is its RTP port.
func (a *appliance) callQueue(t *testing.T, number string) (sipp *peertest.SIPp, mediaPort int) {
	t.Helper()
	scenario, err := filepath.Rel(peertest.ScenarioDir(), filepath.Join(mustAbs(t, "testdata"), "uac_caller.xml"))
	if err != nil {
		t.Fatal(err)
	}
	mediaPort = peertest.FreeMediaPort(t)
	sipp = peertest.StartSIPpFor(t, 5*time.Minute, scenario, a.sip, "-s", "8800", "-key", "caller", number, "-d", "280000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(mediaPort))
	return sipp, mediaPort
}

// hangUp ends the call from the desktop («Завершить звонок») and waits
// for the caller to end cleanly.
func (tb *tab) hangUp(caller *peertest.SIPp) {
	tb.t.Helper()
	tb.click("#call button", "Завершить звонок")
	if code := caller.Wait(60 * time.Second); code != 0 {
		tb.t.Fatalf("caller exit %d:\n%s\n%s", code, caller.Output(), caller.Logs())
	}
}
