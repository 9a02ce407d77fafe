package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/web"
)

// The desktop (package web) is served by this handler, on the TCP
// listener only: the pages need a cookie session, which the admin socket
// has none of. Each page checks the session here (none or expired: a
// redirect to the login page) and who may open it (else the 403 page);
// the page's script then talks to the JSON API.

// initDesktop sets up the event hub (the one of Options, so the ACD and
// the campaigns publish into it, or a private one).
func (s *server) initDesktop(o Options) {
	s.hub = o.Events
	if s.hub == nil {
		s.hub = NewEvents(s.log)
	}
	s.eventPing = eventPing
	s.links = o.CallLinks
}

// routesDesktop mounts the event stream, the API the desktop adds (search
// by request body, recordings, the worklists) and the pages.
func (s *server) routesDesktop() {
	s.handleAuthed("GET /api/v1/events", s.events)
	s.handle("POST /api/v1/registry/search", rRead, journal.ResourcePerson, s.searchPersonsBody)
	s.handle("POST /api/v1/history/search", rRead, journal.ResourceAppeal, s.historyBody)
	s.handle("GET /api/v1/appeals/{ref}/calls", rRead, journal.ResourceCall, s.appealCalls)
	s.handle("GET /api/v1/appeals/{ref}/calls/{call}/recording", rRead, journal.ResourceRecording, s.recording)
	s.handleAuthed("GET /api/v1/enums", s.enums)
	if s.admin {
		return
	}
	s.mux.Handle("GET /assets/", web.Assets(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such asset: "+r.URL.Path)
	}))
	s.mux.HandleFunc("GET /{$}", withCSP(s.home))
	s.mux.HandleFunc("GET /login", withCSP(s.loginPage))
	for _, p := range web.Pages {
		s.mux.HandleFunc("GET "+p.Path, withCSP(s.page(p)))
	}
}

// withCSP sends the desktop's Content-Security-Policy with every answer
// of a page route, redirects included.
func withCSP(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", web.CSP)
		h(w, r)
	}
}

// viewer builds what pages show of p.
func (s *server) viewer(p *principal) *web.Viewer {
	v := &web.Viewer{Login: p.login, Name: p.login}
	if p.account != nil {
		if p.account.DisplayName != "" {
			v.Name = p.account.DisplayName
		}
		v.Organization, v.Extension = p.account.Organization, p.account.Extension
	}
	for _, r := range p.roles {
		v.Roles = append(v.Roles, r.String())
		v.RoleNames = append(v.RoleNames, r.Russian())
	}
	for _, res := range journal.Resources {
		for _, act := range journal.Actions {
			if p.allowed(act, res) {
				v.Rights = append(v.Rights, act.String()+":"+res.String())
			}
		}
	}
	if p.sess != nil {
		v.CSRF = p.sess.csrf
	}
	return v
}

// pageViewer authenticates a page request; without a live session it
// redirects to the login page (saying when the session expired) and
// returns nil.
func (s *server) pageViewer(w http.ResponseWriter, r *http.Request) (*principal, *web.Viewer) {
	p, err := s.authenticate(r)
	if err != nil || p == nil {
		q := url.Values{}
		if err != nil {
			q.Set("expired", "1")
			// The browser drops the dead cookie.
			http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
				Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
		if r.URL.Path != "/" {
			q.Set("next", r.URL.Path)
		}
		target := "/login"
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil, nil
	}
	return p, s.viewer(p)
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	if _, v := s.pageViewer(w, r); v != nil {
		http.Redirect(w, r, web.Home(v), http.StatusSeeOther)
	}
}

// localPath returns next when it is a path of this site ("/work"), else
// "" (no open redirect to another host).
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}

// loginPage serves GET /login; a live session goes straight on.
func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if p, err := s.authenticate(r); err == nil && p != nil {
		next := localPath(q.Get("next"))
		if next == "" {
			next = web.Home(s.viewer(p))
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	msg := ""
	switch {
	case q.Get("expired") != "":
		msg = "Сеанс завершён: вы долго не работали или вышли в другой вкладке. Войдите снова."
	case q.Get("out") != "":
		msg = "Вы вышли из контакт-центра."
	}
	if err := web.RenderLogin(w, msg); err != nil {
		s.log.Error("render login page", keyError, err)
	}
}

// page serves one desktop page.
func (s *server) page(pg web.Page) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, v := s.pageViewer(w, r)
		if v == nil {
			return
		}
		if !pg.Allow(v) {
			s.errorPage(w, r, http.StatusForbidden, v, fmt.Sprintf("Раздел «%s» недоступен для вашей роли.", pg.Title))
			return
		}
		extra := map[string]any{"enums": enumMap(), "features": s.features()}
		if pg.Name == "appeal" {
			a, err := s.visibleAppeal(r.Context(), p, r.PathValue("id"))
			var fe *forbiddenError
			switch {
			case errors.As(err, &fe):
				s.log.Info("appeal page refused", keyAccount, p.login, keyRoute, r.Pattern)
				s.errorPage(w, r, http.StatusForbidden, v, "Это обращение назначено другому сотруднику: открыть его вы не можете.")
				return
			case errors.Is(err, journal.ErrNotFound):
				s.errorPage(w, r, http.StatusNotFound, v, "Обращения с таким номером нет в журнале.")
				return
			case err != nil:
				code, _ := statusOf(err)
				s.log.Error("appeal page", keyRoute, r.Pattern, keyError, redact(err.Error()))
				s.errorPage(w, r, code, v, "Журнал недоступен, попробуйте позже.")
				return
			}
			extra["appeal"] = a
		}
		if err := web.Render(w, pg, v, extra); err != nil {
			s.log.Error("render page", keyRoute, r.Pattern, keyError, err)
		}
	}
}

