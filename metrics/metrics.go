package metrics

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric name of obzvon.
const namespace = "obzvon"

// Other is the label value that stands for any value outside a label's
// bounded set (an unknown direction, result or SIP method, a status code
// outside 100–699).
const Other = "other"

// Call directions, the values of the direction label.
const (
	// DirectionInbound is a call the appliance answered.
	DirectionInbound = "inbound"
	// DirectionOutbound is a call the appliance originated (campaigns,
	// callbacks, transfers out).
	DirectionOutbound = "outbound"
)

// Call results, the values of the result label of obzvon_calls_total.
const (
	// ResultAnswered: the far end answered and the call was handled (talked
	// to an agent or ran its IVR script).
	ResultAnswered = "answered"
	// ResultBusy: the far end answered 486 Busy Here or 600 Busy Everywhere.
	ResultBusy = "busy"
	// ResultNoAnswer: the far end rang until the ring timeout.
	ResultNoAnswer = "no_answer"
	// ResultRejected: the far end or the trunk refused the call with another
	// final error response.
	ResultRejected = "rejected"
	// ResultMachine: answering-machine detection found a machine.
	ResultMachine = "machine"
	// ResultAbandoned: the call was answered but no agent took it (a caller
	// who hung up in the queue, or an outbound call that got the safe-harbor
	// message).
	ResultAbandoned = "abandoned"
	// ResultCancelled: the calling side gave up before an answer (CANCEL).
	ResultCancelled = "cancelled"
	// ResultFailed: the call failed on our side or in transport (timeout,
	// no route, internal error).
	ResultFailed = "failed"
)

// Packet directions, the values of the dir label of obzvon_rtp_packets_total.
const (
	// DirIn counts RTP packets received.
	DirIn = "in"
	// DirOut counts RTP packets sent.
	DirOut = "out"
)

var (
	directions = []string{DirectionInbound, DirectionOutbound}
	results    = []string{
		ResultAnswered, ResultBusy, ResultNoAnswer, ResultRejected,
		ResultMachine, ResultAbandoned, ResultCancelled, ResultFailed,
	}
	// sipMethods are the methods of RFC 3261 and of the extensions a dialer
	// meets (RFC 3262 PRACK, 3265 SUBSCRIBE/NOTIFY, 3311 UPDATE, 3428
	// MESSAGE, 3515 REFER, 3903 PUBLISH, 6086 INFO). Method names are
	// case-sensitive (RFC 3261 §7.1), so "invite" is "other".
	sipMethods = []string{
		"ACK", "BYE", "CANCEL", "INFO", "INVITE", "MESSAGE", "NOTIFY",
		"OPTIONS", "PRACK", "PUBLISH", "REFER", "REGISTER", "SUBSCRIBE", "UPDATE",
	}
)

// Directions returns the bounded set of direction label values (without
// Other).
func Directions() []string { return append([]string(nil), directions...) }

// Results returns the bounded set of result label values (without Other).
func Results() []string { return append([]string(nil), results...) }

// SIPMethods returns the SIP methods counted under their own name; any other
// method is counted as Other.
func SIPMethods() []string { return append([]string(nil), sipMethods...) }

// codeLabels holds the label value of every SIP status code 100–699, so
// counting a response does not format a string.
var codeLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(100 + i)
	}
	return l
}()

// Metrics holds the metrics of the SIP and call layer and the collector of
// the media counters. Its methods are safe for concurrent use, and they are
// no-ops on a nil *Metrics, so a component built without metrics needs no
// checks.
type Metrics struct {
	callsActive  *prometheus.GaugeVec
	callsTotal   *prometheus.CounterVec
	sipRequests  map[string]prometheus.Counter // by method, plus Other
	sipResponses *prometheus.CounterVec
	media        *mediaCollector
	journal      *journalCollector
	delay        *delayCollector
	rejected     *prometheus.CounterVec // see rejected.go
	security     *security
}

