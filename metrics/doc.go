// Package metrics defines every Prometheus metric of obzvon: it is the only
// package that spells a metric name. Components get their metrics from here,
// built on an injected prometheus.Registerer; there is no global registry and
// no promauto.
//
// # Wiring
//
// At start the daemon builds one registry and one Metrics, hands the typed
// helpers to the components and serves the registry on /metrics:
//
//	reg := metrics.NewRegistry()          // Go and process collectors included
//	m := metrics.New(reg)                 // panics if registered twice on reg
//	m.RegisterMediaCounters(engine.Counters)
//	mux.Handle("/metrics", metrics.Handler(reg))
//
// # Labels
//
// Every label has a bounded set of values, so a broken or hostile peer cannot
// grow the number of series: a direction, result or SIP method outside the
// sets declared here is counted as "other", and a SIP status code outside
// 100–699 as "other". No label ever holds a call id, a phone number or a name.
//
// # Media counters
//
// The media engine keeps its own monotonic uint64 counters (it imports
// nothing of ours) and hands a snapshot function to RegisterMediaCounters;
// they are read at scrape time by a custom collector, so the hot path pays
// for one atomic add, not a Prometheus call per packet.
package metrics
