package main

import (
	"encoding/binary"
	"errors"
)

// RTP fixed header (RFC 3550 §5.1): V=2, no padding, no extension, no
// CSRC when we build it; parsing skips CSRCs and an extension if present.
const rtpHeaderLen = 12

var errShortRTP = errors.New("rtp: packet shorter than its header")
var errNotRTP = errors.New("rtp: version is not 2")

// putRTPHeader writes a 12-byte RTP header into b[:12].
func putRTPHeader(b []byte, marker bool, pt byte, seq uint16, ts, ssrc uint32) {
	b[0] = 0x80
	b[1] = pt & 0x7f
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], seq)
	binary.BigEndian.PutUint32(b[4:8], ts)
	binary.BigEndian.PutUint32(b[8:12], ssrc)
}

// rtpHeader is the part of a parsed RTP header the generator uses.
type rtpHeader struct {
	pt         byte
	marker     bool // M bit: the start of a talkspurt (or of a new source switched onto the stream)
	seq        uint16
	ts         uint32
	ssrc       uint32
	payloadOff int
	payloadEnd int
}

// parseRTP parses the header of b without allocating (RFC 3550 §5.1,
// padding per §5.1 P bit, extension per §5.3.1).
func parseRTP(b []byte) (rtpHeader, error) {
	var h rtpHeader
	if len(b) < rtpHeaderLen {
		return h, errShortRTP
	}
	if b[0]>>6 != 2 {
		return h, errNotRTP
	}
	h.pt = b[1] & 0x7f
	h.marker = b[1]&0x80 != 0
	h.seq = binary.BigEndian.Uint16(b[2:4])
	h.ts = binary.BigEndian.Uint32(b[4:8])
	h.ssrc = binary.BigEndian.Uint32(b[8:12])
	off := rtpHeaderLen + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // extension
		if len(b) < off+4 {
			return h, errShortRTP
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > 0 { // padding
		end -= int(b[end-1])
	}
	if off > end {
		return h, errShortRTP
	}
	h.payloadOff, h.payloadEnd = off, end
	return h, nil
}

// maxSeqJump is how far a sequence number may jump before the stream is
// taken as restarted (RFC 3550 A.1 MAX_DROPOUT is 3000).
const maxSeqJump = 3000

// seqStream counts what arrived of one RTP stream (one SSRC) and how many
// packets are missing by its sequence numbers (RFC 3550 A.3: expected =
// extended highest - base + 1; lost = expected - received).
type seqStream struct {
	started  bool
	base     uint32 // extended first sequence number
	maxSeq   uint16
	cycles   uint64
	received uint64
}

// add records one packet with sequence number seq. It returns false when
// seq jumped so far that the stream must be restarted by the caller.
func (s *seqStream) add(seq uint16) bool {
	if !s.started {
		*s = seqStream{started: true, base: uint32(seq), maxSeq: seq, received: 1}
		return true
	}
	d := int16(seq - s.maxSeq)
	if d > 0 {
		if int(seq-s.maxSeq) > maxSeqJump {
			return false
		}
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
	} else if int(s.maxSeq-seq) > maxSeqJump {
		return false
	}
	s.received++
	return true
}

// expected is the number of packets from the first to the highest
// sequence number seen.
func (s *seqStream) expected() uint64 {
	if !s.started {
		return 0
	}
	return uint64(s.cycles) + uint64(s.maxSeq) - uint64(s.base) + 1
}

// lost is expected minus received, never negative (duplicates can make
// received exceed expected).
func (s *seqStream) lost() uint64 {
	e := s.expected()
	if s.received >= e {
		return 0
	}
	return e - s.received
}
