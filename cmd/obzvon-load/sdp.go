package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SDP offer/answer for one G.711 audio stream (RFC 4566 syntax, RFC 3264
// offer/answer). Only what the generator and obzvon exchange is handled:
// one m=audio line, c= at session or media level, static payload types.

// mediaDesc is what the generator needs from a peer's SDP.
type mediaDesc struct {
	addr netip.AddrPort // where to send RTP
	pts  []byte         // audio payload types offered/answered, in order
}

// buildSDP returns an SDP body announcing RTP at ip:port with the payload
// types pts (PCMU 0 and/or PCMA 8), 20 ms packets, sendrecv.
func buildSDP(ip netip.Addr, port int, sessID uint64, pts []byte) []byte {
	return buildSDPDir(ip, port, sessID, pts, "sendrecv")
}

// buildSDPDir is buildSDP with the direction attribute dir.
func buildSDPDir(ip netip.Addr, port int, sessID uint64, pts []byte, dir string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=obzvon-load %d %d IN IP4 %s\r\ns=obzvon-load\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP", sessID, sessID, ip, ip, port)
	for _, pt := range pts {
		fmt.Fprintf(&b, " %d", pt)
	}
	b.WriteString("\r\n")
	for _, pt := range pts {
		switch pt {
		case ptPCMU:
			b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		case ptPCMA:
			b.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		}
	}
	b.WriteString("a=ptime:20\r\na=" + dir + "\r\n")
	return []byte(b.String())
}

// parseSDP reads the first m=audio line of body and the connection address
// that applies to it.
func parseSDP(body []byte) (mediaDesc, error) {
	var (
		md                  mediaDesc
		sessAddr, mediaAddr netip.Addr
		inAudio, haveAudio  bool
		port                int
	)
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if len(line) < 2 || line[1] != '=' {
			continue
		}
		val := line[2:]
		switch line[0] {
		case 'm':
			if haveAudio {
				inAudio = false
				continue
			}
			f := strings.Fields(val)
			if len(f) < 4 || f[0] != "audio" {
				inAudio = false
				continue
			}
			p, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
			if err != nil || p < 0 || p > 65535 {
				return md, fmt.Errorf("sdp: bad port in m=%s", val)
			}
			port = p
			for _, s := range f[3:] {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 || n > 127 {
					return md, fmt.Errorf("sdp: bad payload type %q in m=%s", s, val)
				}
				md.pts = append(md.pts, byte(n))
			}
			inAudio, haveAudio = true, true
		case 'c':
			f := strings.Fields(val)
			if len(f) < 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
				return md, fmt.Errorf("sdp: bad c=%s", val)
			}
			a, err := netip.ParseAddr(strings.SplitN(f[2], "/", 2)[0])
			if err != nil {
				return md, fmt.Errorf("sdp: bad address in c=%s", val)
			}
			if inAudio {
				mediaAddr = a
			} else if !haveAudio {
				sessAddr = a
			}
		}
	}
	if !haveAudio {
		return md, errors.New("sdp: no m=audio line")
	}
	a := mediaAddr
	if !a.IsValid() {
		a = sessAddr
	}
	if !a.IsValid() {
		return md, errors.New("sdp: no c= line for the audio stream")
	}
	md.addr = netip.AddrPortFrom(a.Unmap(), uint16(port))
	return md, nil
}

// pickG711 returns the first of pts that is PCMU or PCMA.
func pickG711(pts []byte) (byte, bool) {
	for _, pt := range pts {
		if pt == ptPCMU || pt == ptPCMA {
			return pt, true
		}
	}
	return 0, false
}

// sdpDirection returns the direction attribute (RFC 3264 §5.1) of body:
// sendrecv, sendonly, recvonly or inactive (sendrecv when none is given;
// a media-level attribute wins over a session-level one).
func sdpDirection(body []byte) string {
	dir := "sendrecv"
	for _, line := range strings.Split(string(body), "\n") {
		switch a := strings.TrimSpace(line); a {
		case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
			dir = a[2:]
		}
	}
	return dir
}

// mirrorDirection is the answer's direction for an offer's (RFC 3264 §6.1).
func mirrorDirection(offer string) string {
	switch offer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}
