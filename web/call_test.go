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

// The operator's day with a real phone, as the manual tells it: baresip
// is the operator's softphone; «Начало работы» in the desktop brings the
// session leg up (Активен, Свободен); the supervisor's wallboard sees
// each state change as it happens; a SIPp caller from a number in the
// registry dials the queue; the alert shows the number and the person;
// «Добавить» opens the card with the phone filled in, the registry
// search by that phone, and saving links the appeal to the call and its
// recording, which plays in the appeal's page. The supervisor (a baresip
// phone of her own) listens to the call from the wallboard and stops.
func TestDesktopLiveCall(t *testing.T) {
	peertest.RequirePeer(t, "baresip")
	peertest.RequirePeer(t, "sipp")
	app := startAppliance(t)
	br := newBrowser(t, app)
	const secret = "Kx7-bq2m-Zt9w-Lp4v" // SIP secret of the operator's phone
	app.admin("POST", "/api/v1/accounts", map[string]any{"login": "lebedeva", "display_name": "Лебедева Ольга Николаевна",
		"roles": []string{"operator_l1"}, "organization": "ТФОМС", "extension": "1101", "queues": []string{"main"},
		"password": password, "sip_secret": secret, "sip_realm": "obzvon"}, nil)
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1101", Password: secret, Registrar: app.sip, MicSeconds: 120})

	// The supervisor has a phone too: listening rings it.
	const supSecret = "Hr6-Ty2p-Lk8s-Wd4m"
	app.admin("POST", "/api/v1/accounts", map[string]any{"login": "zorina", "display_name": "Зорина Вера Андреевна",
		"roles": []string{"supervisor"}, "organization": "ТФОМС", "extension": "3101",
		"password": password, "sip_secret": supSecret, "sip_realm": "obzvon"}, nil)
	supPhone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "3101", Password: supSecret, Registrar: app.sip, MicSeconds: 120})
	sup := br.tab(t)
	sup.login("zorina")
	sup.openWallboard()

	op := br.tab(t)
	op.login("lebedeva")
	op.startWork(phone)
	sup.waitText("#wb-agents", "Лебедева Ольга Николаевна")

	t.Run("the wallboard shows a state change within 1 s", func(t *testing.T) {
		sup.t, op.t = t, t
		// The wallboard notes when «Пауза» appears on it; the appliance
		// says when the state changed.
		sup.run("watch the wallboard", evalAction(`window.__seen = 0; new MutationObserver(() => {
			if (!window.__seen && document.getElementById('wb-agents').innerText.includes('Пауза: обед')) window.__seen = Date.now(); })
			.observe(document.getElementById('wb-agents'), {subtree: true, childList: true, characterData: true})`))
		op.choose("phone-pause-reason", "обед")
		op.click("#phone button", "Пауза")
		op.waitText("#phone-state", "Пауза: обед")
		sup.wait("the pause on the wallboard", `window.__seen > 0`)
		seen := eval[float64](sup, "seen at", `window.__seen`)
		var agents []struct {
			Login string    `json:"login"`
			State string    `json:"state"`
			Since time.Time `json:"state_since"`
		}
		app.admin("GET", "/api/v1/agents", nil, &agents)
		var since time.Time
		for _, a := range agents {
			if a.Login == "lebedeva" && a.State == "paused" {
				since = a.Since
			}
		}
		if since.IsZero() {
			t.Fatalf("agents %+v: lebedeva not paused", agents)
		}
		lag := time.UnixMilli(int64(seen)).Sub(since)
		t.Logf("state change to the wallboard: %v", lag)
		if lag > time.Second {
			t.Errorf("the wallboard showed the pause %v after it happened, want within 1 s", lag)
		}
		op.click("#phone button", "Готов")
		op.waitText("#phone-state", "Свободен")
		sup.waitText("#wb-agents", "Свободен")
	})

	var callID, appealID string
	caller := "89161112233" // Ковалёва in the registry
	t.Run("an incoming call is registered through the card", func(t *testing.T) {
		op.t = t
		scenario, err := filepath.Rel(peertest.ScenarioDir(), filepath.Join(mustAbs(t, "testdata"), "uac_caller.xml"))
		if err != nil {
			t.Fatal(err)
		}
		// The caller stays on until the operator hangs up (the checks on
		// the way take long on a loaded machine: a 30 s call ended first).
		sipp := peertest.StartSIPpFor(t, 5*time.Minute, scenario, app.sip, "-s", "8800", "-key", "caller", caller, "-d", "280000", "-m", "1",
			"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
		op.waitText("#call-caller", caller)
		op.waitText("#call-person", "Ковалёва Татьяна Игоревна, 12.03.1961")
		op.waitText("#call", "Разговор")
		sup.t = t
		sup.waitText("#wb-agents", "Разговаривает")
		sup.waitText("#wb-queues", "main")
		// The screens with a call on them pass the same checks.
		op.check("cabinet with an incoming call", "call")
		sup.check("wallboard with a call", "wallboard")
		op.click("#call button", "Добавить")
		op.wait("the card", `location.pathname === '/appeals/new'`)
		op.waitText("#card-call", caller)
		if got := op.value("c-phone"); got != caller {
			t.Errorf("the card's phone is %q, want the caller's %s", got, caller)
		}
		// The registry found by the number: attach.
		op.waitText("#rs-results", personENP)
		op.click("#rs-results button", "Прикрепить "+personSurn+" Татьяна Игоревна")
		op.typeInto("c-topic-q", "прикрепление поликлиника")
		op.wait("a topic hit", `document.querySelectorAll('#c-topic-hits button').length > 0`)
		op.run("pick the first topic", clickCSS("#c-topic-hits button"))
		op.wait("a topic", `document.getElementById('c-topic').value !== ''`)
		op.typeInto("c-text", "Переехала, как прикрепиться к новой поликлинике")
		op.click("button", "Сохранить")
		op.wait("the appeal page", `location.pathname.startsWith('/appeals/') && location.pathname !== '/appeals/new' && !!document.getElementById('a-title')`)
		appealID = strings.TrimPrefix(op.location(), "/appeals/")
		op.noErrors("card during a call")
		var me struct {
			Call *struct {
				CallID string `json:"call_id"`
			} `json:"call"`
		}
		op.wait("still talking", `document.getElementById('call').innerText.includes('Разговор')`)
		me.Call = nil
		callID = eval[string](op, "the current call", `fetch('/api/v1/agent/me').then((r) => r.json()).then((m) => m.call ? m.call.call_id : '')`)
		if callID == "" {
			t.Fatal("no current call on the operator after saving")
		}
		// The supervisor listens from the wallboard: the phone rings and
		// answers, the button turns into «Стоп», and the journal's audit
		// names the supervisor, the call and the mode.
		waitRegistered(t, supPhone)
		sup.click("#wb-agents button", "Слушать: Лебедева Ольга Николаевна")
		sup.waitText("#toast", "Прослушивание: Лебедева Ольга Николаевна")
		sup.click("#wb-agents button", "Стоп: слушать, Лебедева Ольга Николаевна")
		sup.waitText("#toast", "Наблюдение остановлено")
		var audit []journal.AuditEntry
		app.admin("GET", "/api/v1/audit?subject=call:"+callID, nil, &audit)
		var ops []string
		for _, e := range audit {
			if e.Account == "zorina" {
				ops = append(ops, e.Op+" "+e.Detail)
			}
		}
		if len(ops) != 2 || !strings.HasPrefix(ops[0], "supervise mode listen, operator lebedeva") || !strings.HasPrefix(ops[1], "supervise-end") {
			t.Errorf("audit of the call by the supervisor: %q; want supervise (listen) and supervise-end", ops)
		}
		sup.noErrors("listen")

		// The operator ends the call from the desktop.
		op.click("#call button", "Завершить звонок")
		if code := sipp.Wait(40 * time.Second); code != 0 {
			t.Fatalf("caller exit %d:\n%s\n%s", code, sipp.Output(), sipp.Logs())
		}
		op.waitText("#phone-state", "Обработка после вызова")
	})
	if appealID == "" {
		t.Fatal("no appeal; the rest depends on it")
	}
	t.Run("the wallboard plots the day, also what happened before it opened", func(t *testing.T) {
		sup.t = t
		sup.open("/wallboard")
		// The caller waited and was answered before this page loaded: the
		// server's points of the day come first.
		sup.wait("the day's points", `Number(document.getElementById('wb-plot').dataset.points) >= 2 && `+
			`Number(document.getElementById('wb-plot').dataset.from) < performance.timeOrigin`)
		sup.noErrors("wallboard plot")
	})

	t.Run("the call and its recording are linked to the appeal", func(t *testing.T) {
		op.t = t
		var a journal.Appeal
		deadline := time.Now().Add(20 * time.Second)
		for {
			a = app.appeal(appealID)
			if len(a.Calls) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(a.Calls) != 1 || a.Calls[0] != callID {
			t.Fatalf("appeal calls %v, want the call %s", a.Calls, callID)
		}
		if a.Phone != personPhone || a.Person.ENP != personENP || a.CreatedBy != "lebedeva" || a.Status != journal.StatusInWork {
			t.Errorf("appeal: phone %s person %s by %s status %s", a.Phone, a.Person.ENP, a.CreatedBy, a.Status)
		}
		var calls []journal.CallRecord
		app.admin("GET", "/api/v1/calls?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&to="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil, &calls)
		var rec journal.CallRecord
		for _, c := range calls {
			if c.ID == callID {
				rec = c
			}
		}
		if rec.Appeal != appealID || rec.Recording == "" {
			t.Fatalf("call record %+v: want the appeal %s and a recording", rec, appealID)
		}
		// The appeal's page lists the call with a player; the recording
		// answers range requests.
		op.open("/appeals/" + appealID)
		op.wait("the player", `!!document.querySelector('#calls audio')`)
		status := eval[int](op, "range request", `fetch(document.querySelector('#calls audio').getAttribute('src'), {headers: {Range: 'bytes=0-43'}}).then((r) => r.status)`)
		if status != 206 {
			t.Errorf("recording with Range: %d, want 206", status)
		}
		op.noErrors("appeal with its call")
	})
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
