package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// tabStop is the element focused after one press of Tab.
type tabStop struct {
	// Key identifies the element (tag#id or tag with its text).
	Key string `json:"key"`
	// Ring says a focus indicator is drawn (outline or shadow).
	Ring bool `json:"ring"`
}

// focusedJS describes document.activeElement.
const focusedJS = `(() => { const e = document.activeElement; if (!e || e === document.body) return {key: 'body', ring: true};
	const s = getComputedStyle(e);
	const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== 'none');
	return {key: (e.dataset.kb ? e.dataset.kb + ' ' : '') + e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' +
		((e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40)), ring: !!ring}; })()`

// controlsJS numbers the page's visible, enabled controls (data-kb) and
// lists them as focusedJS names them. Controls in a closed <details>,
// a hidden box or a closed dialog are not on screen; of a radio group
// only the checked button takes the focus.
const controlsJS = `[...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
	.filter((e) => e.offsetParent !== null && !e.disabled && e.tabIndex >= 0 && !e.closest('[hidden], dialog:not([open])') &&
		!(e.closest('details:not([open])') && e.tagName !== 'SUMMARY') &&
		!(e.type === 'radio' && !e.checked && document.querySelector('input[type="radio"][name="' + e.name + '"]:checked')))
	.map((e, i) => { e.dataset.kb = String(i + 1); return e.dataset.kb + ' ' + e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' +
		((e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40)); })`

// tabThrough focuses the page's first control, then presses Tab until
// the focus comes round to a control met before (at most limit presses),
// and returns the stops in order. A date field takes several presses
// (day, month, year) without the focus leaving it.
func (tb *tab) tabThrough(limit int) []tabStop {
	tb.t.Helper()
	tb.run("focus the first control", evalAction(`document.querySelector('[data-kb="1"]').focus()`))
	first := eval[tabStop](tb, "focused element", focusedJS)
	stops := []tabStop{first}
	seen := map[string]bool{first.Key: true}
	for range limit {
		tb.run("press Tab", chromedp.KeyEvent(kb.Tab))
		s := eval[tabStop](tb, "focused element", focusedJS)
		if s.Key == stops[len(stops)-1].Key {
			continue // still inside a date field
		}
		if seen[s.Key] {
			if s.Key == first.Key {
				stops[0].Ring = s.Ring // now reached by Tab, not by a script
			}
			return stops
		}
		seen[s.Key] = true
		stops = append(stops, s)
	}
	tb.t.Fatalf("Tab did not come round in %d presses (a keyboard trap?): %v", limit, stops)
	return nil
}

// keyboardCheck: every visible control of the page is reached by Tab, and
// each shows where the focus is.
func (tb *tab) keyboardCheck(where string) {
	tb.t.Helper()
	controls := eval[[]string](tb, "controls", controlsJS)
	stops := tb.tabThrough(300)
	reached := map[string]bool{}
	for _, s := range stops {
		reached[s.Key] = true
		if !s.Ring && s.Key != "body" {
			tb.t.Errorf("%s: %s has the focus but no visible focus ring", where, s.Key)
		}
	}
	for _, c := range controls {
		if !reached[c] {
			tb.t.Errorf("%s: %s cannot be reached with Tab (reached: %v)", where, c, stops)
		}
	}
}

// The desktop is usable by keyboard: an operator signs in, moves between
// screens and registers an appeal with the keyboard alone (Tab, typing,
// Enter, Space); on every main screen each control is reached by Tab in
// turn, without a trap, and shows a focus ring.
func TestDesktopKeyboard(t *testing.T) {
	app := startAppliance(t)
	br := newBrowser(t, app)
	cons := app.topic("consultation", "Замена и переоформление")

	tb := br.tab(t)
	tb.open("/login")
	// Sign in: the login field has the focus on arrival.
	if got := eval[string](tb, "focus on arrival", `document.activeElement.id`); got != "login" {
		t.Errorf("the login page opens with the focus on %q, want the login field", got)
	}
	tb.keyboardCheck("login")
	tb.run("back to the login field", evalAction(`document.getElementById('login').focus()`))
	tb.run("type the login and password, Enter",
		chromedp.KeyEvent("ivanova"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(password), chromedp.KeyEvent(kb.Enter))
	tb.wait("the cabinet", `location.pathname === '/cabinet' && !!document.getElementById('logout')`)
	tb.settle()
	tb.waitText("#dir-results", "Петров Игорь Васильевич")
	tb.keyboardCheck("cabinet")

	// To the card through the menu: Tab to «Новое обращение», Enter.
	tb.run("focus the start", evalAction(`document.activeElement && document.activeElement.blur()`))
	for i := 0; ; i++ {
		if i > 40 {
			t.Fatal("«Новое обращение» not reached with Tab")
		}
		tb.run("press Tab", chromedp.KeyEvent(kb.Tab))
		if strings.Contains(eval[tabStop](tb, "focused", focusedJS).Key, "Новое обращение") {
			break
		}
	}
	tb.run("Enter", chromedp.KeyEvent(kb.Enter))
	tb.wait("the card", `location.pathname === '/appeals/new'`)
	tb.settle()
	tb.keyboardCheck("card")

	// The topic by keyword: type into the search, Tab to the first hit,
	// Enter chooses it.
	tb.run("focus the topic search", evalAction(`document.getElementById('c-topic-q').focus()`))
	tb.run("type the keyword", chromedp.KeyEvent("переоформление"))
	tb.wait("a topic hit", `document.querySelectorAll('#c-topic-hits button').length > 0`)
	for i := 0; ; i++ {
		if i > 10 {
			t.Fatal("the topic hit not reached with Tab")
		}
		tb.run("press Tab", chromedp.KeyEvent(kb.Tab))
		if eval[bool](tb, "on a hit", `!!document.activeElement.closest('#c-topic-hits')`) {
			break
		}
	}
	tb.run("Enter on the hit", chromedp.KeyEvent(kb.Enter))
	tb.wait("the topic chosen", `document.getElementById('c-topic').value === `+jsString(cons.ID))
	tb.run("focus the text", evalAction(`document.getElementById('c-text').focus()`))
	tb.run("type the text", chromedp.KeyEvent("Спрашивает, как переоформить полис"))
	// Tab on to «Сохранить» and press it with Space.
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("«Сохранить» not reached with Tab")
		}
		tb.run("press Tab", chromedp.KeyEvent(kb.Tab))
		if eval[bool](tb, "on «Сохранить»", `document.activeElement.tagName === 'BUTTON' && document.activeElement.innerText.trim() === 'Сохранить'`) {
			break
		}
	}
	tb.run("Space", chromedp.KeyEvent(" "))
	tb.wait("the saved appeal", `location.pathname.startsWith('/appeals/') && location.pathname !== '/appeals/new' && document.getElementById('a-title').innerText.includes('№')`)
	id := strings.TrimPrefix(tb.location(), "/appeals/")
	if a := app.appeal(id); a.Topic != cons.ID || !strings.Contains(a.Text, "переоформить полис") || a.CreatedBy != "ivanova" {
		t.Errorf("journal: appeal %+v, want the topic and text typed", a)
	}
	tb.noErrors("keyboard")
}
