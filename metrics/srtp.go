package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// SRTP drop reasons, the values of the reason label of
// obzvon_srtp_dropped_packets_total.
const (
	// SRTPAuth: the packet's authentication tag did not match (tampered,
	// or not under the peer's key).
	SRTPAuth = "auth"
	// SRTPReplay: the packet was received before, or is older than the
	// replay window (RFC 3711 §3.3.2).
	SRTPReplay = "replay"
)

// SRTPCounters is a snapshot of the media engine's SRTP drop counters;
// both only grow.
type SRTPCounters struct {
	AuthFailures, Replays uint64
}

// SRTPSource reports the SRTP counters so far.
type SRTPSource func() SRTPCounters

// RegisterSRTP registers obzvon_srtp_dropped_packets_total{reason} on reg,
// read from f at each scrape (f must be safe for concurrent use). A nil
// reg or f registers nothing.
func RegisterSRTP(reg prometheus.Registerer, f SRTPSource) error {
	if reg == nil || f == nil {
		return nil
	}
	c := &srtpCollector{desc: prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "srtp", "dropped_packets_total"),
		"Received SRTP packets dropped by the media engine: failed authentication (auth) or replays (replay).",
		[]string{"reason"}, nil)}
	c.source.Store(&f)
	return reg.Register(c)
}

type srtpCollector struct {
	source atomic.Pointer[SRTPSource]
	desc   *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *srtpCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *srtpCollector) Collect(ch chan<- prometheus.Metric) {
	s := (*c.source.Load())()
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.AuthFailures), SRTPAuth)
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.Replays), SRTPReplay)
}
