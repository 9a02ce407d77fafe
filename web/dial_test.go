package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// Calls the operator places from the desktop, with real peers: SIPp is
// the trunk and the called people (a number ending in 0 answers after
// 3 s, one ending in 4 is busy), baresip the operator's phone on a
// session leg.
//
// «Перезвонить» on a deferred appeal: the citizen's phone of the appeal
// rings, the answer comes to the operator's phone, the call bar names it
// a call back, and once hung up the call (with its recording) is linked
// to the appeal in the journal.
//
// «Позвонить» on a preview campaign's card: the busy person gives «Не
// дозвонились: Занято», the other answers and is on the operator's phone;
// the attempt records the operator and the preview mode.
func TestDesktopOperatorPlacesCalls(t *testing.T) {
	peertest.RequirePeer(t, "baresip")
	peertest.RequirePeer(t, "sipp")
	chromiumPath(t)

	trunkPort, trunkMedia := peertest.FreePort(t), peertest.FreeMediaPort(t)
	peertest.StartSIPpFor(t, 4*time.Minute, "uas_campaign.xml", "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(trunkMedia), "-d", "3000")
	peertest.WaitUDPBound(t, trunkPort, 30*time.Second)
	app := startApplianceWith(t, fmt.Sprintf("[[trunk]]\nname = \"carrier\"\naddress = \"127.0.0.1:%d\"\ntransport = \"udp\"\ncaller_id = \"78652000000\"\nmax_channels = 2\n", trunkPort))
	br := newBrowser(t, app)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("appliance log:\n%s", app.logs.String())
		}
	})

	const campaign = "predvar-2026"
	const secret = "Kp4-Wz9q-Hn3v-Rb7m"
	const login = "belova"
	app.admin("POST", "/api/v1/accounts", map[string]any{"login": login, "display_name": "Белова Нина Петровна",
		"roles": []string{"operator_l2"}, "organization": "ТФОМС", "extension": "2201", "queues": []string{campaign},
		"password": password, "sip_secret": secret, "sip_realm": "obzvon"}, nil)
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "2201", Password: secret, Registrar: app.sip, MicSeconds: 120})

	// The list lives in the test's own directory: a subtest's name (with
	// «», an apostrophe) in the path makes Chromium's upload send nothing.
	listDir := t.TempDir()
	op := br.tab(t)
	op.login(login)
	op.startWork(phone)

	t.Run("«Перезвонить» on a deferred appeal", func(t *testing.T) {
		op.t = t
		a := app.createAppeal(map[string]any{"channel": "phone", "phone": "+79123456780", "kind": "consultation",
			"topic": app.topic("consultation", "").ID, "text": "Просит перезвонить по поводу полиса"})
		app.admin("POST", "/api/v1/appeals/"+a.ID+"/close", map[string]string{"resolution": "forwarded",
			"comment": "Нужна консультация специалиста", "to": login}, nil)
		op.open("/appeals/" + a.ID)
		op.waitText("#deferred-text", "+79123456780")
		op.click("#deferred-panel button", "Перезвонить")
		op.waitText("#callback-status", "Набираем +79123456780")
		op.waitText("#phone-state", "Исходящий вызов")
		op.waitText("#callback-status", "Абонент ответил")
		op.waitText("#call-queue", "перезвон по обращению")
		op.wait("the appeal on the call bar", `!document.getElementById('call-appeal').hidden`)
		op.check("a call back on the appeal", "")
		op.click("#call button", "Завершить звонок")
		op.wait("the call gone", `document.getElementById('call').hidden`)
		op.noErrors("call back")

		var linked journal.Appeal
		for deadline := time.Now().Add(stepTimeout); ; {
			linked = app.appeal(a.ID)
			if len(linked.Calls) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond) // the record is written as the call ends
		}
		if len(linked.Calls) != 1 {
			t.Fatalf("journal: appeal calls %v, want the call back linked", linked.Calls)
		}
		var calls []journal.CallRecord
		app.admin("GET", "/api/v1/calls?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&to="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil, &calls)
		var rec journal.CallRecord
		for _, c := range calls {
			if c.ID == linked.Calls[0] {
				rec = c
			}
		}
		if rec.Appeal != a.ID || rec.To != "+79123456780" || rec.Direction != "outbound" || rec.Answered.IsZero() ||
			len(rec.Agents) != 1 || rec.Agents[0].Login != login || rec.Recording == "" {
			t.Errorf("journal: call record %+v, want the answered call back by %s with its recording", rec, login)
		}
	})

	t.Run("«Позвонить» on a preview campaign's card", func(t *testing.T) {
		op.t = t
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
		list := filepath.Join(listDir, "predvar.csv")
		if err := os.WriteFile(list, []byte("Фамилия;Имя;Отчество;Дата рождения;ЕНП;Телефон;Код МО;Наименование МО;Год\n"+
			"Абрамова;Зоя;Ивановна;02.02.1950;2619482199300023;89123456784;260001;ГБУЗ СК «Городская поликлиника № 1» г. Ставрополя;2026\n"+
			"Борисова;Ольга;Сергеевна;14.05.1957;2619482199300015;89123456790;260001;ГБУЗ СК «Городская поликлиника № 1» г. Ставрополя;2026\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		tb := br.tab(t)
		tb.login(loginStaff)
		tb.typeInto("cp-id", campaign)
		tb.typeInto("cp-title", "Предварительный обзвон")
		tb.wait("the scripts", `[...document.getElementById('cp-script').options].some((o) => o.value === 'screening')`)
		tb.choose("cp-script", "screening")
		tb.choose("cp-mode", "preview")
		tb.typeInto("cp-weekdays", window)
		tb.typeInto("cp-weekend", window)
		tb.click("button", "Создать кампанию")
		tb.waitText("#cp-list", "Предварительный обзвон")
		tb.click("#cp-list button", "Загрузить список: Предварительный обзвон")
		tb.run("choose the list", chromedp.SetUploadFiles(chromedp.ID("cp-load-file"), []string{list}))
		tb.click("button", "Загрузить")
		tb.waitText("#cp-load-result", "людей добавлено: 2")
		tb.click("#cp-list button", "Запустить: Предварительный обзвон")
		tb.waitText("#cp-list", "Идёт")

		op.click("nav a", "Журнал опроса")
		op.waitText("#sv-campaign", "Предварительный обзвон")
		op.choose("sv-campaign", campaign)
		op.waitText("#sv-mos", "Городская поликлиника № 1")
		op.click("#sv-mos button", "Перейти к ГБУЗ СК «Городская поликлиника № 1» г. Ставрополя")
		op.waitText("#sv-persons", "Абрамова Зоя Ивановна")
		op.click("#sv-persons button", "Просмотр: Абрамова Зоя Ивановна")
		op.wait("the card", `location.pathname === '/surveys/card'`)
		op.waitText("#sv-person", "2619482199300023")
		op.wait("«Позвонить» offered", `!document.getElementById('sv-dial').hidden && !document.getElementById('sv-dial').disabled`)
		op.click("#sv-actions + .actions button", "Позвонить")
		op.waitText("#sv-dial-status", "Набираем +79123456784")
		op.waitText("#sv-dial-status", "Не дозвонились: Занято")
		op.waitText("#phone-state", "Свободен")

		op.click("button", "Следующая карточка")
		op.waitText("#sv-person", "2619482199300015")
		op.wait("«Позвонить» offered", `!document.getElementById('sv-dial').hidden && !document.getElementById('sv-dial').disabled`)
		op.click("#sv-actions + .actions button", "Позвонить")
		op.waitText("#sv-dial-status", "Набираем +79123456790")
		op.waitText("#sv-dial-status", "Абонент ответил")
		op.waitText("#call-queue", "кампания "+campaign)
		op.wait("no second dial during the call", `document.getElementById('sv-dial').disabled`)
		op.check("survey card during a preview call", "")
		op.run("result: reached", clickCSS(`input[name="sv-result"][value="reached"]`))
		op.run("passed: yes", clickCSS(`input[name="q-passed"][value="yes"]`))
		op.wait("the place question", `!document.querySelector('[data-q="where"]').hidden`)
		op.run("where: own MO", clickCSS(`input[name="q-where"][value="own_mo"]`))
		op.click("button", "Сохранить")
		op.waitText("#toast", "Карточка сохранена")
		op.click("#call button", "Завершить звонок")
		op.wait("the call gone", `document.getElementById('call').hidden`)
		op.noErrors("preview dial")

		var card struct {
			Contact journal.Contact `json:"contact"`
		}
		app.admin("GET", "/api/v1/campaigns/"+campaign+"/contacts/2619482199300015", nil, &card)
		if ct := card.Contact; ct.Result != "reached" || ct.SavedBy != login || len(ct.Attempts) != 1 || ct.Attempts[0].Phone != "+79123456790" {
			t.Errorf("journal: contact %+v, want reached by %s after one call", ct, login)
		}
		app.admin("GET", "/api/v1/campaigns/"+campaign+"/contacts/2619482199300023", nil, &card)
		if ct := card.Contact; len(ct.Attempts) != 1 || !slices.Contains([]string{"busy"}, ct.Attempts[0].Result) {
			t.Errorf("journal: busy contact %+v, want one busy attempt", ct)
		}
	})
}
