package api

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// searchPersons serves GET /api/v1/registry/persons: by
// ?surname=&name=&patronymic=&birth= (prefixes, at least one; at most 10
// results, best first; manual 5.1.3) or by ?phone= (the caller's number).
func (s *server) searchPersons(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	who := p.actor(rRead, journal.ResourcePerson)
	var out []journal.Person
	var err error
	if ph := q.Get("phone"); ph != "" {
		out, err = s.j.PersonsByPhone(r.Context(), who, ph)
	} else {
		out, err = s.j.SearchPersons(r.Context(), who, journal.PersonQuery{
			Surname: q.Get("surname"), Name: q.Get("name"), Patronymic: q.Get("patronymic"), Birth: q.Get("birth"),
		})
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

// getPerson serves GET /api/v1/registry/persons/{enp}: a person's card.
func (s *server) getPerson(w http.ResponseWriter, r *http.Request, p *principal) {
	enp := r.PathValue("enp")
	if !lists.ValidENP(enp) {
		s.fail(w, r, badRequest("enp: not 16 digits"))
		return
	}
	out, err := s.j.Person(r.Context(), p.actor(rRead, journal.ResourcePerson), enp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// audit serves GET /api/v1/audit?account=|person=|subject=&from=&to=&limit=
// (administrators only): audit entries, oldest first.
func (s *server) audit(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	aq := journal.AuditQuery{Account: q.Get("account"), Person: q.Get("person"), Subject: q.Get("subject")}
	var err error
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &aq.From}, {"to", &aq.To}} {
		if v := q.Get(f.name); v != "" {
			if *f.t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				s.fail(w, r, badRequest("%s: %q is not an RFC 3339 time like 2026-11-27T00:00:00Z", f.name, v))
				return
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		if aq.Limit, err = strconv.Atoi(v); err != nil || aq.Limit < 1 || aq.Limit > 10000 {
			s.fail(w, r, badRequest("limit: %q is not a number from 1 to 10000", v))
			return
		}
	}
	out, err := s.j.Audit(r.Context(), p.actor(rRead, journal.ResourceAudit), aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []journal.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, out)
}

// BackupTrailer is the HTTP trailer of GET /api/v1/journal/backup: "ok"
// when the whole backup was sent, else the error. A backup without it is
// truncated and must not be trusted.
const BackupTrailer = "X-Obzvon-Backup"

// countingWriter notes whether anything was written.
type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.n == 0 && len(b) > 0 {
		c.w.WriteHeader(http.StatusOK)
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// backup streams a consistent backup of the journal (administrators). A
// failure before the first byte is an ordinary JSON error; after it, the
// trailer carries the error.
func (s *server) backup(w http.ResponseWriter, r *http.Request, p *principal) {
	h := w.Header()
	h.Set("Trailer", BackupTrailer)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="obzvon-journal-%s.bak"`, s.now().UTC().Format("20060102-150405")))
	// A backup outlasts the server's write timeout; it ends when the
	// journal is copied or the client goes away.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	cw := &countingWriter{w: w}
	err := s.j.Backup(r.Context(), p.actor(rRead, journal.ResourceJournal), cw)
	if err != nil && cw.n == 0 {
		h.Del("Trailer")
		h.Del("Content-Disposition")
		s.fail(w, r, err)
		return
	}
	if err != nil {
		s.log.Error("backup failed mid-stream", keyBytes, cw.n, keyError, err, keyHint, "the copy is incomplete: run the backup again; check the journal disk if it repeats")
		h.Set(BackupTrailer, "failed: "+err.Error())
		return
	}
	s.log.Info("journal backup sent", keyBy, p.login, keyBytes, cw.n)
	h.Set(BackupTrailer, "ok")
}

// maxRegistryUpload caps the list file of POST /api/v1/registry/load: a
// regional registry of a few million rows is a few hundred megabytes.
const maxRegistryUpload = 4 << 30

// RegistryLoadResult is the answer of POST /api/v1/registry/load: the
// load's counts and every rejected row (an empty array when none).
type RegistryLoadResult struct {
	journal.LoadStats
	Errors []*lists.RowError `json:"errors"`
}

// loadRegistry serves POST /api/v1/registry/load?name=&format=: the body
// is the list file itself (CSV in UTF-8 or Windows-1251, or XLSX). name is
// the file's name, recorded in the audit log and used to tell the format
// by its extension; format (csv or xlsx) overrides it; without either the
// content decides. Rows with errors are skipped and reported; a file whose
// header cannot be read loads nothing (422).
func (s *server) loadRegistry(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	name := q.Get("name")
	if name == "" {
		name = "upload"
	}
	f := lists.FormatOf(name)
	switch q.Get("format") {
	case "":
	case "csv":
		f = lists.FormatCSV
	case "xlsx":
		f = lists.FormatXLSX
	default:
		s.fail(w, r, badRequest("format: %q: want csv or xlsx", q.Get("format")))
		return
	}
	body := http.MaxBytesReader(w, r.Body, maxRegistryUpload)
	st, rowErrs, err := s.j.LoadRegistry(r.Context(), p.actor(rCreate, journal.ResourceRegistry), body, f, filepath.Base(name))
	if errors.Is(err, lists.ErrHeader) {
		err = unprocessable("%v", err)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rowErrs == nil {
		rowErrs = []*lists.RowError{}
	}
	s.log.Info("registry loaded", keyBy, p.login, keyRows, st.Rows, keyRejected, st.Rejected)
	writeJSON(w, http.StatusOK, RegistryLoadResult{st, rowErrs})
}

// exportAppeals serves GET /api/v1/journal/appeals?from=&to= (read
// journal: administrators): the full appeals created in [from, to),
// oldest first, for export. Both bounds are optional RFC 3339 times
// (absent: open-ended). The export is audited.
func (s *server) exportAppeals(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	var from, to time.Time
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(f.name); v != "" {
			var err error
			if *f.t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				s.fail(w, r, badRequest("%s: %q is not an RFC 3339 time like 2026-11-27T00:00:00Z", f.name, v))
				return
			}
		}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		s.fail(w, r, badRequest("to: %s is not after from %s", q.Get("to"), q.Get("from")))
		return
	}
	out, err := s.j.AppealsCreated(r.Context(), p.actor(rRead, journal.ResourceJournal), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []journal.Appeal{}
	}
	writeJSON(w, http.StatusOK, out)
}
