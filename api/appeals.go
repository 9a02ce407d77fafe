package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// appealRequest is the body of POST /api/v1/appeals: the registration
// card (manual 5.1.4–5.1.6). Enumerations are given by code ("complaint")
// or Russian name ("Жалоба").
type appealRequest struct {
	Channel string             `json:"channel"`
	Phone   string             `json:"phone"`
	Person  journal.PersonData `json:"person"`
	Kind    string             `json:"kind"`
	Topic   string             `json:"topic"`
	Text    string             `json:"text"`
	// Links are earlier appeals (ids or numbers) to link (manual 5.1.7).
	Links []string `json:"links"`
	// Queue is the inbound queue the call came from.
	Queue string `json:"queue"`
	// Assignee is a login or an extension; empty means the author.
	Assignee string `json:"assignee"`
	// Due is set by administrators only; empty means 30 days.
	Due *time.Time `json:"due"`
	// CallID attaches the call the appeal came with.
	CallID string `json:"call_id"`
}

// parseOpt parses an enumeration field; empty gives the zero value (the
// journal then says what to choose).
func parseOpt[T any](field, v string, parse func(string) (T, error)) (T, error) {
	var zero T
	if strings.TrimSpace(v) == "" {
		return zero, nil
	}
	t, err := parse(strings.TrimSpace(v))
	if err != nil {
		return zero, unprocessable("%s: %v", field, strings.TrimPrefix(err.Error(), journal.ErrInvalid.Error()+": "))
	}
	return t, nil
}

// handlerLogin resolves who is to handle an appeal: a login or an
// extension (manual 5.1.8 transfers by extension) of an enabled account
// whose roles may work appeals.
func (s *server) handlerLogin(ctx context.Context, field, v string) (string, error) {
	v = strings.TrimSpace(v)
	var a *journal.Account
	var err error
	if v != "" && strings.Trim(v, "0123456789") == "" {
		a, err = s.j.AccountByExtension(ctx, v)
	} else {
		a, err = s.j.Account(ctx, v)
	}
	if errors.Is(err, journal.ErrNotFound) {
		return "", unprocessable("%s: no account with login or extension %q", field, v)
	}
	if err != nil {
		return "", err
	}
	if !a.Allowed(journal.ActionUpdate, journal.ResourceAppeal) {
		return "", unprocessable("%s: %s does not work on appeals (roles %v)", field, a.Login, a.Roles)
	}
	return a.Login, nil
}

