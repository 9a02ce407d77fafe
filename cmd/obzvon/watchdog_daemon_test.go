package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
)

// TestDaemonFeedsTheWatchdog runs the real daemon under a fake systemd
// (NOTIFY_SOCKET, WATCHDOG_USEC=2 s): READY=1 comes first, then WATCHDOG=1
// keeps coming, so the dialer, media and journal probes all answer in a
// live daemon.
func TestDaemonFeedsTheWatchdog(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "2000000")
	sipPort, httpPort := peertest.FreePort(t), peertest.FreePort(t)
	base := 18000 + (os.Getpid()%50)*20 + 500
	cfg := fmt.Sprintf("[sip]\nport = %d\n[http]\nlisten = \"127.0.0.1:%d\"\n[rtp]\nport_min = %d\nport_max = %d\n[data]\ndir = %q\n",
		sipPort, httpPort, base, base+19, dir)
	cfgPath := filepath.Join(dir, "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, bin, cfgPath, httpPort)
	var got []string
	buf := make([]byte, 4096)
	watchdogs := 0
	for watchdogs < 3 {
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %q: no further notification: %v", got, err)
		}
		msg := strings.TrimSpace(string(buf[:n]))
		got = append(got, msg)
		if strings.Contains(msg, "WATCHDOG=1") {
			watchdogs++
		}
	}
	if !strings.Contains(got[0], "READY=1") {
		t.Errorf("notifications %q: want READY=1 first", got)
	}
}
