package dialer

// The ACD's side of outbound campaigns: a campaign is a queue of kind
// outbound; its runner reads the campaign's operators for the pacer
// (Operators) and hands each live answer to the ACD (ConnectOutbound),
// which switches it onto a ready operator's session leg within the grace
// or gives up (the runner then plays the safe-harbor message).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/media"
)

// ErrNoAgent: no operator took a live answer within the grace.
var ErrNoAgent = errors.New("no operator free within the grace")

// AddCampaign makes campaign a queue of the ACD (kind outbound, below the
// inbound queues), so that operators whose account lists it take its
// calls. Adding it again updates its wrap-up.
func (d *Desk) AddCampaign(campaign string, wrapUp time.Duration) {
	d.acd.AddQueue(acd.QueueConfig{Name: campaign, Kind: acd.KindOutbound, WrapUp: wrapUp})
	d.opt.Metrics.AddQueue(campaign)
	// Operators already working learn the new queue at their next start
	// of work; refresh those who list it now.
	for _, v := range d.acd.Snapshot().Agents {
		if !v.State.Working() || slices.ContainsFunc(v.Queues, func(m acd.Member) bool { return m.Queue == campaign }) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		cfg, err := d.agentConfig(ctx, v.Login, v.Delivery)
		cancel()
		if err == nil && slices.ContainsFunc(cfg.Queues, func(m acd.Member) bool { return m.Queue == campaign }) {
			d.acd.UpdateMembership(v.Login, cfg.Queues)
		}
	}
}

// Operators returns the desk as the campaign runner's view of operators.
func (d *Desk) Operators() campaigns.Operators { return deskOperators{d} }

type deskOperators struct{ d *Desk }

// ErrNoSession: the operator has no session leg up, so a call placed at
// their request could not reach them.
var ErrNoSession = errors.New("the operator's phone is not connected: start of work first")

// Hold implements campaigns.Holder: agent is reserved for attempt while
// it rings (acd.Hold). Only an operator on a session leg can be held:
// the answer is switched onto that leg.
func (o deskOperators) Hold(agent, attempt string, lease time.Duration) error {
	return o.d.Hold(agent, attempt, lease)
}

// Release implements campaigns.Holder.
func (o deskOperators) Release(agent, attempt string) { o.d.Release(agent, attempt) }

// Hold reserves operator login, who must be working on a session leg and
// not on a call, for the outbound call id placed at their request for at
// most lease (acd.Hold).
func (d *Desk) Hold(login, id string, lease time.Duration) error {
	if d.sessionLeg(login) == nil {
		return fmt.Errorf("hold %s: %w", login, ErrNoSession)
	}
	return d.acd.Hold(login, id, lease)
}

// Release ends login's hold for call id (acd.Release).
func (d *Desk) Release(login, id string) { d.acd.Release(login, id) }

// Agents lists the campaign's working operators with their state and
// time in state (campaigns.Operators).
func (o deskOperators) Agents(campaign string, dst []campaigns.Agent) []campaigns.Agent {
	snap := o.d.acd.Snapshot()
	for _, v := range snap.Agents {
		if !v.State.Working() || !slices.ContainsFunc(v.Queues, func(m acd.Member) bool { return m.Queue == campaign }) {
			continue
		}
		inbound := (v.State.Busy() || v.State == acd.StateWrapUp) && v.Queue != "" && !v.Outbound
		dst = append(dst, campaigns.Agent{State: v.State, InState: v.InState, Inbound: inbound, Login: v.Login})
	}
	return dst
}

// Inbound merges the inbound queues the campaign's operators also serve
// (campaigns.Operators): callers waiting, arrival rate, handle time and
// the strictest service-level objective.
func (o deskOperators) Inbound(campaign string) *campaigns.Inbound {
	snap := o.d.acd.Snapshot()
	members := map[string]bool{}
	for _, v := range snap.Agents {
		if slices.ContainsFunc(v.Queues, func(m acd.Member) bool { return m.Queue == campaign }) {
			members[v.Login] = true
		}
	}
	var in campaigns.Inbound
	var handleSum float64
	found := false
	for _, q := range snap.Queues {
		if q.Kind != acd.KindInbound || !slices.ContainsFunc(q.Members, func(l string) bool { return members[l] }) {
			continue
		}
		found = true
		in.Waiting += q.Waiting
		in.CallsPerHour += q.CallsPerHour
		handleSum += q.CallsPerHour * q.AHT.Seconds()
		if t := q.SLTarget; t > in.Target.Fraction {
			in.Target = acd.Target{Fraction: t, AnswerTime: q.SLThreshold.Seconds()}
		}
	}
	if !found {
		return nil
	}
	if in.CallsPerHour > 0 {
		in.HandleTime = time.Duration(handleSum / in.CallsPerHour * float64(time.Second))
	}
	if in.Target.Fraction == 0 {
		in.Target = acd.Target{Fraction: 0.8, AnswerTime: 20}
	}
	return &in
}

