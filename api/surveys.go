package api

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// The survey journals of the desktop (manual 5.3: «Диспансеризация»,
// «Диспансерный учёт»; 7.1 «ЕИР263»): operators read the campaigns'
// persons by medical organization and fill their survey cards. The
// campaigns API (campaigns.go) names a contact by its ЕНП in the URL;
// these endpoints take it in the body, so no policy number travels in a
// URL, and they need only the survey rights operators have.

// routesSurveys mounts the survey journals' endpoints.
func (s *server) routesSurveys() {
	s.handle("GET /api/v1/surveys", rRead, journal.ResourceSurvey, s.listSurveys)
	s.handle("POST /api/v1/surveys/{id}/contacts", rRead, journal.ResourceSurvey, s.surveyContacts)
	s.handle("POST /api/v1/surveys/{id}/card", rRead, journal.ResourceSurvey, s.surveyCardBody)
	s.handle("POST /api/v1/surveys/{id}/card/save", rUpdate, journal.ResourceSurvey, s.saveSurveyCardBody)
}

// surveyView is a campaign as the survey journals list it: its counts in
// total and by medical organization, and what its cards may record.
type surveyView struct {
	ID      string             `json:"id"`
	Title   string             `json:"title"`
	Kind    string             `json:"kind"`
	Status  string             `json:"status"`
	Created time.Time          `json:"created"`
	Periods []string           `json:"periods"`
	Total   campaigns.Counts   `json:"total"`
	ByMO    []campaigns.Counts `json:"by_mo"`
	// Results are every result a contact may have (dialer's included);
	// CardResults those an operator may save on this campaign's cards.
	Results     []enumView `json:"results"`
	CardResults []enumView `json:"card_results"`
	Statuses    []enumView `json:"statuses"`
}

