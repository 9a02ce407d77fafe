package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
)

// desktopGlue joins the ACD and the call records to the desktop:
//
//   - the ACD's events become the desktop's live events (agent.state to
//     everyone, call.offered/connected/ended to the operator concerned,
//     queue.stats to supervisors and administrators), translated off the
//     ACD's lock in a goroutine of their own;
//   - an appeal saved while its call is still up is linked to the call's
//     record when the dialer writes it (the record does not exist before
//     the call ends), so the card never has to wait for the hang-up.
type desktopGlue struct {
	hub  *api.Events
	j    *journal.Journal
	log  *slog.Logger
	evs  chan acd.Event
	desk *dialer.Desk

	mu      sync.Mutex
	pending map[string]pendingLink // by call id

	history queueHistory // today's plot of the wallboard
}

// pendingLink is an appeal waiting for its call's record.
type pendingLink struct {
	appeal string
	who    journal.Actor
	at     time.Time
}

// glueEventBuffer bounds the ACD events waiting for translation; beyond
// it events are dropped (logged) rather than slowing the ACD.
const glueEventBuffer = 4096

// queueStatsEvery is how often waiting queues' figures (the longest wait
// grows without events) are pushed to open wallboards.
const queueStatsEvery = 2 * time.Second

func newDesktopGlue(hub *api.Events, j *journal.Journal, log *slog.Logger) *desktopGlue {
	return &desktopGlue{hub: hub, j: j, log: log, evs: make(chan acd.Event, glueEventBuffer), pending: map[string]pendingLink{}}
}

// deskOptions hooks the glue into the desk's options.
func (g *desktopGlue) deskOptions(o *dialer.DeskOptions) *dialer.DeskOptions {
	if o != nil {
		o.OnEvent = g.onEvent
	}
	return o
}

// onEvent runs under the ACD's lock: queue the event, never block.
func (g *desktopGlue) onEvent(e acd.Event) {
	select {
	case g.evs <- e:
	default:
		g.log.Warn("desktop event dropped: translation is behind", "kind", e.Kind.String(), "hint", "desktops miss a live update until they reload; if it repeats, the daemon is overloaded")
	}
}

// run translates events until ctx ends; desk may be nil (no ACD).
func (g *desktopGlue) run(ctx context.Context, desk *dialer.Desk) {
	g.desk = desk
	if desk == nil {
		return
	}
	tick := time.NewTicker(queueStatsEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-g.evs:
			g.translate(ctx, e)
		case <-tick.C:
			g.history.record(time.Now(), desk.Queues())
			if g.hub.Streams() == 0 {
				continue
			}
			for _, q := range desk.Queues() {
				if q.Waiting > 0 {
					g.queueStats(q)
				}
			}
		}
	}
}

var managers = []journal.Role{journal.RoleSupervisor, journal.RoleAdmin}

func (g *desktopGlue) translate(ctx context.Context, e acd.Event) {
	switch e.Kind {
	case acd.EventAgentState:
		// Availability is for everyone's directory; no caller in it.
		g.hub.Publish(api.Event{Type: "agent.state", Data: map[string]any{
			"login": e.Agent, "state": e.State.String(), "prev": e.Prev.String(), "since": e.Time, "reason": e.Reason}})
	case acd.EventOffer:
		g.offered(ctx, e)
	case acd.EventConnect:
		data := map[string]any{"call_id": e.Call, "queue": e.Queue, "login": e.Agent, "wait_seconds": e.Wait.Seconds()}
		// A campaign's call names its contact: the desktop opens the
		// survey card by itself (sent to that operator only). Campaigns
		// are the ACD's outbound queues and their entries are attempt ids,
		// which the survey card accepts; the event says so itself, as the
		// desk attaches the call to the operator only after the ACD has
		// connected it (reading the desk here raced with that).
		// A call back the operator asked for (dialer.AgentCallQueue) is
		// about an appeal, not a campaign's contact.
		if e.Outbound && !e.Consult && e.Queue == dialer.AgentCallQueue {
			data["direction"] = "outbound"
		} else if e.Outbound && !e.Consult {
			data["campaign"], data["contact_id"], data["direction"] = e.Queue, e.Call, "outbound"
		} else if c := g.desk.Agent(e.Agent).Call; c != nil && c.CallID == e.Call && c.Campaign != "" {
			data["campaign"], data["contact_id"], data["direction"] = c.Campaign, c.ContactID, c.Direction
		}
		g.hub.Publish(api.Event{Type: "call.connected", To: e.Agent, Data: data})
	case acd.EventComplete, acd.EventTransfer, acd.EventRequeue, acd.EventNoAnswer:
		if e.Agent != "" {
			g.hub.Publish(api.Event{Type: "call.ended", To: e.Agent, Data: map[string]any{
				"call_id": e.Call, "queue": e.Queue, "login": e.Agent, "how": e.Kind.String(), "reason": e.Reason}})
		}
	}
	switch e.Kind {
	case acd.EventEnter, acd.EventConnect, acd.EventAbandon, acd.EventTimeout, acd.EventFull, acd.EventComplete,
		acd.EventTransfer, acd.EventRequeue:
		qs := g.desk.Queues()
		for _, q := range qs {
			if q.Name == e.Queue {
				g.queueStats(q)
			}
		}
		g.history.record(time.Now(), qs)
	}
}

