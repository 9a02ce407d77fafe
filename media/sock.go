package media

import (
	"net"
	"net/netip"
	"time"
)

// rtpSocket is a leg's RTP socket: a net.UDPConn read by the leg's own
// goroutine, or a raw non-blocking socket read by an epoll worker
// (EngineConfig.Workers, Linux). Sends happen under the leg's tx.mu,
// which Close also takes before closing the socket, so a send never hits
// a closed (and perhaps reused) descriptor.
type rtpSocket interface {
	// write sends b to the address the socket is connected to.
	write(b []byte) error
	// writeTo sends b to to.
	writeTo(b []byte, to netip.AddrPort) error
	// connect sets the default destination and the kernel's source filter.
	connect(to netip.AddrPort) error
	// disconnect dissolves what connect set.
	disconnect() error
	close() error
	// queued reports whether a datagram waits in the socket's receive
	// queue (read by nobody yet).
	queued() bool
	// rxStamp returns the kernel's arrival time of the last datagram read
	// (false: none known). The first call turns the stamps on.
	rxStamp() (time.Time, bool)
}

// newGoSocket wraps a socket the runtime's network poller reads.
func newGoSocket(c *net.UDPConn) (rtpSocket, error) { return newGoSocketOS(c) }
