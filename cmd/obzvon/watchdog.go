package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/internal/sdnotify"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
)

// heart is one component the watchdog listens to: ping returns nil when
// the component has just shown progress (see dialer.Server.Ping,
// media.Engine.Ping, journal.Journal.Ping).
type heart struct {
	name    string
	ping    func(context.Context) error
	pending atomic.Bool // a ping has not returned yet
}

// watchdog tells systemd the daemon is alive (WATCHDOG=1) only when every
// component answered its ping in the last round. A component that stops
// answering (deadlocked, stuck in a commit or a packet path) stops the
// pings, and systemd restarts the daemon after WatchdogSec.
type watchdog struct {
	hearts []*heart
	// every is how often a round runs (half the watchdog interval);
	// a ping gets half of that to answer.
	every  time.Duration
	notify func() error
	log    *slog.Logger
}

// startWatchdog starts the watchdog when systemd asked for one
// (WATCHDOG_USEC) and does nothing otherwise. It stops with ctx.
func startWatchdog(ctx context.Context, log *slog.Logger, srv *dialer.Server, engine *media.Engine, jr *journal.Journal) {
	iv, ok := sdnotify.WatchdogInterval()
	if !ok {
		return
	}
	w := &watchdog{
		hearts: []*heart{{name: "dialer", ping: srv.Ping}, {name: "media", ping: engine.Ping}, {name: "journal", ping: jr.Ping}},
		every:  iv / 2, notify: sdnotify.Watchdog, log: log,
	}
	go w.run(ctx)
}

func (w *watchdog) run(ctx context.Context) {
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if w.round(ctx) {
				_ = w.notify()
			}
		}
	}
}

// round pings every component at once and reports whether all answered
// within every/2. A component whose previous ping is still out is not
// pinged again (no pile of blocked probes) and counts as stuck.
func (w *watchdog) round(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, w.every/2)
	defer cancel()
	results := make(chan bool, len(w.hearts))
	stuck := []string{}
	asked := 0
	for _, h := range w.hearts {
		if !h.pending.CompareAndSwap(false, true) {
			stuck = append(stuck, h.name)
			continue
		}
		asked++
		go func() {
			err := h.ping(pctx)
			h.pending.Store(false)
			results <- err == nil
			if err != nil && ctx.Err() == nil {
				w.log.Error("watchdog: component did not answer; not notifying systemd", "component", h.name, "error", err, "hint", "a component is stuck: systemd restarts the daemon when the watchdog expires; keep this log and the goroutine dump for the developers")
			}
		}()
	}
	ok := len(stuck) == 0
	for range asked {
		select {
		case r := <-results:
			ok = ok && r
		case <-pctx.Done(): // a ping that ignores its context
			ok = false
		}
		if !ok {
			break
		}
	}
	if len(stuck) > 0 && ctx.Err() == nil {
		w.log.Error("watchdog: components still stuck since the last round; not notifying systemd", "components", stuck, "hint", "components are stuck: systemd restarts the daemon when the watchdog expires; keep this log and the goroutine dump for the developers")
	}
	return ok
}
