package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// Tones that tell who hears whom: the caller (SIPp) sends 1 kHz, the
// operator's phone 600 Hz, the supervisor's phone 1500 Hz.
const (
	callerTone     = 1000
	operatorTone   = 600
	supervisorTone = 1500
)

// The supervisor's buttons on the wallboard, with real phones: a caller
// talks to an operator (baresip on a session leg); the supervisor (a
// baresip of her own) clicks «Слушать», then «Суфлёр», then
// «Вмешаться», then «Стоп». The audio on the wire (a capture on
// loopback) shows each mode: listening, the supervisor hears both and
// nobody hears her; whispering, the operator hears her and the caller
// does not; barging, both do. Her phone's own recording has the caller
// and the operator in it, and the audit journal has each mode and the
// end, by her, on the call. A supervision still on when the call ends
// ends with it, and the operator's next call offers «Слушать» again.
func TestDesktopSupervisionButtons(t *testing.T) {
	app, br := startWithPeers(t)
	capture := peertest.StartCapture(t)
	phone := app.startPhoneUser(phoneUser{login: "lebedeva", name: "Лебедева Ольга Николаевна", role: "operator_l1", ext: "1101",
		secret: "Rb3-Lk7w-Pz2x-Hd5q", queues: []string{"main"}, tone: operatorTone})
	supPhone := app.startPhoneUser(phoneUser{login: "zorina", name: "Зорина Вера Андреевна", role: "supervisor", ext: "3101",
		secret: "Wm8-Cs4t-Jv6n-Fy1e", tone: supervisorTone})

	sup := br.tab(t)
	sup.login("zorina")
	sup.openWallboard()
	op := br.tab(t)
	op.login("lebedeva")
	op.startWork(phone)
	sup.waitText("#wb-agents", "Лебедева Ольга Николаевна")

	sipp, callerMedia := app.callQueue(t, "89161112233")
	op.waitText("#call", "Разговор")
	sup.waitText("#wb-agents", "Разговаривает")
	callID := eval[string](op, "the current call", `fetch('/api/v1/agent/me').then((r) => r.json()).then((m) => m.call ? m.call.call_id : '')`)
	if callID == "" {
		t.Fatal("no current call on the operator")
	}
	waitRegistered(t, supPhone)

	// Who gets what, from the appliance: the caller (SIPp's media port),
	// the operator's and the supervisor's phones.
	type party struct {
		name   string
		lo, hi int
	}
	caller := party{"the caller", callerMedia, callerMedia + 1}
	operator := party{"the operator", phone.RTPPorts[0], phone.RTPPorts[1]}
	supervisor := party{"the supervisor", supPhone.RTPPorts[0], supPhone.RTPPorts[1]}
	// A mode's audio is looked at from a margin after the wallboard said
	// it was on (the capture's clock is when it read a packet, late on a
	// loaded machine) until the next button.
	const margin = 1500 * time.Millisecond
	received := func(p party, from, to time.Time) []peertest.UDPPacket {
		var out []peertest.UDPPacket
		for _, pkt := range peertest.Between(capture.Packets(), 0, 65535, p.lo, p.hi) {
			if pkt.Time.After(from) && (to.IsZero() || pkt.Time.Before(to)) {
				out = append(out, pkt)
			}
		}
		return out
	}
	// waitAudio waits until each party has 2 s of audio after from.
	waitAudio := func(from time.Time, parties ...party) {
		t.Helper()
		deadline := time.Now().Add(stepTimeout)
		for _, p := range parties {
			for len(received(p, from, time.Time{})) < 100 {
				if time.Now().After(deadline) {
					t.Fatalf("%s got %d RTP packets in %v after %v, want 2 s of audio", p.name, len(received(p, from, time.Time{})), stepTimeout, from)
				}
				time.Sleep(50 * time.Millisecond) // poll the capture
			}
		}
	}
	// window is one mode's time: from a margin after the wallboard said
	// it was on to the next button.
	type window struct{ from, to time.Time }
	// mode clicks a button on the operator's row, waits for the
	// wallboard's word that it is on, then for 2 s of audio in it.
	mode := func(button, says string) window {
		t.Helper()
		sup.click("#wb-agents button", button+": Лебедева Ольга Николаевна")
		sup.waitText("#toast", says+": Лебедева Ольга Николаевна")
		from := time.Now().Add(margin)
		waitAudio(from, caller, operator, supervisor)
		return window{from: from, to: time.Now()}
	}
	listen := mode("Слушать", "Прослушивание")
	whisper := mode("Суфлёр", "Суфлирование")
	barge := mode("Вмешаться", "Вмешательство")
	sup.click("#wb-agents button", "Стоп: вмешаться, Лебедева Ольга Николаевна")
	sup.waitText("#toast", "Наблюдение остановлено")
	sup.wait("the buttons back", visibleJS("#wb-agents button", "Слушать: Лебедева Ольга Николаевна"))

	for _, c := range []struct {
		what  string
		p     party
		w     window
		freq  float64
		heard bool
	}{
		{"listen: the supervisor hears the caller", supervisor, listen, callerTone, true},
		{"listen: the supervisor hears the operator", supervisor, listen, operatorTone, true},
		{"listen: the operator hears the caller", operator, listen, callerTone, true},
		{"listen: the caller hears the operator", caller, listen, operatorTone, true},
		{"listen: the operator hears the supervisor", operator, listen, supervisorTone, false},
		{"listen: the caller hears the supervisor", caller, listen, supervisorTone, false},
		{"whisper: the operator hears the supervisor", operator, whisper, supervisorTone, true},
		{"whisper: the caller hears the supervisor", caller, whisper, supervisorTone, false},
		{"whisper: the supervisor hears the caller", supervisor, whisper, callerTone, true},
		{"barge: the caller hears the supervisor", caller, barge, supervisorTone, true},
		{"barge: the operator hears the supervisor", operator, barge, supervisorTone, true},
	} {
		s, _ := peertest.RTPToneShare(received(c.p, c.w.from, c.w.to), c.freq)
		t.Logf("%s: %.0f Hz share %.2f", c.what, c.freq, s)
		if c.heard && s < 0.1 || !c.heard && s > 0.05 {
			t.Errorf("%s: %.0f Hz share %.2f, want %s", c.what, c.freq, s, map[bool]string{true: "at least 0.10", false: "at most 0.05"}[c.heard])
		}
	}

	// The audit journal: each mode and the end, by the supervisor.
	var audit []journal.AuditEntry
	app.admin("GET", "/api/v1/audit?subject=call:"+callID, nil, &audit)
	var ops []string
	for _, e := range audit {
		if e.Account == "zorina" {
			ops = append(ops, e.Op+" "+e.Detail)
		}
	}
	want := []string{"supervise mode listen, operator lebedeva", "supervise mode whisper, operator lebedeva", "supervise mode barge, operator lebedeva", "supervise-end operator lebedeva"}
	if len(ops) != len(want) {
		t.Errorf("audit of the call by the supervisor: %q; want %q", ops, want)
	} else {
		for i := range want {
			if !strings.HasPrefix(ops[i], want[i]) {
				t.Errorf("audit of the call by the supervisor: %q; want %q", ops, want)
				break
			}
		}
	}
	sup.noErrors("supervision")

	// Listening when the call ends: the server ends the supervision (and
	// audits it), and the operator's next call offers «Слушать» again,
	// not a «Стоп» left from the call that ended.
	sup.click("#wb-agents button", "Слушать: Лебедева Ольга Николаевна")
	sup.waitText("#toast", "Прослушивание: Лебедева Ольга Николаевна. Ваш телефон сейчас зазвонит.")
	op.hangUp(sipp)
	op.click("#phone button", "Завершить обработку")
	op.waitText("#phone-state", "Свободен")
	next, _ := app.callQueue(t, "89162223344")
	op.waitText("#call-caller", "89162223344")
	sup.wait("«Слушать» on the next call", visibleJS("#wb-agents button", "Слушать: Лебедева Ольга Николаевна")+
		` && !document.getElementById('wb-agents').innerText.includes('Стоп')`)
	app.admin("GET", "/api/v1/audit?subject=call:"+callID, nil, &audit)
	if last := audit[len(audit)-1]; last.Account != "zorina" || last.Op != "supervise-end" {
		t.Errorf("the call's last audit entry %+v, want the supervision's end", last)
	}
	op.hangUp(next)
	op.noErrors("supervised call")
	sup.noErrors("supervision ended with the call")

	// What the supervisor's phone itself heard (decoded, its two calls):
	// the caller and the operator.
	supPhone.Stop()
	heard, _ := supPhone.Recordings()
	if len(heard) != 2 {
		t.Fatalf("the supervisor's phone recorded %v, want its two calls", heard)
	}
	var x []float64
	rate := 0
	for _, f := range heard {
		y, r := peertest.ReadMonoWAV(t, f)
		x, rate = append(x, y...), r
	}
	for _, f := range []float64{callerTone, operatorTone} {
		if s, n := peertest.ToneShare(x, rate, f); s < 0.1 || n < 300 {
			t.Errorf("the supervisor's phone heard %.0f Hz at share %.2f over %d blocks, want the call (6 s and more)", f, s, n)
		}
	}
}
