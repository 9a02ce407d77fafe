package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/obzvon/obzvon/journal"
)

// BenchmarkGetAppealBearer measures one authenticated read of an appeal
// card: token lookup, account, access check, the journal read and its
// audit entry, JSON out.
func BenchmarkGetAppealBearer(b *testing.B) {
	e := newEnvTB(b)
	tok := e.account("op1", journal.RoleOperatorL1)
	a := e.appeal(journal.Actor{Login: "op1", Role: journal.RoleOperatorL1}, "", "")
	r := httptest.NewRequest("GET", "/api/v1/appeals/"+a.ID, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET = %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkMeSession measures a cookie-session request that does no
// journal work beyond reading the account.
func BenchmarkMeSession(b *testing.B) {
	e := newEnvTB(b)
	e.account("op1", journal.RoleOperatorL1)
	cookie, _ := e.session("op1", testPassword)
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET = %d %s", w.Code, w.Body)
		}
	}
}
