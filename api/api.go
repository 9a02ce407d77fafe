package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/obzvon/obzvon/journal"
)

// Health reports the state of the daemon to /healthz and /readyz.
type Health interface {
	// Live reports whether the process can serve at all.
	Live() error
	// Ready reports whether it accepts new calls (false while draining).
	Ready() error
}

// CallLister reads call records and audits the read; *journal.Journal
// implements it.
type CallLister interface {
	ReadCalls(ctx context.Context, who journal.Actor, from, to time.Time) ([]journal.CallRecord, error)
}

// Options configure the handler.
type Options struct {
	Health   Health
	Gatherer prometheus.Gatherer // nil: no /metrics
	// OpenMetrics serves /metrics without authentication (a scraper on a
	// trusted network without a token). Otherwise /metrics needs a role
	// that may read metrics (sre, supervisor, admin).
	OpenMetrics bool
	// Admin makes this the handler of the local admin socket: every
	// request acts as an administrator, and GET /api/v1/calls is served.
	// Mount it only on the Unix socket, whose file mode admits root and
	// the obzvon group.
	Admin bool
	Calls CallLister
	// Journal backs the JSON API; nil serves only health, metrics and calls.
	Journal *journal.Journal
	// Logger gets request failures and security events, never personal
	// data; nil discards.
	Logger *slog.Logger
	// Now is the clock of sessions and login rate limits (nil: time.Now).
	Now func() time.Time
	// Desk is the operators' desk (the ACD); nil serves no agent endpoints.
	Desk Desk
	// TrustedProxies are the reverse proxies in front of the listener:
	// for requests from them the login rate limit keys on the address
	// they put in X-Forwarded-For. Empty: the peer address is the source
	// (behind an untrusted proxy every login would share its bucket).
	TrustedProxies []netip.Prefix
	// Events is the hub of the desktop's live updates (GET
	// /api/v1/events), shared with the ACD and the campaigns; nil: a
	// private one.
	Events *Events
	// CallLinks links an appeal saved during its call to the call's
	// record once the dialer writes it (nil: only recorded calls link).
	CallLinks CallLinker
	// Campaigns dials a campaign's contact for the operator who asks (a
	// previewed card, an owned callback); nil: such requests get 409.
	Campaigns CampaignDialer
	// AgentCalls places the calls operators ask for (a deferred appeal's
	// «Перезвонить»); nil: POST /api/v1/agent/call is not served.
	AgentCalls AgentCaller
	// Sleep waits out a login slowdown; nil is a timer that honours ctx
	// (tests pass a fake).
	Sleep func(ctx context.Context, d time.Duration) error
	// CampaignFigures are the running campaigns' live figures (dial
	// level, abandonment); nil: campaign status without them.
	CampaignFigures CampaignFigures
	// QueueHistory is today's course of the queues (nil: none).
	QueueHistory QueueHistory
}

// server holds the handler's state.
type server struct {
	j         *journal.Journal
	admin     bool
	log       *slog.Logger
	now       func() time.Time
	sessions  *sessionStore
	byAccount *limiter
	bySource  *limiter
	guard     *loginGuard
	mux       *routeMux
	proxies   []netip.Prefix
	desk      Desk
	// The desktop's (desktop.go): event hub, stream ping, play audits.
	hub        *Events
	eventPing  time.Duration
	plays      playAudit
	links      CallLinker
	campaigns  CampaignDialer
	agentCalls AgentCaller
	figures    CampaignFigures
	queueDay   QueueHistory
}

