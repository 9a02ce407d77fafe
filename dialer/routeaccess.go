package dialer

// Admission of new INVITEs (issue 11 items 2 and 4): the per-source rate
// limit, the route, who may use it (toll-fraud protection) and a usable
// offer are checked in one place, on the INVITE's transaction, before any
// dialog or call exists. A refusal there holds no capacity while the
// caller's ACK is awaited (up to 32 s, Timer H, when a flood sends none)
// and is not journaled: it was an attempt, not a call.

import (
	"context"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/metrics"
)

// admitInvite answers a new INVITE that may not become a call, and
// reports whether it may. A caller from one of the route's networks, or
// one that authenticated as an account, is trusted; the call learns it
// with takeTrusted.
func (s *Server) admitInvite(req *sip.Request, tx sip.ServerTransaction) bool {
	src := req.Source()
	if !s.invites.allow(src) {
		s.metrics.RateLimited(metrics.LimitedInvite)
		res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable (rate limited)", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", "5"))
		_ = tx.Respond(res)
		return false
	}
	refuse := func(res *sip.Response) bool {
		s.metrics.CallStarted(metrics.DirectionInbound)
		s.metrics.CallEnded(metrics.DirectionInbound, metrics.ResultRejected)
		_ = tx.Respond(res)
		return false
	}
	// Route on the Request-URI, never on To: a proxy or filter in front
	// sees and forwards by the Request-URI (RFC 3261 §8.2.2.1).
	route, ok := s.cfg.MatchRoute(req.Recipient.User)
	if !ok {
		return refuse(sip.NewResponseFromRequest(req, sip.StatusNotFound, "Not Found", nil))
	}
	acc := route.Access()
	trusted := acc.Trusted(sourceAddr(src))
	if !trusted && !acc.Anyone {
		if !acc.Phones || s.reg == nil {
			s.log.Info("route refused to caller", attrRoute, route.Name, "src", src)
			return refuse(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		}
		// RFC 3261 §22.2: a UAS challenges with 401; the phone sends the
		// INVITE again (new CSeq, same Call-ID) with Authorization.
		h := req.GetHeader("Authorization")
		if h == nil {
			return refuse(s.reg.challenge(req, false))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		user := ""
		if f := req.From(); f != nil {
			user = f.Address.User
		}
		stale, err := s.reg.authenticate(ctx, req, user, h.Value())
		switch {
		case stale:
			return refuse(s.reg.challenge(req, true))
		case err != nil:
			return refuse(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		}
		trusted = true
	}
	if body := req.Body(); len(body) > 0 {
		off, err := ParseSDP(body)
		if err != nil {
			return refuse(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (malformed SDP)", nil))
		}
		if _, err := off.Choose(); err != nil {
			return refuse(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		}
		if err := answerSRTP(s.cfg.RTP.SRTP, requestTransport(req), off, &sdpSession{}); err != nil {
			s.log.Info("invite refused", "error", err)
			return refuse(sip.NewResponseFromRequest(req, 488, reason488(err), nil))
		}
	}
	if trusted {
		now := time.Now()
		s.trusted.Store(inviteKey(req), now)
		if s.seq.Add(1)%1024 == 0 {
			// Forget INVITEs that never reached a call (a dialog error).
			s.trusted.Range(func(k, v any) bool {
				if now.Sub(v.(time.Time)) > time.Minute {
					s.trusted.Delete(k)
				}
				return true
			})
		}
	}
	return true
}

// takeTrusted reports whether admitInvite trusted the caller of req.
func (s *Server) takeTrusted(req *sip.Request) bool {
	_, ok := s.trusted.LoadAndDelete(inviteKey(req))
	return ok
}

// inviteKey names one INVITE transaction: diago hands the call a copy of
// the request the middleware saw, not the same value.
func inviteKey(req *sip.Request) string {
	k := ""
	if h := req.CallID(); h != nil {
		k = h.Value()
	}
	if v := req.Via(); v != nil {
		if b, ok := v.Params.Get("branch"); ok {
			k += "|" + b
		}
	}
	if h := req.CSeq(); h != nil {
		k += "|" + h.Value()
	}
	return k
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
