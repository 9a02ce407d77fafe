package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// The campaigns API: campaign staff create campaigns, load lists, start,
// pause and stop them, watch their counts, export results and ask why a
// person was (not) called; operators read and save survey cards.

// routesCampaigns mounts the campaigns API.
func (s *server) routesCampaigns() {
	s.handle("GET /api/v1/campaigns", rRead, journal.ResourceCampaign, s.listCampaigns)
	s.handle("POST /api/v1/campaigns", rCreate, journal.ResourceCampaign, s.createCampaign)
	s.handle("GET /api/v1/campaigns/{id}", rRead, journal.ResourceCampaign, s.campaignStatus)
	s.handle("POST /api/v1/campaigns/{id}/load", rCreate, journal.ResourceList, s.loadCampaign)
	for verb, to := range map[string]journal.CampaignStatus{"start": journal.CampaignRunning, "pause": journal.CampaignPaused, "stop": journal.CampaignStopped} {
		s.handle("POST /api/v1/campaigns/{id}/"+verb, rUpdate, journal.ResourceCampaign, s.moveCampaign(to))
	}
	s.handle("GET /api/v1/campaigns/{id}/export", rRead, journal.ResourceCampaign, s.exportCampaign)
	s.handle("GET /api/v1/campaigns/{id}/why", rRead, journal.ResourceCampaign, s.whyCampaign)
	s.handle("GET /api/v1/campaigns/{id}/contacts/{enp}", rRead, journal.ResourceSurvey, s.surveyCard)
	s.handle("POST /api/v1/campaigns/{id}/contacts/{enp}/card", rUpdate, journal.ResourceSurvey, s.saveSurveyCard)
	s.handle("GET /api/v1/scripts", rRead, journal.ResourceCampaign, s.listScripts)
	s.handle("POST /api/v1/campaigns/{id}/dial", rUpdate, journal.ResourceSurvey, s.dialContact)
	s.handle("POST /api/v1/campaigns/{id}/appeal-callbacks", rCreate, journal.ResourceList, s.appealCallbacks)
}

