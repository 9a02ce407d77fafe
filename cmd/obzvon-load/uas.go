package main

import (
	"context"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// uasMode is what the trunk does with the media of an answered call.
type uasMode int

const (
	// uasUnknown is the zero value: no mode chosen.
	uasUnknown uasMode = iota
	// uasEcho sends every RTP packet back to where the call's SDP says.
	uasEcho
	// uasTone streams the 1 kHz tone.
	uasTone
	// uasCampaign plays the called people of an outbound campaign: live
	// answer, no answer, busy or machine (see campaign.go).
	uasCampaign
)

// String returns the mode's flag value.
func (m uasMode) String() string {
	switch m {
	case uasEcho:
		return "echo"
	case uasTone:
		return "tone"
	case uasCampaign:
		return "campaign"
	}
	return "unknown"
}

// parseUASMode parses a --uas-mode value.
func parseUASMode(s string) (uasMode, bool) {
	for _, m := range []uasMode{uasEcho, uasTone, uasCampaign} {
		if s == m.String() {
			return m, true
		}
	}
	return uasUnknown, false
}

// uas answers every INVITE with 200 and a G.711 answer (RFC 3261 §13.3,
// RFC 3264 §6), waits for ACK, and ends the call on BYE.
type uas struct {
	sip  *sipEndpoint
	rtp  *engine
	mode uasMode
	ds   *sipgo.DialogServerCache

	invites, answered, rejected, noAck, byes atomic.Uint64
	strayByes                                atomic.Uint64
	active                                   atomic.Int64
	pending                                  atomic.Int64 // campaign calls not ended (ringing too)
	sessID                                   atomic.Uint64

	camp *campaignTrunk // campaign mode
}

func newUAS(ctx context.Context, ep *sipEndpoint, rtp *engine, mode uasMode) *uas {
	u := &uas{sip: ep, rtp: rtp, mode: mode}
	u.ds = sipgo.NewDialogServerCache(ep.client, ep.contact)
	ep.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) { u.onInvite(ctx, req, tx) })
	ep.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = u.ds.ReadAck(req, tx) })
	ep.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := u.ds.ReadBye(req, tx); err != nil {
			u.strayByes.Add(1)
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
			return
		}
		u.byes.Add(1)
	})
	ep.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	return u
}

func (u *uas) reject(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	u.rejected.Add(1)
	_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
}

func (u *uas) onInvite(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) {
	u.invites.Add(1)
	if u.camp != nil {
		u.pending.Add(1)
		defer u.pending.Add(-1)
		u.camp.onInvite(ctx, u, req, tx)
		return
	}
	md, err := parseSDP(req.Body())
	if err != nil {
		u.reject(req, tx, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	// PCMU when offered, else PCMA.
	pt := byte(255)
	for _, p := range md.pts {
		if p == ptPCMU {
			pt = p
			break
		}
		if p == ptPCMA && pt == 255 {
			pt = p
		}
	}
	if pt == 255 {
		u.reject(req, tx, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	l := u.rtp.newLeg(u.mode == uasTone)
	defer l.stop()
	if err := l.start(md.addr, pt); err != nil {
		u.reject(req, tx, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	d, err := u.ds.ReadInvite(req, tx)
	if err != nil {
		u.reject(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	defer d.Close()
	answer := buildSDP(u.rtp.ip, l.port(), u.sessID.Add(1), []byte{pt})
	if err := d.RespondSDP(answer); err != nil { // returns once ACKed
		u.noAck.Add(1)
		return
	}
	u.answered.Add(1)
	u.active.Add(1)
	defer u.active.Add(-1)
	select {
	case <-d.Context().Done():
	case <-ctx.Done():
	}
}

// uasReport is the trunk role's part of the report.
type uasReport struct {
	Invites  uint64 `json:"invites"`
	Answered uint64 `json:"answered"`
	Rejected uint64 `json:"rejected"`
	NoAck    uint64 `json:"no_ack"`
	Byes     uint64 `json:"byes"`
	// StrayByes are BYEs for no call of ours, answered 481.
	StrayByes uint64          `json:"stray_byes"`
	Campaign  *campaignReport `json:"campaign,omitempty"`
	RTP       rtpReport       `json:"rtp"`
}

func (u *uas) report() uasReport {
	r := uasReport{Invites: u.invites.Load(), Answered: u.answered.Load(), Rejected: u.rejected.Load(),
		NoAck: u.noAck.Load(), Byes: u.byes.Load(), StrayByes: u.strayByes.Load()}
	if u.camp != nil {
		r.Campaign = u.camp.report()
	}
	return r
}
