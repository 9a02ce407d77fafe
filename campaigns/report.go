package campaigns

import (
	"fmt"
	"slices"

	"github.com/obzvon/obzvon/journal"
)

// Counts are a campaign's figures, as the informing module shows them
// (total, with phone, notified) and more.
type Counts struct {
	MOCode string `json:"mo_code,omitempty"`
	MOName string `json:"mo_name,omitempty"`
	// Total contacts; WithPhone of them have a phone; Notified were
	// reached (ЕИР263 «оповещено»).
	Total     int `json:"total"`
	WithPhone int `json:"with_phone"`
	Notified  int `json:"notified"`
	// Dialed contacts have at least one attempt; Attempts counts them all.
	Dialed   int `json:"dialed"`
	Attempts int `json:"attempts"`
	// Reached, Refused, DNC and WrongNumber count contacts by their last
	// result.
	Reached     int `json:"reached"`
	Refused     int `json:"refused"`
	DNC         int `json:"dnc"`
	WrongNumber int `json:"wrong_number"`
	// PendingRetry have been dialed and will be again; Waiting have not
	// been dialed yet; Dialing are on a call now; Exhausted will not be
	// dialed again without a final result; NoPhone have no phone.
	PendingRetry int `json:"pending_retry"`
	Waiting      int `json:"waiting"`
	Dialing      int `json:"dialing"`
	Exhausted    int `json:"exhausted"`
	NoPhone      int `json:"no_phone"`
}

// Add counts one contact.
func (n *Counts) Add(c *journal.Contact) {
	n.Total++
	if len(c.Phones) > 0 {
		n.WithPhone++
	}
	if len(c.Attempts) > 0 {
		n.Dialed++
		n.Attempts += len(c.Attempts)
	}
	switch c.Result {
	case ResultReached.String():
		n.Reached++
		n.Notified++
	case ResultRefused.String():
		n.Refused++
	case ResultDNC.String():
		n.DNC++
	case ResultWrongNumber.String():
		n.WrongNumber++
	}
	switch c.Status {
	case journal.ContactPending:
		if len(c.Attempts) > 0 {
			n.PendingRetry++
		} else {
			n.Waiting++
		}
	case journal.ContactDialing:
		n.Dialing++
	case journal.ContactExhausted:
		n.Exhausted++
	case journal.ContactNoPhone:
		n.NoPhone++
	}
}

// Report is a campaign's counts in total and per medical organization.
type Report struct {
	Campaign string   `json:"campaign"`
	Total    Counts   `json:"total"`
	ByMO     []Counts `json:"by_mo"`
}

// Tally builds a Report by calling each with a function that it calls for
// every contact.
func Tally(campaign string, each func(fn func(c *journal.Contact) bool) error) (*Report, error) {
	r := &Report{Campaign: campaign}
	by := map[string]*Counts{}
	err := each(func(c *journal.Contact) bool {
		r.Total.Add(c)
		m := by[c.MOCode]
		if m == nil {
			m = &Counts{MOCode: c.MOCode, MOName: c.MOName}
			by[c.MOCode] = m
		}
		m.Add(c)
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, m := range by {
		r.ByMO = append(r.ByMO, *m)
	}
	slices.SortFunc(r.ByMO, func(a, b Counts) int {
		if a.MOCode < b.MOCode {
			return -1
		}
		if a.MOCode > b.MOCode {
			return 1
		}
		return 0
	})
	return r, nil
}

// CountsHeader and Row give the counts as a table (exports).
var CountsHeader = []string{"Код МО", "Наименование МО", "Всего", "Из них с телефоном", "Оповещено", "Набрано",
	"Попыток", "Дозвон", "Отказ", "Не звонить", "Неверный номер", "Ждут повтора", "Не набраны", "Идёт звонок",
	"Попытки исчерпаны", "Без телефона"}

// Row returns the counts as the cells of CountsHeader.
func (n Counts) Row() []string {
	return []string{n.MOCode, n.MOName, itoa(n.Total), itoa(n.WithPhone), itoa(n.Notified), itoa(n.Dialed),
		itoa(n.Attempts), itoa(n.Reached), itoa(n.Refused), itoa(n.DNC), itoa(n.WrongNumber), itoa(n.PendingRetry),
		itoa(n.Waiting), itoa(n.Dialing), itoa(n.Exhausted), itoa(n.NoPhone)}
}

func itoa(i int) string { return fmt.Sprint(i) }

// ContactsHeader and ContactRow give contacts as a table (the per-person
// export of results).
var ContactsHeader = []string{"ЕНП", "Фамилия", "Имя", "Отчество", "Дата рождения", "Код МО", "Наименование МО",
	"Период", "Телефоны", "Состояние", "Результат", "Причина отказа", "Попыток", "Последний звонок", "Ответы", "Комментарий",
	"Оператор"}

// ContactRow returns a contact as the cells of ContactsHeader; script
// (may be nil) names refusal reasons.
func ContactRow(c *journal.Contact, script *Script) []string {
	phones := ""
	for i, p := range c.Phones {
		if i > 0 {
			phones += ", "
		}
		phones += p.Number
		switch {
		case p.DNC:
			phones += " (не звонить)"
		case p.Wrong:
			phones += " (неверный)"
		}
	}
	res := ""
	if c.Result != "" {
		if r, err := ParseResult(c.Result); err == nil {
			res = r.Russian()
		}
	}
	refusal := c.Refusal
	if script != nil {
		if t, ok := script.RefusalText(c.Refusal); ok {
			refusal = t
		}
	}
	last := ""
	if k := len(c.Attempts); k > 0 {
		last = c.Attempts[k-1].At.Format("02.01.2006 15:04")
	}
	answers := ""
	for i, k := range sortedKeys(c.Answers) {
		if i > 0 {
			answers += "; "
		}
		answers += k + "=" + c.Answers[k]
	}
	return []string{c.ID, c.Surname, c.Name, c.Patronymic, c.Birth, c.MOCode, c.MOName, c.Period, phones,
		c.Status.Russian(), res, refusal, itoa(len(c.Attempts)), last, answers, c.Comment, c.SavedBy}
}

// Transition checks a campaign status change asked by staff: created →
// running; running ⇄ paused; anything but stopped → stopped.
func Transition(from, to journal.CampaignStatus) error {
	ok := false
	switch to {
	case journal.CampaignRunning:
		ok = from == journal.CampaignCreated || from == journal.CampaignPaused
	case journal.CampaignPaused:
		ok = from == journal.CampaignRunning
	case journal.CampaignStopped:
		ok = from != journal.CampaignStopped
	}
	if !ok {
		return fmt.Errorf("%w: campaign is %s; it cannot go to %s", ErrBadTransition, from, to)
	}
	return nil
}

// ErrBadTransition is wrapped by refused campaign status changes.
var ErrBadTransition = fmt.Errorf("campaign status change not allowed")
