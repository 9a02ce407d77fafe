package media

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
)

// TestSocketQueued checks the receive-queue probe AMD's silence clock
// relies on: a datagram sent and not read is seen, and not once read.
func TestSocketQueued(t *testing.T) {
	s, err := listenRaw(netip.MustParseAddr("127.0.0.1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if s.queued() {
		t.Fatal("a new socket has a datagram queued")
	}
	sa, err := syscall.Getsockname(s.fd)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("rtp")); err != nil {
		t.Fatal(err)
	}
	if !s.queued() { // loopback delivery completes within the send
		t.Fatal("a datagram sent to the socket is not seen queued")
	}
	if n, err := s.recvmmsg(newRecvBatch()); err != nil || n != 1 {
		t.Fatalf("recvmmsg = %d, %v", n, err)
	}
	if s.queued() {
		t.Error("the datagram was read, but the socket still reports one queued")
	}
}
