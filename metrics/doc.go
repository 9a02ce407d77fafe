// Package metrics defines every Prometheus metric of obzvon. Components get
// their metrics from here, built on an injected prometheus.Registerer.
package metrics