// New builds the metrics and registers them on reg. With a nil reg the
// metrics work but are not registered anywhere (useful in tests of other
// packages). New panics if reg already holds metrics of the same names, as
// when New is called twice on one registry: that is a wiring bug.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		callsActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "calls_active",
			Help:      "Calls in progress, from the first INVITE to the end of the call.",
		}, []string{"direction"}),
		callsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "calls_total",
			Help:      "Calls ended, by direction and result.",
		}, []string{"direction", "result"}),
		sipResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "sip_responses_total",
			Help:      "SIP responses sent and received, by status code.",
		}, []string{"code"}),
		sipRequests: make(map[string]prometheus.Counter, len(sipMethods)+1),
		media:       newMediaCollector(),
		journal:     newJournalCollector(),
		delay:       newDelayCollector(),
		rejected:    newRejected(),
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "sip_requests_total",
		Help:      "SIP requests sent and received, by method.",
	}, []string{"method"})
	for _, method := range withOther(sipMethods) {
		m.sipRequests[method] = requests.WithLabelValues(method)
	}
	// Every bounded series exists from the start at zero, so rate() and
	// absent() behave from the first scrape.
	for _, d := range withOther(directions) {
		m.callsActive.WithLabelValues(d)
		for _, r := range withOther(results) {
			m.callsTotal.WithLabelValues(d, r)
		}
	}
	if reg != nil {
		reg.MustRegister(m.callsActive, m.callsTotal, requests, m.sipResponses, m.media, m.journal, m.delay, m.rejected)
	}
	m.security = newSecurity(reg)
	return m
}

// withOther returns a new slice of set followed by Other.
func withOther(set []string) []string {
	return append(append(make([]string, 0, len(set)+1), set...), Other)
}

// bound returns v if it is in set, else Other.
func bound(v string, set []string) string {
	for _, s := range set {
		if s == v {
			return v
		}
	}
	return Other
}

// CallStarted counts a call as active. direction is DirectionInbound or
// DirectionOutbound; any other value is counted as Other. Every CallStarted
// must be matched by exactly one CallEnded with the same direction.
func (m *Metrics) CallStarted(direction string) {
	if m == nil {
		return
	}
	m.callsActive.WithLabelValues(bound(direction, directions)).Inc()
}

// CallEnded counts a call that was started with CallStarted as ended with
// result (one of the Result constants; any other value is counted as Other).
func (m *Metrics) CallEnded(direction, result string) {
	if m == nil {
		return
	}
	d := bound(direction, directions)
	m.callsActive.WithLabelValues(d).Dec()
	m.callsTotal.WithLabelValues(d, bound(result, results)).Inc()
}

// SIPRequest counts one SIP request, sent or received. A method outside
// SIPMethods (compared case-sensitively, as RFC 3261 §7.1 says) is counted
// as Other.
func (m *Metrics) SIPRequest(method string) {
	if m == nil {
		return
	}
	c, ok := m.sipRequests[method]
	if !ok {
		c = m.sipRequests[Other]
	}
	c.Inc()
}

// SIPResponse counts one SIP response, sent or received, under its
// three-digit status code. A code outside 100–699 is counted as Other.
func (m *Metrics) SIPResponse(code int) {
	if m == nil {
		return
	}
	label := Other
	if code >= 100 && code <= 699 {
		label = codeLabels[code-100]
	}
	m.sipResponses.WithLabelValues(label).Inc()
}

// MediaCounters is a snapshot of the media engine's counters. Every field is
// monotonic: it only grows while the process lives.
type MediaCounters struct {
	PacketsIn      uint64 // RTP packets received
	PacketsOut     uint64 // RTP packets sent
	PacketsLost    uint64 // RTP packets lost, from sequence-number gaps
	RecordingBytes uint64 // bytes written to recordings
}

// RegisterMediaCounters makes f the source of obzvon_rtp_packets_total,
// obzvon_rtp_lost_packets_total and obzvon_recording_bytes_total. f is
// called once per scrape, from the scraping goroutine, so it must be safe
// for concurrent use with the media engine (atomic loads). A later call
// replaces f; a nil f removes it. Until a source is set the three metrics
// are absent from the exposition rather than reported as zero.
func (m *Metrics) RegisterMediaCounters(f func() MediaCounters) {
	if m == nil {
		return
	}
	if f == nil {
		m.media.source.Store(nil)
		return
	}
	m.media.source.Store(&f)
}

// mediaCollector reports the media engine's counters as constant metrics
// read at scrape time.
type mediaCollector struct {
	source  atomic.Pointer[func() MediaCounters]
	packets *prometheus.Desc
	lost    *prometheus.Desc
	bytes   *prometheus.Desc
}

