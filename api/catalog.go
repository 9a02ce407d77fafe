package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing/fstest"

	"github.com/obzvon/obzvon/journal"
)

// scriptView is an answer script with its recommended level-2 operators
// as directory entries (manual 5.1.5: shown under each script).
type scriptView struct {
	journal.Script
	RecommendedOperators []journal.DirectoryEntry `json:"recommended_operators"`
}

func (s *server) viewScripts(ctx context.Context, ss []journal.Script) ([]scriptView, error) {
	out := make([]scriptView, 0, len(ss))
	for _, sc := range ss {
		rec, err := s.j.Recommended(ctx, sc)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			rec = []journal.DirectoryEntry{}
		}
		out = append(out, scriptView{sc, rec})
	}
	return out, nil
}

// topics serves GET /api/v1/catalog/topics?kind=: the offered topics of a
// kind (all kinds when absent), by title.
func (s *server) topics(w http.ResponseWriter, r *http.Request, p *principal) {
	kind, err := parseOpt("kind", r.URL.Query().Get("kind"), journal.ParseKind)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.j.Topics(r.Context(), kind)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []journal.Topic{}
	}
	writeJSON(w, http.StatusOK, out)
}

// topicScripts serves GET /api/v1/catalog/topics/{topic}/scripts.
func (s *server) topicScripts(w http.ResponseWriter, r *http.Request, p *principal) {
	ss, err := s.j.Scripts(r.Context(), r.PathValue("topic"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.viewScripts(r.Context(), ss)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// topicRecommended serves GET /api/v1/catalog/topics/{topic}/recommended:
// the level-2 operators recommended by any script of the topic, for
// forwarding (manual 5.1.5).
func (s *server) topicRecommended(w http.ResponseWriter, r *http.Request, p *principal) {
	ss, err := s.j.Scripts(r.Context(), r.PathValue("topic"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var all journal.Script
	for _, sc := range ss {
		for _, l := range sc.Recommended {
			if !slices.Contains(all.Recommended, l) {
				all.Recommended = append(all.Recommended, l)
			}
		}
	}
	out, err := s.j.Recommended(r.Context(), all)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = []journal.DirectoryEntry{}
	}
	writeJSON(w, http.StatusOK, out)
}

// catalogHits is the answer of GET /api/v1/catalog/search.
type catalogHits struct {
	Topics  []journal.Topic `json:"topics"`
	Scripts []scriptView    `json:"scripts"`
}

// searchCatalog serves GET /api/v1/catalog/search?q=&kind=: topics and
// answer scripts by keywords, best first (manual 5.1.4–5.1.5).
func (s *server) searchCatalog(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	kind, err := parseOpt("kind", q.Get("kind"), journal.ParseKind)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if q.Get("q") == "" {
		s.fail(w, r, badRequest("q: give keywords to search"))
		return
	}
	hits, err := s.j.SearchCatalog(r.Context(), q.Get("q"), kind)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := catalogHits{Topics: hits.Topics}
	if out.Topics == nil {
		out.Topics = []journal.Topic{}
	}
	if out.Scripts, err = s.viewScripts(r.Context(), hits.Scripts); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// maxCatalogUpload caps the body of POST /api/v1/catalog/load.
const maxCatalogUpload = 16 << 20

// CatalogLoadRequest is the body of POST /api/v1/catalog/load: the
// contents of topics.json and scripts.json, as `obzvon catalog load DIR`
// reads them from DIR.
type CatalogLoadRequest struct {
	Topics  json.RawMessage `json:"topics"`
	Scripts json.RawMessage `json:"scripts"`
}

// CatalogLoadResult is the answer of POST /api/v1/catalog/load.
type CatalogLoadResult struct {
	Topics  int `json:"topics"`
	Scripts int `json:"scripts"`
}

// loadCatalog serves POST /api/v1/catalog/load (create catalog:
// administrators, supervisors): it validates the two files exactly as
// journal.ReadCatalog validates a directory (422 naming the file, the
// index and the field) and stores them in one transaction, replacing
// topics and scripts with the same ids.
func (s *server) loadCatalog(w http.ResponseWriter, r *http.Request, p *principal) {
	var req CatalogLoadRequest
	if err := decodeJSONLimit(r, w, &req, maxCatalogUpload); err != nil {
		s.fail(w, r, err)
		return
	}
	// ReadCatalog reads a file system; an in-memory one holding the two
	// files gives the same checks as a directory on the server.
	fsys := fstest.MapFS{}
	for _, f := range []struct {
		field, file string
		b           json.RawMessage
	}{{"topics", "topics.json", req.Topics}, {"scripts", "scripts.json", req.Scripts}} {
		if len(f.b) == 0 || string(f.b) == "null" {
			s.fail(w, r, unprocessable("%s: missing: send the content of %s", f.field, f.file))
			return
		}
		fsys[f.file] = &fstest.MapFile{Data: f.b}
	}
	topics, scripts, err := journal.ReadCatalog(fsys)
	if err != nil {
		// Every error of ReadCatalog is about the files sent.
		s.fail(w, r, unprocessable("%v", err))
		return
	}
	if err := s.j.LoadCatalog(r.Context(), p.actor(rCreate, journal.ResourceCatalog), topics, scripts); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("catalog loaded", keyBy, p.login, keyRows, len(topics)+len(scripts))
	writeJSON(w, http.StatusOK, CatalogLoadResult{len(topics), len(scripts)})
}
