package config

// Limits against resource exhaustion (issue 11): how many calls at once,
// how fast one address may send INVITEs.

// Default INVITE rate per source address (per second; the burst is twice
// that): far above what people dial, far below a flood.
const defaultInviteRate = 20

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
	if c.Calls.InviteRate < 0 {
		errs = append(errs, &FieldError{Key: "calls.invite_rate", Value: c.Calls.InviteRate, Msg: "must not be negative (0 turns the limit off)"})
	}
	return errs
}
