package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen binds a unixgram socket like systemd's notify socket and points
// NOTIFY_SOCKET at it.
func listen(t *testing.T, addr string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", addr)
	return conn
}

// receive reads one datagram. sd_notify is a synchronous send on a datagram
// socket, so it is already queued when the call returns; the deadline only
// keeps a broken test from hanging.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read notify socket: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"Ready", Ready, "READY=1"},
		{"Watchdog", Watchdog, "WATCHDOG=1"},
		{"Stopping", Stopping, "STOPPING=1"},
		{"Status", func() error { return Status("draining: 3 calls") }, "STATUS=draining: 3 calls"},
	}
	for _, socket := range []string{"path", "abstract"} {
		t.Run(socket, func(t *testing.T) {
			addr := filepath.Join(t.TempDir(), "notify")
			if socket == "abstract" {
				addr = "@obzvon-sdnotify-test-" + strconv.Itoa(os.Getpid())
			}
			conn := listen(t, addr)
			// In one daemon's order: the socket must stay usable after
			// every message.
			for _, tt := range tests {
				if err := tt.call(); err != nil {
					t.Fatalf("%s() = %v, want nil", tt.name, err)
				}
				if got := receive(t, conn); got != tt.want {
					t.Errorf("%s() sent %q, want %q", tt.name, got, tt.want)
				}
			}
		})
	}
}

func TestNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	for name, f := range map[string]func() error{
		"Ready": Ready, "Stopping": Stopping, "Watchdog": Watchdog,
		"Status": func() error { return Status("x") },
	} {
		if err := f(); err != nil {
			t.Errorf("%s() without NOTIFY_SOCKET = %v, want nil", name, err)
		}
	}
}

func TestSocketGone(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	t.Setenv("NOTIFY_SOCKET", missing)
	err := Ready()
	if err == nil {
		t.Fatalf("Ready() with NOTIFY_SOCKET=%q (no such socket) = nil, want an error", missing)
	}
	if !strings.Contains(err.Error(), "READY=1") || !strings.Contains(err.Error(), missing) {
		t.Errorf("Ready() error = %q, want it to name READY=1 and %q", err, missing)
	}
}

func TestStatusNewline(t *testing.T) {
	conn := listen(t, filepath.Join(t.TempDir(), "notify"))
	if err := Status("ok\nREADY=1"); err == nil {
		t.Error(`Status("ok\nREADY=1") = nil, want an error`)
	}
	// Nothing may have been sent: a newline would have smuggled READY=1.
	if err := Watchdog(); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, conn); got != "WATCHDOG=1" {
		t.Errorf("first datagram after a rejected Status = %q, want WATCHDOG=1", got)
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"30000000", self, 15 * time.Second, true},
		{"30000000", "", 15 * time.Second, true}, // no PID: meant for us
		{"1000", self, 500 * time.Microsecond, true},
		{"30000000", strconv.Itoa(os.Getpid() + 1), 0, false}, // another process's
		{"", "", 0, false},
		{"0", self, 0, false},
		{"-5", self, 0, false},
		{"30s", self, 0, false},
		{"30000000", "me", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.usec+"/"+tt.pid, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			got, ok := WatchdogInterval()
			if got != tt.want || ok != tt.ok {
				t.Errorf("WatchdogInterval() with WATCHDOG_USEC=%q WATCHDOG_PID=%q = %v, %v; want %v, %v",
					tt.usec, tt.pid, got, ok, tt.want, tt.ok)
			}
		})
	}
}
