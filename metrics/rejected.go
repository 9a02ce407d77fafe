package metrics

import "github.com/prometheus/client_golang/prometheus"

// Reasons a new call is refused with 503, the values of the reason label
// of obzvon_calls_rejected_total.
const (
	// RejectCapacity: calls.max_concurrent calls were in progress.
	RejectCapacity = "capacity"
	// RejectNoMediaPorts: the RTP port range had no free port.
	RejectNoMediaPorts = "no_media_ports"
	// RejectDraining: the appliance is stopping.
	RejectDraining = "draining"
	// RejectSetupRate: over calls.max_setup_rate new calls a second.
	RejectSetupRate = "setup_rate"
)

var rejectReasons = []string{RejectCapacity, RejectNoMediaPorts, RejectDraining, RejectSetupRate}

func newRejected() *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "calls_rejected_total",
		Help:      "New calls refused with 503, by reason: capacity (calls.max_concurrent), no_media_ports, draining.",
	}, []string{"reason"})
	for _, r := range withOther(rejectReasons) {
		v.WithLabelValues(r)
	}
	return v
}

// CallRejected counts a new call refused with 503 for reason (one of the
// Reject constants; any other value is counted as Other).
func (m *Metrics) CallRejected(reason string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(bound(reason, rejectReasons)).Inc()
}
