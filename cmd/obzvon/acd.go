package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/metrics"
)

// deskOptions builds the inbound ACD's options from the configuration.
func deskOptions(cfg *config.Config, jr *journal.Journal, reg prometheus.Registerer) *dialer.DeskOptions {
	opt := &dialer.DeskOptions{
		ACD: acd.Options{
			PauseReasons: cfg.ACD.PauseReasons,
			RingLease:    cfg.ACD.RingTimeout.Duration + 15*cfg.ACD.RingTimeout.Duration/10,
		},
		Directory: jr,
		Events:    jr,
		Metrics:   metrics.NewACD(reg),
	}
	for _, q := range cfg.Queues {
		st, _ := acd.ParseStrategy(q.Strategy)
		target, th := q.SL()
		opt.ACD.Queues = append(opt.ACD.Queues, acd.QueueConfig{
			Name: q.Name, Kind: acd.KindInbound, Strategy: st, Priority: q.Priority, WrapUp: q.WrapUp.Duration,
			Level2After: q.Level2After.Duration, MaxLen: q.MaxLen, SLThreshold: th, SLTarget: target,
		})
	}
	return opt
}