// offered tells the operator who calls: the number, and the person when
// the number is in the registry (read as that operator: audited).
func (g *desktopGlue) offered(ctx context.Context, e acd.Event) {
	st := g.desk.Agent(e.Agent).AgentView
	caller := ""
	if st.Call == e.Call || st.Call == "" {
		caller = st.Caller
	}
	data := map[string]any{"call_id": e.Call, "caller": caller, "queue": e.Queue, "login": e.Agent, "direction": "inbound"}
	if e.Outbound {
		data["direction"] = "outbound"
	}
	if caller != "" {
		if who, ok := g.actor(ctx, e.Agent, journal.ResourcePerson); ok {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			persons, err := g.j.PersonsByPhone(ctx, who, caller)
			cancel()
			switch {
			case err != nil:
			case len(persons) == 1:
				p := persons[0]
				data["person"] = strings.TrimSpace(p.Surname+" "+p.Name+" "+p.Patronymic) + ", " + ruDate(p.Birth)
			case len(persons) > 1:
				data["person"] = "в реестре несколько человек с этим номером"
			}
		}
	}
	g.hub.Publish(api.Event{Type: "call.offered", To: e.Agent, Data: data})
}

// actor is login acting in a role that may read resource.
func (g *desktopGlue) actor(ctx context.Context, login string, res journal.Resource) (journal.Actor, bool) {
	a, err := g.j.Account(ctx, login)
	if err != nil {
		return journal.Actor{}, false
	}
	i := slices.IndexFunc(a.Roles, func(r journal.Role) bool { return journal.Allowed(r, journal.ActionRead, res) })
	if i < 0 {
		return journal.Actor{}, false
	}
	return journal.Actor{Login: login, Role: a.Roles[i]}, true
}

func (g *desktopGlue) queueStats(q acd.QueueView) {
	data := map[string]any{"queue": q.Name, "waiting": q.Waiting, "longest_wait_seconds": q.LongestWait.Seconds(),
		"ready_agents": q.Ready, "working_agents": q.Working,
		"offered_today": q.Today.Offered, "answered_today": q.Today.Answered, "abandoned_today": q.Today.Abandoned}
	if sl, ok := q.Today.ServiceLevel(); ok {
		data["service_level"] = sl
	}
	g.hub.Publish(api.Event{Type: "queue.stats", Roles: managers, Data: data})
}

// PutCall writes a call record (the dialer's CallStore) and links it to
// the appeal saved for it while it was up.
func (g *desktopGlue) PutCall(ctx context.Context, c *journal.CallRecord) error {
	g.mu.Lock()
	link, ok := g.pending[c.ID]
	delete(g.pending, c.ID)
	g.mu.Unlock()
	if ok && c.Appeal == "" {
		c.Appeal = link.appeal
	}
	if err := g.j.PutCall(ctx, c); err != nil {
		return err
	}
	if ok {
		g.attach(ctx, c.ID, link)
	}
	return nil
}

func (g *desktopGlue) attach(ctx context.Context, callID string, link pendingLink) {
	if _, err := g.j.AttachCall(ctx, link.who, link.appeal, callID); err != nil {
		g.log.Error("call not linked to its appeal", "call_id", callID, "appeal", link.appeal, "error", err, "hint", "attach it with POST /api/v1/appeals/{id}/calls; check the journal if it repeats")
	}
}

// LinkWhenRecorded links callID to appeal once the call's record is
// written (at once when it already is). Links older than a day are
// forgotten (a call never recorded).
func (g *desktopGlue) LinkWhenRecorded(ctx context.Context, callID, appeal string, who journal.Actor) error {
	now := time.Now()
	g.mu.Lock()
	for id, l := range g.pending {
		if now.Sub(l.at) > 24*time.Hour {
			delete(g.pending, id)
		}
	}
	g.pending[callID] = pendingLink{appeal: appeal, who: who, at: now}
	g.mu.Unlock()
	// The call may have ended and been written between the caller's check
	// and now.
	if _, err := g.j.Call(ctx, callID); err == nil {
		g.mu.Lock()
		link, ok := g.pending[callID]
		delete(g.pending, callID)
		g.mu.Unlock()
		if ok {
			g.attach(ctx, callID, link)
		}
	} else if !errors.Is(err, journal.ErrNotFound) {
		return err
	}
	return nil
}

// ruDate writes 1961-03-12 as 12.03.1961.
func ruDate(iso string) string {
	t, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return t.Format("02.01.2006")
}
