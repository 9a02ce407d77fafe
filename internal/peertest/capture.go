package peertest

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/zaf/g711"
	"golang.org/x/sys/unix"
)

// UDPPacket is one captured UDP datagram.
type UDPPacket struct {
	Src, Dst netip.AddrPort
	Payload  []byte
	// Time is when the capture read it (user space: within a
	// millisecond or so of the wire on an idle machine).
	Time time.Time
}

// Capture records the UDP datagrams on the loopback interface, as a
// packet capture would (AF_PACKET, so it needs root or CAP_NET_RAW): what
// really went over the wire, independent of both ends.
type Capture struct {
	fd   int
	mu   sync.Mutex
	pkts []UDPPacket
	stop chan struct{}
	done chan struct{}
}

// StartCapture starts capturing IPv4 UDP on lo until Stop (or the test's
// end). Without the privilege it skips the test, or fails it under
// CI=true, like a missing peer.
func StartCapture(t testing.TB) *Capture {
	t.Helper()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	proto := htons(unix.ETH_P_IP)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		if errors.Is(err, unix.EPERM) && os.Getenv("CI") != "true" {
			t.Skipf("capture needs root or CAP_NET_RAW: %v", err)
		}
		t.Fatalf("capture: AF_PACKET socket (needs root or CAP_NET_RAW): %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: lo.Index}); err != nil {
		unix.Close(fd)
		t.Fatalf("capture: bind to lo: %v", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	c := &Capture{fd: fd, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	t.Cleanup(func() { c.Stop() })
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (c *Capture) run() {
	defer close(c.done)
	defer unix.Close(c.fd)
	buf := make([]byte, 65536)
	// After Stop the datagrams already queued on the socket are still
	// read (a starved reader lags behind: dropping its queue lost the
	// last second of a prompt), until the queue is empty or for at most
	// a second.
	var stopping time.Time
	for {
		if stopping.IsZero() {
			select {
			case <-c.stop:
				stopping = time.Now()
			default:
			}
		} else if time.Since(stopping) > time.Second {
			return
		}
		n, from, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			if !stopping.IsZero() {
				return // the queue is empty
			}
			continue // timeout: look at stop again
		}
		// On lo every packet is seen leaving and arriving; keep arrivals.
		if ll, ok := from.(*unix.SockaddrLinklayer); !ok || ll.Pkttype != unix.PACKET_HOST {
			continue
		}
		if p, ok := parseUDP(buf[:n]); ok {
			p.Time = time.Now()
			c.mu.Lock()
			c.pkts = append(c.pkts, p)
			c.mu.Unlock()
		}
	}
}

// parseUDP reads an IPv4 packet carrying UDP.
func parseUDP(b []byte) (UDPPacket, bool) {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != unix.IPPROTO_UDP {
		return UDPPacket{}, false
	}
	ihl := int(b[0]&0x0F) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total > len(b) || ihl < 20 || total < ihl+8 {
		return UDPPacket{}, false
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	u := b[ihl:total]
	return UDPPacket{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:2])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:4])),
		Payload: append([]byte(nil), u[8:]...),
	}, true
}

// Stop ends the capture (idempotent) and returns what it recorded.
func (c *Capture) Stop() []UDPPacket {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	return c.Packets()
}

// Packets returns the datagrams captured so far.
func (c *Capture) Packets() []UDPPacket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]UDPPacket(nil), c.pkts...)
}

// RTPToneShare looks at the captured datagrams that are RTP audio (version
// 2, payload type 0 or 8: the header is in clear even under SRTP), decodes
// the 20 ms of G.711 after each 12-byte header, and returns ToneShare of
// freq over them with the number of packets looked at. Plain audio
// carrying the tone gives a share near 1; SRTP's ciphertext, decoded as
// G.711, is noise (near 0).
func RTPToneShare(pkts []UDPPacket, freq float64) (share float64, n int) {
	var x []float64
	for _, p := range pkts {
		b := p.Payload
		if len(b) < 12+160 || b[0]>>6 != 2 {
			continue
		}
		var pcm []byte
		switch b[1] & 0x7F {
		case 0:
			pcm = g711.DecodeUlaw(b[12 : 12+160])
		case 8:
			pcm = g711.DecodeAlaw(b[12 : 12+160])
		default:
			continue
		}
		for i := 0; i+1 < len(pcm); i += 2 {
			x = append(x, float64(int16(binary.LittleEndian.Uint16(pcm[i:])))/32768)
		}
		n++
	}
	share, _ = ToneShare(x, 8000, freq)
	return share, n
}

// Between returns the datagrams sent from a port in [fromLo, fromHi] to a
// port in [toLo, toHi] (0, 65535 for any).
func Between(pkts []UDPPacket, fromLo, fromHi, toLo, toHi int) []UDPPacket {
	var out []UDPPacket
	for _, p := range pkts {
		s, d := int(p.Src.Port()), int(p.Dst.Port())
		if s >= fromLo && s <= fromHi && d >= toLo && d <= toHi {
			out = append(out, p)
		}
	}
	return out
}
