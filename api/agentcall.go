package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
)

// AgentCaller places a call an operator asks for from their phone (the
// campaign dialer's CallFor).
type AgentCaller interface {
	CallFor(ctx context.Context, req dialer.AgentCall) (string, <-chan dialer.AgentCallResult, error)
}

// agentCallTimeout bounds how long the handler's watcher waits for the
// outcome of a call it started (ring timeout and answer included).
const agentCallTimeout = 5 * time.Minute

// agentCall serves POST /api/v1/agent/call {"appeal": id or number}:
// «Перезвонить». The operator the appeal is assigned to, working on a
// session leg and not on a call, has the citizen's phone of the appeal
// dialed; the answer comes to the operator's phone, the call is recorded
// and linked to the appeal. The answer (202) is the call's id; its
// outcome ("connected", "busy", "no_answer", "rejected", "failed") comes
// as an "agent.call" event on the operator's stream. Only the appeal's
// phone can be called: the desktop is no way to reach arbitrary numbers.
func (s *server) agentCall(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Appeal string `json:"appeal"`
	}
	if err := decodeJSONLimit(r, w, &req, 4096); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Appeal == "" {
		s.fail(w, r, unprocessable("appeal: the appeal's id or number is required"))
		return
	}
	who := p.actor(rUpdate, journal.ResourceAppeal)
	a, err := s.j.Appeal(r.Context(), who, req.Appeal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case a.Assignee != p.login:
		s.fail(w, r, &forbiddenError{"appeal " + a.Number + " is not assigned to you: only its operator calls the citizen back"})
		return
	case a.Status != journal.StatusInWork && a.Status != journal.StatusDeferred:
		s.fail(w, r, &badRequestError{http.StatusConflict, "appeal " + a.Number + " is " + a.Status.String() + ": only an appeal in work or deferred is called back"})
		return
	case a.Phone == "":
		s.fail(w, r, unprocessable("appeal %s has no phone to call", a.Number))
		return
	}
	id, outcome, err := s.agentCalls.CallFor(context.WithoutCancel(r.Context()), dialer.AgentCall{Agent: p.login, Number: a.Phone, Appeal: a.ID})
	switch {
	case errors.Is(err, dialer.ErrNoSession), errors.Is(err, dialer.ErrNoDesk), errors.Is(err, dialer.ErrNoTrunk):
		s.fail(w, r, &badRequestError{http.StatusConflict, err.Error()})
		return
	case errors.Is(err, acd.ErrBadMove):
		s.fail(w, r, &badRequestError{http.StatusConflict, "you are on a call: " + err.Error()})
		return
	case err != nil:
		s.deskFail(w, r, err)
		return
	}
	if s.links != nil {
		if err := s.links.LinkWhenRecorded(context.WithoutCancel(r.Context()), id, a.ID, who); err != nil {
			s.log.Error("call back not linked to its appeal", "call_id", id, "appeal", a.ID, "error", err,
				"hint", "attach it with POST /api/v1/appeals/{id}/calls; check the journal if it repeats")
		}
	}
	login := p.login
	go func() {
		t := time.NewTimer(agentCallTimeout)
		defer t.Stop()
		select {
		case res, ok := <-outcome:
			if !ok {
				return
			}
			s.hub.publish("agent.call", map[string]any{"call_id": res.CallID, "appeal": a.ID, "result": res.Result,
				"sip_code": res.SIPCode}, func(st *stream) bool { return st.login == login })
		case <-t.C:
		}
	}()
	writeJSON(w, http.StatusAccepted, map[string]string{"call_id": id, "appeal": a.ID, "status": "dialing"})
}
