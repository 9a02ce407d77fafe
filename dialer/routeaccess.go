package dialer

// Route access (toll-fraud protection): who may use a route, checked once
// per call in call.run before the route does anything.

import (
	"context"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/config"
)

// admit decides whether the caller may use route r. When not, it has
// answered the INVITE itself (401 with a challenge, or 403) and the call
// is over. A caller from one of the route's networks, or one that
// authenticated as an account, is trusted.
func (c *call) admit(r config.Route) bool {
	acc := r.Access()
	req := c.in.InviteRequest
	if acc.Trusted(sourceAddr(req.Source())) {
		c.trusted = true
		return true
	}
	if acc.Anyone {
		return true
	}
	if acc.Phones && c.s.reg != nil {
		// RFC 3261 §22.2: a UAS challenges with 401; the phone sends the
		// INVITE again (new CSeq, same Call-ID) with Authorization.
		h := req.GetHeader("Authorization")
		if h == nil {
			c.deny(c.s.reg.challenge(req, false))
			return false
		}
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		defer cancel()
		stale, err := c.s.reg.authenticate(ctx, req, c.in.FromUser(), h.Value())
		switch {
		case stale:
			c.deny(c.s.reg.challenge(req, true))
			return false
		case err == nil:
			c.trusted = true
			return true
		}
	}
	c.log.Info("route refused to caller", "src", req.Source())
	c.deny(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
	return false
}

// deny sends a refusal and keeps the call out of the journal: a refused
// INVITE is an attempt, not a call (see finish).
func (c *call) deny(res *sip.Response) {
	c.rec.SIPCode, c.rec.HangupBy = res.StatusCode, hangupSystem
	c.unrecorded = true
	if err := c.in.WriteResponse(res); err != nil {
		c.log.Debug("respond failed", "error", err)
	}
}

// outCallerID is the number a dial route shows the far end: the route's
// caller_id, else the caller's own number when the caller is trusted or
// the target is one of our own phones, else none. An untrusted caller's
// From never reaches a carrier.
func (c *call) outCallerID(r config.Route) string {
	if r.CallerID != "" {
		return r.CallerID
	}
	if (c.trusted || !r.External()) && config.ValidNumber(c.rec.From) {
		return c.rec.From
	}
	return ""
}

// sourceAddr is the address of a "host:port" source.
func sourceAddr(source string) netip.Addr {
	if ap, err := netip.ParseAddrPort(source); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