// NewHandler returns the root HTTP handler.
func NewHandler(o Options) http.Handler {
	s := &server{j: o.Journal, admin: o.Admin, log: o.Logger, now: o.Now, mux: newRouteMux(), proxies: o.TrustedProxies, desk: o.Desk,
		campaigns: o.Campaigns, agentCalls: o.AgentCalls, figures: o.CampaignFigures, queueDay: o.QueueHistory}
	if s.log == nil {
		s.log = discardLogger
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.sessions = newSessionStore(s.now)
	s.byAccount = newLimiter(s.now, loginBurstAccount, loginRefillAccount)
	s.bySource = newLimiter(s.now, loginBurstSource, loginRefillSource)
	s.guard = newLoginGuard(s.now, o.Sleep)
	s.initDesktop(o)

	mux := s.mux
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, o.Health.Live())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, o.Health.Ready())
	})
	if o.Gatherer != nil {
		h := promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
		if o.OpenMetrics || o.Journal == nil {
			mux.Handle("GET /metrics", h)
		} else {
			s.handle("GET /metrics", journal.ActionRead, journal.ResourceMetrics, func(w http.ResponseWriter, r *http.Request, _ *principal) {
				h.ServeHTTP(w, r)
			})
		}
	}
	if o.Admin && o.Calls != nil {
		s.handle("GET /api/v1/calls", journal.ActionRead, journal.ResourceCall, func(w http.ResponseWriter, r *http.Request, p *principal) {
			from, err1 := time.Parse(time.RFC3339Nano, r.URL.Query().Get("from"))
			to, err2 := time.Parse(time.RFC3339Nano, r.URL.Query().Get("to"))
			if err1 != nil || err2 != nil {
				writeError(w, http.StatusBadRequest, "from and to must be RFC 3339 times, e.g. 2026-11-27T00:00:00Z")
				return
			}
			calls, err := o.Calls.ReadCalls(r.Context(), p.actor(journal.ActionRead, journal.ResourceCall), from, to)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if calls == nil {
				calls = []journal.CallRecord{}
			}
			writeJSON(w, http.StatusOK, calls)
		})
	}
	if o.Journal != nil {
		s.routes()
	}
	return s
}

// ServeHTTP adds the headers every answer carries and dispatches.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// No route: the mux would answer 404 or 405 in plain text; the
		// API answers JSON like everywhere else.
		probe := &statusProbe{h: http.Header{}}
		s.mux.ServeHTTP(probe, r)
		if s.desktopNotFound(w, r, probe.code) {
			return
		}
		if allow := probe.h.Get("Allow"); allow != "" {
			h.Set("Allow", allow)
		}
		if loc := probe.h.Get("Location"); loc != "" && probe.code/100 == 3 {
			h.Set("Location", loc) // the mux's redirect to the cleaned path
		}
		writeError(w, probe.code, fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, strings.ToLower(http.StatusText(probe.code))))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// statusProbe records the status and headers of the mux's own 404/405.
type statusProbe struct {
	h    http.Header
	code int
}

func (p *statusProbe) Header() http.Header         { return p.h }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(code int)        { p.code = code }

// authedFunc is a handler that runs for an authorized principal.
type authedFunc func(w http.ResponseWriter, r *http.Request, p *principal)

// handle registers pattern for callers whose roles allow action on
// resource; others get 401 (anonymous) or 403.
func (s *server) handle(pattern string, action journal.Action, resource journal.Resource, h authedFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authorize(w, r)
		if !ok {
			return
		}
		if !p.allowed(action, resource) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s: roles %v may not %s %s", r.Pattern, p.roles, action, resource))
			return
		}
		h(w, r, p)
	})
}

// handleAuthed registers pattern for any authenticated caller; the
// handler checks what it needs.
func (s *server) handleAuthed(pattern string, h authedFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if p, ok := s.authorize(w, r); ok {
			h(w, r, p)
		}
	})
}

