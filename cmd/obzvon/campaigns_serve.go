package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// campaignRun is the running campaign machinery of the daemon.
type campaignRun struct {
	Dialer  *dialer.CampaignDialer
	Manager *campaigns.Manager
	stop    context.CancelFunc
	done    chan struct{}
}

// startCampaigns wires outbound campaigns: the [[trunk]]s, the campaign
// side of the dialer, the ACD's desk (each campaign is an outbound queue
// of the ACD; its operators are those whose account lists it) and a
// runner for every running campaign (found in the journal now — after a
// crash too — and whenever one is started).
func startCampaigns(ctx context.Context, cfg *config.Config, srv *dialer.Server, jr *journal.Journal,
	reg prometheus.Registerer, log *slog.Logger, tee func(campaigns.Metrics) campaigns.Metrics) (*campaignRun, error) {
	m := metrics.NewCampaigns(reg)
	trunks, err := dialer.NewTrunks(srv, m)
	if err != nil {
		return nil, err
	}
	var cache sync.Map
	prompt := func(name string) (*media.Prompt, error) {
		if p, ok := cache.Load(name); ok {
			return p.(*media.Prompt), nil
		}
		p, _, err := loadPrompt(cfg, name)
		if err != nil {
			return nil, fmt.Errorf("prompt %q: %w", name, err)
		}
		cache.Store(name, p)
		return p, nil
	}
	cd := dialer.NewCampaignDialer(srv, trunks, prompt, m)
	var ops campaigns.Operators
	if desk := srv.Desk(); desk != nil {
		cd.SetConnector(dialer.DeskConnector(desk))
		ops = &campaignQueues{desk: desk, jr: jr, log: log, added: map[string]bool{}}
	}
	var rm campaigns.Metrics = m
	if tee != nil {
		rm = tee(m) // the desktop's live figures too
	}
	mgr := campaigns.NewManager(campaigns.RunnerOptions{Store: jr, Dialer: cd, Operators: ops, Metrics: rm, Logger: log})
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &campaignRun{Dialer: cd, Manager: mgr, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		mgr.Run(rctx)
	}()
	return r, nil
}

// campaignQueues is the desk's view of operators for the runners; it
// makes each campaign an outbound queue of the ACD (with the campaign's
// wrap-up) the first time its runner asks.
type campaignQueues struct {
	desk *dialer.Desk
	jr   *journal.Journal
	log  *slog.Logger

	mu    sync.Mutex
	added map[string]bool
}

func (q *campaignQueues) ensure(campaign string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.added[campaign] {
		return
	}
	q.added[campaign] = true
	c, err := q.jr.Campaign(context.Background(), campaign)
	if err != nil {
		q.log.Error("campaign queue", "campaign", campaign, "error", err, "hint", "check the campaign (obzvon campaign status); its operators get no calls until it reads")
		return
	}
	cp, err := campaigns.CompiledOf(c)
	if err != nil {
		q.log.Error("campaign queue", "campaign", campaign, "error", err, "hint", "check the campaign (obzvon campaign status); its operators get no calls until it reads")
		return
	}
	q.desk.AddCampaign(campaign, cp.WrapUp)
}

// Agents implements campaigns.Operators.
func (q *campaignQueues) Agents(campaign string, dst []campaigns.Agent) []campaigns.Agent {
	q.ensure(campaign)
	return q.desk.Operators().Agents(campaign, dst)
}

// Inbound implements campaigns.Operators.
func (q *campaignQueues) Inbound(campaign string) *campaigns.Inbound {
	return q.desk.Operators().Inbound(campaign)
}

// Hold implements campaigns.Holder: the operator who asked for a call
// (a preview dial, an owned callback) is held for it while it rings.
func (q *campaignQueues) Hold(agent, attempt string, lease time.Duration) error {
	return q.desk.Hold(agent, attempt, lease)
}

// Release implements campaigns.Holder.
func (q *campaignQueues) Release(agent, attempt string) { q.desk.Release(agent, attempt) }

// Stop hangs up the campaigns' calls, records their ends and stops the
// runners. It is safe on a nil *campaignRun.
func (r *campaignRun) Stop() {
	if r == nil {
		return
	}
	r.stop()
	<-r.done
	r.Dialer.Wait()
}

// campaignDialHook is the API's way to the campaign runners (an operator
// dialing a previewed card), which start after the API's handlers.
type campaignDialHook struct {
	mu sync.Mutex
	m  *campaigns.Manager
	cd *dialer.CampaignDialer
}

func (h *campaignDialHook) set(m *campaigns.Manager, cd *dialer.CampaignDialer) {
	h.mu.Lock()
	h.m, h.cd = m, cd
	h.mu.Unlock()
}

// CallFor implements api.AgentCaller (an appeal's «Перезвонить»).
func (h *campaignDialHook) CallFor(ctx context.Context, req dialer.AgentCall) (string, <-chan dialer.AgentCallResult, error) {
	h.mu.Lock()
	cd := h.cd
	h.mu.Unlock()
	if cd == nil {
		return "", nil, dialer.ErrNoDesk
	}
	return cd.CallFor(ctx, req)
}

// DialFor implements api.CampaignDialer.
func (h *campaignDialHook) DialFor(ctx context.Context, campaign, contact, agent string) campaigns.DialForResult {
	h.mu.Lock()
	m := h.m
	h.mu.Unlock()
	if m == nil {
		return campaigns.DialForResult{Err: campaigns.ErrNotRunning}
	}
	return m.DialFor(ctx, campaign, contact, agent)
}
