package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// A progressive campaign from the campaign staff's screen to the
// operator's survey card, with real peers: SIPp is the trunk and the
// called person (a number ending in 0 answers: «Алло?»), baresip is the
// operator's phone on a session leg. Campaign staff create the campaign
// with calling hours around now, upload a one-person list and start it;
// the appliance dials, SIPp answers, the call goes to the ready operator
// and the survey card opens by itself in the operator's desktop (no
// click); the answers saved are in the journal with the attempt of that
// call.
func TestDesktopCampaignCardOpensOnAnswer(t *testing.T) {
	peertest.RequirePeer(t, "baresip")
	peertest.RequirePeer(t, "sipp")
	chromiumPath(t)

	trunkPort, trunkMedia := peertest.FreePort(t), peertest.FreeMediaPort(t)
	peertest.StartSIPpFor(t, 3*time.Minute, "uas_campaign.xml", "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(trunkMedia), "-d", "10000")
	peertest.WaitUDPBound(t, trunkPort, 30*time.Second)
	app := startApplianceWith(t, fmt.Sprintf("[[trunk]]\nname = \"carrier\"\naddress = \"127.0.0.1:%d\"\ntransport = \"udp\"\ncaller_id = \"78652000000\"\nmax_channels = 2\n", trunkPort))
	br := newBrowser(t, app)
	t.Cleanup(func() {
		if t.Failed() {
			var why any
			if err := app.adminErr("GET", "/api/v1/campaigns/opros-2026/why?contact=2619482199300015", nil, &why); err != nil {
				why = err
			}
			var st any
			_ = app.adminErr("GET", "/api/v1/campaigns/opros-2026", nil, &st)
			var ag any
			_ = app.adminErr("GET", "/api/v1/agents", nil, &ag)
			t.Logf("status: %v\nagents: %v", st, ag)
			t.Logf("why: %v\nappliance log:\n%s", why, app.logs.String())
		}
	})

	const campaign = "opros-2026"
	const enp = "2619482199300015"
	const secret = "Vq3-Lm8x-Rt5c-Hw2n"
	app.admin("POST", "/api/v1/accounts", map[string]any{"login": "zaitseva", "display_name": "Зайцева Алла Викторовна",
		"roles": []string{"operator_l1"}, "organization": "ТФОМС", "extension": "1201", "queues": []string{campaign},
		"password": password, "sip_secret": secret, "sip_realm": "obzvon"}, nil)
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1201", Password: secret, Registrar: app.sip, MicSeconds: 120})

	// The operator starts work first: a progressive campaign dials only
	// for a ready operator.
	op := br.tab(t)
	op.login("zaitseva")
	op.startWork(phone)

	// Calling hours around now in Moscow (the campaign's zone), within
	// today, for weekdays and the weekend alike.
	msk := time.FixedZone("MSK", 3*3600)
	now := time.Now().In(msk)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, msk)
	from, to := now.Add(-time.Hour), now.Add(time.Hour)
	if from.Before(midnight) {
		from = midnight
	}
	if last := midnight.Add(24*time.Hour - time.Minute); to.After(last) {
		to = last
	}
	window := from.Format("15:04") + "-" + to.Format("15:04")

	list := filepath.Join(t.TempDir(), "opros.csv")
	if err := os.WriteFile(list, []byte("Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Код МО;Наименование МО;Год\n"+
		"Соколова;Вера;Павловна;14.05.1957;"+enp+";89123456780;260001;ГБУЗ СК «Городская поликлиника № 1» г. Ставрополя;2026\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The supervisor watches the wallboard all along.
	sup := br.tab(t)
	sup.login(loginSuper)
	sup.open("/wallboard")
	sup.wait("the stream", `document.getElementById('live').innerText === 'На связи'`)

	tb := br.tab(t)
	t.Run("campaign staff create, load and start a progressive campaign", func(t *testing.T) {
		tb.t = t
		tb.login(loginStaff)
		tb.typeInto("cp-id", campaign)
		tb.typeInto("cp-title", "Опрос о диспансеризации")
		tb.choose("cp-script", "screening")
		tb.choose("cp-mode", "progressive")
		tb.typeInto("cp-weekdays", window)
		tb.typeInto("cp-weekend", window)
		tb.click("button", "Создать кампанию")
		tb.waitText("#cp-list", "Опрос о диспансеризации")
		tb.click("#cp-list button", "Загрузить список: Опрос о диспансеризации")
		tb.run("choose the list", chromedp.SetUploadFiles(chromedp.ID("cp-load-file"), []string{list}))
		tb.click("button", "Загрузить")
		tb.waitText("#cp-load-result", "людей добавлено: 1")
		tb.click("#cp-list button", "Запустить: Опрос о диспансеризации")
		tb.waitText("#cp-list", "Идёт")
		tb.noErrors("campaign start")
		// From here on the screen must move by itself: a reload would
		// lose this mark.
		tb.run("mark the page", evalAction(`window.__sameStaffPage = true`))
	})

	t.Run("the figures move while it rings; the card opens by itself on answer", func(t *testing.T) {
		op.t = t
		cell := func(k string) string {
			return fmt.Sprintf(`document.querySelector('td[data-live="%s:%s"]').innerText`, campaign, k)
		}
		// While the number rings (10 s): one call dialing for one ready
		// operator, nobody abandoned — on the campaign staff's screen and
		// the wallboard, pushed by the server.
		for _, tab := range []*tab{tb, sup} {
			tab.t = t
			tab.wait("dial level 1,00", cell("dial_level")+` === '1,00'`)
			tab.wait("abandonment 0,0 %", cell("abandon_day")+` === '0,0 %' && `+cell("abandon_30d")+` === '0,0 %'`)
		}
		tb.wait("one number dialed", `[...document.querySelectorAll('#cp-list tbody tr')][0].cells[5].innerText === '1'`)
		sup.waitText("#wb-campaigns", "Опрос о диспансеризации")
		// Answered: the survey card opens without a click.
		op.wait("the card opened by the call", `location.pathname === '/surveys/card' && document.getElementById('sv-person').innerText.includes(`+jsString(enp)+`)`)
		op.waitText("#sv-call", "кампания "+campaign)
		op.waitText("#call-label", "Исходящий звонок")
		op.waitText("#call-queue", "кампания "+campaign)
		op.waitText("#sv-intro", "Вера Павловна")

		// The branch: «Проходили?» no → «Планируете?» yes → «Когда?».
		op.run("passed: no", clickCSS(`input[name="q-passed"][value="no"]`))
		op.wait("the plan question", `!document.querySelector('[data-q="plan"]').hidden && document.querySelector('[data-q="where"]').hidden`)
		op.run("plan: yes", clickCSS(`input[name="q-plan"][value="yes"]`))
		op.wait("the date question", `!document.querySelector('[data-q="plan_date"]').hidden`)
		planDate := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
		op.setDate("q-plan_date", planDate)
		op.typeInto("sv-comment", "Собирается пройти в следующем месяце")
		op.run("result: reached", clickCSS(`input[name="sv-result"][value="reached"]`))
		op.check("survey card during a campaign call", "")
		op.click("button", "Сохранить")
		op.waitText("#toast", "Карточка сохранена")

		var card struct {
			Contact journal.Contact `json:"contact"`
		}
		app.admin("GET", "/api/v1/campaigns/"+campaign+"/contacts/"+enp, nil, &card)
		ct := card.Contact
		if ct.Result != "reached" || ct.Answers["passed"] != "no" || ct.Answers["plan"] != "yes" || ct.Answers["plan_date"] != planDate || ct.SavedBy != "zaitseva" || ct.Comment != "Собирается пройти в следующем месяце" {
			t.Errorf("journal: contact %+v, want the card saved by zaitseva", ct)
		}
		// The card is that of the call the appliance made: one attempt, to
		// the list's phone.
		if len(ct.Attempts) != 1 || ct.Attempts[0].Phone != "+79123456780" {
			t.Errorf("journal: attempts %+v, want the one call to +79123456780", ct.Attempts)
		}
		op.click("#call button", "Завершить звонок")
		// The campaign has no wrap-up: the operator is free for the next.
		op.wait("the call gone", `document.getElementById('call').hidden`)
		op.wait("the card's call notice gone", `document.getElementById('sv-call').hidden`)
		op.waitText("#phone-state", "Свободен")
		op.noErrors("survey card")

		// The call ended: no call in flight, the number reached.
		tb.wait("dial level 0,00", cell("dial_level")+` === '0,00'`)
		tb.wait("one reached", `[...document.querySelectorAll('#cp-list tbody tr')][0].cells[6].innerText === '1'`)
		sup.wait("dial level 0,00 on the wallboard", cell("dial_level")+` === '0,00'`)
		var st struct {
			Live *struct {
				DialLevel  float64 `json:"dial_level"`
				AbandonDay float64 `json:"abandon_day"`
				Attempts   int     `json:"attempts"`
			} `json:"live"`
		}
		// The runner counts the attempt when the call's end reaches it,
		// a moment after the desktop shows the call gone.
		for deadline := time.Now().Add(stepTimeout); ; {
			app.admin("GET", "/api/v1/campaigns/"+campaign, nil, &st)
			if st.Live != nil && st.Live.Attempts == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond) // poll the status for the count
		}
		if st.Live == nil || st.Live.DialLevel != 0 || st.Live.AbandonDay != 0 || st.Live.Attempts != 1 {
			t.Errorf("campaign status live figures %+v, want no call dialing, no abandonment, one attempt ended", st.Live)
		}
		if !eval[bool](tb, "the same page", `window.__sameStaffPage === true`) {
			t.Error("the campaign staff's page was reloaded: the figures must come by themselves")
		}
		tb.check("campaigns with live figures", "")
		sup.check("wallboard with a campaign", "")
		if w := eval[int](tb, "page width", `document.documentElement.scrollWidth`); w > 1366 {
			t.Errorf("the campaigns page is %d px wide at 1366×768: it scrolls sideways", w)
		}
	})
}
