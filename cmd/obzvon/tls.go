package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// checkTLS is check-config's look at the files of SIP over TLS: every
// problem (unreadable, malformed, key and certificate apart, expired, not
// yet valid), and when there is none a line saying which certificate
// serves until when ("" without TLS).
func checkTLS(cfg *config.Config, now time.Time) (summary string, problems []error) {
	leaf, err := cfg.CheckTLSFiles(now)
	if err != nil {
		return "", config.Errors(err)
	}
	if leaf == nil {
		return "", nil
	}
	left := leaf.NotAfter.Sub(now).Round(time.Hour)
	return fmt.Sprintf("TLS certificate %q valid until %s (%d days left)",
		leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)), nil
}

// registerSRTPMetrics exposes the engine's SRTP drop counters.
func registerSRTPMetrics(reg prometheus.Registerer, e *media.Engine, log *slog.Logger) {
	err := metrics.RegisterSRTP(reg, func() metrics.SRTPCounters {
		c := e.Counters()
		return metrics.SRTPCounters{AuthFailures: c.SRTPAuthFailures, Replays: c.SRTPReplays}
	})
	if err != nil {
		log.Warn("srtp metrics not registered", "error", err, "hint", "SRTP still works, without its metrics; report it if it repeats")
	}
}