// authorize authenticates r and answers 401/403 itself when it fails.
func (s *server) authorize(w http.ResponseWriter, r *http.Request) (*principal, bool) {
	p, err := s.authenticate(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if p == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="obzvon"`)
		writeError(w, http.StatusUnauthorized, errUnauthenticated.Error())
		return nil, false
	}
	return p, true
}

const (
	rRead    = journal.ActionRead
	rCreate  = journal.ActionCreate
	rUpdate  = journal.ActionUpdate
	rDelete  = journal.ActionDelete
	rApprove = journal.ActionApprove
)

// routes mounts the JSON API.
func (s *server) routes() {
	s.mux.HandleFunc("POST /api/v1/login", s.login)
	s.handleAuthed("POST /api/v1/logout", s.logout)
	s.handleAuthed("GET /api/v1/me", s.me)

	s.handle("GET /api/v1/accounts", rRead, journal.ResourceAccount, s.listAccounts)
	s.handle("POST /api/v1/accounts", rCreate, journal.ResourceAccount, s.addAccount)
	s.handle("GET /api/v1/accounts/{login}", rRead, journal.ResourceAccount, s.getAccount)
	s.handle("POST /api/v1/accounts/{login}/disable", rDelete, journal.ResourceAccount, s.disableAccount(true))
	s.handle("POST /api/v1/accounts/{login}/enable", rDelete, journal.ResourceAccount, s.disableAccount(false))
	s.handleAuthed("POST /api/v1/accounts/{login}/password", s.setPassword)
	s.handle("POST /api/v1/accounts/{login}/sip-secret", rUpdate, journal.ResourceAccount, s.setSIPSecret)
	s.handle("POST /api/v1/accounts/{login}/tokens", rUpdate, journal.ResourceAccount, s.createToken)
	s.handle("DELETE /api/v1/accounts/{login}/tokens", rUpdate, journal.ResourceAccount, s.revokeTokens)
	s.handle("GET /api/v1/directory", rRead, journal.ResourceDirectory, s.directory)

	s.handle("GET /api/v1/appeals", rRead, journal.ResourceAppeal, s.listAppeals)
	s.handle("POST /api/v1/appeals", rCreate, journal.ResourceAppeal, s.createAppeal)
	s.handle("GET /api/v1/appeals/{ref}", rRead, journal.ResourceAppeal, s.getAppeal)
	s.handle("PATCH /api/v1/appeals/{ref}", rUpdate, journal.ResourceAppeal, s.editAppeal)
	for _, m := range []journal.Move{journal.MoveClose, journal.MoveResume, journal.MoveTransfer} {
		s.handle("POST /api/v1/appeals/{ref}/"+m.String(), rUpdate, journal.ResourceAppeal, s.moveAppeal(m))
	}
	for _, m := range []journal.Move{journal.MoveApprove, journal.MoveReturn} {
		s.handle("POST /api/v1/appeals/{ref}/"+m.String(), rApprove, journal.ResourceAppeal, s.moveAppeal(m))
	}
	s.handle("POST /api/v1/appeals/{ref}/links", rUpdate, journal.ResourceAppeal, s.linkAppeals)
	s.handle("POST /api/v1/appeals/{ref}/calls", rUpdate, journal.ResourceAppeal, s.attachCall)
	s.handle("POST /api/v1/appeals/{ref}/attachments", rUpdate, journal.ResourceAppeal, s.addAttachment)
	s.handle("GET /api/v1/appeals/{ref}/attachments/{att}", rRead, journal.ResourceAppeal, s.getAttachment)
	s.handle("GET /api/v1/history", rRead, journal.ResourceAppeal, s.history)

	s.handle("GET /api/v1/registry/persons", rRead, journal.ResourcePerson, s.searchPersons)
	s.handle("GET /api/v1/registry/persons/{enp}", rRead, journal.ResourcePerson, s.getPerson)
	s.handle("POST /api/v1/registry/load", rCreate, journal.ResourceRegistry, s.loadRegistry)

	s.handle("GET /api/v1/catalog/topics", rRead, journal.ResourceCatalog, s.topics)
	s.handle("GET /api/v1/catalog/topics/{topic}/scripts", rRead, journal.ResourceCatalog, s.topicScripts)
	s.handle("GET /api/v1/catalog/topics/{topic}/recommended", rRead, journal.ResourceCatalog, s.topicRecommended)
	s.handle("GET /api/v1/catalog/search", rRead, journal.ResourceCatalog, s.searchCatalog)
	s.handle("POST /api/v1/catalog/load", rCreate, journal.ResourceCatalog, s.loadCatalog)

	s.handle("GET /api/v1/audit", rRead, journal.ResourceAudit, s.audit)
	s.handle("GET /api/v1/journal/backup", rRead, journal.ResourceJournal, s.backup)
	s.handle("GET /api/v1/journal/appeals", rRead, journal.ResourceJournal, s.exportAppeals)
	s.routesJournalCheck()
	s.routesAgent()
	s.routesQueueHistory()
	s.routesReports()
	s.routesCampaigns()
	s.routesDNC()
	s.routesDesktop()
	s.routesJournalEvents()
}

func writeStatus(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "reason": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}
