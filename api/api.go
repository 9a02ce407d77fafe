// Package api is obzvon's HTTP surface: health and readiness for the
// service manager and load balancers, /metrics for Prometheus, and (in
// later issues) the JSON API and the desktop.
package api

import (
	"context"
	"encoding/json"
	"net/http"
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

// CallLister reads call records; *journal.Journal implements it.
type CallLister interface {
	Calls(ctx context.Context, from, to time.Time) ([]journal.CallRecord, error)
}

// Options configure the handler.
type Options struct {
	Health   Health
	Gatherer prometheus.Gatherer // nil: no /metrics
	// Admin mounts the local administration endpoints (/api/v1/calls).
	// They carry no authentication of their own: mount them only on the
	// Unix socket, whose file mode admits root and the obzvon group.
	Admin bool
	Calls CallLister
}

// NewHandler returns the root HTTP handler.
func NewHandler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, o.Health.Live())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, o.Health.Ready())
	})
	if o.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	if o.Admin && o.Calls != nil {
		mux.HandleFunc("GET /api/v1/calls", func(w http.ResponseWriter, r *http.Request) {
			from, err1 := time.Parse(time.RFC3339Nano, r.URL.Query().Get("from"))
			to, err2 := time.Parse(time.RFC3339Nano, r.URL.Query().Get("to"))
			if err1 != nil || err2 != nil {
				writeError(w, http.StatusBadRequest, "from and to must be RFC 3339 times, e.g. 2026-11-27T00:00:00Z")
				return
			}
			calls, err := o.Calls.Calls(r.Context(), from, to)
			if err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
			if calls == nil {
				calls = []journal.CallRecord{}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(calls)
		})
	}
	return mux
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
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
