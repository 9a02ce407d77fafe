package api

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/journal"
)

// who is a role name or "anonymous".
type who = string

const anonymous = "anonymous"

func set(names ...string) map[who]bool {
	m := map[who]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Role groups, as the journal's access table (journal/access.go) and
// issue 3 say: operators and representatives of every level work appeals;
// supervisors read and change but do not create or approve them;
// administrators do everything; campaign staff see no appeals; sre only
// /metrics and health.
var (
	everyone      = set("operator_l1", "operator_l2", "rep_l1", "rep_l2", "rep_l3", "supervisor", "admin", "campaign_staff", "sre", anonymous)
	authenticated = set("operator_l1", "operator_l2", "rep_l1", "rep_l2", "rep_l3", "supervisor", "admin", "campaign_staff", "sre")
	operators     = []string{"operator_l1", "operator_l2", "rep_l1", "rep_l2", "rep_l3"}
	appealRead    = set(append(operators, "supervisor", "admin")...)
	appealCreate  = set(append(operators, "admin")...)
	appealApprove = set("admin")
	personRead    = set(append(operators, "supervisor", "admin")...)
	catalogRead   = set(append(operators, "supervisor", "admin")...)
	catalogLoad   = set("supervisor", "admin")
	directoryRead = set(append(operators, "supervisor", "admin", "campaign_staff")...)
	accountRead   = set("supervisor", "admin")
	adminOnly     = set("admin")
	metricsRead   = set("supervisor", "admin", "sre")
	reportRead    = set("supervisor", "admin")
	campaignRead  = set("supervisor", "admin", "campaign_staff")
	campaignWrite = set("admin", "campaign_staff")
	surveyRead    = set(append(operators, "supervisor", "admin", "campaign_staff")...)
	surveyWrite   = set(append(operators, "admin")...)
	callRead      = set(append(operators, "supervisor", "admin")...)
	appealUpdate  = set(append(operators, "supervisor", "admin")...)
	// sessionOnly: the event stream is for browser sessions; a bearer
	// token of any role gets 403.
	sessionOnly = set()
)

// page is a desktop page's allow set: the roles that may open it, and
// anonymous callers, who are sent to the login page (303), not refused.
func page(roles map[who]bool) map[who]bool {
	m := map[who]bool{anonymous: true}
	for r := range roles {
		m[r] = true
	}
	return m
}

// TestEveryRoleAgainstEveryEndpoint tries every role, and an anonymous
// caller, on every endpoint: allowed ones must not get 401/403 (nor a
// server error), denied ones must get exactly 403 (401 when anonymous).
// Bodies are chosen to fail validation after the access check, so the
// journal is not changed by the roles that may act.
func TestEveryRoleAgainstEveryEndpoint(t *testing.T) {
	e := newEnv(t)
	tokens := map[who]string{}
	appealOf := map[who]string{}
	admin := journal.Actor{Login: "u_admin", Role: journal.RoleAdmin}
	for _, r := range journal.Roles {
		login := "u_" + r.String()
		tokens[r.String()] = e.account(login, r)
	}
	for _, r := range journal.Roles {
		if appealRead[r.String()] {
			appealOf[r.String()] = e.appeal(admin, "u_"+r.String(), "").ID
		}
	}
	adminsAppeal := appealOf["admin"]
	for _, w := range []who{"campaign_staff", "sre", anonymous} {
		appealOf[w] = adminsAppeal
	}

	endpoints := []struct {
		method, path, body string
		allow              map[who]bool
	}{
		{"GET", "/healthz", "", everyone},
		{"GET", "/readyz", "", everyone},
		{"GET", "/metrics", "", metricsRead},
		{"POST", "/api/v1/login", `{}`, everyone}, // a malformed login: 400 for anyone
		{"GET", "/api/v1/me", "", authenticated},
		{"POST", "/api/v1/logout", "", authenticated},

		{"GET", "/api/v1/accounts", "", accountRead},
		{"POST", "/api/v1/accounts", `{}`, adminOnly},
		{"GET", "/api/v1/accounts/u_admin", "", accountRead},
		{"POST", "/api/v1/accounts/nosuch/disable", "", adminOnly},
		{"POST", "/api/v1/accounts/nosuch/enable", "", adminOnly},
		{"POST", "/api/v1/accounts/nosuch/password", `{"password":"x"}`, adminOnly},
		{"POST", "/api/v1/accounts/nosuch/sip-secret", `{"secret":"x"}`, adminOnly},
		{"POST", "/api/v1/accounts/nosuch/tokens", `{"name":"ci"}`, adminOnly},
		{"DELETE", "/api/v1/accounts/nosuch/tokens", "", adminOnly},
		{"GET", "/api/v1/directory?q=u", "", directoryRead},

		{"GET", "/api/v1/appeals", "", appealRead},
		{"GET", "/api/v1/appeals?view=mine", "", appealRead},
		{"GET", "/api/v1/appeals?view=assigned", "", appealRead},
		{"GET", "/api/v1/appeals?view=queue", "", appealRead},
		{"GET", "/api/v1/appeals?view=all&status=in_work", "", appealRead},
		{"POST", "/api/v1/appeals", `{}`, appealCreate},
		{"GET", "/api/v1/appeals/{appeal}", "", appealRead},
		{"PATCH", "/api/v1/appeals/{appeal}", `{}`, appealRead},
		{"POST", "/api/v1/appeals/{appeal}/close", `{}`, appealRead},
		{"POST", "/api/v1/appeals/{appeal}/resume", `{}`, appealRead},
		{"POST", "/api/v1/appeals/{appeal}/transfer", `{}`, appealRead},
		{"POST", "/api/v1/appeals/{appeal}/approve", `{}`, appealApprove},
		{"POST", "/api/v1/appeals/{appeal}/return", `{}`, appealApprove},
		{"POST", "/api/v1/appeals/{appeal}/links", `{"appeals":[]}`, appealRead},
		{"POST", "/api/v1/appeals/{appeal}/calls", `{"call_id":""}`, appealRead},
		{"POST", "/api/v1/appeals/{appeal}/attachments", `x`, appealRead},
		{"GET", "/api/v1/appeals/{appeal}/attachments/nosuch", "", appealRead},
		{"GET", "/api/v1/history?phone=" + strings.TrimPrefix(testPhone, "+"), "", appealRead},
		{"GET", "/api/v1/history?enp=" + testENP, "", appealRead},

		{"GET", "/api/v1/registry/persons?birth=17.05.1980", "", personRead},
		{"GET", "/api/v1/registry/persons?phone=89161234567", "", personRead},
		{"GET", "/api/v1/registry/persons/" + testENP, "", personRead},
		{"POST", "/api/v1/registry/load?name=empty.csv", "", adminOnly},

		{"GET", "/api/v1/catalog/topics?kind=consultation", "", catalogRead},
		{"GET", "/api/v1/catalog/topics/{topic}/scripts", "", catalogRead},
		{"GET", "/api/v1/catalog/topics/{topic}/recommended", "", catalogRead},
		{"GET", "/api/v1/catalog/search?q=%D0%BF%D0%BE%D0%BB%D0%B8%D1%81", "", catalogRead},
		{"POST", "/api/v1/catalog/load", `{}`, catalogLoad},

		{"GET", "/api/v1/audit?account=u_admin", "", adminOnly},
		{"GET", "/api/v1/journal/backup", "", adminOnly},
		{"GET", "/api/v1/journal/appeals?from=2026-01-01T00:00:00Z", "", adminOnly},
		{"GET", "/api/v1/journal/check", "", adminOnly},
		{"GET", "/api/v1/journal/events?stream=acd", "", adminOnly},

		{"GET", "/api/v1/reports/queues?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z", "", reportRead},
		{"GET", "/api/v1/reports/queue-log?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z", "", reportRead},

		{"GET", "/api/v1/campaigns", "", campaignRead},
		{"POST", "/api/v1/campaigns", `{}`, campaignWrite},
		{"GET", "/api/v1/campaigns/nosuch", "", campaignRead},
		{"POST", "/api/v1/campaigns/nosuch/load", "", campaignWrite},
		{"POST", "/api/v1/campaigns/nosuch/start", "", campaignWrite},
		{"POST", "/api/v1/campaigns/nosuch/pause", "", campaignWrite},
		{"POST", "/api/v1/campaigns/nosuch/stop", "", campaignWrite},
		{"GET", "/api/v1/campaigns/nosuch/export", "", campaignRead},
		{"GET", "/api/v1/campaigns/nosuch/why", "", campaignRead},
		{"GET", "/api/v1/campaigns/nosuch/contacts/" + testENP, "", surveyRead},
		{"POST", "/api/v1/campaigns/nosuch/contacts/" + testENP + "/card", `{}`, surveyWrite},
		{"GET", "/api/v1/scripts", "", campaignRead},
		{"POST", "/api/v1/campaigns/nosuch/dial", `{"contact":"` + testENP + `"}`, surveyWrite},
		{"POST", "/api/v1/dnc", `{"phones":[{"phone":"89123456789"}]}`, campaignWrite},
		{"GET", "/api/v1/dnc?phone=89123456789", "", campaignRead},
		{"DELETE", "/api/v1/dnc/89123456789", `{"reason":""}`, campaignWrite},
		{"POST", "/api/v1/campaigns/nosuch/appeal-callbacks", "", campaignWrite},
		{"POST", "/api/v1/journal/repair", "", adminOnly},

		{"GET", "/api/v1/events", "", sessionOnly},
		{"GET", "/api/v1/enums", "", authenticated},
		{"POST", "/api/v1/registry/search", `{}`, personRead},
		{"POST", "/api/v1/history/search", `{}`, appealRead},
		{"GET", "/api/v1/appeals/{appeal}/calls", "", callRead},
		{"GET", "/api/v1/appeals/{appeal}/calls/nosuch/recording", "", callRead},
		{"GET", "/assets/js/lib.js", "", everyone},
		{"GET", "/", "", everyone},
		{"GET", "/login", "", everyone},
		{"GET", "/cabinet", "", everyone},
		{"GET", "/appeals/new", "", page(appealCreate)},
		{"GET", "/appeals/{appeal}", "", page(appealRead)},
		{"GET", "/work", "", page(appealUpdate)},
		{"GET", "/review", "", page(appealApprove)},
		{"GET", "/journal", "", page(accountRead)},
		{"GET", "/wallboard", "", page(accountRead)},
		{"GET", "/admin/accounts", "", page(accountRead)},
		{"GET", "/admin/catalog", "", page(catalogLoad)},
		{"GET", "/api/v1/surveys", "", surveyRead},
		{"POST", "/api/v1/surveys/nosuch/contacts", `{}`, surveyRead},
		{"POST", "/api/v1/surveys/nosuch/card", `{}`, surveyRead},
		{"POST", "/api/v1/surveys/nosuch/card/save", `{}`, surveyWrite},
		{"GET", "/surveys", "", page(surveyRead)},
		{"GET", "/surveys/card", "", page(surveyRead)},
		{"GET", "/informing", "", page(set("rep_l2", "admin"))},
		{"GET", "/campaigns", "", page(campaignRead)},
	}
	// The table must cover every route of the mux: a route added without
	// a line here fails the test.
	covered := map[string]bool{}
	mux := e.h.(*server).mux
	for _, ep := range endpoints {
		path := strings.ReplaceAll(strings.ReplaceAll(ep.path, "{appeal}", adminsAppeal), "{topic}", e.topic)
		_, pattern := mux.Handler(httptest.NewRequest(ep.method, path, nil))
		covered[pattern] = true
	}
	for _, p := range mux.patterns {
		if !covered[p] {
			t.Errorf("route %q is not in the role table", p)
		}
	}
	whos := append([]who{}, operators...)
	whos = append(whos, "supervisor", "admin", "campaign_staff", "sre", anonymous)
	for _, ep := range endpoints {
		for _, w := range whos {
			path := strings.ReplaceAll(ep.path, "{appeal}", appealOf[w])
			path = strings.ReplaceAll(path, "{topic}", e.topic)
			t.Run(ep.method+" "+ep.path+" as "+w, func(t *testing.T) {
				q := req{method: ep.method, path: path, token: tokens[w]}
				if ep.body != "" {
					q.body = ep.body
				}
				res := e.do(q)
				switch {
				case ep.allow[w] && (res.Code == 401 || res.Code == 403 || res.Code >= 500):
					t.Errorf("%s %s as %s = %d %s, want allowed", ep.method, path, w, res.Code, res.Body)
				case !ep.allow[w] && w == anonymous && res.Code != 401:
					t.Errorf("%s %s as %s = %d %s, want 401", ep.method, path, w, res.Code, res.Body)
				case !ep.allow[w] && w != anonymous && res.Code != 403:
					t.Errorf("%s %s as %s = %d %s, want 403", ep.method, path, w, res.Code, res.Body)
				}
			})
		}
	}
	// The bodies were invalid: no appeal changed status.
	for w, id := range appealOf {
		var a journal.Appeal
		e.ok(req{method: "GET", path: "/api/v1/appeals/" + id, token: tokens["admin"]}, 200, &a)
		if a.Status != journal.StatusInWork || len(a.History) != 1 {
			t.Errorf("appeal of %s after the table: %s with %d history entries, want in_work with 1", w, a.Status, len(a.History))
		}
	}
}
