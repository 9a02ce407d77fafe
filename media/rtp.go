package media

import (
	"encoding/binary"
	"errors"
	"time"
)

// RTP header parsing for the hot path (RFC 3550 §5.1). pion/rtp's
// Header.Unmarshal allocates for CSRC lists and extensions; the switch needs
// only the fixed fields and the payload bounds, so it parses them in place.
// FuzzParseRTP checks this parser against pion/rtp.

// Errors of parseRTP.
var (
	// errRTPShort means the packet is shorter than its header says.
	errRTPShort = errors.New("rtp: packet too short")
	// errRTPVersion means the version field is not 2.
	errRTPVersion = errors.New("rtp: version is not 2")
)

// rtpHeader holds the fields of a received RTP packet the engine uses.
type rtpHeader struct {
	marker     bool
	pt         uint8
	seq        uint16
	ts         uint32
	ssrc       uint32
	payloadOff int // first payload byte
	payloadEnd int // one past the last payload byte (padding excluded)
}

// parseRTP parses the fixed header of b, skipping CSRCs and the header
// extension, and strips padding.
func parseRTP(b []byte) (h rtpHeader, err error) {
	err = h.parse(b)
	return h, err
}

// parse is parseRTP into h.
func (h *rtpHeader) parse(b []byte) error {
	if err := h.parseHeader(b); err != nil {
		return err
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: the last byte counts the padding bytes
		pad := int(b[end-1])
		if pad == 0 || end-pad < h.payloadOff {
			return errRTPShort
		}
		end -= pad
	}
	h.payloadEnd = end
	return nil
}

// parseHeader parses the fixed header of b and skips CSRCs and the header
// extension; the payload runs to the end of b (padding is not looked at:
// in SRTP it is encrypted, and the packet ends with the tag).
func (h *rtpHeader) parseHeader(b []byte) error {
	if len(b) < 12 {
		return errRTPShort
	}
	if b[0]>>6 != 2 {
		return errRTPVersion
	}
	cc := int(b[0] & 0x0F)
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7F
	h.seq = binary.BigEndian.Uint16(b[2:4])
	h.ts = binary.BigEndian.Uint32(b[4:8])
	h.ssrc = binary.BigEndian.Uint32(b[8:12])
	off := 12 + 4*cc
	if len(b) < off {
		return errRTPShort
	}
	if b[0]&0x10 != 0 { // extension: 16-bit profile, 16-bit length in words
		if len(b) < off+4 {
			return errRTPShort
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
		if len(b) < off {
			return errRTPShort
		}
	}
	h.payloadOff, h.payloadEnd = off, len(b)
	return nil
}

// putRTPHeader writes a 12-byte RTP header (no CSRC, no extension, no
// padding) into b[:12].
func putRTPHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) {
	b[0] = 0x80
	b[1] = pt & 0x7F
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], seq)
	binary.BigEndian.PutUint32(b[4:8], ts)
	binary.BigEndian.PutUint32(b[8:12], ssrc)
}

// Sequence tracking constants of RFC 3550 Appendix A.1.
const (
	rtpSeqMod     = 1 << 16
	maxDropout    = 3000
	maxMisorder   = 100
	minSequential = 2
)

// seqState is the per-source sequence state of RFC 3550 Appendix A.1, with
// the loss computation of A.3 and the interarrival jitter of A.8.
type seqState struct {
	ssrc          uint32
	probation     int
	maxSeq        uint16
	cycles        uint32 // shifted count of sequence number cycles
	baseSeq       uint32
	badSeq        uint32
	received      uint32
	jitter        uint32 // scaled by 16, timestamp units (A.8 integer form)
	transit       int32
	haveTransit   bool
	everValidated bool
}

// initSeq is init_seq of RFC 3550 A.1.
func (s *seqState) initSeq(seq uint16) {
	s.baseSeq = uint32(seq)
	s.maxSeq = seq
	s.badSeq = rtpSeqMod + 1
	s.cycles = 0
	s.received = 0
}

