package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// CallLinker links an appeal to a call whose record is not written yet
// (the call is still up); the daemon's glue does it when the dialer
// writes the record.
type CallLinker interface {
	LinkWhenRecorded(ctx context.Context, callID, appealID string, who journal.Actor) error
}

// callInProgress reports whether callID is p's call now (on the desk),
// so an appeal may name it before its record exists.
func (s *server) callInProgress(p *principal, callID string) bool {
	if s.desk == nil || s.links == nil || callID == "" {
		return false
	}
	st := s.desk.Agent(p.login)
	return st.Call != nil && st.Call.CallID == callID
}

// personSearchRequest is the body of POST /api/v1/registry/search: the
// same query as GET /api/v1/registry/persons, kept out of the URL (where
// proxies, browser history and access logs would keep a name and a date
// of birth).
type personSearchRequest struct {
	Surname    string `json:"surname"`
	Name       string `json:"name"`
	Patronymic string `json:"patronymic"`
	Birth      string `json:"birth"`
	Phone      string `json:"phone"`
}

// searchPersonsBody serves POST /api/v1/registry/search: by phone, or by
// name parts and date of birth (at most 10, best first; manual 5.1.3).
func (s *server) searchPersonsBody(w http.ResponseWriter, r *http.Request, p *principal) {
	var q personSearchRequest
	if err := decodeJSON(r, w, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	who := p.actor(rRead, journal.ResourcePerson)
	var out []journal.Person
	var err error
	if strings.TrimSpace(q.Phone) != "" {
		out, err = s.j.PersonsByPhone(r.Context(), who, q.Phone)
	} else {
		out, err = s.j.SearchPersons(r.Context(), who, journal.PersonQuery{Surname: q.Surname, Name: q.Name, Patronymic: q.Patronymic, Birth: q.Birth})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []journal.Person{}
	}
	writeJSON(w, http.StatusOK, out)
}

// historySearchRequest is the body of POST /api/v1/history/search.
type historySearchRequest struct {
	Phone  string             `json:"phone"`
	Person journal.PersonData `json:"person"`
}

// historyBody serves POST /api/v1/history/search: the earlier appeals of
// a phone or a person (manual 5.1.7), with the query in the body.
func (s *server) historyBody(w http.ResponseWriter, r *http.Request, p *principal) {
	var q historySearchRequest
	if err := decodeJSON(r, w, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	if q.Person.ENP != "" && !lists.ValidENP(q.Person.ENP) {
		s.fail(w, r, unprocessable("person.enp: not 16 digits"))
		return
	}
	refs, err := s.j.History(r.Context(), p.actor(rRead, journal.ResourceAppeal), journal.HistoryQuery{Phone: q.Phone, Person: q.Person})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if refs == nil {
		refs = []journal.AppealRef{}
	}
	writeJSON(w, http.StatusOK, refs)
}

// callView is a call of an appeal as the card lists it.
type callView struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"`
	From      string    `json:"from,omitempty"`
	To        string    `json:"to,omitempty"`
	Arrived   time.Time `json:"arrived"`
	Answered  time.Time `json:"answered,omitzero"`
	Ended     time.Time `json:"ended,omitzero"`
	// Seconds is the talk time (answer to end).
	Seconds      float64 `json:"seconds"`
	HasRecording bool    `json:"has_recording"`
	// Missing is true for a call id the journal has no record of.
	Missing bool `json:"missing,omitempty"`
}

// appealCalls serves GET /api/v1/appeals/{ref}/calls: the calls linked to
// an appeal the caller may see, with whether each has a recording.
func (s *server) appealCalls(w http.ResponseWriter, r *http.Request, p *principal) {
	a, err := s.visibleAppeal(r.Context(), p, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []callView{}
	for _, id := range a.Calls {
		c, err := s.j.Call(r.Context(), id)
		if err != nil {
			out = append(out, callView{ID: id, Missing: true})
			continue
		}
		v := callView{ID: c.ID, Direction: c.Direction, From: c.From, To: c.To, Arrived: c.Arrived, Answered: c.Answered, Ended: c.Ended,
			HasRecording: c.Recording != ""}
		if !c.Answered.IsZero() && c.Ended.After(c.Answered) {
			v.Seconds = c.Ended.Sub(c.Answered).Seconds()
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// canDownloadRecordings reports whether p may download recordings (not
// only play them in the browser): administrators and supervisors, who
// hand them over on complaints and court requests.
func (p *principal) canDownloadRecordings() bool {
	return slices.Contains(p.roles, journal.RoleAdmin) || slices.Contains(p.roles, journal.RoleSupervisor)
}

// playAuditEvery is how often repeated range requests of one account for
// one recording (a player seeking) add an audit entry.
const playAuditEvery = 10 * time.Minute

// playAudit remembers when each account's access to each recording was
// last audited, so a player's many range requests make one entry.
type playAudit struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether an access of key at now needs an audit entry, and
// if so notes it.
func (pa *playAudit) due(key string, now time.Time) bool {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	if pa.last == nil {
		pa.last = map[string]time.Time{}
	}
	if t, ok := pa.last[key]; ok && now.Sub(t) < playAuditEvery {
		return false
	}
	if len(pa.last) > 10000 {
		for k, t := range pa.last {
			if now.Sub(t) >= playAuditEvery {
				delete(pa.last, k)
			}
		}
	}
	pa.last[key] = now
	return true
}

// recording serves GET /api/v1/appeals/{ref}/calls/{call}/recording: the
// WAV of a call linked to an appeal the caller may see, with HTTP range
// requests (the browser's player seeks with them). ?download=1 asks for
// it as a file, which only administrators and supervisors may. Every
// access is audited: the first request of a play or download, and again
// after playAuditEvery of seeking.
func (s *server) recording(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	download := r.URL.Query().Get("download") != ""
	if download && !p.canDownloadRecordings() {
		s.fail(w, r, &forbiddenError{fmt.Sprintf("roles %v may play recordings, not download them", p.roles)})
		return
	}
	a, err := s.visibleAppeal(ctx, p, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	callID := r.PathValue("call")
	if !slices.Contains(a.Calls, callID) {
		s.fail(w, r, fmt.Errorf("call %s is not linked to appeal %s: %w", callID, a.Number, journal.ErrNotFound))
		return
	}
	c, err := s.j.Call(ctx, callID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c.Recording == "" || !strings.EqualFold(filepath.Ext(c.Recording), ".wav") {
		s.fail(w, r, fmt.Errorf("call %s has no recording: %w", callID, journal.ErrNotFound))
		return
	}
	f, err := os.Open(c.Recording)
	if err != nil {
		s.log.Error("recording unreadable", keyAppeal, a.ID, "call_id", callID, keyError, err)
		s.fail(w, r, fmt.Errorf("recording of call %s: %w", callID, journal.ErrNotFound))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		s.fail(w, r, fmt.Errorf("recording of call %s: %w", callID, journal.ErrNotFound))
		return
	}
	op := "play"
	if download {
		op = "download"
	}
	if s.plays.due(p.login+"\x00"+op+"\x00"+callID, s.now()) {
		if err := s.j.AuditRecording(ctx, p.actor(rRead, journal.ResourceRecording), op, callID, a.ID, a.Person.ENP); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "sandbox")
	name := "zapis-" + a.Number + "-" + callID + ".wav"
	if download {
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	} else {
		h.Set("Content-Disposition", `inline; filename="`+name+`"`)
	}
	// A long recording outlasts the write timeout on a slow link.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(30 * time.Minute))
	http.ServeContent(w, r, "", st.ModTime(), f)
}
