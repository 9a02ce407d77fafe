package api

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

type fakeCampaignDialer struct {
	mu    sync.Mutex
	asked []string
}

func (f *fakeCampaignDialer) DialFor(_ context.Context, campaign, contact, agent string) campaigns.DialForResult {
	f.mu.Lock()
	f.asked = append(f.asked, campaign+"/"+contact+">"+agent)
	f.mu.Unlock()
	switch contact {
	case "2619482199351819":
		return campaigns.DialForResult{Err: fmt.Errorf("%w: dnc", campaigns.ErrNotNow)}
	case "":
		panic("empty contact reached the dialer")
	}
	if campaign != "disp-2026" {
		return campaigns.DialForResult{Err: campaigns.ErrNotRunning}
	}
	return campaigns.DialForResult{Attempt: "att-1", Phone: "+79123456789"}
}

// An operator asks to dial a previewed card: the request reaches the
// campaigns with the operator's own login (a body naming another is refused), the
// answer carries the attempt; refusals by the rules and a campaign that
// is not running are 409 with the reason; a role that may not work
// survey cards gets 403; without campaign dialing in the process, 409.
func TestCampaignDialForOperator(t *testing.T) {
	e := newEnv(t)
	fake := &fakeCampaignDialer{}
	e.h = NewHandler(Options{Health: fakeHealth{}, Gatherer: prometheus.NewPedanticRegistry(), Journal: e.j, Now: e.clock.Now,
		Logger: slog.New(slog.DiscardHandler), Campaigns: fake})
	op := e.account("ivanova", journal.RoleOperatorL1)
	sup := e.account("petrova", journal.RoleSupervisor)

	var res campaigns.DialForResult
	e.ok(req{method: "POST", path: "/api/v1/campaigns/disp-2026/dial", token: op, body: map[string]any{"contact": "2681590830166131"}}, 202, &res)
	if res.Attempt != "att-1" || res.Phone != "+79123456789" {
		t.Errorf("dial = %+v", res)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns/disp-2026/dial", token: op, body: map[string]any{"contact": "2681590830166131", "agent": "petrova"}}); w.Code != 400 {
		t.Errorf("dial naming another agent = %d %s, want 400", w.Code, w.Body)
	}
	w := e.do(req{method: "POST", path: "/api/v1/campaigns/disp-2026/dial", token: op, body: map[string]any{"contact": "2619482199351819"}})
	if w.Code != 409 || !strings.Contains(w.Body.String(), "not dialed now: dnc") {
		t.Errorf("dial of a DNC phone = %d %s, want 409 naming dnc", w.Code, w.Body)
	}
	w = e.do(req{method: "POST", path: "/api/v1/campaigns/other/dial", token: op, body: map[string]any{"contact": "2681590830166131"}})
	if w.Code != 409 || !strings.Contains(w.Body.String(), "campaign not running") {
		t.Errorf("dial in a campaign that is not running = %d %s, want 409", w.Code, w.Body)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns/disp-2026/dial", token: op, body: map[string]any{}}); w.Code != 422 {
		t.Errorf("dial without a contact = %d %s, want 422", w.Code, w.Body)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns/disp-2026/dial", token: sup, body: map[string]any{"contact": "2681590830166131"}}); w.Code != 403 {
		t.Errorf("supervisor dials = %d, want 403", w.Code)
	}
	fake.mu.Lock()
	asked := strings.Join(fake.asked, " ")
	fake.mu.Unlock()
	if want := "disp-2026/2681590830166131>ivanova disp-2026/2619482199351819>ivanova other/2681590830166131>ivanova"; asked != want {
		t.Errorf("requests reaching the campaigns: %s, want %s", asked, want)
	}

	e.h = NewHandler(Options{Health: fakeHealth{}, Gatherer: prometheus.NewPedanticRegistry(), Journal: e.j, Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if w := e.do(req{method: "POST", path: "/api/v1/campaigns/disp-2026/dial", token: op, body: map[string]any{"contact": "2681590830166131"}}); w.Code != 409 {
		t.Errorf("dial without campaign dialing = %d %s, want 409", w.Code, w.Body)
	}
}
