package web_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// A blind transfer from the desktop, as the manual has it: the operator
// who took the call registers the appeal, then «Перевести» → finds the
// colleague in the directory by name → «Выбрать» → «Перевести». The
// colleague's desktop (baresip on a session leg) shows the caller; the
// first operator is free; the call's record names the appeal and the
// transfer, and the colleague's current call carries the appeal.
func TestDesktopBlindTransferCarriesAppeal(t *testing.T) {
	peertest.RequirePeer(t, "baresip")
	peertest.RequirePeer(t, "sipp")
	app := startAppliance(t)
	br := newBrowser(t, app)
	const secretA, secretB = "Pq4-Ws8e-Nd2r-Ty6u", "Mz5-Ka1x-Vb7n-Qe3c"
	app.admin("POST", "/api/v1/accounts", map[string]any{"login": "lebedeva", "display_name": "Лебедева Ольга Николаевна",
		"roles": []string{"operator_l1"}, "organization": "ТФОМС", "extension": "1101", "queues": []string{"main"},
		"password": password, "sip_secret": secretA, "sip_realm": "obzvon"}, nil)
	app.admin("POST", "/api/v1/accounts", map[string]any{"login": "gromov", "display_name": "Громов Андрей Ильич",
		"roles": []string{"operator_l2"}, "organization": "ТФОМС", "extension": "2101",
		"password": password, "sip_secret": secretB, "sip_realm": "obzvon"}, nil)
	phoneA := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1101", Password: secretA, Registrar: app.sip, MicSeconds: 240})
	phoneB := peertest.StartBaresip(t, peertest.BaresipOptions{User: "2101", Password: secretB, Registrar: app.sip, MicSeconds: 240})

	a := br.tab(t)
	a.login("lebedeva")
	a.startWork(phoneA)
	b := br.tab(t)
	b.login("gromov")
	b.startWork(phoneB)

	caller := "89161112233" // Ковалёва in the registry
	scenario, err := filepath.Rel(peertest.ScenarioDir(), filepath.Join(mustAbs(t, "testdata"), "uac_caller.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sipp := peertest.StartSIPpFor(t, 5*time.Minute, scenario, app.sip, "-s", "8800", "-key", "caller", caller, "-d", "280000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	a.waitText("#call-caller", caller)
	a.waitText("#call", "Разговор")

	// The appeal, registered during the call.
	a.click("#call button", "Добавить")
	a.wait("the card", `location.pathname === '/appeals/new'`)
	a.waitText("#rs-results", personENP)
	a.click("#rs-results button", "Прикрепить "+personSurn+" Татьяна Игоревна")
	a.typeInto("c-topic-q", "прикрепление поликлиника")
	a.wait("a topic hit", `document.querySelectorAll('#c-topic-hits button').length > 0`)
	a.run("pick the first topic", clickCSS("#c-topic-hits button"))
	a.wait("a topic", `document.getElementById('c-topic').value !== ''`)
	a.typeInto("c-text", "Просит консультацию специалиста 2-го уровня")
	a.click("button", "Сохранить")
	a.wait("the appeal page", `location.pathname.startsWith('/appeals/') && location.pathname !== '/appeals/new' && !!document.getElementById('a-title')`)
	appealID := strings.TrimPrefix(a.location(), "/appeals/")
	callID := eval[string](a, "the current call", `fetch('/api/v1/agent/me').then((r) => r.json()).then((m) => m.call ? m.call.call_id : '')`)
	if callID == "" {
		t.Fatal("no current call after saving the appeal")
	}

	// «Перевести» → directory search → «Выбрать» → «Перевести».
	a.click("#call button", "Перевести")
	a.wait("the transfer dialog", `document.getElementById('transfer-dialog').open`)
	a.typeInto("transfer-search", "Громов")
	a.waitText("#transfer-results", "вн. 2101")
	a.click("#transfer-results button", "Выбрать")
	if got := a.value("transfer-target"); got != "2101" {
		t.Fatalf("«Выбрать» put %q in the target, want the extension 2101", got)
	}
	a.check("transfer dialog", "")
	a.click("#transfer-dialog button", "Перевести")
	a.waitText("#toast", "Звонок переведён на 2101")

	// The colleague has the caller; the first operator is free.
	b.waitText("#call-caller", caller)
	b.waitText("#phone-state", "Разговаривает")
	a.wait("the call gone from the first operator", `document.getElementById('call').hidden`)
	carried := eval[string](b, "the colleague's call", `fetch('/api/v1/agent/me').then((r) => r.json()).then((m) => m.call ? (m.call.appeal_id || '') : 'no call')`)
	if carried != appealID {
		t.Errorf("the colleague's current call carries appeal %q, want %s", carried, appealID)
	}
	// The appeal went with the call: it is the colleague's now, one click
	// away in the call bar.
	if got := app.appeal(appealID); got.Assignee != "gromov" || got.Status != journal.StatusInWork {
		t.Errorf("journal: appeal assigned to %q (%s), want gromov in work", got.Assignee, got.Status)
	}
	b.click("#call a", "Обращение по звонку")
	b.wait("the appeal page", `location.pathname === '/appeals/`+appealID+`'`)
	b.waitText("#a-title", "№")
	b.waitText("main", "Просит консультацию специалиста 2-го уровня")
	if st := b.documentStatus("/appeals/" + appealID); st != 200 {
		t.Errorf("the colleague opens the carried appeal: status %d, want 200", st)
	}
	b.click("#call button", "Завершить звонок")
	if code := sipp.Wait(60 * time.Second); code != 0 {
		t.Fatalf("caller exit %d:\n%s\n%s", code, sipp.Output(), sipp.Logs())
	}

	// The call's record: the appeal and the transfer by the first
	// operator to 2101.
	var rec journal.CallRecord
	deadline := time.Now().Add(stepTimeout)
	for rec.ID == "" {
		var calls []journal.CallRecord
		app.admin("GET", "/api/v1/calls?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&to="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil, &calls)
		for _, c := range calls {
			if c.ID == callID {
				rec = c
			}
		}
		if rec.ID == "" {
			if time.Now().After(deadline) {
				t.Fatalf("no record of the call %s", callID)
			}
			time.Sleep(100 * time.Millisecond) // the record is written when the call ends
		}
	}
	if rec.Appeal != appealID || len(rec.Transfers) != 1 || rec.Transfers[0].By != "lebedeva" || rec.Transfers[0].To != "2101" || rec.Transfers[0].Mode != "blind" {
		t.Errorf("call record: appeal %q transfers %+v; want %s, one blind transfer by lebedeva to 2101", rec.Appeal, rec.Transfers, appealID)
	}
	// The first operator ends the working day: «Завершить» takes the
	// session leg down (Не активен), and the ACD has her logged out.
	a.click("#phone button", "Завершить")
	a.waitText("#phone-status", "Не активен")
	var agents []struct {
		Login string `json:"login"`
		State string `json:"state"`
	}
	app.admin("GET", "/api/v1/agents", nil, &agents)
	state := "not listed"
	for _, ag := range agents {
		if ag.Login == "lebedeva" {
			state = ag.State
		}
	}
	if state != "logged_out" {
		t.Errorf("after «Завершить» lebedeva is %s, want logged_out", state)
	}
	a.noErrors("transfer")
	b.noErrors("transferred call")
}
