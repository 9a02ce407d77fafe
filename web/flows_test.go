package web_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// The appeal's way through the desktop, as the manual describes it: a
// level-1 operator registers it through the card (registry search and
// attach, kind and topic by keyword, scripts with the recommended level-2
// operators, history with tick-to-link, save → in work); the level-2
// operator closes it with a resolution; the administrator approves it,
// seeing it arrive live; the history shows every step. Each step is
// checked in the journal through the admin socket, not only on screen.
func TestDesktopAppealFlow(t *testing.T) {
	app := startAppliance(t)
	br := newBrowser(t, app)

	// An earlier appeal of the same person, for the history.
	complaint := app.topic("complaint", "")
	earlier := app.createAppeal(map[string]any{
		"channel": "phone", "phone": personPhone, "kind": "complaint", "topic": complaint.ID, "text": "Отказали в записи к врачу",
		"person":   map[string]string{"enp": personENP, "surname": personSurn, "name": "Татьяна", "patronymic": "Игоревна", "birth": "1961-03-12"},
		"assignee": loginL2Other,
	})
	replace := app.topic("consultation", "Замена и переоформление")
	var id string

	t.Run("level-1 operator registers an appeal through the card", func(t *testing.T) {
		op := br.tab(t)
		op.login(loginL1)
		if got := op.location(); got != "/cabinet" {
			t.Fatalf("after login the operator is at %s, want /cabinet", got)
		}
		op.click("nav a", "Новое обращение")
		op.wait("the card", `location.pathname === '/appeals/new'`)

		// Registry search by surname, then attach.
		op.typeInto("rs-surname", "Ковалёва")
		op.click("button", "Поиск")
		op.waitText("#rs-results", personENP)
		op.click("#rs-results button", "Прикрепить "+personSurn+" Татьяна Игоревна")
		if got := op.value("p-enp"); got != personENP {
			t.Fatalf("after «Прикрепить» ЕНП = %q, want %s", got, personENP)
		}
		if got := op.value("c-phone"); got != personPhone {
			t.Errorf("after «Прикрепить» the phone is %q, want the registry's %s", got, personPhone)
		}

		// The person's history: tick the earlier appeal to link it.
		op.waitText("#history", earlier.Number)
		op.run("tick the earlier appeal", clickCSS("#link-"+earlier.ID))

		// Kind and topic by keyword search.
		op.typeInto("c-topic-q", "переоформление")
		op.click("#c-topic-hits button", "Выбрать тематику "+replace.Title)
		op.wait("the topic chosen", fmt.Sprintf(`document.getElementById('c-topic').value === %q && document.getElementById('c-kind').value === 'consultation'`, replace.ID))

		// The topic's scripts, then a script found by keyword, with the
		// recommended level-2 operators; one is made the assignee.
		op.waitText("#scripts", "Когда и как переоформить полис")
		op.typeInto("sc-q", "выписка регистр")
		op.waitText("#scripts", "Рекомендованные операторы 2-го уровня")
		op.waitText("#scripts", "Петров Игорь Васильевич")
		op.click("#scripts button", "Назначить исполнителем Петров Игорь Васильевич")
		if got := op.value("c-assignee"); got != loginL2 {
			t.Fatalf("assignee field = %q after «Назначить исполнителем», want %s", got, loginL2)
		}

		op.typeInto("c-text", "Сменила фамилию, спрашивает, как переоформить полис")
		op.click("button", "Сохранить")
		op.wait("the saved appeal's page", `location.pathname.startsWith('/appeals/') && location.pathname !== '/appeals/new' && document.getElementById('a-title').innerText.includes('№')`)
		op.waitText("#toast", "сохранено в журнал")
		id = strings.TrimPrefix(op.location(), "/appeals/")
		op.noErrors("registration")

		a := app.appeal(id)
		switch {
		case a.Status != journal.StatusInWork:
			t.Errorf("journal: status %s, want in_work", a.Status)
		case a.CreatedBy != loginL1 || a.Assignee != loginL2:
			t.Errorf("journal: created by %s, assigned to %s; want %s, %s", a.CreatedBy, a.Assignee, loginL1, loginL2)
		case a.Person.ENP != personENP || a.Person.Surname != personSurn || a.Person.Birth != "1961-03-12":
			t.Errorf("journal: person %+v, want the registry's %s", a.Person, personENP)
		case a.Kind != journal.KindConsultation || a.Topic != replace.ID:
			t.Errorf("journal: kind %s topic %s, want consultation %s", a.Kind, a.Topic, replace.ID)
		case a.Phone != personPhone || a.Channel != journal.ChannelPhone:
			t.Errorf("journal: phone %q channel %s, want %s by phone", a.Phone, a.Channel, personPhone)
		case !slices.Equal(a.Links, []string{earlier.ID}):
			t.Errorf("journal: links %v, want the ticked earlier appeal %s", a.Links, earlier.ID)
		case !strings.Contains(a.Text, "переоформить полис"):
			t.Errorf("journal: text %q", a.Text)
		}
	})
	if id == "" {
		t.Fatal("no appeal registered; the rest depends on it")
	}

	admin := br.tab(t)
	t.Run("administrator's review list is live", func(t *testing.T) {
		admin.t = t
		admin.login(loginAdmin)
		if got := admin.location(); got != "/review" {
			t.Fatalf("the administrator lands on %s, want /review", got)
		}
		admin.waitText("#rv-list", "Нет обращений на рассмотрении")
		admin.wait("the live stream", `document.getElementById('live').innerText === 'На связи'`)
	})

	a := app.appeal(id)
	t.Run("level-2 operator closes it with a resolution", func(t *testing.T) {
		l2 := br.tab(t)
		l2.login(loginL2)
		l2.click("nav a", "Мои обращения")
		l2.waitText("#work-list", a.Number)
		l2.click("#work-list a", "Редактирование обращения "+a.Number)
		l2.wait("the appeal page", `document.getElementById('a-title').innerText.includes(`+jsString(a.Number)+`)`)
		l2.choose("x-resolution", "explained")
		l2.typeInto("x-comment", "Разъяснён порядок переоформления, выписка направлена по почте")
		l2.click("button", "Закрыть обращение")
		l2.waitText("#a-status", "На рассмотрении")
		l2.noErrors("close")
		if got := app.appeal(id); got.Status != journal.StatusUnderReview || got.Resolution != journal.ResolutionExplained {
			t.Fatalf("journal after close: %s %s, want under_review explained", got.Status, got.Resolution)
		}
	})

	t.Run("administrator approves it", func(t *testing.T) {
		admin.t = t
		// No reload: the closed appeal arrives over the event stream.
		admin.waitText("#rv-list", a.Number)
		admin.click("#rv-list button", "Утвердить обращение "+a.Number)
		admin.waitText("#rv-list", "Нет обращений на рассмотрении")
		admin.noErrors("approve")
		if got := app.appeal(id); got.Status != journal.StatusClosed || got.ClosedAt.IsZero() {
			t.Fatalf("journal after approval: %s closed at %v, want closed", got.Status, got.ClosedAt)
		}
	})

	t.Run("the history shows every step", func(t *testing.T) {
		admin.t = t
		admin.open("/appeals/" + id)
		admin.waitText("#changes", "Утверждено")
		for _, want := range []string{"Создано", "Закрыто исполнителем", "Утверждено", loginL1, loginL2, loginAdmin, "В работе → На рассмотрении", "На рассмотрении → Закрыто", "Даны разъяснения"} {
			admin.waitText("#changes", want)
		}
		admin.waitText("#a-status", "Закрыто")
		admin.noErrors("history")
	})

	t.Run("deadline extension goes to the administrator", func(t *testing.T) {
		admin.t = t
		ext := app.createAppeal(map[string]any{"channel": "written", "kind": "statement", "topic": app.topic("statement", "").ID,
			"text": "Заявление о выдаче дубликата", "assignee": loginL2})
		l2 := br.tab(t)
		l2.login(loginL2)
		l2.open("/appeals/" + ext.ID)
		l2.choose("x-resolution", "extended")
		newDue := ext.Due.AddDate(0, 0, 10).Format(time.DateOnly)
		l2.setDate("x-due", newDue)
		l2.typeInto("x-comment", "Ожидаем ответ медицинской организации")
		l2.click("button", "Закрыть обращение")
		l2.waitText("#a-status", "На рассмотрении")
		admin.open("/review")
		admin.waitText("#ext-list", ext.Number)
		admin.click("#ext-list button", "Утвердить продление по "+ext.Number)
		admin.waitText("#ext-list", "Нет запросов на продление")
		got := app.appeal(ext.ID)
		if got.Status != journal.StatusInWork || got.Due.Format(time.DateOnly) != newDue || !got.PendingDue.IsZero() {
			t.Fatalf("journal after approving the extension: %s due %s pending %v; want in_work due %s", got.Status, got.Due.Format(time.DateOnly), got.PendingDue, newDue)
		}
		l2.noErrors("extension")
		admin.noErrors("extension approval")
	})
}