// listSurveys serves GET /api/v1/surveys?kind=: the campaigns (of a kind:
// screening, followup, informing) with their counts. Counts hold no
// personal data.
func (s *server) listSurveys(w http.ResponseWriter, r *http.Request, p *principal) {
	kind := r.URL.Query().Get("kind")
	cs, err := s.j.Campaigns(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []surveyView{}
	for _, c := range cs {
		if kind != "" && c.Kind != kind {
			continue
		}
		periods := map[string]bool{}
		rep, err := campaigns.Tally(c.ID, func(fn func(*journal.Contact) bool) error {
			return s.j.Contacts(r.Context(), c.ID, journal.ContactsFilter{}, func(ct *journal.Contact) bool {
				if ct.Period != "" {
					periods[ct.Period] = true
				}
				return fn(ct)
			})
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v := surveyView{ID: c.ID, Title: c.Title, Kind: c.Kind, Status: c.Status.String(), Created: c.Created,
			Total: rep.Total, ByMO: rep.ByMO, Periods: []string{}, Results: allResults(), CardResults: surveyResults(&c), Statuses: contactStatuses()}
		if v.ByMO == nil {
			v.ByMO = []campaigns.Counts{}
		}
		for p := range periods {
			v.Periods = append(v.Periods, p)
		}
		slices.Sort(v.Periods)
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b surveyView) int { return b.Created.Compare(a.Created) })
	writeJSON(w, http.StatusOK, out)
}

// surveyResults are the results a campaign's card may record.
func surveyResults(c *journal.Campaign) []enumView {
	sc, err := campaigns.ScriptOf(c)
	if err != nil {
		return []enumView{}
	}
	out := []enumView{}
	for _, res := range sc.Results {
		out = append(out, enumView{res.String(), res.Russian()})
	}
	return out
}

func allResults() []enumView {
	out := []enumView{}
	for _, res := range campaigns.Results {
		out = append(out, enumView{res.String(), res.Russian()})
	}
	return out
}

func contactStatuses() []enumView {
	out := []enumView{}
	for _, st := range journal.ContactStatuses {
		out = append(out, enumView{st.String(), st.Russian()})
	}
	return out
}

// contactsRequest is the body of POST /api/v1/surveys/{id}/contacts: the
// filters of the persons list (manual 5.3.1: period, answer status,
// action) within one medical organization.
type contactsRequest struct {
	MO string `json:"mo"`
	// Period is the screening period or year ("2026").
	Period string `json:"period"`
	// Result is the last result saved ("" any, "none": no result yet).
	Result string `json:"result"`
	// Status is the contact's status (pending, done, …).
	Status string `json:"status"`
	// Surname filters by the start of the surname.
	Surname string `json:"surname"`
	Limit   int    `json:"limit"`
}

// contactRow is one person of the list.
type contactRow struct {
	ID          string    `json:"id"` // the ЕНП
	Surname     string    `json:"surname"`
	Name        string    `json:"name"`
	Patronymic  string    `json:"patronymic,omitempty"`
	Birth       string    `json:"birth,omitempty"`
	Phones      int       `json:"phones"`
	MOName      string    `json:"mo_name,omitempty"`
	Period      string    `json:"period,omitempty"`
	HealthGroup string    `json:"health_group,omitempty"`
	Diagnosis   string    `json:"diagnosis,omitempty"`
	Status      string    `json:"status"`
	Result      string    `json:"result,omitempty"`
	Attempts    int       `json:"attempts"`
	SavedBy     string    `json:"saved_by,omitempty"`
	SavedAt     time.Time `json:"saved_at,omitzero"`
	Callback    time.Time `json:"callback,omitzero"`
}

// maxContactRows caps one list; narrow the filters for more.
const maxContactRows = 500

// surveyContacts serves POST /api/v1/surveys/{id}/contacts: the persons
// of a campaign in a medical organization, by surname. The list is a
// read of personal data: audited (its filters and size, not its rows).
func (s *server) surveyContacts(w http.ResponseWriter, r *http.Request, p *principal) {
	var q contactsRequest
	if err := decodeJSON(r, w, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if _, err := s.j.Campaign(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	f := journal.ContactsFilter{MO: strings.TrimSpace(q.MO)}
	if q.Status != "" {
		st, err := journal.ParseContactStatus(q.Status)
		if err != nil {
			s.fail(w, r, unprocessable("status: %q: want one of pending, dialing, done, exhausted, no_phone", q.Status))
			return
		}
		f.Status = st
	}
	limit := q.Limit
	if limit <= 0 || limit > maxContactRows {
		limit = maxContactRows
	}
	surname := lists.Fold(q.Surname)
	out := []contactRow{}
	more := false
	var counts campaigns.Counts
	err := s.j.Contacts(r.Context(), id, f, func(c *journal.Contact) bool {
		switch {
		case q.Period != "" && !strings.HasPrefix(c.Period, q.Period):
			return true
		case q.Result == "none" && c.Result != "", q.Result != "" && q.Result != "none" && c.Result != q.Result:
			return true
		case surname != "" && !strings.HasPrefix(lists.Fold(c.Surname), surname):
			return true
		}
		counts.Add(c)
		if len(out) == limit {
			more = true
			return true
		}
		row := contactRow{ID: c.ID, Surname: c.Surname, Name: c.Name, Patronymic: c.Patronymic, Birth: c.Birth, Phones: len(c.Phones),
			MOName: c.MOName, Period: c.Period, HealthGroup: c.HealthGroup, Diagnosis: c.Diagnosis, Status: c.Status.String(),
			Result: c.Result, Attempts: len(c.Attempts), SavedBy: c.SavedBy, SavedAt: c.SavedAt}
		if c.Callback != nil {
			row.Callback = c.Callback.At
		}
		out = append(out, row)
		return true
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.SortFunc(out, func(a, b contactRow) int {
		return cmp.Or(strings.Compare(lists.Fold(a.Surname), lists.Fold(b.Surname)), strings.Compare(a.ID, b.ID))
	})
	if err := s.j.AuditList(r.Context(), p.actor(rRead, journal.ResourceSurvey), "campaign:"+id,
		"survey list mo="+f.MO+" period="+q.Period+" result="+q.Result+" status="+q.Status, len(out)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": out, "more": more, "counts": counts})
}

// cardRequest names the contact in the body: the person's ЕНП, or the
// attempt id of a campaign call (what the desktop gets when the call
// connects; campaigns.CardOf finds its contact).
type cardRequest struct {
	ENP string `json:"enp"`
}

// surveyCardBody serves POST /api/v1/surveys/{id}/card {"enp"}: the card
// (the read is audited by campaigns.CardOf).
func (s *server) surveyCardBody(w http.ResponseWriter, r *http.Request, p *principal) {
	var q cardRequest
	if err := decodeJSON(r, w, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	if q.ENP == "" {
		s.fail(w, r, unprocessable("enp: give the person's ЕНП or the attempt id of the call"))
		return
	}
	card, err := campaigns.CardOf(r.Context(), s.j, p.actor(rRead, journal.ResourceSurvey), r.PathValue("id"), q.ENP)
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	names := map[string]string{}
	for _, res := range campaigns.Results {
		names[res.String()] = res.Russian()
	}
	writeJSON(w, http.StatusOK, struct {
		*campaigns.Card
		// ResultNames are the Russian names of the results.
		ResultNames map[string]string `json:"result_names"`
	}{card, names})
}

// saveCardRequest is a survey card with its contact.
type saveCardRequest struct {
	ENP string `json:"enp"`
	campaigns.CardRequest
}

// saveSurveyCardBody serves POST /api/v1/surveys/{id}/card/save.
func (s *server) saveSurveyCardBody(w http.ResponseWriter, r *http.Request, p *principal) {
	var q saveCardRequest
	if err := decodeJSON(r, w, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	if q.ENP == "" {
		s.fail(w, r, unprocessable("enp: give the person's ЕНП or the attempt id of the call"))
		return
	}
	c, err := campaigns.SaveCard(r.Context(), s.j, p.actor(rUpdate, journal.ResourceSurvey), r.PathValue("id"), q.ENP, q.CardRequest, s.now())
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	s.hub.publish("campaign.changed", map[string]string{"campaign": r.PathValue("id")}, func(st *stream) bool {
		return slices.ContainsFunc(st.roles, func(ro journal.Role) bool { return journal.Allowed(ro, rRead, journal.ResourceSurvey) })
	})
	writeJSON(w, http.StatusOK, c)
}
