package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Abandonment windows, the values of the window label of
// obzvon_campaign_abandon_ratio.
const (
	// WindowDay is the campaign's current day (in its time zone).
	WindowDay = "day"
	// WindowMonth is the rolling 30 days ending today.
	WindowMonth = "30d"
)

// AMD verdicts, the values of the result label of
// obzvon_amd_decisions_total and obzvon_amd_decision_seconds
// (media.AMDVerdict.String()).
var amdResults = []string{"human", "machine", "unknown"}

// Campaigns holds the metrics of outbound campaigns: trunks, attempts,
// abandonment, dial level, contacts and answering-machine detection. Its
// methods are safe for concurrent use and no-ops on a nil *Campaigns.
//
// The campaign label is a campaign's id and the trunk label a [[trunk]]
// name: both are set by staff, so the sets are bounded.
type Campaigns struct {
	trunkChannels *prometheus.GaugeVec
	trunkAttempts *prometheus.CounterVec
	attempts      *prometheus.CounterVec
	abandon       *prometheus.GaugeVec
	dialLevel     *prometheus.GaugeVec
	contacts      *prometheus.GaugeVec
	decisions     *prometheus.CounterVec
	amdDecisions  *prometheus.CounterVec
	amdSeconds    *prometheus.HistogramVec
}

// NewCampaigns builds the campaign metrics and registers them on reg (nil:
// not registered). It panics when reg already holds them (a wiring bug).
func NewCampaigns(reg prometheus.Registerer) *Campaigns {
	m := &Campaigns{
		trunkChannels: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "trunk", Name: "channels",
			Help: "Channels of a trunk in use now: calls ringing and answered.",
		}, []string{"trunk"}),
		trunkAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "trunk", Name: "attempts_total",
			Help: "INVITEs sent through a trunk, by trunk and final SIP code (200 answered; 408 ring timeout or no response).",
		}, []string{"trunk", "code"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "campaign", Name: "attempts_total",
			Help: "Campaign attempts ended, by campaign and result (reached, no_answer, busy, machine, abandoned, failed...).",
		}, []string{"campaign", "result"}),
		abandon: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "campaign", Name: "abandon_ratio",
			Help: "Abandoned calls / live answers of a campaign, over its day and the rolling 30 days (window day or 30d).",
		}, []string{"campaign", "window"}),
		dialLevel: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "campaign", Name: "dial_level",
			Help: "Calls in flight per operator the campaign may use (agentless: calls in flight), after the last pacing decision.",
		}, []string{"campaign"}),
		contacts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "campaign", Name: "contacts",
			Help: "Contacts of a campaign by state (pending, dialing, done, exhausted, no_phone).",
		}, []string{"campaign", "state"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "campaign", Name: "dial_decisions_total",
			Help: "Contacts the calling rules decided on when the pacer asked for calls, by campaign and decision (dial, not_now).",
		}, []string{"campaign", "decision"}),
		amdDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "amd", Name: "decisions_total",
			Help: "Answering-machine detection decisions, by result (human, machine, unknown).",
		}, []string{"result"}),
		amdSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "amd", Name: "decision_seconds",
			Help:    "Time from answer to the answering-machine detection's decision, by result (human, machine, unknown).",
			Buckets: []float64{0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6},
		}, []string{"result"}),
	}
	for _, r := range withOther(amdResults) {
		m.amdDecisions.WithLabelValues(r)
		m.amdSeconds.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.trunkChannels, m.trunkAttempts, m.attempts, m.abandon, m.dialLevel, m.contacts, m.decisions,
			m.amdDecisions, m.amdSeconds)
	}
	return m
}

// TrunkChannels sets the channels of trunk in use now.
func (m *Campaigns) TrunkChannels(trunk string, n int) {
	if m == nil {
		return
	}
	m.trunkChannels.WithLabelValues(trunk).Set(float64(n))
}

// TrunkAttempt counts one INVITE through trunk that ended with code (a
// code outside 100–699 is counted as Other).
func (m *Campaigns) TrunkAttempt(trunk string, code int) {
	if m == nil {
		return
	}
	label := Other
	if code >= 100 && code <= 699 {
		label = codeLabels[code-100]
	}
	m.trunkAttempts.WithLabelValues(trunk, label).Inc()
}

// Attempt counts one ended attempt of campaign with result (a campaigns
// result code).
func (m *Campaigns) Attempt(campaign, result string) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(campaign, result).Inc()
}

// AbandonRatio sets campaign's abandonment ratio over window (WindowDay
// or WindowMonth).
func (m *Campaigns) AbandonRatio(campaign, window string, ratio float64) {
	if m == nil {
		return
	}
	m.abandon.WithLabelValues(campaign, window).Set(ratio)
}

// DialLevel sets campaign's dial level.
func (m *Campaigns) DialLevel(campaign string, level float64) {
	if m == nil {
		return
	}
	m.dialLevel.WithLabelValues(campaign).Set(level)
}

// Contacts sets the number of campaign's contacts in state.
func (m *Campaigns) Contacts(campaign, state string, n int) {
	if m == nil {
		return
	}
	m.contacts.WithLabelValues(campaign, state).Set(float64(n))
}

// DialDecision counts one decision of the calling rules on a contact of
// campaign: dialed (true) or not now (false).
func (m *Campaigns) DialDecision(campaign string, dial bool) {
	if m == nil {
		return
	}
	d := "not_now"
	if dial {
		d = "dial"
	}
	m.decisions.WithLabelValues(campaign, d).Inc()
}

// AMDDecision counts one answering-machine detection with its result
// ("human", "machine", "unknown"; anything else is Other) and the seconds
// it took from the answer, by result: a person waits for the human (or
// unknown) decision before an operator, a machine's line is held until
// its own.
func (m *Campaigns) AMDDecision(result string, seconds float64) {
	if m == nil {
		return
	}
	r := bound(result, amdResults)
	m.amdDecisions.WithLabelValues(r).Inc()
	m.amdSeconds.WithLabelValues(r).Observe(seconds)
}
