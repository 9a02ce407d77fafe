package web_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// -screenshots DIR writes a PNG of each main screen into DIR (the README
// shows the ones in docs/screenshots):
//
//	go test ./web -run TestDesktopPagesAccessible -screenshots ../docs/screenshots
var screenshotDir = flag.String("screenshots", "", "write screenshots of the main screens into `DIR`")

// axeViolation is one failed axe-core rule on a page.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe runs the vendored axe-core on the page for WCAG 2.1 A and AA
// (labels, names, contrast, ARIA, language…) and returns the violations.
func (tb *tab) axe(where string) []axeViolation {
	tb.t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		tb.t.Fatal(err)
	}
	// The page's CSP forbids inline scripts; the DevTools protocol's
	// evaluation is not a page script, so it may inject axe.
	eval[bool](tb, "inject axe", string(src)+";true")
	return eval[[]axeViolation](tb, "axe on "+where, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})`+
		`.then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\s+/g, ' '))})))`)
}

// check runs axe and the console check on the page shown, and saves a
// screenshot when asked.
func (tb *tab) check(where, shot string, allowedErrors ...string) {
	tb.t.Helper()
	for _, v := range tb.axe(where) {
		tb.t.Errorf("%s: accessibility: %s (%s, %s):\n  %s", where, v.Help, v.ID, v.Impact, strings.Join(v.Nodes, "\n  "))
	}
	tb.noErrors(where, allowedErrors...)
	if *screenshotDir != "" && shot != "" {
		// Let the live indicator and fonts settle for a clean picture.
		tb.wait("live", `!document.getElementById('live') || document.getElementById('live').innerText === 'На связи'`)
		tb.run("clear messages", evalAction(`document.getElementById('toast').replaceChildren()`))
		if err := os.WriteFile(filepath.Join(*screenshotDir, shot+".png"), tb.screenshot(), 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
}

// Every page of every role passes axe-core's WCAG 2.1 AA rules (labels,
// contrast, names) in the states users see (results shown, dialogs
// closed), and logs no console error, exception or failed load. At
// 1366×768, no page scrolls sideways.
func TestDesktopPagesAccessible(t *testing.T) {
	app := startAppliance(t)
	br := newBrowser(t, app)
	if *screenshotDir != "" {
		if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cons := app.topic("consultation", "Замена и переоформление")
	person := map[string]string{"enp": personENP, "surname": personSurn, "name": "Татьяна", "patronymic": "Игоревна", "birth": "1961-03-12"}
	inWork := app.createAppeal(map[string]any{"channel": "phone", "phone": personPhone, "person": person, "kind": "consultation",
		"topic": cons.ID, "text": "Сменила фамилию, как переоформить полис?", "assignee": loginL2})
	app.createAppeal(map[string]any{"channel": "written", "kind": "complaint", "topic": app.topic("complaint", "").ID,
		"text": "Жалоба на отказ в записи к врачу", "assignee": loginL2})
	review := app.createAppeal(map[string]any{"channel": "email", "kind": "statement", "topic": app.topic("statement", "").ID,
		"text": "Заявление о выдаче выписки", "assignee": loginL2})
	app.admin("POST", "/api/v1/appeals/"+review.ID+"/close", map[string]string{"resolution": "resolved", "comment": "Выписка выдана"}, nil)
	ext := app.createAppeal(map[string]any{"channel": "in_person", "kind": "complaint", "topic": app.topic("complaint", "").ID,
		"text": "Жалоба на качество помощи", "assignee": loginL2})
	app.admin("POST", "/api/v1/appeals/"+ext.ID+"/close", map[string]string{"resolution": "extended", "comment": "Запрошена экспертиза качества",
		"new_due": ext.Due.AddDate(0, 0, 14).Format(time.DateOnly)}, nil)
	deferred := app.createAppeal(map[string]any{"channel": "phone", "phone": "+79165550101", "kind": "consultation", "topic": cons.ID,
		"text": "Просит перезвонить", "assignee": loginL2})
	app.admin("POST", "/api/v1/appeals/"+deferred.ID+"/close", map[string]string{"resolution": "forwarded", "comment": "Нужна консультация специалиста", "to": loginL2}, nil)

	noSideScroll := func(tb *tab, where string) {
		tb.t.Helper()
		if w := eval[int](tb, "page width", `document.documentElement.scrollWidth`); w > 1366 {
			tb.t.Errorf("%s: the page is %d px wide at 1366×768: it scrolls sideways", where, w)
		}
	}

	t.Run("login", func(t *testing.T) {
		tb := br.tab(t)
		tb.open("/login")
		tb.check("login", "login")
		tb.open("/login?expired=1")
		tb.waitText("main", "Сеанс завершён")
		tb.check("login after expiry", "")
	})

	t.Run("level-1 operator", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginL1)
		tb.waitText("#journal-list", "Активных обращений нет")
		tb.waitText("#dir-results", "Петров Игорь Васильевич")
		tb.check("cabinet", "cabinet")
		noSideScroll(tb, "cabinet")

		tb.open("/appeals/new")
		tb.typeInto("rs-surname", "Ковал")
		tb.click("button", "Поиск")
		tb.waitText("#rs-results", personENP)
		tb.click("#rs-results button", "Прикрепить "+personSurn+" Татьяна Игоревна")
		tb.waitText("#history", inWork.Number)
		tb.typeInto("c-topic-q", "переоформление")
		tb.click("#c-topic-hits button", "Выбрать тематику "+cons.Title)
		tb.waitText("#scripts", "Рекомендованные операторы")
		tb.typeInto("c-text", "Сменила фамилию после замужества, спрашивает, как переоформить полис")
		tb.run("scroll to the top", void(evalAction(`window.scrollTo(0, 0)`)))
		tb.check("card", "card")
		noSideScroll(tb, "card")
		tb.choose("c-channel", "written")
		tb.check("card for a written appeal", "")

		tb.open("/work")
		tb.check("work of a level-1 operator", "")
		tb.open("/review")
		tb.waitText("h1", "Доступ запрещён")
		tb.check("403 page", "forbidden", "403")
		tb.open("/no-such-page")
		tb.waitText("h1", "Страница не найдена")
		tb.check("404 page", "", "404")
	})

	t.Run("level-2 operator", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginL2)
		tb.open("/work")
		tb.waitText("#work-list", inWork.Number)
		tb.check("worklist", "work")
		noSideScroll(tb, "worklist")
		tb.click(".tabs button", "Отсроченный ответ (1)")
		tb.waitText("#work-list", deferred.Number)
		tb.check("worklist, deferred", "")
		tb.open("/appeals/" + inWork.ID)
		tb.waitText("#changes", "Создано")
		tb.choose("x-resolution", "forwarded")
		tb.check("appeal in work", "appeal")
		noSideScroll(tb, "appeal")
		tb.open("/appeals/" + deferred.ID)
		tb.waitText("#deferred-text", "+79165550101")
		tb.check("deferred appeal", "")
		tb.open("/appeals/new")
		tb.check("card of a level-2 operator", "")
	})

	t.Run("administrator", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginAdmin)
		tb.waitText("#rv-list", review.Number)
		tb.waitText("#ext-list", ext.Number)
		tb.check("review", "review")
		noSideScroll(tb, "review")
		tb.click("#rv-list button", "Вернуть обращение "+review.Number)
		tb.wait("the return dialog", `document.getElementById('return-dialog').open`)
		tb.check("return dialog", "")
		tb.run("close the dialog", void(evalAction(`document.getElementById('return-dialog').close()`)))
		tb.open("/appeals/" + review.ID)
		tb.waitText("#review-text", "Выписка выдана")
		tb.check("appeal under review", "")
		tb.open("/journal")
		tb.waitText("#jr-list", inWork.Number)
		tb.check("journal", "journal")
		noSideScroll(tb, "journal")
		tb.open("/admin/accounts")
		tb.waitText("#acc-list", loginL2)
		tb.check("accounts", "accounts")
		noSideScroll(tb, "accounts")
		tb.open("/admin/catalog")
		tb.waitText("#topics", cons.Title)
		tb.check("catalogs", "catalog")
		tb.open("/wallboard")
		tb.check("wallboard", "wallboard")
		tb.open("/cabinet")
		tb.check("administrator's cabinet", "")
	})

	t.Run("supervisor", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginSuper)
		tb.open("/journal")
		tb.waitText("#jr-list", inWork.Number)
		tb.check("supervisor's journal", "")
		tb.open("/admin/accounts")
		tb.waitText("#acc-list", loginL2)
		tb.check("supervisor's accounts", "")
		tb.open("/wallboard")
		tb.check("supervisor's wallboard", "")
	})

	t.Run("campaign staff", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginStaff)
		tb.check("campaign staff's cabinet", "")
	})
}
