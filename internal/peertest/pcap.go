package peertest

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Capture is a tcpdump of loopback UDP traffic: what a peer really got on
// the wire, with the kernel's timestamps.
type Capture struct {
	t    *testing.T
	cmd  *exec.Cmd
	path string
	out  SyncBuffer
	done chan error
}

// UDPPacket is one captured UDP datagram.
type UDPPacket struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Payload  []byte
}

// StartCapture runs tcpdump on lo for UDP to or from any of ports until
// Stop. tcpdump needs root: outside CI a missing tcpdump or a non-root
// user skips the test; under CI=true it fails it.
func StartCapture(t *testing.T, ports ...int) *Capture {
	t.Helper()
	bin := RequirePeer(t, "tcpdump")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("capturing with tcpdump needs root")
		}
		t.Skip("capturing with tcpdump needs root")
	}
	var f []string
	for _, p := range ports {
		f = append(f, fmt.Sprintf("port %d", p))
	}
	c := &Capture{t: t, path: filepath.Join(t.TempDir(), "lo.pcap"), done: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	args := []string{"-i", "lo", "-n", "-U", "--immediate-mode", "-s", "512", "-w", c.path, "udp and (" + strings.Join(f, " or ") + ")"}
	c.cmd = exec.CommandContext(ctx, bin, args...)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	if err := c.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start tcpdump: %v", err)
	}
	go func() { c.done <- c.cmd.Wait(); cancel() }()
	t.Cleanup(func() { c.stop() })
	// tcpdump says "listening on lo" once the capture runs.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.out.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", c.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func (c *Capture) stop() {
	select {
	case err := <-c.done:
		c.done <- err
		return
	default:
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-c.done:
		c.done <- err
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		c.done <- <-c.done
	}
}

// Stop ends the capture and returns its UDP datagrams in order.
func (c *Capture) Stop() []UDPPacket {
	c.t.Helper()
	c.stop()
	b, err := os.ReadFile(c.path)
	if err != nil {
		c.t.Fatalf("read capture: %v (%s)", err, c.out.String())
	}
	pkts, err := ParsePcap(b)
	if err != nil {
		c.t.Fatalf("parse capture: %v", err)
	}
	return pkts
}

// ParsePcap reads the UDP/IPv4 datagrams of a classic pcap file
// (Ethernet, Linux cooked v1 or v2 link layers).
func ParsePcap(b []byte) ([]UDPPacket, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("pcap: %d bytes, no header", len(b))
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	default:
		switch binary.BigEndian.Uint32(b) {
		case 0xa1b2c3d4:
			bo = binary.BigEndian
		case 0xa1b23c4d:
			bo, nano = binary.BigEndian, true
		default:
			return nil, fmt.Errorf("pcap: bad magic % x", b[:4])
		}
	}
	link := bo.Uint32(b[20:])
	var out []UDPPacket
	for off := 24; off+16 <= len(b); {
		sec, frac := bo.Uint32(b[off:]), bo.Uint32(b[off+4:])
		incl := int(bo.Uint32(b[off+8:]))
		off += 16
		if off+incl > len(b) {
			break
		}
		pkt := b[off : off+incl]
		off += incl
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		var ip []byte
		switch link {
		case 1: // Ethernet
			if len(pkt) < 14 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
				continue
			}
			ip = pkt[14:]
		case 113: // Linux cooked v1
			if len(pkt) < 16 || binary.BigEndian.Uint16(pkt[14:]) != 0x0800 {
				continue
			}
			ip = pkt[16:]
		case 276: // Linux cooked v2
			if len(pkt) < 20 || binary.BigEndian.Uint16(pkt[0:]) != 0x0800 {
				continue
			}
			ip = pkt[20:]
		default:
			return nil, fmt.Errorf("pcap: link type %d not supported", link)
		}
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 17 {
			continue
		}
		ihl := int(ip[0]&0x0f) * 4
		if len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), binary.BigEndian.Uint16(udp[0:]))
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), binary.BigEndian.Uint16(udp[2:]))
		out = append(out, UDPPacket{Time: time.Unix(int64(sec), ns), Src: src, Dst: dst, Payload: append([]byte(nil), udp[8:]...)})
	}
	return out, nil
}
