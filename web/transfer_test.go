package web_test

import (
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
	r := startTransferCall(t)
	app, a, b, sipp, caller, appealID, callID := r.app, r.a, r.b, r.sipp, r.caller, r.appealID, r.callID

	// «Перевести» → directory search → «Выбрать» → «Перевести».
	a.openTransferTo("Громов", "2101", "Без консультации")
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
	b.hangUp(sipp)

	// The call's record: the appeal and the transfer by the first
	// operator to 2101.
	rec := app.callRecord(callID)
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

// An attended transfer from the desktop: the operator who registered the
// appeal during the call consults a colleague first («С консультацией»;
// the caller hears the music), and the appeal goes to the colleague only
// when she completes it («Соединить»), never at the consultation's start.
// A consultation taken back («Вернуться к звонку») leaves the appeal with
// her. Once completed, the colleague's desktop shows the caller with the
// appeal one click away, and the appeal's history in the journal shows
// the reassignment.
func TestDesktopAttendedTransferCarriesAppeal(t *testing.T) {
	r := startTransferCall(t)
	app, a, b, sipp, caller, appealID, callID := r.app, r.a, r.b, r.sipp, r.caller, r.appealID, r.callID
	stillHers := func(when string) {
		t.Helper()
		got := app.appeal(appealID)
		if got.Assignee != "lebedeva" {
			t.Errorf("%s: the appeal is assigned to %q, want still lebedeva", when, got.Assignee)
		}
		for _, c := range got.History {
			if c.Move == journal.MoveTransfer {
				t.Errorf("%s: the appeal's history has a transfer: %+v", when, c)
			}
		}
	}
	consult := func() {
		t.Helper()
		a.openTransferTo("Громов", "2101", "С консультацией")
		a.click("#transfer-dialog button", "Перевести")
		a.waitText("#toast", "Консультация с 2101")
		a.waitText("#call-label", "Консультация с коллегой")
		// The colleague talks to her (the ACD connected the consultation).
		b.waitText("#phone-state", "Разговаривает")
		stillHers("during the consultation")
	}

	// A consultation taken back: the caller is hers again, so is the appeal.
	consult()
	a.click("#call button", "Вернуться к звонку")
	a.waitText("#toast", "Вы снова говорите с гражданином")
	a.waitText("#call-label", "Разговор")
	a.wait("«Перевести» again", visibleJS("#call button", "Перевести"))
	b.wait("the consultation over for the colleague", `['Обработка после вызова', 'Свободен'].includes(document.getElementById('phone-state').innerText.trim())`)
	stillHers("after «Вернуться к звонку»")
	// The consultation's wrap-up (the queue's 15 s) ends by itself.
	b.waitText("#phone-state", "Свободен")

	// Again, and this time she completes it. A reload in the middle keeps
	// the consultation's buttons: the server says the call is consulting.
	consult()
	a.open(a.location())
	a.waitText("#call-label", "Консультация с коллегой")
	a.click("#call button", "Соединить")
	a.waitText("#toast", "Звонок переведён")
	a.wait("the call gone from the first operator", `document.getElementById('call').hidden`)
	a.waitText("#phone-state", "Обработка после вызова")

	// The colleague has the caller with the appeal, one click away.
	b.waitText("#call-caller", caller)
	b.waitText("#call", "Разговор")
	b.wait("the appeal in the call bar", `!document.getElementById('call-appeal').hidden`)
	got := app.appeal(appealID)
	var moved *journal.Change
	for i, c := range got.History {
		if c.Move == journal.MoveTransfer {
			moved = &got.History[i]
		}
	}
	if got.Assignee != "gromov" || got.Status != journal.StatusInWork || moved == nil || moved.By != "lebedeva" ||
		!strings.HasPrefix(moved.Note, "transferred from lebedeva to gromov") {
		t.Errorf("journal: appeal assigned to %q (%s), transfer in its history %+v; want gromov in work, moved by lebedeva", got.Assignee, got.Status, moved)
	}
	b.click("#call a", "Обращение по звонку")
	b.wait("the appeal page", `location.pathname === '/appeals/`+appealID+`'`)
	b.waitText("main", "Просит консультацию специалиста 2-го уровня")
	b.waitText("#changes", "Переадресовано")
	b.waitText("#changes", "передано от lebedeva к gromov")
	b.check("the appeal taken over with the call", "")
	b.hangUp(sipp)
	rec := app.callRecord(callID)
	if rec.Appeal != appealID || len(rec.Transfers) != 1 || rec.Transfers[0].By != "lebedeva" || rec.Transfers[0].To != "gromov" || rec.Transfers[0].Mode != "attended" {
		t.Errorf("call record: appeal %q transfers %+v; want %s, one attended transfer by lebedeva to gromov", rec.Appeal, rec.Transfers, appealID)
	}
	a.noErrors("attended transfer")
	b.noErrors("call taken over")
}

// transferCall is a caller (SIPp, from a number in the registry) talking
// to lebedeva (level 1, extension 1101, baresip on a session leg) about
// the appeal she registered during the call; her colleague gromov (level
// 2, extension 2101, baresip too) is at work and free.
type transferCall struct {
	app              *appliance
	a, b             *tab // lebedeva's and gromov's desktops
	sipp             *peertest.SIPp
	caller           string
	appealID, callID string
}

func startTransferCall(t *testing.T) transferCall {
	t.Helper()
	app, br := startWithPeers(t)
	phoneA := app.startPhoneUser(phoneUser{login: "lebedeva", name: "Лебедева Ольга Николаевна", role: "operator_l1", ext: "1101",
		secret: "Pq4-Ws8e-Nd2r-Ty6u", queues: []string{"main"}})
	phoneB := app.startPhoneUser(phoneUser{login: "gromov", name: "Громов Андрей Ильич", role: "operator_l2", ext: "2101",
		secret: "Mz5-Ka1x-Vb7n-Qe3c"})

	a := br.tab(t)
	a.login("lebedeva")
	a.startWork(phoneA)
	b := br.tab(t)
	b.login("gromov")
	b.startWork(phoneB)

	caller := "89161112233" // Ковалёва in the registry
	sipp, _ := app.callQueue(t, caller)
	a.waitText("#call-caller", caller)
	a.waitText("#call", "Разговор")

	// The appeal, registered during the call.
	appealID := a.registerCallAppeal("Просит консультацию специалиста 2-го уровня")
	callID := eval[string](a, "the current call", `fetch('/api/v1/agent/me').then((r) => r.json()).then((m) => m.call ? m.call.call_id : '')`)
	if callID == "" {
		t.Fatal("no current call after saving the appeal")
	}
	return transferCall{app: app, a: a, b: b, sipp: sipp, caller: caller, appealID: appealID, callID: callID}
}

// openTransferTo opens «Перевести», finds the colleague by name in the
// directory, «Выбрать» puts the extension in, and mode's radio is set.
func (tb *tab) openTransferTo(name, ext, mode string) {
	tb.t.Helper()
	tb.click("#call button", "Перевести")
	tb.wait("the transfer dialog", `document.getElementById('transfer-dialog').open`)
	tb.typeInto("transfer-search", name)
	tb.waitText("#transfer-results", "вн. "+ext)
	tb.click("#transfer-results button", "Выбрать")
	if got := tb.value("transfer-target"); got != ext {
		tb.t.Fatalf("«Выбрать» put %q in the target, want the extension %s", got, ext)
	}
	tb.click("#transfer-dialog label", mode)
	tb.wait(mode, `document.querySelector('input[name="transfer-mode"]:checked').parentElement.innerText.trim() === `+strconv.Quote(mode))
}

// callRecord waits for the journal's record of call id (written when the
// call ends).
func (a *appliance) callRecord(id string) journal.CallRecord {
	a.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		var calls []journal.CallRecord
		a.admin("GET", "/api/v1/calls?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&to="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil, &calls)
		for _, c := range calls {
			if c.ID == id {
				return c
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("no record of the call %s", id)
		}
		time.Sleep(100 * time.Millisecond) // the record is written when the call ends
	}
}
