package peertest

import (
	"net"
	"testing"
)

// TestUDPPortBound checks the socket-table reading WaitUDPBound relies
// on: a port is seen bound while a socket holds it, and not after.
func TestUDPPortBound(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	if !udpPortBound(port) {
		t.Errorf("port %d bound by this test: udpPortBound = false", port)
	}
	c.Close()
	if udpPortBound(port) {
		t.Errorf("port %d closed: udpPortBound = true", port)
	}
	c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer c6.Close()
	if p := c6.LocalAddr().(*net.UDPAddr).Port; !udpPortBound(p) {
		t.Errorf("IPv6 port %d bound: udpPortBound = false", p)
	}
}