func newMediaCollector() *mediaCollector {
	return &mediaCollector{
		packets: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "rtp", "packets_total"),
			"RTP packets received (in) and sent (out) by the media engine.",
			[]string{"dir"}, nil),
		lost: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "rtp", "lost_packets_total"),
			"RTP packets lost on the way in, from gaps in sequence numbers.",
			nil, nil),
		bytes: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "recording", "bytes_total"),
			"Bytes written to call recordings.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.packets
	ch <- c.lost
	ch <- c.bytes
}

// Collect implements prometheus.Collector.
func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.source.Load()
	if f == nil {
		return
	}
	s := (*f)()
	ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(s.PacketsIn), DirIn)
	ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(s.PacketsOut), DirOut)
	ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(s.PacketsLost))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(s.RecordingBytes))
}

// ForwardDelayBounds are the bucket bounds of
// obzvon_rtp_forward_delay_seconds: the time from reading an RTP packet off
// one leg's socket to writing it to the other's.
var ForwardDelayBounds = []time.Duration{
	5 * time.Microsecond, 10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 5 * time.Millisecond, 25 * time.Millisecond,
}

// DelaySource reports the forwarding delays so far: for each of bounds,
// how many were at most that long, plus their count and sum.
type DelaySource func(bounds []time.Duration) (cumulative []uint64, count uint64, sum time.Duration)

// RegisterForwardDelay makes f the source of the
// obzvon_rtp_forward_delay_seconds histogram, read at each scrape.
func (m *Metrics) RegisterForwardDelay(f DelaySource) {
	if m == nil || f == nil {
		return
	}
	m.delay.source.Store(&f)
}

// delayCollector reports the media engine's forwarding delay histogram.
type delayCollector struct {
	source atomic.Pointer[DelaySource]
	desc   *prometheus.Desc
}

func newDelayCollector() *delayCollector {
	return &delayCollector{desc: prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "rtp", "forward_delay_seconds"),
		"Time from reading an RTP packet off one leg to sending it on the other (in process; sum estimated from buckets).",
		nil, nil)}
}

// Describe implements prometheus.Collector.
func (c *delayCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *delayCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.source.Load()
	if f == nil {
		return
	}
	cum, count, sum := (*f)(ForwardDelayBounds)
	buckets := make(map[float64]uint64, len(cum))
	for i, b := range ForwardDelayBounds {
		if i < len(cum) {
			buckets[b.Seconds()] = cum[i]
		}
	}
	ch <- prometheus.MustNewConstHistogram(c.desc, count, sum.Seconds(), buckets)
}

// JournalStats is what the journal reports for metrics at each scrape.
type JournalStats struct {
	// Space its files take on disk (allocated blocks, as du counts them):
	// the LSM tables, the value log, the memtables' write-ahead logs and
	// the rest (manifest, key registry, discard stats).
	LSMBytes, ValueLogBytes, WALBytes, OtherBytes int64
	// WriteErrors counts writes that failed in storage (not those refused
	// as invalid); it only grows.
	WriteErrors uint64
}

// RegisterJournal makes f the source of obzvon_journal_size_bytes and
// obzvon_journal_write_errors_total, read at each scrape. Until a source
// is set both are absent from the exposition.
func (m *Metrics) RegisterJournal(f func() JournalStats) {
	if m == nil || f == nil {
		return
	}
	m.journal.source.Store(&f)
}

// journalCollector reports the journal's size on disk and write errors.
type journalCollector struct {
	source atomic.Pointer[func() JournalStats]
	size   *prometheus.Desc
	errors *prometheus.Desc
}

func newJournalCollector() *journalCollector {
	return &journalCollector{
		size: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "journal", "size_bytes"),
			"Space the journal's files take on disk: LSM tables (part=lsm), value log (vlog), memtable write-ahead logs (wal), the rest (other).",
			[]string{"part"}, nil),
		errors: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "journal", "write_errors_total"),
			"Journal writes that failed in storage (disk full, I/O error); invalid records refused are not counted.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *journalCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.errors
}

// Collect implements prometheus.Collector.
func (c *journalCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.source.Load()
	if f == nil {
		return
	}
	s := (*f)()
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(s.LSMBytes), "lsm")
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(s.ValueLogBytes), "vlog")
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(s.WALBytes), "wal")
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(s.OtherBytes), "other")
	ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(s.WriteErrors))
}

// NewRegistry returns a fresh registry holding the Go runtime and process
// collectors (go_*, process_*), for the daemon's /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves the metrics gathered from g in the Prometheus text format.
// A failing collector makes the scrape fail with HTTP 500 instead of
// silently serving partial data.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}
