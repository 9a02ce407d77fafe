package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeHealth struct{ ready error }

func (fakeHealth) Live() error    { return nil }
func (f fakeHealth) Ready() error { return f.ready }

func TestHealthAndReadiness(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "obzvon_test_total", Help: "test"})
	reg.MustRegister(c)
	for _, tc := range []struct {
		name, path string
		ready      error
		code       int
		body       string
	}{
		{"live", "/healthz", nil, 200, `"ok"`},
		{"ready", "/readyz", nil, 200, `"ok"`},
		{"draining", "/readyz", errors.New("draining"), 503, `"draining"`},
		{"live while draining", "/healthz", errors.New("draining"), 200, `"ok"`},
		{"metrics", "/metrics", nil, 200, "obzvon_test_total 0"},
		{"no such page", "/nope", nil, 404, `"error":"GET /nope: not found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(Options{Health: fakeHealth{tc.ready}, Gatherer: reg})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, rec.Code, rec.Body, tc.code, tc.body)
			}
		})
	}
}
