package dialer

// Transfers from the operator's phone: SIP REFER (RFC 3515) on the
// dialog the appliance has with the phone — its session leg, or the call
// that rang it in ring mode. Refer-To names the target as the phone's
// user would dial it: an extension, a queue's number, an allowed external
// number. The appliance accepts (202), reports progress with NOTIFY
// (message/sipfrag, RFC 3515 §2.4.4) and carries out a blind transfer of
// the customer the operator is talking to.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// referGrace is how long after a REFER a BYE from the operator's phone on
// its session leg is taken as the phone ending the transferred call (many
// phones hang up once the transfer succeeds) rather than the operator
// leaving: the appliance calls the phone back for a new session leg.
const referGrace = 15 * time.Second

// handleRefer answers a REFER in one of our outbound dialogs; false when
// the dialog is not ours (diago answers it then).
func (s *Server) handleRefer(req *sip.Request, tx sip.ServerTransaction) bool {
	id, err := sip.DialogIDFromRequestUAC(req)
	if err != nil {
		return false
	}
	s.mu.Lock()
	o := s.legs[id]
	s.mu.Unlock()
	if o == nil {
		return false
	}
	respond := func(code int, reason string) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	}
	if s.desk == nil {
		respond(sip.StatusForbidden, "Forbidden (no ACD)")
		return true
	}
	login, callID, session := s.desk.referContext(o)
	if login == "" || callID == "" {
		respond(sip.StatusForbidden, "Forbidden (no customer call to transfer)")
		return true
	}
	rt := req.GetHeader("Refer-To")
	if rt == nil || len(req.GetHeaders("Refer-To")) != 1 {
		respond(sip.StatusBadRequest, "Bad Request (one Refer-To, RFC 3515 §2.4.2)")
		return true
	}
	var uri sip.Uri
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(rt.Value(), &uri, &params); err != nil {
		respond(sip.StatusBadRequest, "Bad Request (Refer-To)")
		return true
	}
	target := uri.User
	if uri.Headers != nil && uri.Headers.Has("Replaces") {
		rep, _ := uri.Headers.Get("Replaces")
		other := s.callByReplaces(rep)
		if other == nil {
			respond(sip.StatusForbidden, "Forbidden (Replaces names no call of this phone)")
			return true
		}
		o.referred.Store(time.Now().UnixNano())
		respond(sip.StatusAccepted, "Accepted")
		s.log.Info("attended transfer by REFER with Replaces", "agent", login, "session", session)
		go s.referReplace(o, login, callID, target, other, session)
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.desk.resolveTarget(ctx, target); err != nil {
		s.log.Info("refer refused", "agent", login, "error", err)
		respond(sip.StatusForbidden, "Forbidden (not a transfer target)")
		return true
	}
	o.referred.Store(time.Now().UnixNano())
	respond(sip.StatusAccepted, "Accepted")
	s.log.Info("transfer by REFER", "agent", login, "session", session)
	go func() {
		_ = o.notifyRefer(100, "Trying", false)
		if !session {
			// The transfer ends this very dialog (BYE to the phone): say
			// it worked first.
			_ = o.notifyRefer(200, "OK", true)
		} else {
			s.desk.noteRefer(login)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.desk.Transfer(ctx, callID, login, false, target, TransferBlind, "")
		if err != nil {
			s.log.Info("transfer by REFER failed", "agent", login, "error", err)
		}
		if session {
			if err != nil {
				_ = o.notifyRefer(503, "Service Unavailable", true)
			} else {
				_ = o.notifyRefer(200, "OK", true)
			}
		}
	}()
	return true
}

// referReplace carries out an attended transfer asked by REFER with
// Replaces and reports it with NOTIFY.
func (s *Server) referReplace(o *OutboundLeg, login, callID, target string, other *call, session bool) {
	_ = o.notifyRefer(100, "Trying", false)
	if !session {
		_ = o.notifyRefer(200, "OK", true)
	} else {
		s.desk.noteRefer(login)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := s.desk.callOf(callID, login, false)
	if err == nil {
		err = c.command(ctx, callCmd{op: "replace", by: login, from: other, target: transferTarget{label: target}})
	}
	if err != nil {
		s.log.Info("attended transfer by REFER failed", "agent", login, "error", err)
	}
	if session {
		if err != nil {
			_ = o.notifyRefer(503, "Service Unavailable", true)
		} else {
			_ = o.notifyRefer(200, "OK", true)
		}
	}
}

// callByReplaces finds the inbound call a Replaces value names (RFC 3891
// §3: Call-ID;to-tag=…;from-tag=…, the tags as this side sees them: to-tag
// ours, from-tag the phone's), or nil. The value may be URI-escaped.
func (s *Server) callByReplaces(v string) *call {
	if u, err := url.QueryUnescape(v); err == nil {
		v = u
	}
	parts := strings.Split(v, ";")
	callID, toTag, fromTag := strings.TrimSpace(parts[0]), "", ""
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			toTag = val
		case "from-tag":
			fromTag = val
		}
	}
	if callID == "" || toTag == "" || fromTag == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		req := c.in.InviteRequest
		if req.CallID().Value() != callID {
			continue
		}
		ft, _ := req.From().Params.Get("tag")
		tt := ""
		if res := c.in.InviteResponse; res != nil && res.To() != nil {
			tt, _ = res.To().Params.Get("tag")
		}
		if ft == fromTag && tt == toTag {
			return c
		}
	}
	return nil
}

// notifyRefer sends the NOTIFY of a REFER's implicit subscription with
// the sipfrag status line; final ends the subscription.
func (o *OutboundLeg) notifyRefer(code int, reason string, final bool) error {
	contact := o.d.InviteResponse.Contact()
	if contact == nil {
		return fmt.Errorf("no contact to notify")
	}
	req := sip.NewRequest(sip.NOTIFY, contact.Address)
	if dest := o.d.InviteRequest.Destination(); dest != "" {
		req.SetDestination(dest)
	}
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s", code, reason)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := o.d.DialogClientSession.Do(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("notify: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// referContext finds whose leg o is: an operator's session leg, or the
// leg ringing an operator for a customer call. It returns the operator,
// the customer call connected to it, and whether o is a session leg.
func (d *Desk) referContext(o *OutboundLeg) (login, callID string, session bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for l, s := range d.sessions {
		if s.leg == o {
			login, session = l, true
			break
		}
	}
	for l, dc := range d.onCall {
		c, ok := dc.(*call)
		if !ok {
			continue
		}
		c.mu.Lock()
		match := c.queue != nil && (session && l == login || !session && c.queue.out == o)
		id := c.rec.ID
		c.mu.Unlock()
		if match {
			return l, id, session
		}
	}
	return login, "", session
}

// noteRefer marks that login's phone just transferred by REFER: a BYE on
// its session leg soon after is the phone ending the transferred call.
func (d *Desk) noteRefer(login string) {
	d.mu.Lock()
	if s := d.sessions[login]; s != nil {
		s.referAt = time.Now()
	}
	d.mu.Unlock()
}

// referredRecently reports whether s's phone sent a REFER within
// referGrace.
func (d *Desk) referredRecently(s *agentSession) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !s.referAt.IsZero() && time.Since(s.referAt) < referGrace
}
