package dialer

// Supervisors' listen, whisper and barge: the appliance calls the
// supervisor's registered phone (auto-answer) and joins it to the bridge
// of an operator's call in the media engine's mixer; each session is in
// the audit log.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
)

// Errors of supervision.
var (
	// ErrNotSupervising: stop without a supervision in progress.
	ErrNotSupervising = errors.New("no supervision in progress")
)

// Auditor records supervision sessions. *journal.Journal implements it.
type Auditor interface {
	RecordAudit(ctx context.Context, who journal.Actor, op, subject, detail string) error
}

type supervision struct {
	supervisor, agent, callID string
	leg                       *OutboundLeg
	s                         *media.Supervision
	started                   time.Time
}

// bridgeOf returns the media bridge of the call connected to agent.
func (d *Desk) bridgeOf(agent string) (*media.Bridge, string, error) {
	d.mu.Lock()
	dc := d.onCall[agent]
	d.mu.Unlock()
	switch c := dc.(type) {
	case *call:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.queue == nil || c.queue.bridge == nil {
			return nil, "", fmt.Errorf("supervise %s: %w", agent, ErrNoCall)
		}
		return c.queue.bridge, c.rec.ID, nil
	case *OutboundCall:
		return c.bridge, c.id, nil
	}
	return nil, "", fmt.Errorf("supervise %s: %w", agent, ErrNoCall)
}

// Supervise joins supervisor to agent's call in mode (listen, whisper,
// barge), calling the supervisor's registered phone first; with a
// supervision of the same call already up it only changes the mode.
func (d *Desk) Supervise(ctx context.Context, who journal.Actor, agent string, mode media.SuperviseMode) error {
	br, callID, err := d.bridgeOf(agent)
	if err != nil {
		return err
	}
	d.mu.Lock()
	cur := d.supervisions[who.Login]
	d.mu.Unlock()
	if cur != nil && cur.callID == callID {
		if err := cur.s.SetMode(mode); err != nil {
			return fmt.Errorf("supervise: %w", err)
		}
		d.audit(who, "supervise", callID, "mode "+mode.String()+", operator "+agent)
		return nil
	}
	if cur != nil {
		_ = d.StopSupervision(ctx, who)
	}
	if d.s.reg == nil || len(d.s.reg.Lookup(who.Login)) == 0 {
		return fmt.Errorf("supervise: the supervisor's %w", ErrNotRegistered)
	}
	out, err := d.s.Dial(ctx, "reg:"+who.Login, DialOptions{RingTimeout: d.s.cfg.ACD.SessionRingTimeout.Duration,
		From: "obzvon", Headers: d.autoAnswer()})
	if err != nil {
		return fmt.Errorf("supervise: call the supervisor's phone: %w", err)
	}
	s, err := d.s.engine.Supervise(br, out.Leg(), mode)
	if err != nil {
		out.Hangup(context.Background())
		return fmt.Errorf("supervise: %w", err)
	}
	sv := &supervision{supervisor: who.Login, agent: agent, callID: callID, leg: out, s: s, started: time.Now()}
	d.mu.Lock()
	d.supervisions[who.Login] = sv
	d.mu.Unlock()
	d.audit(who, "supervise", callID, "mode "+mode.String()+", operator "+agent)
	d.log.Info("supervision started", "supervisor", who.Login, "agent", agent, "mode", mode.String())
	go func() {
		select {
		case <-s.Done(): // the call ended or moved
		case <-out.Done(): // the supervisor hung up
		}
		d.endSupervision(sv, who)
	}()
	return nil
}

// StopSupervision ends the supervisor's supervision and hangs up its phone.
func (d *Desk) StopSupervision(ctx context.Context, who journal.Actor) error {
	d.mu.Lock()
	sv := d.supervisions[who.Login]
	d.mu.Unlock()
	if sv == nil {
		return ErrNotSupervising
	}
	d.endSupervision(sv, who)
	return nil
}

func (d *Desk) endSupervision(sv *supervision, who journal.Actor) {
	d.mu.Lock()
	if d.supervisions[sv.supervisor] != sv {
		d.mu.Unlock()
		return
	}
	delete(d.supervisions, sv.supervisor)
	d.mu.Unlock()
	sv.s.Stop()
	sv.leg.Hangup(context.Background())
	d.audit(who, "supervise-end", sv.callID, fmt.Sprintf("operator %s, %s", sv.agent, time.Since(sv.started).Round(time.Second)))
	d.log.Info("supervision ended", "supervisor", sv.supervisor, "agent", sv.agent)
}

func (d *Desk) audit(who journal.Actor, op, callID, detail string) {
	a, ok := d.opt.Directory.(Auditor)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.RecordAudit(ctx, who, op, "call:"+callID, detail); err != nil {
		d.log.Error("supervision not audited", "error", err, attrHint, "supervision went unaudited: check journal write errors and the journal disk")
	}
}
