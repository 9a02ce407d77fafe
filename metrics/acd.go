package metrics

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Queue results, the values of the result label of
// obzvon_queue_calls_total: how each call left a queue.
const (
	// QueueAnswered: connected to an operator.
	QueueAnswered = "answered"
	// QueueAbandoned: the caller hung up while waiting.
	QueueAbandoned = "abandoned"
	// QueueTimeout: the maximum wait passed (the call overflowed).
	QueueTimeout = "timeout"
	// QueueFull: the queue was full on arrival (the call overflowed).
	QueueFull = "full"
	// QueueTransferred: transferred away while waiting.
	QueueTransferred = "transferred"
)

var queueResults = []string{QueueAnswered, QueueAbandoned, QueueTimeout, QueueFull, QueueTransferred}

// ACDSnapshot is the ACD's state at scrape time.
type ACDSnapshot struct {
	// Queues are the configured queues and running campaigns.
	Queues []QueueGauges
	// Agents counts agents by state name (logged_out, ready, reserved,
	// talking, wrap_up, paused).
	Agents map[string]int
	// StateSeconds is the agent-time spent in each state since start.
	StateSeconds map[string]float64
}

// QueueGauges are one queue's gauges.
type QueueGauges struct {
	Name    string
	Waiting int
	// ServiceLevel is today's service level (0..1), NaN before any call
	// counts.
	ServiceLevel float64
}

// ACD holds the queue and agent metrics. Methods are no-ops on a nil *ACD.
type ACD struct {
	calls    *prometheus.CounterVec
	wait     *prometheus.HistogramVec
	decision prometheus.Histogram
	snap     *acdCollector
	conn     acdConnect
}

// NewACD builds the ACD metrics and registers them on reg (nil: none).
func NewACD(reg prometheus.Registerer) *ACD {
	m := &ACD{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "calls_total",
			Help: "Calls that left a queue, by queue and result (answered, abandoned, timeout, full, transferred).",
		}, []string{"queue", "result"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "queue", Name: "wait_seconds",
			Help:    "Time answered callers waited in the queue before an operator took the call.",
			Buckets: []float64{1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600},
		}, []string{"queue"}),
		decision: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "acd", Name: "decision_seconds",
			Help:    "Wall time of a routing pass that offered calls to operators.",
			Buckets: []float64{1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2},
		}),
		snap: newACDCollector(),
		conn: newACDConnect(),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.wait, m.decision, m.snap, m.conn.total, m.conn.stages)
	}
	return m
}

// AddQueue creates a queue's series at zero, so rate() works from the
// first scrape.
func (m *ACD) AddQueue(queue string) {
	if m == nil {
		return
	}
	for _, r := range queueResults {
		m.calls.WithLabelValues(queue, r)
	}
	m.wait.WithLabelValues(queue)
}

// QueueCall counts a call leaving queue with result (a Queue constant).
func (m *ACD) QueueCall(queue, result string) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(queue, bound(result, queueResults)).Inc()
}

// Answered observes the wait of a call answered in queue.
func (m *ACD) Answered(queue string, wait time.Duration) {
	if m == nil {
		return
	}
	m.wait.WithLabelValues(queue).Observe(wait.Seconds())
}

// Decision observes one routing pass's duration.
func (m *ACD) Decision(d time.Duration) {
	if m == nil {
		return
	}
	m.decision.Observe(d.Seconds())
}

// RegisterSnapshot makes f the source of obzvon_queue_waiting,
// obzvon_queue_service_level_ratio, obzvon_agents and
// obzvon_agent_state_seconds_total; f is called once per scrape.
func (m *ACD) RegisterSnapshot(f func() ACDSnapshot) {
	if m == nil {
		return
	}
	m.snap.source.Store(&f)
}

// agentStates are the values of the state label, in order.
var agentStates = []string{"logged_out", "ready", "reserved", "talking", "wrap_up", "paused"}

type acdCollector struct {
	source  atomic.Pointer[func() ACDSnapshot]
	waiting *prometheus.Desc
	sl      *prometheus.Desc
	agents  *prometheus.Desc
	seconds *prometheus.Desc
}

func newACDCollector() *acdCollector {
	return &acdCollector{
		waiting: prometheus.NewDesc(namespace+"_queue_waiting", "Callers waiting in the queue now.", []string{"queue"}, nil),
		sl: prometheus.NewDesc(namespace+"_queue_service_level_ratio",
			"Today's service level: calls answered within the queue's threshold over calls answered plus calls abandoned after it.",
			[]string{"queue"}, nil),
		agents: prometheus.NewDesc(namespace+"_agents", "Operators known since start, by state.", []string{"state"}, nil),
		seconds: prometheus.NewDesc(namespace+"_agent_state_seconds_total",
			"Operator-seconds spent in each state since start, summed over operators.", []string{"state"}, nil),
	}
}

func (c *acdCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.waiting
	ch <- c.sl
	ch <- c.agents
	ch <- c.seconds
}

func (c *acdCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.source.Load()
	if f == nil {
		return
	}
	s := (*f)()
	for _, q := range s.Queues {
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(q.Waiting), q.Name)
		if !math.IsNaN(q.ServiceLevel) {
			ch <- prometheus.MustNewConstMetric(c.sl, prometheus.GaugeValue, q.ServiceLevel, q.Name)
		}
	}
	for _, st := range agentStates {
		ch <- prometheus.MustNewConstMetric(c.agents, prometheus.GaugeValue, float64(s.Agents[st]), st)
		ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.CounterValue, s.StateSeconds[st], st)
	}
}
