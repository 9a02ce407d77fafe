package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
)

// daemonProc is a running `obzvon serve` under test.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs peertest.SyncBuffer
	done chan error
	err  error
}

// startDaemon runs bin serve --config cfgPath and waits until /readyz
// answers 200 on httpPort; it fails the test with the daemon's logs if
// the daemon exits or is not ready in 30 s. The daemon is killed (by PID)
// at test end if still running.
func startDaemon(t *testing.T, bin, cfgPath string, httpPort int) *daemonProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	d := &daemonProc{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", httpPort), done: make(chan error, 1)}
	d.cmd = exec.CommandContext(ctx, bin, "serve", "--config", cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = &d.logs, &d.logs
	if err := d.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		if d.exited() {
			return
		}
		_ = d.cmd.Process.Kill()
		d.wait(10 * time.Second)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := httpGet(d.url + "/readyz"); code == 200 {
			return d
		}
		if d.exited() {
			t.Fatalf("daemon exited before it was ready: %v; logs:\n%s", d.err, d.logs.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready in 30 s; logs:\n%s", d.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exited reports whether the process has ended (without blocking).
func (d *daemonProc) exited() bool {
	if d.done == nil {
		return true
	}
	select {
	case d.err = <-d.done:
		d.done = nil
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process to end and returns its error;
// it fails the test on timeout.
func (d *daemonProc) wait(timeout time.Duration) error {
	d.t.Helper()
	if d.done == nil {
		return d.err
	}
	select {
	case d.err = <-d.done:
		d.done = nil
		return d.err
	case <-time.After(timeout):
		d.t.Fatalf("daemon still running after %v; logs:\n%s", timeout, d.logs.String())
		return nil
	}
}

// waitMetric polls /metrics until every want line is in it.
func (d *daemonProc) waitMetric(timeout time.Duration, want ...string) string {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, body := httpGet(d.url + "/metrics")
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(body, w)
		}
		if ok {
			return body
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("/metrics never showed %q; logs:\n%s", want, d.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMetricFunc polls /metrics until the value of series (the metric
// name with its labels, as exposed) satisfies ok.
func (d *daemonProc) waitMetricFunc(timeout time.Duration, series string, ok func(float64) bool) float64 {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, body := httpGet(d.url + "/metrics")
		if v := metricValue(body, series); ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("/metrics: %s = %v never reached the value waited for; logs:\n%s", series, metricValue(body, series), d.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metricValue is the value of series in a text exposition (-1 when absent).
func metricValue(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}
