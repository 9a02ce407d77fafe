package web_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obzvon/obzvon/journal"
)

// Campaign staff create a campaign, upload a broken list and see the
// exact lines refused, and start it; an operator works the survey
// journal (MO → persons → card), answers the script's questions and
// saves, and the answers are in the journal; an insurance representative
// sees the informing counts and starts informing. Every screen passes the
// accessibility check.
func TestDesktopCampaignsAndSurveys(t *testing.T) {
	app := startAppliance(t)
	br := newBrowser(t, app)
	const vasiliev = "2681590830166131" // Васильев Михаил Александрович, MO 260045

	t.Run("campaign staff: create, upload a broken list, start", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginStaff)
		if got := tb.location(); got != "/campaigns" {
			t.Fatalf("campaign staff land on %s, want /campaigns", got)
		}
		tb.typeInto("cp-id", "disp-2026")
		tb.typeInto("cp-title", "Диспансеризация 2026")
		tb.wait("the scripts", `[...document.getElementById('cp-script').options].some((o) => o.value === 'screening')`)
		tb.choose("cp-script", "screening")
		tb.click("button", "Создать кампанию")
		tb.waitText("#cp-list", "Диспансеризация 2026")
		tb.waitText("#cp-list", "Создана")

		tb.click("#cp-list button", "Загрузить список: Диспансеризация 2026")
		tb.run("choose the list", chromedp.SetUploadFiles(chromedp.ID("cp-load-file"), []string{mustAbs(t, "testdata/survey-broken.csv")}))
		tb.click("button", "Загрузить")
		tb.waitText("#cp-load-result", "Строки с ошибками")
		rows := eval[[]string](tb, "error rows", `[...document.querySelectorAll('#cp-load-result tbody tr')].map((r) => r.innerText.replace(/\s+/g, ' ').trim())`)
		if len(rows) != 2 || !strings.HasPrefix(rows[0], "62 Дата рождения") || !strings.HasPrefix(rows[1], "63 ЕНП") {
			t.Errorf("refused lines shown %q, want line 62 (Дата рождения) and line 63 (ЕНП)", rows)
		}
		tb.waitText("#cp-load-result", "людей добавлено: 60")
		tb.check("campaigns after a load", "campaigns")
		tb.click("#cp-list button", "Запустить: Диспансеризация 2026")
		tb.waitText("#cp-list", "Идёт")
		var st struct {
			Campaign struct {
				Status string `json:"status"`
			} `json:"campaign"`
		}
		app.admin("GET", "/api/v1/campaigns/disp-2026", nil, &st)
		if st.Campaign.Status != "running" {
			t.Errorf("journal: campaign status %q, want running", st.Campaign.Status)
		}
		tb.noErrors("campaigns")
	})

	t.Run("operator fills a survey card from the journal", func(t *testing.T) {
		tb := br.tab(t)
		tb.login(loginL1)
		tb.click("nav a", "Журнал опроса")
		tb.waitText("#sv-mos", "Невинномысская городская больница")
		tb.click("#sv-mos button", "Перейти к ГБУЗ СК «Невинномысская городская больница»")
		tb.waitText("#sv-persons", "Васильев Михаил Александрович")
		tb.waitText("#sv-counts", "Найдено: 9")
		tb.check("survey journal", "surveys")
		tb.click("#sv-persons button", "Просмотр: Васильев Михаил Александрович")
		tb.wait("the card", `location.pathname === '/surveys/card'`)
		tb.waitText("#sv-person", vasiliev)
		tb.waitText("#sv-intro", "Михаил Александрович")
		// The branch: «Прошли?» yes → «Где?» → «Довольны?».
		tb.run("passed: yes", clickCSS(`input[name="q-passed"][value="yes"]`))
		tb.wait("the next question", `!document.querySelector('[data-q="where"]').hidden && document.querySelector('[data-q="plan_date"]').hidden`)
		tb.run("where: own MO", clickCSS(`input[name="q-where"][value="own_mo"]`))
		tb.run("satisfied: yes", clickCSS(`input[name="q-satisfied"][value="yes"]`))
		tb.typeInto("sv-comment", "Прошёл диспансеризацию в мае")
		tb.run("result: reached", clickCSS(`input[name="sv-result"][value="reached"]`))
		tb.check("survey card", "survey")
		tb.click("button", "Сохранить")
		tb.waitText("#toast", "Карточка сохранена")
		var card struct {
			Contact journal.Contact `json:"contact"`
		}
		app.admin("GET", "/api/v1/campaigns/disp-2026/contacts/"+vasiliev, nil, &card)
		ct := card.Contact
		if ct.Result != "reached" || ct.Answers["passed"] != "yes" || ct.Answers["where"] != "own_mo" || ct.Answers["satisfied"] != "yes" ||
			ct.SavedBy != loginL1 || ct.Comment != "Прошёл диспансеризацию в мае" {
			t.Errorf("journal: contact %+v", ct)
		}
		// The next card of the list.
		tb.click("button", "Следующая карточка")
		tb.wait("the next person", `!document.getElementById('sv-person').innerText.includes(`+jsString(vasiliev)+`)`)
		tb.waitText("#sv-pos", "2 из 9")
		tb.noErrors("survey card")
	})

	t.Run("informing: counts, then the cards", func(t *testing.T) {
		app.admin("POST", "/api/v1/campaigns", map[string]any{"id": "eir-2026", "title": "Информирование о диспансеризации", "script": "informing"}, nil)
		b, err := os.ReadFile("testdata/survey-broken.csv")
		if err != nil {
			t.Fatal(err)
		}
		app.admin("POST", "/api/v1/campaigns/eir-2026/load?name=list.csv", string(b), nil)
		tb := br.tab(t)
		tb.login(loginL2Other) // representative of level 2
		tb.click("nav a", "ЕИР263")
		tb.wait("the types", `[...document.getElementById('inf-type').options].some((o) => o.value === 'eir-2026')`)
		tb.choose("inf-type", "eir-2026")
		tb.choose("inf-mo", "260045")
		tb.click("button", "Сохранить")
		tb.waitText("#inf-counts", "ВСЕГО")
		// The journal's own counts of MO 260045.
		var st struct {
			Report struct {
				ByMO []struct {
					MOCode    string `json:"mo_code"`
					Total     int    `json:"total"`
					WithPhone int    `json:"with_phone"`
					Notified  int    `json:"notified"`
				} `json:"by_mo"`
			} `json:"report"`
		}
		app.admin("GET", "/api/v1/campaigns/eir-2026", nil, &st)
		want := ""
		phones := 0
		for _, m := range st.Report.ByMO {
			if m.MOCode == "260045" {
				want = fmt.Sprintf("ВСЕГО %d|ИЗ НИХ С ТЕЛЕФОНОМ %d|ОПОВЕЩЕНО %d", m.Total, m.WithPhone, m.Notified)
				phones = m.WithPhone
			}
		}
		got := eval[[]string](tb, "tiles", `[...document.querySelectorAll('#inf-counts .tile')].map((t) => t.innerText.replace(/\s+/g, ' ').trim())`)
		if strings.Join(got, "|") != want || phones == 0 {
			t.Errorf("informing tiles %q, want the journal's %q", got, want)
		}
		tb.check("informing", "informing")
		tb.click("button", fmt.Sprintf("Начать информирование (%d)", phones))
		tb.wait("the first card", fmt.Sprintf(`location.pathname === '/surveys/card' && document.getElementById('sv-pos').innerText === '1 из %d'`, phones))
		tb.noErrors("informing")
	})
}
