package main

import (
	"context"
	"sync"
	"time"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// campaignFiguresEvery is how often changed campaign figures are pushed
// to the desktops (the runners change them several times a second).
const campaignFiguresEvery = time.Second

// campaignFigures keeps the running campaigns' live figures (dial level,
// abandonment today and over 30 days, attempts ended) as the runners
// report them to the metrics, for the desktop: GET /api/v1/campaigns/{id}
// reads them and a "campaign.stats" event carries those that changed,
// at most once a second per campaign, to the campaign readers' desktops.
type campaignFigures struct {
	hub   *api.Events
	mu    sync.Mutex
	live  map[string]api.CampaignLive
	dirty map[string]bool
}

func newCampaignFigures(hub *api.Events) *campaignFigures {
	return &campaignFigures{hub: hub, live: map[string]api.CampaignLive{}, dirty: map[string]bool{}}
}

// Live implements api.CampaignFigures.
func (f *campaignFigures) Live(id string) (api.CampaignLive, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.live[id]
	return l, ok
}

// tee returns the runners' metrics: next gets every figure, and so do
// the live figures.
func (f *campaignFigures) tee(next campaigns.Metrics) campaigns.Metrics {
	return figuresTee{f: f, next: next}
}

func (f *campaignFigures) update(campaign string, change func(l *api.CampaignLive)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.live[campaign]
	before := l
	change(&l)
	if l != before {
		l.Updated = time.Now().UTC()
		f.live[campaign] = l
		f.dirty[campaign] = true
	}
}

// run pushes the changed figures until ctx ends.
func (f *campaignFigures) run(ctx context.Context) {
	tick := time.NewTicker(campaignFiguresEvery)
	defer tick.Stop()
	var readers []journal.Role
	for _, r := range journal.Roles {
		if journal.Allowed(r, journal.ActionRead, journal.ResourceCampaign) {
			readers = append(readers, r)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		f.mu.Lock()
		var out []api.CampaignLive
		for id := range f.dirty {
			l := f.live[id]
			l.Campaign = id
			out = append(out, l)
		}
		clear(f.dirty)
		f.mu.Unlock()
		for _, l := range out {
			f.hub.Publish(api.Event{Type: "campaign.stats", Roles: readers, Data: l})
		}
	}
}

type figuresTee struct {
	f    *campaignFigures
	next campaigns.Metrics
}

func (t figuresTee) Attempt(campaign, result string) {
	t.next.Attempt(campaign, result)
	t.f.update(campaign, func(l *api.CampaignLive) { l.Attempts++ })
}

func (t figuresTee) AbandonRatio(campaign, window string, ratio float64) {
	t.next.AbandonRatio(campaign, window, ratio)
	t.f.update(campaign, func(l *api.CampaignLive) {
		switch window {
		case "day":
			l.AbandonDay = ratio
		case "30d":
			l.Abandon30d = ratio
		}
	})
}

func (t figuresTee) DialLevel(campaign string, level float64) {
	t.next.DialLevel(campaign, level)
	t.f.update(campaign, func(l *api.CampaignLive) { l.DialLevel = level })
}

func (t figuresTee) Contacts(campaign, state string, n int) {
	t.next.Contacts(campaign, state, n)
}