// errorPage answers a refused page request: the HTML error page for a
// browser's navigation, JSON for any other client (a script, the CLI).
func (s *server) errorPage(w http.ResponseWriter, r *http.Request, code int, v *web.Viewer, msg string) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeError(w, code, map[int]string{http.StatusForbidden: "forbidden", http.StatusNotFound: "not found"}[code]+": "+r.URL.Path)
		return
	}
	if err := web.RenderError(w, code, v, msg); err != nil {
		s.log.Error("render error page", keyStatus, code, keyError, err)
	}
}

// desktopNotFound answers a browser's GET of an unknown non-API path with
// the 404 page; it reports false for everything else (the API answers
// JSON).
func (s *server) desktopNotFound(w http.ResponseWriter, r *http.Request, code int) bool {
	if s.admin || s.j == nil || code != http.StatusNotFound || r.Method != http.MethodGet ||
		strings.HasPrefix(r.URL.Path, "/api/") || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	var v *web.Viewer
	if p, err := s.authenticate(r); err == nil && p != nil {
		v = s.viewer(p)
	}
	s.errorPage(w, r, http.StatusNotFound, v, "Такой страницы нет.")
	return true
}

// enumView is one value of an enumeration: its code and Russian name.
type enumView struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// enums serves GET /api/v1/enums: the Russian names of statuses, kinds,
// channels, resolutions and roles, so the desktop shows what the journal
// calls them.
func (s *server) enums(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, enumMap())
}

// enumMap lists the enumerations by name.
func enumMap() map[string][]enumView {
	out := map[string][]enumView{}
	for st := journal.StatusInWork; st <= journal.StatusClosed; st++ {
		out["status"] = append(out["status"], enumView{st.String(), st.Russian()})
	}
	for k := journal.KindComplaint; k <= journal.KindGratitude; k++ {
		out["kind"] = append(out["kind"], enumView{k.String(), k.Russian()})
	}
	for c := journal.ChannelPhone; c <= journal.ChannelInPerson; c++ {
		out["channel"] = append(out["channel"], enumView{c.String(), c.Russian()})
	}
	for res := journal.ResolutionExplained; res <= journal.ResolutionExtended; res++ {
		out["resolution"] = append(out["resolution"], enumView{res.String(), res.Russian()})
	}
	for _, ro := range journal.Roles {
		out["role"] = append(out["role"], enumView{ro.String(), ro.Russian()})
	}
	return out
}

// features says which optional APIs this appliance serves (the ACD's,
// the campaigns'), by asking the router, so the desktop offers only what
// works and never calls what is not there.
func (s *server) features() map[string]bool {
	has := func(method, path string) bool {
		r, _ := http.NewRequest(method, path, nil)
		_, pattern := s.mux.Handler(r)
		return pattern != ""
	}
	return map[string]bool{
		"agent":     has("GET", "/api/v1/agent/me"),
		"agents":    has("GET", "/api/v1/agents"),
		"queues":    has("GET", "/api/v1/queues"),
		"transfer":  has("POST", "/api/v1/calls/x/transfer"),
		"supervise": has("POST", "/api/v1/supervise"),
		"pause":     has("GET", "/api/v1/agent/pause-reasons"),
		"hangup":    has("POST", "/api/v1/agent/hangup"),
		"campaigns": has("GET", "/api/v1/campaigns"),
		"surveys":   has("GET", "/api/v1/surveys"),
		"callback":  has("POST", "/api/v1/agent/call"),
	}
}

// appealChanged tells the desktops concerned that appeal a changed: its
// assignee (and the previous one), its author, and the administrators and
// supervisors. The event carries ids and the status, never personal data.
func (s *server) appealChanged(a *journal.Appeal, prevAssignee string) {
	data := map[string]any{"id": a.ID, "number": a.Number, "status": a.Status.String(), "assignee": a.Assignee,
		"updated": a.Updated.Format(time.RFC3339Nano)}
	s.hub.publish("appeal.changed", data, func(st *stream) bool {
		return st.login == a.Assignee || st.login == a.CreatedBy || prevAssignee != "" && st.login == prevAssignee ||
			slices.Contains(st.roles, journal.RoleAdmin) || slices.Contains(st.roles, journal.RoleSupervisor)
	})
}