// OutboundCall is a live campaign call connected to an operator.
type OutboundCall struct {
	d        *Desk
	id       string
	campaign string
	caller   string
	agent    string
	bridge   *media.Bridge
	at       time.Time
	// appeal is the appeal of a call the operator asked for (CallFor);
	// such a call belongs to no campaign.
	appeal string

	once sync.Once
	done chan struct{}
	by   string
}

// Agent is the operator's login.
func (o *OutboundCall) Agent() string { return o.agent }

// Done is closed when the operator's part ends: the operator hung up
// from the desktop, the operator's phone went away, or End was called.
func (o *OutboundCall) Done() <-chan struct{} { return o.done }

// EndedBy says who ended it once Done is closed: "agent", "agent gone"
// or what End was given.
func (o *OutboundCall) EndedBy() string {
	<-o.done
	return o.by
}

// End ends the operator's part (the customer hung up, or the runner ended
// the call): the operator goes to wrap-up. Idempotent.
func (o *OutboundCall) End(by string) { o.finish(by) }

func (o *OutboundCall) finish(by string) {
	o.once.Do(func() {
		o.by = by
		o.bridge.Disconnect()
		o.d.detach(o.agent, o)
		if by == "agent gone" {
			_, _ = o.d.acd.Leave(o.id, acd.OutcomeAbandoned)
		} else {
			_ = o.d.acd.Hangup(o.id, by)
		}
		close(o.done)
	})
}

// hangup is the desktop's "завершить звонок" (deskCall).
func (o *OutboundCall) hangup(by string) { o.finish(by) }

// callInfo describes the call for the operator's desktop (deskCall).
func (o *OutboundCall) callInfo() CallInfo {
	if o.appeal != "" {
		return CallInfo{CallID: o.id, Caller: o.caller, Queue: o.campaign, Direction: "outbound", AppealID: o.appeal, ConnectedAt: o.at}
	}
	return CallInfo{CallID: o.id, Caller: o.caller, Queue: o.campaign, Direction: "outbound", Campaign: o.campaign,
		ContactID: o.id, ConnectedAt: o.at}
}

// ConnectOutbound hands a live answer of campaign to the ACD: the call
// (attempt id) waits at most grace for a ready operator of the campaign
// and is switched onto the operator's session leg, with rec recording it
// (nil: no recording). It returns ErrNoAgent when nobody took it in time:
// the caller is the runner's again (the safe-harbor message). Only
// operators on session legs take campaign calls (ringing a phone does not
// fit in the 2 s a live answer may wait). With agent set only that
// operator takes it (the one who asked for the call: a preview or a
// callback they own).
func (d *Desk) ConnectOutbound(ctx context.Context, leg *media.Leg, campaign, id, caller, agent string, grace time.Duration, rec *media.Recorder) (*OutboundCall, error) {
	return d.connectOutbound(ctx, leg, campaign, id, caller, agent, grace, rec, "")
}

func (d *Desk) connectOutbound(ctx context.Context, leg *media.Leg, campaign, id, caller, agent string, grace time.Duration, rec *media.Recorder, appeal string) (*OutboundCall, error) {
	if !d.acd.HasQueue(campaign) {
		d.AddCampaign(campaign, 0)
	}
	tk, err := d.acd.Enqueue(acd.Entry{ID: id, Queue: campaign, Caller: caller, Agent: agent})
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", id, err)
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	for {
		select {
		case n := <-tk.Notices():
			tk.Refill()
			if n.Kind != acd.NoticeOffer {
				continue
			}
			l := d.sessionLeg(n.Agent)
			if l == nil {
				_ = d.acd.OfferFailed(id, n.Agent, acd.FailAgentGone)
				continue
			}
			to := l.Leg()
			br, err := d.s.engine.Connect(leg, to, rec)
			if err != nil {
				_ = d.acd.OfferFailed(id, n.Agent, acd.FailError)
				continue
			}
			if err := d.acd.Connected(id, n.Agent); err != nil {
				br.Disconnect()
				continue
			}
			oc := &OutboundCall{d: d, id: id, campaign: campaign, caller: caller, agent: n.Agent, bridge: br,
				at: time.Now(), done: make(chan struct{}), appeal: appeal}
			d.attach(n.Agent, oc)
			go oc.watch(ctx, tk)
			return oc, nil
		case <-deadline.C:
			if _, err := d.acd.Leave(id, acd.OutcomeAbandoned); err == nil {
				return nil, fmt.Errorf("connect %s: %w", id, ErrNoAgent)
			}
			// An offer is being connected this instant: its notice is next.
		case <-ctx.Done():
			_, _ = d.acd.Leave(id, acd.OutcomeAbandoned)
			return nil, ctx.Err()
		}
	}
}

// watch ends the operator's part when the operator's phone goes away or
// ctx ends (the customer hung up).
func (o *OutboundCall) watch(ctx context.Context, tk *acd.Ticket) {
	for {
		select {
		case n := <-tk.Notices():
			tk.Refill()
			if n.Kind == acd.NoticeRevoked && n.Agent == o.agent {
				o.finish("agent gone")
				return
			}
		case <-ctx.Done():
			o.finish("caller")
			return
		case <-o.done:
			return
		}
	}
}
