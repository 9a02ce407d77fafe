package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
)

// TestSecondSignalExitsAtOnce: a call holds the drain (30 s timeout); a
// second signal during the drain ends the daemon at once with exit code
// exitSignaled, without waiting for the call — SIGTERM (systemd, kill) and
// SIGINT (Ctrl-C) alike.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	peertest.RequirePeer(t, "sipp")
	bin := buildBinary(t)
	for i, c := range []struct {
		name string
		sig  syscall.Signal
	}{{"SIGTERM", syscall.SIGTERM}, {"SIGINT", syscall.SIGINT}} {
		t.Run(c.name, func(t *testing.T) {
			secondSignalExits(t, bin, 18000+(os.Getpid()%50)*20+1000+i*10, c.sig, c.sig)
		})
	}
}

// secondSignalExits runs the daemon with RTP ports base..base+9, holds
// one call up, sends first, waits for the drain, sends second and
// wants exit code exitSignaled well before the drain timeout.
func secondSignalExits(t *testing.T, bin string, base int, first, second syscall.Signal) {
	dir := t.TempDir()
	sipPort, httpPort := peertest.FreePort(t), peertest.FreePort(t)
	cfg := fmt.Sprintf("[sip]\nport = %d\n[http]\nlisten = \"127.0.0.1:%d\"\n[rtp]\nport_min = %d\nport_max = %d\n[data]\ndir = %q\n[calls]\ndrain_timeout = \"30s\"\n",
		sipPort, httpPort, base, base+9, dir)
	cfgPath := filepath.Join(dir, "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, cfgPath, httpPort)
	peertest.StartSIPp(t, "uac_inbound.xml", "127.0.0.1:"+strconv.Itoa(sipPort), "-s", "600", "-d", "60000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	d.waitMetric(20*time.Second, `obzvon_calls_active{direction="inbound"} 1`)
	if err := d.cmd.Process.Signal(first); err != nil {
		t.Fatal(err)
	}
	// Draining: /readyz says so while the call holds the drain.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if code, _ := httpGet(d.url + "/readyz"); code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) || d.exited() {
			t.Fatalf("the daemon never reported draining after %v; logs:\n%s", first, d.logs.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
	sent := time.Now()
	if err := d.cmd.Process.Signal(second); err != nil {
		t.Fatal(err)
	}
	err := d.wait(10 * time.Second) // far below the 30 s drain
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitSignaled {
		t.Fatalf("exit after the second signal (%v) = %v, want exit code %d; logs:\n%s", second, err, exitSignaled, d.logs.String())
	}
	t.Logf("exited %v after the second signal", time.Since(sent).Round(time.Millisecond))
}
