package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// The do-not-call list: campaign staff add phones (a JSON list or a
// file, one phone a line); running campaigns stop dialing them within
// seconds.

// routesDNC mounts the do-not-call endpoint.
func (s *server) routesDNC() {
	s.handle("POST /api/v1/dnc", rUpdate, journal.ResourceCampaign, s.addDNC)
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