// newSource resets s for a new SSRC (RFC 3550 A.1: probation of
// minSequential packets).
func (s *seqState) newSource(ssrc uint32, seq uint16) {
	*s = seqState{ssrc: ssrc}
	s.initSeq(seq)
	s.maxSeq = seq - 1
	s.probation = minSequential
}

// update is update_seq of RFC 3550 A.1. It reports whether the packet is
// valid (counted); packets during probation or after a large jump are not.
func (s *seqState) update(seq uint16) bool {
	udelta := seq - s.maxSeq
	if s.probation > 0 {
		if seq == s.maxSeq+1 {
			s.probation--
			s.maxSeq = seq
			if s.probation == 0 {
				s.initSeq(seq)
				s.received++
				s.everValidated = true
				return true
			}
		} else {
			s.probation = minSequential - 1
			s.maxSeq = seq
		}
		return false
	}
	switch {
	case udelta < maxDropout:
		if seq < s.maxSeq { // wrapped
			s.cycles += rtpSeqMod
		}
		s.maxSeq = seq
	case uint32(udelta) <= rtpSeqMod-maxMisorder:
		// A very large jump: the sender restarted. Accept it only when
		// the next packet follows it (two sequential packets).
		if uint32(seq) == s.badSeq {
			s.initSeq(seq)
		} else {
			s.badSeq = (uint32(seq) + 1) & (rtpSeqMod - 1)
			return false
		}
	default:
		// duplicate or reordered packet
	}
	s.received++
	return true
}

// expected is the number of packets expected (RFC 3550 A.3).
func (s *seqState) expected() int64 {
	if !s.everValidated {
		return 0
	}
	extMax := int64(s.cycles) + int64(s.maxSeq)
	return extMax - int64(s.baseSeq) + 1
}

// lost is the cumulative number of packets lost (RFC 3550 A.3): expected
// minus received. Duplicates can make it negative.
func (s *seqState) lost() int64 {
	return s.expected() - int64(s.received)
}

// updateJitter feeds one packet's arrival (in timestamp units) and RTP
// timestamp into the interarrival jitter estimate (RFC 3550 §6.4.1, A.8).
func (s *seqState) updateJitter(arrival, ts uint32) {
	transit := int32(arrival - ts)
	if !s.haveTransit {
		s.transit, s.haveTransit = transit, true
		return
	}
	d := transit - s.transit
	s.transit = transit
	if d < 0 {
		d = -d
	}
	s.jitter += uint32(d) - ((s.jitter + 8) >> 4)
}

// jitterDuration returns the jitter estimate as a duration for a clock rate.
func (s *seqState) jitterDuration(clockRate int) time.Duration {
	return time.Duration(s.jitter>>4) * time.Second / time.Duration(clockRate)
}

// rxStats accumulates what a leg receives across source (SSRC) changes.
type rxStats struct {
	src      seqState
	hasSrc   bool
	lostPrev int64 // lost by earlier sources
}

// packet accounts one received packet of the given source. audio says
// whether it carries audio (events share one timestamp per event and would
// distort jitter, so they are kept out of it). It reports whether the packet
// is valid per RFC 3550 A.1.
func (r *rxStats) packet(ssrc uint32, seq uint16, ts, arrival uint32, audio bool) bool {
	if !r.hasSrc || ssrc != r.src.ssrc {
		if r.hasSrc {
			r.lostPrev += r.src.lost()
		}
		r.src.newSource(ssrc, seq)
		r.hasSrc = true
	}
	valid := r.src.update(seq)
	if valid && audio {
		r.src.updateJitter(arrival, ts)
	}
	return valid
}

// lost returns the cumulative number of packets lost over all sources.
func (r *rxStats) lost() int64 {
	return r.lostPrev + r.src.lost()
}
