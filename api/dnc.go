package api

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// The do-not-call list: campaign staff add phones (a JSON list or a
// file, one phone a line), see who put a phone on it, when and why, and
// take a phone off it with a reason; running campaigns stop dialing a
// phone added, and dial one removed again, within seconds.

// routesDNC mounts the do-not-call endpoints.
func (s *server) routesDNC() {
	s.handle("GET /api/v1/dnc", rRead, journal.ResourceCampaign, s.listDNC)
	s.handle("POST /api/v1/dnc", rUpdate, journal.ResourceCampaign, s.addDNC)
	s.handle("DELETE /api/v1/dnc/{phone}", rDelete, journal.ResourceCampaign, s.removeDNC)
}

// RowsHeader is the header of an export's answer that says how many rows
// (persons, phones) the file holds.
const RowsHeader = "X-Obzvon-Rows"

// listDNC serves GET /api/v1/dnc?phone=&after=&limit=: a page of the list
// in phone order ({"entries", "total", "next"}: pass next as after= for
// the next page), or with format=csv (encoding=cp1251 for Excel) the
// whole list, or the phone's entry, as a CSV file.
func (s *server) listDNC(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	who := p.actor(rRead, journal.ResourceCampaign)
	switch f := q.Get("format"); f {
	case "", "json":
	case "csv":
		enc := q.Get("encoding")
		if enc != "" && enc != "cp1251" && enc != "utf-8" {
			s.fail(w, r, badRequest("encoding: %q: want utf-8 or cp1251", enc))
			return
		}
		var buf bytes.Buffer
		n, err := campaigns.ExportDNC(r.Context(), s.j, who, q.Get("phone"), enc == "cp1251", time.Local, &buf)
		if err != nil {
			s.fail(w, r, dncError(err))
			return
		}
		ct := "text/csv; charset=utf-8"
		if enc == "cp1251" {
			ct = "text/csv; charset=windows-1251"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Disposition", `attachment; filename="dnc.csv"`)
		w.Header().Set(RowsHeader, strconv.Itoa(n))
		_, _ = w.Write(buf.Bytes())
		return
	default:
		s.fail(w, r, badRequest("format: %q: want json or csv", f))
		return
	}
	dq := campaigns.DNCQuery{Phone: q.Get("phone"), After: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > journal.MaxDNCPage {
			s.fail(w, r, badRequest("limit: %q is not a number from 1 to %d", v, journal.MaxDNCPage))
			return
		}
		dq.Limit = n
	}
	page, err := campaigns.ListDNC(r.Context(), s.j, who, dq)
	if err != nil {
		s.fail(w, r, dncError(err))
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// DNCRemoveRequest is the body of DELETE /api/v1/dnc/{phone} (the reason
// may instead be given as ?reason=).
type DNCRemoveRequest struct {
	Reason string `json:"reason"`
}

// removeDNC serves DELETE /api/v1/dnc/{phone}: the phone (as typed, or
// E.164) leaves the list with a required reason, audited; the answer
// names the entry removed and the contacts that may be called on it
// again. 422: a malformed phone or no reason; 404: not on the list.
func (s *server) removeDNC(w http.ResponseWriter, r *http.Request, p *principal) {
	var req DNCRemoveRequest
	if r.ContentLength != 0 && r.Header.Get("Content-Type") != "" {
		if err := decodeJSON(r, w, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if v := r.URL.Query().Get("reason"); v != "" {
		if req.Reason != "" && req.Reason != v {
			s.fail(w, r, badRequest("reason: given both in the body and as ?reason=, differently"))
			return
		}
		req.Reason = v
	}
	res, err := campaigns.RemoveDNC(r.Context(), s.j, p.actor(rDelete, journal.ResourceCampaign), r.PathValue("phone"), req.Reason, s.now())
	if err != nil {
		s.fail(w, r, dncError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// maxDNCUpload caps a do-not-call file upload.
const maxDNCUpload = 64 << 20

// addDNC serves POST /api/v1/dnc: a JSON body {"phones":[{"phone":…,
// "reason":…}], "reason":…, "campaign":…} (source "api"), or any other
// content type as a file of one phone a line (source "file", with
// ?reason= and ?campaign=). One bad phone refuses the whole request with
// a 422 naming it; nothing is stored then.
func (s *server) addDNC(w http.ResponseWriter, r *http.Request, p *principal) {
	var req campaigns.DNCRequest
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := decodeJSONLimit(r, w, &req, maxDNCUpload); err != nil {
			s.fail(w, r, err)
			return
		}
		req.Source = "api"
	} else {
		lines, err := campaigns.ReadDNC(http.MaxBytesReader(w, r.Body, maxDNCUpload))
		if err != nil {
			s.fail(w, r, dncError(err))
			return
		}
		req = campaigns.DNCRequest{Phones: lines, Reason: r.URL.Query().Get("reason"), Campaign: r.URL.Query().Get("campaign"), Source: "file"}
	}
	res, err := campaigns.AddDNC(r.Context(), s.j, p.actor(rUpdate, journal.ResourceCampaign), req)
	if err != nil {
		s.fail(w, r, dncError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func dncError(err error) error {
	if errors.Is(err, campaigns.ErrBadDNC) {
		return unprocessable("%v", err)
	}
	return err
}
