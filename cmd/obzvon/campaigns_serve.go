package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

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
	Dialer *dialer.CampaignDialer
	stop   context.CancelFunc
	done   chan struct{}
}

// startCampaigns wires outbound campaigns: the [[trunk]]s, the campaign
// side of the dialer and a runner for every running campaign (found in
// the journal now — after a crash too — and whenever one is started).
// Operators are the ACD's (nil: none yet, so only agentless campaigns
// dial).
func startCampaigns(ctx context.Context, cfg *config.Config, srv *dialer.Server, jr *journal.Journal,
	reg prometheus.Registerer, ops campaigns.Operators, log *slog.Logger) (*campaignRun, error) {
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
	mgr := campaigns.NewManager(campaigns.RunnerOptions{Store: jr, Dialer: cd, Operators: ops, Metrics: m, Logger: log})
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &campaignRun{Dialer: cd, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		mgr.Run(rctx)
	}()
	return r, nil
}

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
