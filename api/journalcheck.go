package api

import (
	"net/http"

	"github.com/obzvon/obzvon/journal"
)

// CheckResult is the answer of GET /api/v1/journal/check and POST
// /api/v1/journal/repair: the index problems found (before a repair),
// what the repair did, and the problems left.
type CheckResult struct {
	Problems  []journal.IndexProblem `json:"problems"`
	Repaired  bool                   `json:"repaired"`
	Reindexed int                    `json:"reindexed,omitempty"`
	Removed   int                    `json:"removed,omitempty"`
	Left      []journal.IndexProblem `json:"left"`
}

// routesJournalCheck mounts the index check and repair of a running
// daemon (obzvon journal check [--repair] goes through the admin socket).
func (s *server) routesJournalCheck() {
	s.handle("GET /api/v1/journal/check", rRead, journal.ResourceJournal, s.checkJournal)
	s.handle("POST /api/v1/journal/repair", rUpdate, journal.ResourceJournal, s.repairJournal)
}

func (s *server) checkJournal(w http.ResponseWriter, r *http.Request, _ *principal) {
	probs, err := s.j.CheckIndexes(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if probs == nil {
		probs = []journal.IndexProblem{}
	}
	writeJSON(w, http.StatusOK, CheckResult{Problems: probs, Left: probs})
}

func (s *server) repairJournal(w http.ResponseWriter, r *http.Request, p *principal) {
	rep, err := s.j.RepairIndexes(r.Context(), p.actor(rUpdate, journal.ResourceJournal))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := CheckResult{Problems: rep.Found, Repaired: true, Reindexed: rep.Reindexed, Removed: rep.Removed, Left: rep.Left}
	if res.Problems == nil {
		res.Problems = []journal.IndexProblem{}
	}
	if res.Left == nil {
		res.Left = []journal.IndexProblem{}
	}
	s.log.Info("journal indexes repaired", keyBy, p.login, "found", len(rep.Found), "left", len(rep.Left))
	writeJSON(w, http.StatusOK, res)
}