// Access: a page without a session goes to the login page and back after
// it; another operator's appeal by URL is the 403 page; a page of another
// role is the 403 page; logout ends the session.
func TestDesktopAccess(t *testing.T) {
	app := startAppliance(t)
	br := newBrowser(t, app)
	mine := app.createAppeal(map[string]any{"channel": "phone", "kind": "consultation", "topic": app.topic("consultation", "").ID,
		"text": "Вопрос о полисе", "assignee": loginL2})

	t.Run("no session: login, then the page asked for", func(t *testing.T) {
		tb := br.tab(t)
		tb.open("/work")
		if got := tb.location(); got != "/login?next=%2Fwork" {
			t.Fatalf("GET /work without a session ended at %s, want /login?next=%%2Fwork", got)
		}
		tb.submitLogin(loginL2)
		tb.wait("/work", `location.pathname === '/work'`)
		tb.noErrors("login redirect")
	})

	t.Run("another operator's appeal by URL is refused", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginL1Other)
		tb.open("/appeals/" + mine.ID)
		tb.waitText("h1", "Доступ запрещён")
		tb.waitText("main", "назначено другому сотруднику")
		if st := tb.documentStatus("/appeals/" + mine.ID); st != 403 {
			t.Errorf("document status %d, want 403", st)
		}
		// The number does not give it away either.
		tb.open("/appeals/" + mine.Number)
		tb.waitText("h1", "Доступ запрещён")
		// Nor the API behind the page.
		status := eval[int](tb, "fetch the appeal", `fetch('/api/v1/appeals/`+mine.ID+`').then((r) => r.status)`)
		if status != 403 {
			t.Errorf("GET /api/v1/appeals/%s from the page = %d, want 403", mine.ID, status)
		}
		tb.open("/review")
		tb.waitText("h1", "Доступ запрещён")
		if st := tb.documentStatus("/review"); st != 403 {
			t.Errorf("/review for a level-1 operator: status %d, want 403", st)
		}
		tb.noErrors("403", "403", "Forbidden")
	})

	t.Run("logout ends the session", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginL2)
		tb.click("button", "Выход")
		tb.wait("the login page", `location.pathname === '/login'`)
		tb.waitText("main", "Вы вышли")
		tb.open("/work")
		if got := tb.location(); !strings.HasPrefix(got, "/login") {
			t.Fatalf("after logout /work shows %s, want the login page", got)
		}
		tb.noErrors("logout")
	})

	t.Run("no personal data in URLs", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginL1)
		tb.open("/appeals/new")
		tb.typeInto("rs-surname", personSurn)
		tb.click("button", "Поиск")
		tb.waitText("#rs-results", personENP)
		urls := eval[[]string](tb, "resource URLs", `performance.getEntriesByType('resource').map((e) => e.name).concat([location.href])`)
		for _, u := range urls {
			for _, pd := range []string{personSurn, "%D0%9A%D0%BE%D0%B2%D0%B0%D0%BB", personENP, "1961", "9161112233"} {
				if strings.Contains(u, pd) {
					t.Errorf("URL %s carries personal data (%s)", u, pd)
				}
			}
		}
		tb.noErrors("search")
	})
}

// jsString quotes s for JavaScript.
func jsString(s string) string { return fmt.Sprintf("%q", s) }
