// Package ops holds what operations install beside the binary — the
// Prometheus alert rules (prometheus/), the Grafana dashboard (grafana/) and
// the Debian package (deb/) — and the tests that check them: the rules with
// promtool, the dashboard's queries against the metrics obzvon exports, and
// the package by installing it. It has no code of its own.
package ops