// appealCallbacks serves POST /api/v1/campaigns/{id}/appeal-callbacks:
// every deferred appeal becomes a callback of the campaign for its
// operator (campaigns.ImportAppealCallbacks); the answer counts them and
// lists the appeals skipped with the reason.
func (s *server) appealCallbacks(w http.ResponseWriter, r *http.Request, p *principal) {
	res, err := campaigns.ImportAppealCallbacks(r.Context(), s.j, p.actor(rCreate, journal.ResourceList), r.PathValue("id"), s.now())
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// CampaignDialer places a campaign call an operator asked for
// (campaigns.Manager).
type CampaignDialer interface {
	DialFor(ctx context.Context, campaign, contact, agent string) campaigns.DialForResult
}

// dialContact serves POST /api/v1/campaigns/{id}/dial {"contact": ЕНП}:
// the operator who previewed the card (or owns its callback) has it
// dialed now; the live answer is offered to them only. The answer is the
// attempt and the phone called; 409 says why the rules refused (DNC,
// window, another operator's callback, a call in progress…) or that the
// campaign is not running.
func (s *server) dialContact(w http.ResponseWriter, r *http.Request, p *principal) {
	if s.campaigns == nil {
		s.fail(w, r, &badRequestError{code: http.StatusConflict, msg: "campaign not running: campaign dialing is not running in this process"})
		return
	}
	var req struct {
		Contact string `json:"contact"`
	}
	if err := decodeJSONLimit(r, w, &req, 4096); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Contact == "" {
		s.fail(w, r, unprocessable("contact: the person's ЕНП is required"))
		return
	}
	res := s.campaigns.DialFor(r.Context(), r.PathValue("id"), req.Contact, p.login)
	switch {
	case errors.Is(res.Err, campaigns.ErrNotRunning), errors.Is(res.Err, campaigns.ErrNotNow):
		s.fail(w, r, &badRequestError{code: http.StatusConflict, msg: res.Err.Error()})
		return
	case res.Err != nil:
		s.fail(w, r, res.Err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

// campaignError maps the campaigns package's errors to HTTP answers.
func campaignError(err error) error {
	switch {
	case errors.Is(err, campaigns.ErrBadScript), errors.Is(err, campaigns.ErrBadSettings), errors.Is(err, campaigns.ErrBadAnswer),
		errors.Is(err, lists.ErrHeader), errors.Is(err, campaigns.ErrBadExport):
		return unprocessable("%v", err)
	case errors.Is(err, campaigns.ErrBadTransition):
		return &badRequestError{code: http.StatusConflict, msg: err.Error()}
	}
	return err
}

func (s *server) listCampaigns(w http.ResponseWriter, r *http.Request, p *principal) {
	out, err := s.j.Campaigns(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []journal.Campaign{}
	}
	for i := range out {
		out[i].ScriptSource = ""
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) createCampaign(w http.ResponseWriter, r *http.Request, p *principal) {
	var req campaigns.CreateRequest
	if err := decodeJSONLimit(r, w, &req, 1<<20); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := campaigns.Create(r.Context(), s.j, p.actor(rCreate, journal.ResourceCampaign), req)
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// campaignStatus serves the campaign with its live counts (total, with
// phone, notified, dialed, reached, refused, pending retry, exhausted…),
// in total and per medical organization.
func (s *server) campaignStatus(w http.ResponseWriter, r *http.Request, p *principal) {
	st, err := campaigns.StatusOf(r.Context(), s.j, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st.Campaign.ScriptSource = ""
	writeJSON(w, http.StatusOK, struct {
		*campaigns.Status
		Live *CampaignLive `json:"live,omitempty"`
	}{st, s.campaignLive(st.Campaign.ID, st.Campaign.Status)})
}

// maxListUpload caps a survey list upload.
const maxListUpload = 1 << 30

// loadCampaign serves POST /api/v1/campaigns/{id}/load?name=FILE: the
// body is the list file (CSV or XLSX). The answer is the load's result
// with an error per bad row (line, column, reason). With ?progress=1 the
// answer is a stream of JSON lines, {"stage":"read","done":N} as the load
// goes, then the result as the last line.
func (s *server) loadCampaign(w http.ResponseWriter, r *http.Request, p *principal) {
	name := filepath.Base(r.URL.Query().Get("name"))
	if name == "." || name == "/" {
		name = "upload"
	}
	body := http.MaxBytesReader(w, r.Body, maxListUpload)
	who := p.actor(rCreate, journal.ResourceList)
	var prog campaigns.Progress
	var fl http.Flusher
	streaming := r.URL.Query().Get("progress") == "1"
	if streaming {
		fl, _ = w.(http.Flusher)
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		prog = func(stage string, done int) {
			fmt.Fprintf(w, "{\"stage\":%q,\"done\":%d}\n", stage, done)
			if fl != nil {
				fl.Flush()
			}
		}
	}
	res, err := campaigns.Load(r.Context(), s.j, who, r.PathValue("id"), body, lists.FormatOf(name), name, prog)
	if streaming {
		if err != nil {
			_, msg := statusOf(campaignError(err))
			fmt.Fprintf(w, "{\"error\":%q}\n", msg)
			return
		}
		writeJSONLine(w, res)
		return
	}
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *server) moveCampaign(to journal.CampaignStatus) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		var req struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength > 0 {
			if err := decodeJSON(r, w, &req); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		c, err := campaigns.SetStatus(r.Context(), s.j, p.actor(rUpdate, journal.ResourceCampaign), r.PathValue("id"), to, strings.TrimSpace(req.Reason))
		if err != nil {
			s.fail(w, r, campaignError(err))
			return
		}
		c.ScriptSource = ""
		writeJSON(w, http.StatusOK, c)
	}
}

// exportCampaign serves ?format=csv|xlsx&encoding=cp1251&mo=CODE.
func (s *server) exportCampaign(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	o := campaigns.ExportOptions{Format: q.Get("format"), CP1251: q.Get("encoding") == "cp1251", MO: q.Get("mo")}
	if o.Format == "" {
		o.Format = "xlsx"
	}
	if e := q.Get("encoding"); e != "" && e != "cp1251" && e != "utf-8" {
		s.fail(w, r, badRequest("encoding: %q: want utf-8 or cp1251", e))
		return
	}
	id := r.PathValue("id")
	var buf strings.Builder
	n, err := campaigns.Export(r.Context(), s.j, p.actor(rRead, journal.ResourceCampaign), id, o, &buf)
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	ct := "text/csv; charset=utf-8"
	if o.CP1251 {
		ct = "text/csv; charset=windows-1251"
	}
	if o.Format == "xlsx" {
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, id, o.Format))
	w.Header().Set(RowsHeader, strconv.Itoa(n))
	_, _ = w.Write([]byte(buf.String()))
}

// whyCampaign serves ?contact=ENP|PHONE: why the person was (not) called.
func (s *server) whyCampaign(w http.ResponseWriter, r *http.Request, p *principal) {
	ref := r.URL.Query().Get("contact")
	if ref == "" {
		s.fail(w, r, badRequest("contact: give a ЕНП or a phone"))
		return
	}
	out, err := campaigns.Explain(r.Context(), s.j, p.actor(rRead, journal.ResourceCampaign), r.PathValue("id"), ref, s.now())
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// surveyCard serves an operator's survey card of a contact.
func (s *server) surveyCard(w http.ResponseWriter, r *http.Request, p *principal) {
	card, err := campaigns.CardOf(r.Context(), s.j, p.actor(rRead, journal.ResourceSurvey), r.PathValue("id"), r.PathValue("enp"))
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	writeJSON(w, http.StatusOK, card)
}

// saveSurveyCard saves answers, result, refusal, reschedule or a wrong
// phone for a contact; the answer is the contact as stored.
func (s *server) saveSurveyCard(w http.ResponseWriter, r *http.Request, p *principal) {
	var req campaigns.CardRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := campaigns.SaveCard(r.Context(), s.j, p.actor(rUpdate, journal.ResourceSurvey), r.PathValue("id"), r.PathValue("enp"), req, s.now())
	if err != nil {
		s.fail(w, r, campaignError(err))
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) listScripts(w http.ResponseWriter, r *http.Request, p *principal) {
	var out []*campaigns.Script
	for _, n := range campaigns.BuiltinScripts() {
		sc, err := campaigns.BuiltinScript(n)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, sc)
	}
	writeJSON(w, http.StatusOK, out)
}

// writeJSONLine writes v as one line of a JSON-lines stream already
// started.
func writeJSONLine(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}
