package dialer

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
)

func tcpOptions(local string) string {
	return "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP " + local + ";branch=z9hG4bK-t" + strings.ReplaceAll(local, ":", "") +
		"\r\nFrom: <sip:t@127.0.0.1>;tag=o\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tcp-" + local + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

// ping sends OPTIONS over c and reports whether 200 came back.
func ping(t *testing.T, c net.Conn) bool {
	t.Helper()
	if _, err := c.Write([]byte(tcpOptions(c.LocalAddr().String()))); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200")
}

// closedByServer waits (at most 15 s) for the server to close c and
// reports whether it did.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
}

// refusedOrClosed connects from src and reports whether the server shut
// the connection: at once (the connect itself reset, as happens when the
// server closes before the handshake is seen) or after accepting it.
func refusedOrClosed(t *testing.T, src, target string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", target)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
			return true
		}
		t.Fatal(err)
	}
	defer c.Close()
	return closedByServer(c)
}

func dialFrom(t *testing.T, src, target string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTCPIdleAndHalfSentConnectionsClosed(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}}, func(c *config.Config) {
		c.SIP.TCPIdleTimeout = config.Duration{Duration: time.Second}
		c.SIP.TCPMessageTimeout = config.Duration{Duration: time.Second}
	})
	// SIP over TCP works through the limits.
	used := dialFrom(t, "127.0.0.1", a.target())
	if !ping(t, used) {
		t.Fatal("OPTIONS over TCP: no 200")
	}
	if !closedByServer(used) {
		t.Error("a connection idle after its request was not closed")
	}
	if !closedByServer(dialFrom(t, "127.0.0.1", a.target())) {
		t.Error("a connection that never sent anything was not closed")
	}
	// A slow sender: a header line every 200 ms, never the end.
	slow := dialFrom(t, "127.0.0.1", a.target())
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		_, _ = slow.Write([]byte("OPTIONS sip:127.0.0.1 SIP/2.0\r\n"))
		for i := 0; i < 75; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := slow.Write([]byte("X-Slow: 1\r\n")); err != nil {
				return
			}
		}
	}()
	if !closedByServer(slow) {
		t.Error("a half-sent message kept its connection open")
	}
}

func TestTCPConnectionCaps(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}}, func(c *config.Config) {
		c.SIP.TCPMaxPerSource = 2
		c.SIP.TCPMaxConnections = 3
	})
	c1, c2 := dialFrom(t, "127.0.0.1", a.target()), dialFrom(t, "127.0.0.1", a.target())
	if !ping(t, c1) || !ping(t, c2) {
		t.Fatal("connections within the caps: no answer")
	}
	if !refusedOrClosed(t, "127.0.0.1", a.target()) {
		t.Error("a third connection from one address (cap 2) was not closed")
	}
	other := dialFrom(t, "127.0.0.2", a.target())
	if !ping(t, other) {
		t.Error("a connection from another address within the global cap: no answer")
	}
	if !refusedOrClosed(t, "127.0.0.3", a.target()) {
		t.Error("a fourth connection (global cap 3) was not closed")
	}
	if n := a.srv.tcp.open(); n != 3 {
		t.Errorf("%d connections counted, want 3", n)
	}
	c1.Close()
	for deadline := time.Now().Add(10 * time.Second); a.srv.tcp.open() != 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections counted after one closed, want 2", a.srv.tcp.open())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !ping(t, dialFrom(t, "127.0.0.3", a.target())) {
		t.Error("a connection after one was closed: no answer")
	}
}