// appealID turns a reference (id or number) into an id, reading the
// appeal when it is a number.
func (s *server) appealID(ctx context.Context, p *principal, ref string) (string, error) {
	if !strings.Contains(ref, "-") {
		return ref, nil
	}
	a, err := s.j.Appeal(ctx, p.actor(rRead, journal.ResourceAppeal), ref)
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

// visibleAppeal reads appeal ref for p and refuses (403) one p may not see.
// The journal audits the read, refused or not.
func (s *server) visibleAppeal(ctx context.Context, p *principal, ref string) (*journal.Appeal, error) {
	a, err := s.j.Appeal(ctx, p.actor(rRead, journal.ResourceAppeal), ref)
	if err != nil {
		return nil, err
	}
	if !p.canSee(a) {
		return nil, &forbiddenError{fmt.Sprintf("appeal %s is assigned to %s: not yours to see", a.Number, a.Assignee)}
	}
	return a, nil
}

func (s *server) createAppeal(w http.ResponseWriter, r *http.Request, p *principal) {
	var req appealRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	who := p.actor(rCreate, journal.ResourceAppeal)
	a := &journal.Appeal{Phone: req.Phone, Person: req.Person, Topic: req.Topic, Text: req.Text, Queue: strings.TrimSpace(req.Queue)}
	var err error
	if a.Channel, err = parseOpt("channel", req.Channel, journal.ParseChannel); err != nil {
		s.fail(w, r, err)
		return
	}
	if a.Kind, err = parseOpt("kind", req.Kind, journal.ParseKind); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Due != nil {
		if who.Role != journal.RoleAdmin {
			s.fail(w, r, &forbiddenError{"due: only an administrator sets the due date"})
			return
		}
		a.Due = *req.Due
	}
	if req.Assignee != "" {
		if a.Assignee, err = s.handlerLogin(ctx, "assignee", req.Assignee); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	for i, l := range req.Links {
		id, err := s.appealID(ctx, p, l)
		if err != nil {
			s.fail(w, r, unprocessable("links[%d]: %v", i, err))
			return
		}
		a.Links = append(a.Links, id)
	}
	// A call still up has no record yet: it is linked when written.
	callUp := false
	if req.CallID != "" {
		if _, err := s.j.Call(ctx, req.CallID); err != nil {
			if callUp = s.callInProgress(p, req.CallID); !callUp {
				s.fail(w, r, unprocessable("call_id: call %q: %v", req.CallID, errors.Unwrap(err)))
				return
			}
		}
	}
	if err := s.j.CreateAppeal(ctx, who, a); err != nil {
		s.fail(w, r, err)
		return
	}
	if callUp {
		if err := s.links.LinkWhenRecorded(ctx, req.CallID, a.ID, who); err != nil {
			s.log.Error("link call to new appeal", keyAppeal, a.ID, keyError, err)
		}
	} else if req.CallID != "" {
		n, err := s.j.AttachCall(ctx, who, a.ID, req.CallID)
		if err != nil {
			// The appeal is saved; say so rather than fail the request.
			s.log.Error("attach call to new appeal", keyAppeal, a.ID, keyError, err, keyHint, "the appeal is saved without its call: attach it again from the desktop")
		} else {
			a = n
		}
	}
	s.log.Info("appeal created", keyAppeal, a.ID, keyBy, p.login)
	s.appealChanged(a, "")
	w.Header().Set("Location", "/api/v1/appeals/"+a.ID)
	writeJSON(w, http.StatusCreated, a)
}

func (s *server) getAppeal(w http.ResponseWriter, r *http.Request, p *principal) {
	a, err := s.visibleAppeal(r.Context(), p, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// appealEditRequest is the body of PATCH /api/v1/appeals/{ref}: the
// fields to change; absent ones stay.
type appealEditRequest struct {
	Channel *string             `json:"channel"`
	Phone   *string             `json:"phone"`
	Person  *journal.PersonData `json:"person"`
	Kind    *string             `json:"kind"`
	Topic   *string             `json:"topic"`
	Text    *string             `json:"text"`
	Due     *time.Time          `json:"due"`
}

func (s *server) editAppeal(w http.ResponseWriter, r *http.Request, p *principal) {
	var req appealEditRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	e := journal.AppealEdit{Phone: req.Phone, Person: req.Person, Topic: req.Topic, Text: req.Text, Due: req.Due}
	if req.Channel != nil {
		c, err := parseOpt("channel", *req.Channel, journal.ParseChannel)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		e.Channel = &c
	}
	if req.Kind != nil {
		k, err := parseOpt("kind", *req.Kind, journal.ParseKind)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		e.Kind = &k
	}
	ctx := r.Context()
	a, err := s.visibleAppeal(ctx, p, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.j.EditAppeal(ctx, p.actor(rUpdate, journal.ResourceAppeal), a.ID, e)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.appealChanged(n, "")
	writeJSON(w, http.StatusOK, n)
}

// stepRequest is the body of a workflow move (POST
// /api/v1/appeals/{ref}/close|resume|approve|return|transfer).
type stepRequest struct {
	// Resolution is required by close: explained, resolved, not_confirmed,
	// withdrawn, forwarded (deferred to the operator To), extended (with
	// NewDue, awaiting an administrator's approval).
	Resolution string `json:"resolution"`
	Comment    string `json:"comment"`
	// To is the login or extension for forwarded and transfer.
	To string `json:"to"`
	// NewDue is YYYY-MM-DD (the end of that day, local time) or RFC 3339.
	NewDue string `json:"new_due"`
}

// parseDue reads a due date: RFC 3339, or a date meaning the end of it.
func parseDue(field, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, time.Local)
	if err != nil {
		return time.Time{}, unprocessable("%s: %q is not a date YYYY-MM-DD or an RFC 3339 time", field, v)
	}
	return d.AddDate(0, 0, 1).Add(-time.Second), nil
}

func (s *server) moveAppeal(m journal.Move) authedFunc {
	action := rUpdate
	if m == journal.MoveApprove || m == journal.MoveReturn {
		action = rApprove
	}
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		var req stepRequest
		if err := decodeOptionalJSON(r, w, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		ctx := r.Context()
		step := journal.Step{Move: m, Comment: req.Comment}
		var err error
		if step.Resolution, err = parseOpt("resolution", req.Resolution, journal.ParseResolution); err != nil {
			s.fail(w, r, err)
			return
		}
		if req.NewDue != "" {
			if step.NewDue, err = parseDue("new_due", req.NewDue); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if req.To != "" {
			if step.To, err = s.handlerLogin(ctx, "to", req.To); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		a, err := s.visibleAppeal(ctx, p, r.PathValue("ref"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		n, err := s.j.Move(ctx, p.actor(action, journal.ResourceAppeal), a.ID, step)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("appeal moved", keyAppeal, n.ID, keyMove, m.String(), keyStatus, n.Status.String(), keyBy, p.login)
		s.appealChanged(n, a.Assignee)
		writeJSON(w, http.StatusOK, n)
	}
}

// decodeOptionalJSON is decodeJSON for bodies that may be empty.
func decodeOptionalJSON(r *http.Request, w http.ResponseWriter, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	err := decodeJSON(r, w, v)
	var br *badRequestError
	if errors.As(err, &br) && strings.HasPrefix(br.msg, "body: empty") {
		return nil
	}
	return err
}

type linkRequest struct {
	// Appeals are earlier appeals, by id or number.
	Appeals []string `json:"appeals"`
}

func (s *server) linkAppeals(w http.ResponseWriter, r *http.Request, p *principal) {
	var req linkRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(req.Appeals) == 0 {
		s.fail(w, r, unprocessable("appeals: give the earlier appeals to link"))
		return
	}
	ctx := r.Context()
	a, err := s.visibleAppeal(ctx, p, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]string, len(req.Appeals))
	for i, ref := range req.Appeals {
		if ids[i], err = s.appealID(ctx, p, ref); err != nil {
			s.fail(w, r, unprocessable("appeals[%d]: %v", i, err))
			return
		}
	}
	n, err := s.j.LinkAppeals(ctx, p.actor(rUpdate, journal.ResourceAppeal), a.ID, ids...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

type callRequest struct {
	CallID string `json:"call_id"`
}

func (s *server) attachCall(w http.ResponseWriter, r *http.Request, p *principal) {
	var req callRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.CallID) == "" {
		s.fail(w, r, unprocessable("call_id: is empty"))
		return
	}
	ctx := r.Context()
	a, err := s.visibleAppeal(ctx, p, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.j.AttachCall(ctx, p.actor(rUpdate, journal.ResourceAppeal), a.ID, req.CallID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

// maxAttachment is the journal's limit on one attachment.
const maxAttachment = 32 << 20

// addAttachment takes multipart/form-data with the fields doc_number,
// registered (YYYY-MM-DD) and the file in "file" (manual 5.2.1).
func (s *server) addAttachment(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	a, err := s.visibleAppeal(ctx, p, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAttachment+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, badRequest("body: send multipart/form-data with doc_number, registered and file: %v", err))
		return
	}
	var att journal.Attachment
	var content []byte
	gotFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.fail(w, r, badRequest("body: %v", err))
			return
		}
		switch part.FormName() {
		case "file":
			att.FileName = part.FileName()
			content, err = io.ReadAll(io.LimitReader(part, maxAttachment+1))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			gotFile = true
		case "doc_number", "registered":
			b, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if part.FormName() == "doc_number" {
				att.DocNumber = strings.TrimSpace(string(b))
			} else {
				att.Registered = strings.TrimSpace(string(b))
			}
		default:
			s.fail(w, r, badRequest("%s: unknown form field", part.FormName()))
			return
		}
	}
	if !gotFile {
		s.fail(w, r, unprocessable("file: no file part"))
		return
	}
	n, err := s.j.AddAttachment(ctx, p.actor(rUpdate, journal.ResourceAppeal), a.ID, att, content)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

func (s *server) getAttachment(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	a, err := s.visibleAppeal(ctx, p, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	attID := r.PathValue("att")
	i := slices.IndexFunc(a.Attachments, func(x journal.Attachment) bool { return x.ID == attID })
	if i < 0 {
		s.fail(w, r, fmt.Errorf("attachment %s of appeal %s: %w", attID, a.Number, journal.ErrNotFound))
		return
	}
	b, err := s.j.AttachmentContent(ctx, p.actor(rRead, journal.ResourceAppeal), a.ID, attID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Attachments[i].FileName}))
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// listAppeals serves GET /api/v1/appeals?view=&status=&queue=&limit=.
// Views: mine (created by me), assigned (assigned to me), queue (of my
// queues, or ?queue=), all (everything I may see). The default is all for
// administrators and supervisors and mine ∪ assigned ∪ queue for the rest.
// Newest first.
func (s *server) listAppeals(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	ctx := r.Context()
	who := p.actor(rRead, journal.ResourceAppeal)
	status, err := parseOpt("status", q.Get("status"), journal.ParseStatus)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit := 200
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, badRequest("limit: %q is not a number from 1 to 1000", v))
			return
		}
		limit = n
	}
	view := q.Get("view")
	if view == "" {
		view = "work"
		if who.Role == journal.RoleAdmin || who.Role == journal.RoleSupervisor {
			view = "all"
		}
	}
	var filters []journal.AppealFilter
	switch view {
	case "mine":
		filters = append(filters, journal.AppealFilter{Author: p.login})
	case "assigned":
		filters = append(filters, journal.AppealFilter{Assignee: p.login})
	case "queue":
		queues := p.queues
		if qn := q.Get("queue"); qn != "" {
			queues = []string{qn}
		}
		for _, qn := range queues {
			filters = append(filters, journal.AppealFilter{Queue: qn})
		}
	case "work":
		filters = append(filters, journal.AppealFilter{Author: p.login}, journal.AppealFilter{Assignee: p.login})
		for _, qn := range p.queues {
			filters = append(filters, journal.AppealFilter{Queue: qn})
		}
	case "all":
		filters = append(filters, journal.AppealFilter{})
	default:
		s.fail(w, r, badRequest("view: %q: want mine, assigned, queue, work or all", view))
		return
	}
	seen := map[string]bool{}
	out := []journal.AppealRef{}
	for _, f := range filters {
		f.Status, f.Limit = status, limit
		refs, err := s.j.Appeals(ctx, who, p.queues, f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, a := range refs {
			if !seen[a.ID] {
				seen[a.ID] = true
				out = append(out, a)
			}
		}
	}
	slices.SortFunc(out, func(a, b journal.AppealRef) int { return b.Created.Compare(a.Created) })
	if len(out) > limit {
		out = out[:limit]
	}
	writeJSON(w, http.StatusOK, out)
}

// history serves GET /api/v1/history?phone=&enp=&surname=&name=&patronymic=&birth=:
// earlier appeals of the same phone or person, newest first (manual 5.1.7).
func (s *server) history(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	hq := journal.HistoryQuery{Phone: q.Get("phone"), Person: journal.PersonData{
		ENP: q.Get("enp"), Surname: q.Get("surname"), Name: q.Get("name"), Patronymic: q.Get("patronymic"), Birth: q.Get("birth"),
	}}
	if hq.Person.ENP != "" && !lists.ValidENP(hq.Person.ENP) {
		s.fail(w, r, badRequest("enp: not 16 digits"))
		return
	}
	refs, err := s.j.History(r.Context(), p.actor(rRead, journal.ResourceAppeal), hq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if refs == nil {
		refs = []journal.AppealRef{}
	}
	writeJSON(w, http.StatusOK, refs)
}
