package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The stages of a connect onto an operator's session leg, the values of
// the stage label of obzvon_acd_connect_stage_seconds.
const (
	// ConnectSwitch: the routing decision (the offer) to the media switch
	// putting the customer onto the session leg (the call's goroutine
	// taking the offer, stopping its hold music, switching).
	ConnectSwitch = "switch"
	// ConnectSource: the switch to the kernel's arrival of the
	// customer's next packet (up to one packet interval, 20 ms, when the
	// customer's side sends on time; 0 when it had already arrived).
	ConnectSource = "source"
	// ConnectRead: the packet's arrival in the kernel to the media
	// engine reading it (the appliance's scheduling delay).
	ConnectRead = "read"
	// ConnectSend: the read to the packet's send to the operator's phone.
	ConnectSend = "send"
)

var connectStages = []string{ConnectSwitch, ConnectSource, ConnectRead, ConnectSend}

var connectBuckets = []float64{1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2e-2, 3e-2, 5e-2, 0.1, 0.2, 0.5, 1, 2.5}

// acdConnect times connects onto session legs.
type acdConnect struct {
	total  prometheus.Histogram
	stages *prometheus.HistogramVec
}

func newACDConnect() acdConnect {
	c := acdConnect{
		total: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "acd", Name: "connect_seconds",
			Help:    "Time from the routing decision offering a waiting caller to an operator on a session leg to the first packet of the caller's audio sent to the operator's phone.",
			Buckets: connectBuckets,
		}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "acd", Name: "connect_stage_seconds",
			Help:    "The stages of obzvon_acd_connect_seconds: switch (decision to media switch), source (switch to the caller's next packet arriving), read (arrival to the appliance reading it), send (read to sent).",
			Buckets: connectBuckets,
		}, []string{"stage"}),
	}
	for _, s := range connectStages {
		c.stages.WithLabelValues(s)
	}
	return c
}

// SessionConnect observes one connect onto a session leg: offered is the
// routing decision, switched the media switch, and arrived, read and sent
// the first forwarded packet of the caller's audio (arrived: its kernel
// arrival time).
func (m *ACD) SessionConnect(offered, switched, arrived, read, sent time.Time) {
	if m == nil {
		return
	}
	obs := func(stage string, d time.Duration) {
		m.conn.stages.WithLabelValues(stage).Observe(max(d, 0).Seconds())
	}
	obs(ConnectSwitch, switched.Sub(offered))
	obs(ConnectSource, arrived.Sub(switched))
	obs(ConnectRead, read.Sub(arrived))
	obs(ConnectSend, sent.Sub(read))
	m.conn.total.Observe(max(sent.Sub(offered), 0).Seconds())
}
