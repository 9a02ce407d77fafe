package api

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/journal"
)

// noInput are the routes that read no request body: a hostile body is
// ignored there, so they are only sent hostile paths and queries. Every
// other POST, PATCH, PUT and DELETE route must refuse each hostile body.
var noInput = map[string]bool{
	"POST /api/v1/logout":                    true,
	"POST /api/v1/accounts/{login}/disable":  true,
	"POST /api/v1/accounts/{login}/enable":   true,
	"DELETE /api/v1/accounts/{login}/tokens": true,
	"POST /api/v1/journal/repair":            true,
}

// hostileBodies are sent to every route that takes a body.
var hostileBodies = map[string]string{
	"oversized":      `{"text":"` + strings.Repeat("я", 1<<20) + `"}`,
	"malformed JSON": `{"login": "x", "roles": [`,
	"deep nesting":   strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000),
	"deep array":     strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
	"invalid UTF-8":  "\xff\xfe{\"\xc3\x28\":\"\xa0\xa1\"}",
	"wrong types":    `{"login": 5, "roles": "admin", "password": [], "text": {}, "kind": -1}`,
	"not an object":  `"just a string"`,
	"binary":         "\x00\x01\x02\x03PK\x03\x04",
}

// hostileSegments replace path parameters.
var hostileSegments = map[string]string{
	"dot-dot":       "..%2F..%2F..%2Fetc%2Fpasswd",
	"NUL":           "%00",
	"invalid UTF-8": "%ff%fe%c3%28",
	"long":          strings.Repeat("a", 10000),
	"quote":         "%22%3E%3Cscript%3E",
}

// TestHostileInputOnEveryRoute drives every route of the mux (the table
// is the mux itself: a new endpoint is covered without a new test) with
// oversized, malformed, deeply nested, invalid UTF-8 and wrongly typed
// bodies and with path tricks, as an administrator (every access check
// passes). Each answer must be a JSON 4xx (never a 5xx, never a success
// for a body route), and no record may change except audit entries.
func TestHostileInputOnEveryRoute(t *testing.T) {
	e := newEnv(t)
	admin := e.account("u_admin", journal.RoleAdmin)
	appeal := e.appeal(journal.Actor{Login: "u_admin", Role: journal.RoleAdmin}, "", "")
	ctx := context.Background()
	before, err := e.j.RecordCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := e.h.(*server)
	params := map[string]string{"{login}": "u_admin", "{ref}": appeal.ID, "{enp}": testENP, "{topic}": e.topic, "{att}": "nosuch"}
	fill := func(pattern string) (method, path string) {
		method, path, _ = strings.Cut(pattern, " ")
		for k, v := range params {
			path = strings.ReplaceAll(path, k, v)
		}
		return method, path
	}
	check := func(t *testing.T, what string, res interface {
		Result() *http.Response
	}, code int, body string, wantRefusal bool) {
		t.Helper()
		if code >= 500 {
			t.Errorf("%s = %d %.200s, want no server error", what, code, body)
			return
		}
		if code/100 == 3 && strings.Contains(what, "dot-dot") && res.Result().Header.Get("Location") != "" {
			return // the mux cleans the path and redirects; nothing is served
		}
		if wantRefusal && (code < 400 || code >= 500) {
			t.Errorf("%s = %d %.200s, want a 4xx refusal", what, code, body)
		}
		if code >= 400 {
			var e struct{ Error string }
			if ct := res.Result().Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
				t.Errorf("%s = %d with %q %.200s, want a JSON error", what, code, ct, body)
			}
		}
	}
	tested := 0
	for _, pattern := range s.mux.patterns {
		method, path := fill(pattern)
		if pattern == "POST /api/v1/login" || pattern == "POST /api/v1/logout" {
			continue // login is the security issue's; logout would end the session used here
		}
		switch method {
		case "POST", "PATCH", "PUT", "DELETE":
			if noInput[pattern] {
				break
			}
			for name, body := range hostileBodies {
				for _, ct := range []string{"application/json", "text/csv"} {
					w := e.do(req{method: method, path: path, token: admin, body: body, contentType: ct})
					check(t, fmt.Sprintf("%s with a %s body as %s", pattern, name, ct), w, w.Code, w.Body.String(), true)
					tested++
				}
			}
		}
		if strings.Contains(pattern, "{") {
			for name, seg := range hostileSegments {
				_, p := pattern, pattern
				_, p, _ = strings.Cut(p, " ")
				for k := range params {
					p = strings.ReplaceAll(p, k, seg)
				}
				w := e.do(req{method: method, path: p, token: admin, body: `{}`})
				check(t, fmt.Sprintf("%s with a %s path parameter", pattern, name), w, w.Code, w.Body.String(), method != "GET")
				tested++
			}
		}
		if method == "GET" {
			q := "?q=%ff%fe&from=yesterday&to=" + strings.Repeat("9", 5000) + "&limit=-1&view=%00&phone=..%2f&birth=31.02.1999&kind=x"
			w := e.do(req{method: method, path: path + q, token: admin})
			check(t, pattern+" with a hostile query", w, w.Code, w.Body.String(), false)
			tested++
		}
	}
	after, err := e.j.RecordCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	delete(before, "audit")
	delete(after, "audit")
	if !maps.Equal(before, after) {
		t.Errorf("records by kind went from %v to %v: a hostile request wrote something", before, after)
	}
	if len(noInput) > 0 {
		for p := range noInput {
			found := false
			for _, q := range s.mux.patterns {
				found = found || p == q
			}
			if !found {
				t.Errorf("noInput names %q, which is not a route", p)
			}
		}
	}
	t.Logf("%d hostile requests on %d routes", tested, len(s.mux.patterns))
}
