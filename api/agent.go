package api

// Operators' work through the API: start and finish work (the session
// leg), pause and ready, wrap-up, hanging up the customer, and the
// operators' and queues' states for the desktop, the wallboard and the
// CLI.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
)

// Desk is the operators' desk; *dialer.Desk implements it.
type Desk interface {
	StartWork(ctx context.Context, login string, delivery acd.Delivery) error
	FinishWork(ctx context.Context, login string) error
	Pause(login, reason string) error
	Ready(login string) error
	ExtendWrapUp(login string, by time.Duration) error
	HangupCall(login string) error
	PauseReasons() []string
	Agent(login string) dialer.AgentStatus
	Agents() []dialer.AgentStatus
	Queues() []acd.QueueView
	Transfer(ctx context.Context, callID, by string, supervisor bool, target string, mode dialer.TransferMode, appeal string) error
	CompleteTransfer(ctx context.Context, callID, by string, supervisor bool, appeal string) (dialer.CompletedTransfer, error)
	CancelTransfer(ctx context.Context, callID, by string, supervisor bool) error
	Supervise(ctx context.Context, who journal.Actor, agent string, mode media.SuperviseMode) error
	StopSupervision(ctx context.Context, who journal.Actor) error
}

// routesAgent registers the desk's endpoints (when the daemon has an ACD).
func (s *server) routesAgent() {
	if s.desk == nil {
		return
	}
	s.handle("GET /api/v1/agent/me", rRead, journal.ResourceAgent, s.agentMe)
	s.handle("GET /api/v1/agent/pause-reasons", rRead, journal.ResourceAgent, s.pauseReasons)
	s.handle("POST /api/v1/agent/session", rUpdate, journal.ResourceAgent, s.agentSession(false))
	s.handle("POST /api/v1/agent/state", rUpdate, journal.ResourceAgent, s.agentState(false))
	s.handle("POST /api/v1/agent/wrapup", rUpdate, journal.ResourceAgent, s.agentWrapUp(false))
	s.handle("POST /api/v1/agent/hangup", rUpdate, journal.ResourceAgent, s.agentHangup(false))
	if s.agentCalls != nil {
		s.handle("POST /api/v1/agent/call", rUpdate, journal.ResourceAppeal, s.agentCall)
	}
	s.handle("GET /api/v1/agents", rRead, journal.ResourceAgent, s.listAgents)
	s.handle("GET /api/v1/agents/{login}", rRead, journal.ResourceAgent, s.getAgent)
	// Acting on another operator: supervisors, administrators, the CLI.
	s.handle("POST /api/v1/agents/{login}/session", rCreate, journal.ResourceAgent, s.agentSession(true))
	s.handle("POST /api/v1/agents/{login}/state", rCreate, journal.ResourceAgent, s.agentState(true))
	s.handle("POST /api/v1/agents/{login}/wrapup", rCreate, journal.ResourceAgent, s.agentWrapUp(true))
	s.handle("POST /api/v1/agents/{login}/hangup", rCreate, journal.ResourceAgent, s.agentHangup(true))
	s.handle("GET /api/v1/queues", rRead, journal.ResourceAgent, s.listQueues)
	s.handle("POST /api/v1/calls/{call}/transfer", rUpdate, journal.ResourceAgent, s.transfer)
	s.handle("POST /api/v1/calls/{call}/transfer/complete", rUpdate, journal.ResourceAgent, s.transferEnd(true))
	s.handle("POST /api/v1/calls/{call}/transfer/cancel", rUpdate, journal.ResourceAgent, s.transferEnd(false))
	s.handle("POST /api/v1/supervise", rCreate, journal.ResourceAgent, s.supervise)
	s.handle("DELETE /api/v1/supervise", rCreate, journal.ResourceAgent, s.stopSupervise)
}

type superviseRequest struct {
	Agent string `json:"agent"`
	Mode  string `json:"mode"`
}

func (s *server) supervise(w http.ResponseWriter, r *http.Request, p *principal) {
	var req superviseRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	mode, err := media.ParseSuperviseMode(req.Mode)
	if err != nil {
		s.fail(w, r, unprocessable("mode: %v", err))
		return
	}
	if req.Agent == "" {
		s.fail(w, r, unprocessable("agent: give the operator's login"))
		return
	}
	if err := s.desk.Supervise(r.Context(), p.actor(rCreate, journal.ResourceAgent), req.Agent, mode); err != nil {
		s.deskFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"agent": req.Agent, "mode": mode.String()})
}

func (s *server) stopSupervise(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.desk.StopSupervision(r.Context(), p.actor(rCreate, journal.ResourceAgent)); err != nil {
		s.deskFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "stopped"})
}

type transferRequest struct {
	Target string `json:"target"`
	Mode   string `json:"mode,omitempty"`
	// AppealID is the appeal being registered for the call; it follows
	// the call to the new operator.
	AppealID string `json:"appeal_id,omitempty"`
}

