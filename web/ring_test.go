package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ringProbe, run in every document of a tab before its scripts, watches
// the page's sound from outside it (no hook in the desktop's code):
// window.__ring counts the WebAudio oscillators started (with the state of
// their audio context then), and the call.offered events the page's
// stream handled (counted after the page's own listener has run).
const ringProbe = `(() => {
  const probe = window.__ring = { started: 0, states: [], offers: 0 };
  const start = AudioScheduledSourceNode.prototype.start;
  AudioScheduledSourceNode.prototype.start = function (...args) {
    if (this instanceof OscillatorNode) {
      probe.started++;
      probe.states.push(this.context.state);
    }
    return start.apply(this, args);
  };
  const add = EventSource.prototype.addEventListener;
  EventSource.prototype.addEventListener = function (type, fn, ...rest) {
    if (type !== 'call.offered') return add.call(this, type, fn, ...rest);
    return add.call(this, type, function (e) {
      try { return fn.call(this, e); } finally { probe.offers++; }
    }, ...rest);
  };
})()`

// onNewDocument runs script in each document the tab loads from now on,
// before the document's own scripts.
func (tb *tab) onNewDocument(script string) {
	tb.t.Helper()
	tb.run("add a script to new documents", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
}

// ringState is what ringProbe saw.
type ringState struct {
	Started int      `json:"started"`
	States  []string `json:"states"`
	Offers  int      `json:"offers"`
}

// The incoming call's ring (common.js ring(): six WebAudio oscillators):
// a page the operator has not clicked or typed on yet has no sound (the
// browser allows none), so an offered call shows without it and without
// an error or warning in the console; once she has clicked on the page,
// the next offered call rings, once, on a running audio context. Real
// calls: SIPp callers, baresip the operator's phone.
func TestDesktopRingsOnOffer(t *testing.T) {
	app, br := startWithPeers(t)
	phone := app.startPhoneUser(phoneUser{login: "lebedeva", name: "Лебедева Ольга Николаевна", role: "operator_l1", ext: "1101",
		secret: "Tg5-Nq8r-Xc2v-Bk4m", queues: []string{"main"}})
	probe := func(op *tab) ringState {
		return eval[ringState](op, "the ring probe", `window.__ring`)
	}

	op := br.tab(t)
	op.onNewDocument(ringProbe)
	op.login("lebedeva")
	op.startWork(phone)
	// The page anew: nobody has clicked or typed on it.
	op.open("/cabinet")
	op.waitText("#phone-state", "Свободен")
	if got := probe(op); got.Started != 0 || got.Offers != 0 {
		t.Fatalf("probe on a fresh page: %+v", got)
	}

	first, _ := app.callQueue(t, "89161112233")
	op.wait("the first offer handled", `window.__ring.offers === 1`)
	op.waitText("#call-caller", "89161112233")
	if got := probe(op); got.Started != 0 {
		t.Errorf("without a click on the page the offer started %d oscillators (%v), want none", got.Started, got.States)
	}
	op.noErrors("an offer before any click")

	// A click (here: «Завершить звонок») turns the sound on.
	op.hangUp(first)
	op.click("#phone button", "Завершить обработку")
	op.waitText("#phone-state", "Свободен")
	second, _ := app.callQueue(t, "89162223344")
	op.wait("the second offer handled", `window.__ring.offers === 2`)
	op.waitText("#call-caller", "89162223344")
	got := probe(op)
	running := 0
	for _, s := range got.States {
		if s == "running" {
			running++
		}
	}
	if got.Started != 6 || running != 6 {
		t.Errorf("after a click the offer started %d oscillators (contexts %v), want the ring's 6 on a running context", got.Started, got.States)
	}
	op.hangUp(second)
	op.noErrors("a ringing offer")
}
