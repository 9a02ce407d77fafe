package config

// Limits against resource exhaustion and abuse (issue 11): how many
// calls at once, how fast one address may send INVITEs, how long a bearer
// token may live.

import "time"

// Default INVITE rate per source address (per second; the burst is twice
// that): far above what people dial, far below a flood.
const defaultInviteRate = 20

// Default new calls per second admitted in all: below the 100–400 calls/s
// `make bench-load` and `make overload` measured on 2 shared cores, far
// above what a contact center's trunks bring. Raise it on a bigger
// machine after measuring (make overload prints the capacity).
const defaultMaxSetupRate = 100

// MaxCalls is the number of calls at once above which new INVITEs get
// 503: calls.max_concurrent, or, when that is 0, what the RTP port range
// can carry (one RTP/RTCP pair per call, two when a route dials out), so
// a flood is refused before it holds state it cannot use.
func (c *Config) MaxCalls() int {
	if c.Calls.MaxConcurrent > 0 {
		return c.Calls.MaxConcurrent
	}
	pairs := (c.RTP.PortMax - c.RTP.PortMin + 1) / 2
	for _, r := range c.Routes {
		if r.Action == ActionDial {
			return max(1, pairs/2)
		}
	}
	return max(1, pairs)
}

// validateLimits checks the limit keys.
func (c *Config) validateLimits() []error {
	var errs []error
	if d := c.HTTP.MaxTokenTTL.Duration; d < time.Hour || d > 5*365*24*time.Hour {
		errs = append(errs, &FieldError{Key: "http.max_token_ttl", Value: c.HTTP.MaxTokenTTL.String(), Msg: "must be 1h..43800h (5 years)"})
	}
	if c.SIP.TCPIdleTimeout.Duration < time.Second {
		errs = append(errs, &FieldError{Key: "sip.tcp_idle_timeout", Value: c.SIP.TCPIdleTimeout.String(), Msg: "must be at least 1s"})
	}
	if d := c.SIP.TCPMessageTimeout.Duration; d < time.Second || d > c.SIP.TCPIdleTimeout.Duration {
		errs = append(errs, &FieldError{Key: "sip.tcp_message_timeout", Value: c.SIP.TCPMessageTimeout.String(), Msg: "must be at least 1s and at most sip.tcp_idle_timeout"})
	}
	if c.SIP.TCPMaxPerSource < 0 {
		errs = append(errs, &FieldError{Key: "sip.tcp_max_per_source", Value: c.SIP.TCPMaxPerSource, Msg: "must not be negative (0: no cap per address)"})
	}
	if c.SIP.TCPMaxConnections < 0 {
		errs = append(errs, &FieldError{Key: "sip.tcp_max_connections", Value: c.SIP.TCPMaxConnections, Msg: "must not be negative (0: derived from the descriptor limit)"})
	}
	if c.Calls.MaxSetupRate < 0 {
		errs = append(errs, &FieldError{Key: "calls.max_setup_rate", Value: c.Calls.MaxSetupRate, Msg: "must not be negative (0 turns the limit off)"})
	}
	if c.Calls.InviteRate < 0 {
		errs = append(errs, &FieldError{Key: "calls.invite_rate", Value: c.Calls.InviteRate, Msg: "must not be negative (0 turns the limit off)"})
	}
	return errs
}