func (s *server) transfer(w http.ResponseWriter, r *http.Request, p *principal) {
	var req transferRequest
	if err := decodeJSON(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Target == "" || len(req.Target) > 64 {
		s.fail(w, r, unprocessable("target: give an extension, queue:NAME or a number"))
		return
	}
	mode := dialer.TransferMode(req.Mode)
	err := s.desk.Transfer(r.Context(), r.PathValue("call"), p.login, p.allowed(rCreate, journal.ResourceAgent), req.Target, mode, req.AppealID)
	if err != nil {
		s.deskFail(w, r, err)
		return
	}
	s.log.Info("call transferred", "by", p.login, "mode", string(mode))
	out := map[string]string{"status": "transferred", "mode": string(mode)}
	if mode != dialer.TransferAttended { // an attended transfer may still go back
		if msg := s.appealFollowsCall(r.Context(), p, req.AppealID, req.Target); msg != "" {
			out["appeal_error"] = msg
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// transferEndRequest is the optional body of …/transfer/complete.
type transferEndRequest struct {
	// AppealID is the appeal registered for the call (also during the
	// consultation); it follows the call to the consulted operator.
	AppealID string `json:"appeal_id,omitempty"`
}

// transferEnd completes or cancels an attended transfer. Completing it
// hands the call's appeal (the one named at the transfer, or in this
// request) to the operator who has the call now, as a blind transfer
// does; cancelling leaves it with the first operator.
func (s *server) transferEnd(complete bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		var req transferEndRequest
		if r.ContentLength != 0 { // the body is optional
			if err := decodeJSON(r, w, &req); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		sup := p.allowed(rCreate, journal.ResourceAgent)
		if !complete {
			if err := s.desk.CancelTransfer(r.Context(), r.PathValue("call"), p.login, sup); err != nil {
				s.deskFail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"completed": false})
			return
		}
		done, err := s.desk.CompleteTransfer(r.Context(), r.PathValue("call"), p.login, sup, req.AppealID)
		if err != nil {
			s.deskFail(w, r, err)
			return
		}
		s.log.Info("attended transfer completed", "by", p.login, "to", done.To)
		out := map[string]any{"completed": true, "to": done.To}
		if msg := s.appealFollowsCall(r.Context(), p, done.Appeal, done.To); msg != "" {
			out["appeal_error"] = msg
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// agentLogin is whom a request acts on: the caller, or {login} for the
// routes that act on another operator.
func agentLogin(r *http.Request, p *principal, other bool) string {
	if other {
		return r.PathValue("login")
	}
	return p.login
}

// agentMeView is the operator's own view: account and work state.
type agentMeView struct {
	dialer.AgentStatus
	DisplayName  string         `json:"display_name"`
	Roles        []journal.Role `json:"roles"`
	Organization string         `json:"organization,omitempty"`
	AccountQueue []string       `json:"queues"`
}

func (s *server) agentMe(w http.ResponseWriter, r *http.Request, p *principal) {
	st := s.desk.Agent(p.login)
	v := agentMeView{AgentStatus: st, Roles: p.roles, AccountQueue: p.queues}
	if p.account != nil {
		v.DisplayName, v.Organization = p.account.DisplayName, p.account.Organization
		if v.Extension == "" {
			v.Extension = p.account.Extension
		}
	}
	if v.AccountQueue == nil {
		v.AccountQueue = []string{}
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) pauseReasons(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, s.desk.PauseReasons())
}

type sessionRequest struct {
	Action   string `json:"action"`
	Delivery string `json:"delivery,omitempty"`
}

func (s *server) agentSession(other bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		var req sessionRequest
		if err := decodeJSON(r, w, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		login := agentLogin(r, p, other)
		var err error
		switch req.Action {
		case "start":
			d := acd.DeliverySession
			if req.Delivery != "" {
				if d, err = acd.ParseDelivery(req.Delivery); err != nil {
					s.fail(w, r, unprocessable("delivery: %v", err))
					return
				}
			}
			err = s.desk.StartWork(r.Context(), login, d)
		case "finish":
			err = s.desk.FinishWork(r.Context(), login)
		default:
			s.fail(w, r, unprocessable("action: %q: want start or finish", req.Action))
			return
		}
		if err != nil {
			s.deskFail(w, r, err)
			return
		}
		s.log.Info("agent session", "agent", login, "action", req.Action, "by", p.login)
		writeJSON(w, http.StatusAccepted, s.desk.Agent(login))
	}
}

type stateRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

func (s *server) agentState(other bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		var req stateRequest
		if err := decodeJSON(r, w, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		login := agentLogin(r, p, other)
		var err error
		switch req.State {
		case "ready":
			err = s.desk.Ready(login)
		case "paused":
			err = s.desk.Pause(login, req.Reason)
		default:
			s.fail(w, r, unprocessable("state: %q: want ready or paused", req.State))
			return
		}
		if err != nil {
			s.deskFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.desk.Agent(login))
	}
}

type wrapUpRequest struct {
	ExtendSeconds int  `json:"extend_seconds,omitempty"`
	Done          bool `json:"done,omitempty"`
}

func (s *server) agentWrapUp(other bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		var req wrapUpRequest
		if err := decodeJSON(r, w, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		login := agentLogin(r, p, other)
		var err error
		switch {
		case req.Done && req.ExtendSeconds == 0:
			if v := s.desk.Agent(login); v.State != acd.StateWrapUp {
				s.fail(w, r, &badRequestError{http.StatusConflict, "not in wrap-up (state " + v.State.String() + ")"})
				return
			}
			err = s.desk.Ready(login)
		case !req.Done && req.ExtendSeconds > 0 && req.ExtendSeconds <= 3600:
			err = s.desk.ExtendWrapUp(login, time.Duration(req.ExtendSeconds)*time.Second)
		default:
			s.fail(w, r, unprocessable("give extend_seconds (1..3600) or done: true"))
			return
		}
		if err != nil {
			s.deskFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.desk.Agent(login))
	}
}

func (s *server) agentHangup(other bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		login := agentLogin(r, p, other)
		if err := s.desk.HangupCall(login); err != nil {
			s.deskFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "hung up"})
	}
}

// agentListEntry is another operator as colleagues see them: availability
// only, no caller's number.
type agentListEntry struct {
	Login     string    `json:"login"`
	Extension string    `json:"extension,omitempty"`
	State     acd.State `json:"state"`
	Since     time.Time `json:"state_since"`
}

func (s *server) listAgents(w http.ResponseWriter, r *http.Request, p *principal) {
	all := s.desk.Agents()
	if p.allowed(rCreate, journal.ResourceAgent) {
		if all == nil {
			all = []dialer.AgentStatus{}
		}
		writeJSON(w, http.StatusOK, all)
		return
	}
	out := make([]agentListEntry, 0, len(all))
	for _, a := range all {
		out = append(out, agentListEntry{Login: a.Login, Extension: a.Extension, State: a.State, Since: a.Since})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getAgent(w http.ResponseWriter, r *http.Request, p *principal) {
	login := r.PathValue("login")
	if login != p.login && !p.allowed(rCreate, journal.ResourceAgent) {
		s.fail(w, r, &forbiddenError{"only supervisors see another operator's call"})
		return
	}
	writeJSON(w, http.StatusOK, s.desk.Agent(login))
}

// queueView is a queue on the wallboard.
type queueView struct {
	acd.QueueView
	LongestWaitSeconds float64  `json:"longest_wait_seconds"`
	AHTSeconds         float64  `json:"aht_seconds"`
	ServiceLevel       *float64 `json:"service_level"`
	SLThresholdSeconds float64  `json:"sl_threshold_seconds"`
	Kind               string   `json:"kind"`
}

func (s *server) listQueues(w http.ResponseWriter, r *http.Request, p *principal) {
	qs := s.desk.Queues()
	out := make([]queueView, 0, len(qs))
	for _, q := range qs {
		v := queueView{QueueView: q, LongestWaitSeconds: q.LongestWait.Seconds(), AHTSeconds: q.AHT.Seconds(),
			SLThresholdSeconds: q.SLThreshold.Seconds(), Kind: q.Kind.String()}
		if sl, ok := q.Today.ServiceLevel(); ok {
			v.ServiceLevel = &sl
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// deskFail maps the desk's and the ACD's errors to HTTP answers.
func (s *server) deskFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, acd.ErrBadReason), errors.Is(err, acd.ErrBadMove):
		s.fail(w, r, unprocessable("%v", err))
	case errors.Is(err, acd.ErrNotWorking), errors.Is(err, acd.ErrUnknownAgent), errors.Is(err, dialer.ErrNotRegistered),
		errors.Is(err, dialer.ErrNoCall), errors.Is(err, acd.ErrAlreadyWorking):
		s.fail(w, r, &badRequestError{http.StatusConflict, err.Error()})
	case errors.Is(err, dialer.ErrBadTarget):
		s.fail(w, r, unprocessable("%v", err))
	case errors.Is(err, media.ErrBridgeSupervised), errors.Is(err, media.ErrBridgeDisconnected):
		s.fail(w, r, &badRequestError{http.StatusConflict, err.Error()})
	case errors.Is(err, dialer.ErrNotSupervising):
		s.fail(w, r, &badRequestError{http.StatusConflict, err.Error()})
	case errors.Is(err, dialer.ErrTargetAway), errors.Is(err, dialer.ErrNoConsultation):
		s.fail(w, r, &badRequestError{http.StatusConflict, err.Error()})
	case errors.Is(err, dialer.ErrNotAnOperator):
		s.fail(w, r, &forbiddenError{err.Error()})
	default:
		s.fail(w, r, err)
	}
}
