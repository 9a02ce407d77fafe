// Package api is obzvon's HTTP surface: health and readiness for the
// service manager and load balancers, /metrics for Prometheus, and (in
// later issues) the JSON API and the desktop.
package api

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health reports the state of the daemon to /healthz and /readyz.
type Health interface {
	// Live reports whether the process can serve at all.
	Live() error
	// Ready reports whether it accepts new calls (false while draining).
	Ready() error
}

// Options configure the handler.
type Options struct {
	Health   Health
	Gatherer prometheus.Gatherer // nil: no /metrics
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
	return mux
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
