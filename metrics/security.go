package metrics

import "github.com/prometheus/client_golang/prometheus"

// Reasons of a failed SIP digest authentication, the values of the reason
// label of obzvon_sip_auth_failures_total.
const (
	// AuthWrongResponse: the digest response did not match (a wrong secret).
	AuthWrongResponse = "wrong_response"
	// AuthUnknownUser: no enabled account with a SIP secret has that name.
	AuthUnknownUser = "unknown_user"
	// AuthBadNonce: the nonce was not one of ours (its MAC did not check).
	AuthBadNonce = "bad_nonce"
	// AuthURIMismatch: the digest uri was not the Request-URI.
	AuthURIMismatch = "uri_mismatch"
	// AuthBadParams: username, realm, algorithm or qop not as challenged,
	// or a malformed Authorization header.
	AuthBadParams = "bad_params"
	// AuthLockedSource: refused unchecked, the source address is locked
	// out after too many failures.
	AuthLockedSource = "locked_source"
	// AuthLockedAccount: refused unchecked, the account is locked out for
	// addresses it has not authenticated from before.
	AuthLockedAccount = "locked_account"
)

var authReasons = []string{AuthWrongResponse, AuthUnknownUser, AuthBadNonce, AuthURIMismatch,
	AuthBadParams, AuthLockedSource, AuthLockedAccount}

// AuthReasons returns the bounded set of reason label values of
// obzvon_sip_auth_failures_total (without Other).
func AuthReasons() []string { return append([]string(nil), authReasons...) }

// security holds the metrics of attacks met at the edges.
type security struct {
	authFailures *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
}

// Rate-limited things, the values of the kind label of
// obzvon_rate_limited_total.
const (
	// LimitedInvite: an INVITE over its source's rate limit.
	LimitedInvite = "invite"
	// LimitedTCPConn: a SIP TCP connection over a per-source or global cap.
	LimitedTCPConn = "tcp_connection"
	// LimitedLogin: an HTTP login over its limits or the hashing queue.
	LimitedLogin = "login"
)

var limitedKinds = []string{LimitedInvite, LimitedTCPConn, LimitedLogin}

func newSecurity(reg prometheus.Registerer) *security {
	s := &security{
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "sip_auth_failures_total",
			Help:      "Failed SIP digest authentications (REGISTER and INVITE), by reason.",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "rate_limited_total",
			Help:      "Requests and connections refused by a rate limit or a cap, by kind.",
		}, []string{"kind"}),
	}
	for _, r := range withOther(authReasons) {
		s.authFailures.WithLabelValues(r)
	}
	for _, k := range withOther(limitedKinds) {
		s.rateLimited.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(s.authFailures, s.rateLimited)
	}
	return s
}

// SIPAuthFailure counts one failed digest authentication with reason (one
// of the Auth constants; any other value is counted as Other).
func (m *Metrics) SIPAuthFailure(reason string) {
	if m == nil {
		return
	}
	m.security.authFailures.WithLabelValues(bound(reason, authReasons)).Inc()
}

// RateLimited counts one request or connection refused by a limit (kind is
// one of the Limited constants; any other value is counted as Other).
func (m *Metrics) RateLimited(kind string) {
	if m == nil {
		return
	}
	m.security.rateLimited.WithLabelValues(bound(kind, limitedKinds)).Inc()
}

// SIPAuthFailuresCounter returns the counter of one reason, for tests.
func (m *Metrics) SIPAuthFailuresCounter(reason string) prometheus.Counter {
	return m.security.authFailures.WithLabelValues(bound(reason, authReasons))
}
