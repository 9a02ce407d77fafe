package dialer

// SDP offer/answer for audio-only G.711 calls (RFC 3264, RFC 4566).
// We parse with pion/sdp and write our own descriptions: they are small,
// fixed in shape, and golden-tested.

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/obzvon/obzvon/media"
)

// Direction is an SDP media direction attribute (RFC 3264 §5.1).
type Direction int

// Directions.
const (
	DirUnknown  Direction = iota // no direction attribute parsed yet
	DirSendRecv                  // a=sendrecv (the default)
	DirSendOnly                  // a=sendonly: the peer puts us on hold
	DirRecvOnly                  // a=recvonly
	DirInactive                  // a=inactive
)

var dirNames = [...]string{"unknown", "sendrecv", "sendonly", "recvonly", "inactive"}

func (d Direction) String() string {
	if int(d) < len(dirNames) {
		return dirNames[d]
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// answerTo returns the direction to answer an offer with (RFC 3264 §6.1).
func (d Direction) answerTo() Direction {
	switch d {
	case DirSendOnly:
		return DirRecvOnly
	case DirRecvOnly:
		return DirSendOnly
	case DirInactive:
		return DirInactive
	}
	return DirSendRecv
}

// canReceive reports whether the peer with this direction wants our audio.
func (d Direction) peerReceives() bool {
	return d == DirSendRecv || d == DirRecvOnly || d == DirUnknown
}

// Errors of SDP negotiation.
var (
	// ErrBadSDP means the body is not a parsable session description with
	// an audio stream; answer 400.
	ErrBadSDP = errors.New("malformed SDP")
	// ErrNoCommonCodec means the offer has no codec we support; answer 488.
	ErrNoCommonCodec = errors.New("no common codec (we support PCMU, PCMA)")
)

// Offer is what we need from a remote session description.
type Offer struct {
	// Addr is where the peer wants RTP; its address is unspecified
	// (0.0.0.0) for an old-style hold.
	Addr netip.AddrPort
	// Codecs are the supported audio codecs in the peer's order of
	// preference, with the payload types the peer uses for them.
	Codecs []CodecPT
	// EventPT is the payload type of telephone-event/8000, 0 if absent.
	EventPT uint8
	// Direction is the audio stream's direction.
	Direction Direction
	// Proto is the m= line's transport profile: RTP/AVP, RTP/SAVP...
	Proto string
	// Crypto are the usable a=crypto lines (SDES, RFC 4568), in the
	// peer's order of preference; lines we cannot use are left out.
	Crypto []sdesCrypto
}

// CodecPT is a codec with its negotiated payload type.
type CodecPT struct {
	Codec media.Codec
	PT    uint8
}

// ParseSDP reads a remote offer or answer.
func ParseSDP(body []byte) (*Offer, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	var md *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			md = m
			break
		}
	}
	if md == nil {
		return nil, fmt.Errorf("%w: no active audio stream (m=audio)", ErrBadSDP)
	}
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return nil, fmt.Errorf("%w: no connection address (c=)", ErrBadSDP)
	}
	host := ci.Address.Address
	if i := strings.IndexByte(host, '/'); i >= 0 { // multicast TTL
		host = host[:i]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("%w: connection address %q is not an IP", ErrBadSDP, host)
	}
	port := md.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: port %d", ErrBadSDP, port)
	}
	o := &Offer{Addr: netip.AddrPortFrom(ip, uint16(port)), Direction: DirSendRecv,
		Proto: strings.Join(md.MediaName.Protos, "/")}

	rtpmap := map[uint8]string{}
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			ptStr, enc, ok := strings.Cut(a.Value, " ")
			if !ok {
				continue
			}
			pt, err := strconv.ParseUint(ptStr, 10, 8)
			if err != nil {
				continue
			}
			rtpmap[uint8(pt)] = strings.ToLower(strings.TrimSpace(enc))
		case "sendrecv":
			o.Direction = DirSendRecv
		case "sendonly":
			o.Direction = DirSendOnly
		case "recvonly":
			o.Direction = DirRecvOnly
		case "inactive":
			o.Direction = DirInactive
		case "crypto":
			if c, err := parseCrypto(a.Value); err == nil {
				o.Crypto = append(o.Crypto, c)
			}
		}
	}
	if ip.IsUnspecified() && o.Direction == DirSendRecv {
		// RFC 3264 §8.4: c=0.0.0.0 is the old way to put a call on hold.
		o.Direction = DirSendOnly
	}
	for _, f := range md.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil || n > 127 {
			return nil, fmt.Errorf("%w: payload type %q", ErrBadSDP, f)
		}
		pt := uint8(n)
		enc, mapped := rtpmap[pt]
		switch {
		case enc == "pcmu/8000" || enc == "pcmu/8000/1" || (!mapped && pt == 0):
			o.Codecs = append(o.Codecs, CodecPT{media.PCMU, pt})
		case enc == "pcma/8000" || enc == "pcma/8000/1" || (!mapped && pt == 8):
			o.Codecs = append(o.Codecs, CodecPT{media.PCMA, pt})
		case enc == "telephone-event/8000":
			if o.EventPT == 0 {
				o.EventPT = pt
			}
		}
	}
	return o, nil
}

// Choose picks the codec for the answer: the peer's first supported one.
func (o *Offer) Choose() (CodecPT, error) {
	if len(o.Codecs) == 0 {
		return CodecPT{}, ErrNoCommonCodec
	}
	return o.Codecs[0], nil
}

// defaultEventPT is the payload type we offer for telephone-event.
const defaultEventPT = 101

// sdpSession identifies our side of one SDP session (o= line) and counts
// its versions (RFC 3264 §5, §8: the version grows with each new offer
// or answer).
type sdpSession struct {
	id      uint64
	version uint64
	srtp    *sdpSRTP // SDES keying (srtp.go); nil: plain RTP
	// srtpMode is rtp.srtp, for re-offers.
	srtpMode string
}

// writeSDP renders an audio description for addr with codecs in order.
func (s *sdpSession) writeSDP(addr netip.AddrPort, codecs []CodecPT, eventPT uint8, dir Direction) []byte {
	s.version++
	ipv := "IP4"
	if addr.Addr().Is6() {
		ipv = "IP6"
	}
	var b strings.Builder
	b.Grow(256)
	fmt.Fprintf(&b, "v=0\r\no=obzvon %d %d IN %s %s\r\ns=obzvon\r\nc=IN %s %s\r\nt=0 0\r\n",
		s.id, s.version, ipv, addr.Addr(), ipv, addr.Addr())
	fmt.Fprintf(&b, "m=audio %d %s", addr.Port(), s.proto())
	for _, c := range codecs {
		fmt.Fprintf(&b, " %d", c.PT)
	}
	if eventPT != 0 {
		fmt.Fprintf(&b, " %d", eventPT)
	}
	b.WriteString("\r\n")
	for _, c := range codecs {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", c.PT, c.Codec)
	}
	if eventPT != 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", eventPT, eventPT)
	}
	b.WriteString(s.cryptoLines())
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", dir)
	return []byte(b.String())
}

// offerCodecs is what we offer on outbound legs.
var offerCodecs = []CodecPT{{media.PCMU, 0}, {media.PCMA, 8}}
