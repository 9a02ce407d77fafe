package dialer

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/media"
)

// TestPingSeesAStuckDialer holds the dialer's state lock, as a deadlocked
// call handler would: Ping must fail with its deadline, and answer again
// once the lock is free.
func TestPingSeesAStuckDialer(t *testing.T) {
	cfg := config.Default()
	cfg.RTP.PortMin, cfg.RTP.PortMax = 13900, 13919
	engine, err := media.NewEngine(media.EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: cfg.RTP.PortMin, PortMax: cfg.RTP.PortMax})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	prompts := map[string]*media.Prompt{}
	for _, name := range cfg.PromptNames() {
		prompts[name] = &media.Prompt{}
	}
	s, err := New(Options{Config: cfg, Engine: engine, Prompts: prompts})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping of an idle dialer = %v", err)
	}
	s.mu.Lock()
	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = s.Ping(pctx)
	s.mu.Unlock()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping with the dialer's lock held = %v, want the deadline", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after the lock is free = %v", err)
	}
}
