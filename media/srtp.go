package media

// SRTP (RFC 3711) for legs keyed by SDES (RFC 4568): the AES-CM and
// HMAC-SHA1 transforms of the two suites every SDES phone and trunk
// speaks, AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32.
//
// The transform is written here rather than taken from pion/srtp's
// Context: that one allocates on every packet (the HMAC's Sum(nil), the
// tag slice, a closure per replay check; 5 allocations and 80 bytes per
// protect+unprotect pair with v3.0.10), and the engine's hot path
// allocates nothing. Everything a packet needs (the AES block, the HMAC
// state, the counter block, the digest, the output buffer) is set up once
// per leg and direction at Start. pion/srtp serves as the reference the
// tests check this code against, besides the RFC 3711 test vectors.
//
// Only SRTP is keyed: the engine neither sends nor reads RTCP, so SRTCP
// is not needed. Key derivation rate 0 and no MKI (RFC 3711 §8.1), as
// SDES lines without lifetime or MKI parameters mean.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strconv"
)

// SRTPSuite is an SRTP crypto suite of SDES (RFC 4568 §6.2).
type SRTPSuite int

// SRTP crypto suites.
const (
	// SRTPSuiteUnknown is the zero value: no suite.
	SRTPSuiteUnknown SRTPSuite = iota
	// AESCM128HMACSHA180 is AES_CM_128_HMAC_SHA1_80: AES-128 in counter
	// mode and an 80-bit HMAC-SHA1 tag (RFC 4568 §6.2.1).
	AESCM128HMACSHA180
	// AESCM128HMACSHA132 is AES_CM_128_HMAC_SHA1_32: the same with a
	// 32-bit tag (RFC 4568 §6.2.2).
	AESCM128HMACSHA132
)

var srtpSuiteNames = [...]string{"", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"}

// String returns the suite's SDES name.
func (s SRTPSuite) String() string {
	if s > SRTPSuiteUnknown && int(s) < len(srtpSuiteNames) {
		return srtpSuiteNames[s]
	}
	return "SRTPSuite(" + strconv.Itoa(int(s)) + ")"
}

// ParseSRTPSuite returns the suite with this SDES name.
func ParseSRTPSuite(name string) (SRTPSuite, error) {
	for i, n := range srtpSuiteNames {
		if i > 0 && n == name {
			return SRTPSuite(i), nil
		}
	}
	return SRTPSuiteUnknown, fmt.Errorf("media: SRTP suite %q not supported (want AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32)", name)
}

// TagLen is the length in bytes of the authentication tag the suite
// appends to each packet.
func (s SRTPSuite) TagLen() int {
	if s == AESCM128HMACSHA132 {
		return 4
	}
	return 10
}

// SRTPKeyLen is the length of an SDES inline key: a 16-byte master key
// followed by a 14-byte master salt.
const SRTPKeyLen = 30

// SRTPKey is a crypto suite with its master key and salt.
type SRTPKey struct {
	Suite SRTPSuite
	// Key is the master key (16 bytes) then the master salt (14 bytes),
	// as an SDES inline key carries them (RFC 4568 §6.1).
	Key [SRTPKeyLen]byte
}

// NewSRTPKey returns a fresh random master key and salt for suite.
func NewSRTPKey(suite SRTPSuite) (SRTPKey, error) {
	k := SRTPKey{Suite: suite}
	if suite != AESCM128HMACSHA180 && suite != AESCM128HMACSHA132 {
		return k, fmt.Errorf("media: SRTP suite %v not supported", suite)
	}
	if _, err := rand.Read(k.Key[:]); err != nil {
		return k, fmt.Errorf("media: SRTP key: %w", err)
	}
	return k, nil
}

// SRTP keys a leg's media (RFC 3711). Under SDES each side encrypts what
// it sends with its own key and tells the other that key in its session
// description (RFC 4568 §6.1).
type SRTP struct {
	// Send protects the packets the leg sends: our key, offered or
	// answered in our SDP.
	Send SRTPKey
	// Recv checks and decrypts the packets the leg receives: the peer's
	// key, from its SDP.
	Recv SRTPKey
}

// Errors of unprotect: why a received SRTP packet was dropped.
var (
	// errSRTPAuth means the packet's authentication tag did not match
	// (tampered, keyed otherwise, or not SRTP at all), or it was too short
	// to carry one.
	errSRTPAuth = errors.New("srtp: authentication failed")
	// errSRTPReplay means the packet's index was seen already, or is older
	// than the replay window (RFC 3711 §3.3.2).
	errSRTPReplay = errors.New("srtp: replayed packet")
)

// SRTP key derivation labels (RFC 3711 §4.3.1).
const (
	labelEncryption = 0x00
	labelAuth       = 0x01
	labelSalt       = 0x02
)

// srtpMaxPacket bounds what a leg sends: a 12-byte header and up to a
// datagram's payload, plus the tag.
const srtpMaxPacket = 1500 + 10

// srtpTransform holds the session keys of one direction of one leg and
// the scratch space each packet needs, so that no packet allocates.
type srtpTransform struct {
	block  cipher.Block // AES with the session encryption key
	salt   [14]byte     // session salt
	mac    hash.Hash    // HMAC-SHA1 with the session authentication key
	tagLen int
	ctr    [aes.BlockSize]byte
	ks     [aes.BlockSize]byte
	roc    [4]byte
	sum    [sha1.Size]byte
}

// newSRTPTransform derives the session keys from k (RFC 3711 §4.3, key
// derivation rate 0).
func newSRTPTransform(k SRTPKey) (*srtpTransform, error) {
	if k.Suite != AESCM128HMACSHA180 && k.Suite != AESCM128HMACSHA132 {
		return nil, fmt.Errorf("media: SRTP suite %v not supported", k.Suite)
	}
	master, err := aes.NewCipher(k.Key[:16])
	if err != nil {
		return nil, fmt.Errorf("media: SRTP master key: %w", err)
	}
	var salt [14]byte
	copy(salt[:], k.Key[16:])
	var encKey [16]byte
	var authKey [20]byte
	t := &srtpTransform{tagLen: k.Suite.TagLen()}
	deriveSRTPKey(master, &salt, labelEncryption, encKey[:])
	deriveSRTPKey(master, &salt, labelAuth, authKey[:])
	deriveSRTPKey(master, &salt, labelSalt, t.salt[:])
	if t.block, err = aes.NewCipher(encKey[:]); err != nil {
		return nil, fmt.Errorf("media: SRTP session key: %w", err)
	}
	t.mac = hmac.New(sha1.New, authKey[:])
	// The first Reset of an HMAC saves its pad states (an allocation);
	// do it here, not on the first packet.
	t.mac.Reset()
	return t, nil
}

// deriveSRTPKey is the AES-CM PRF of RFC 3711 §4.3.1 and §4.3.3 with
// key derivation rate 0: x = label·2^48 XOR master salt, output the
// keystream of AES-CM keyed with the master key at IV x·2^16.
func deriveSRTPKey(master cipher.Block, salt *[14]byte, label byte, out []byte) {
	var iv, ks [aes.BlockSize]byte
	copy(iv[:], salt[:])
	iv[7] ^= label
	for i := 0; i < len(out); i += aes.BlockSize {
		binary.BigEndian.PutUint16(iv[14:], uint16(i/aes.BlockSize))
		master.Encrypt(ks[:], iv[:])
		copy(out[i:], ks[:])
	}
}

// crypt XORs src with the AES-CM keystream of the packet (RFC 3711
// §4.1.1: IV = k_s·2^16 XOR SSRC·2^64 XOR index·2^16) into dst. dst and
// src may be the same slice.
func (t *srtpTransform) crypt(dst, src []byte, ssrc, roc uint32, seq uint16) {
	c := &t.ctr
	copy(c[:14], t.salt[:])
	c[4] ^= byte(ssrc >> 24)
	c[5] ^= byte(ssrc >> 16)
	c[6] ^= byte(ssrc >> 8)
	c[7] ^= byte(ssrc)
	c[8] ^= byte(roc >> 24)
	c[9] ^= byte(roc >> 16)
	c[10] ^= byte(roc >> 8)
	c[11] ^= byte(roc)
	c[12] ^= byte(seq >> 8)
	c[13] ^= byte(seq)
	for i := uint16(0); len(src) > 0; i++ {
		c[14], c[15] = byte(i>>8), byte(i)
		t.block.Encrypt(t.ks[:], c[:])
		n := subtle.XORBytes(dst, src, t.ks[:])
		dst, src = dst[n:], src[n:]
	}
}

// tag computes the packet's authentication tag (RFC 3711 §4.2:
// HMAC-SHA1 over the authenticated portion and the ROC, truncated). The
// result lives in t until the next call.
func (t *srtpTransform) tag(authenticated []byte, roc uint32) []byte {
	t.mac.Reset()
	t.mac.Write(authenticated)
	binary.BigEndian.PutUint32(t.roc[:], roc)
	t.mac.Write(t.roc[:])
	return t.mac.Sum(t.sum[:0])[:t.tagLen]
}

// guessIndex estimates a packet's rollover counter from the highest
// sequence number seen, sl, and its counter, roc (RFC 3711 §3.3.1 and
// Appendix A). ok is false when the guess falls before the first
// rollover period (an index that cannot exist).
func guessIndex(roc uint32, sl, seq uint16) (v uint32, ok bool) {
	switch {
	case sl < 1<<15:
		if int(seq)-int(sl) > 1<<15 {
			if roc == 0 {
				return 0, false
			}
			return roc - 1, true
		}
	case int(sl)-(1<<15) > int(seq):
		return roc + 1, true
	}
	return roc, true
}

// srtpReplayWindow is how many indexes below the highest one received are
// remembered; older ones are refused (RFC 3711 §3.3.2: at least 64).
const srtpReplayWindow = 64

// srtpSource is the receive state of one SSRC: its rollover counter, the
// highest sequence number authenticated, and the replay window.
type srtpSource struct {
	ssrc   uint32
	roc    uint32
	sl     uint16
	window uint64 // bit i: index (highest - i) was received
	last   uint64 // receiver tick of the last packet, for eviction
	valid  bool
}

// srtpSources is how many SSRCs a receiver tracks at once; a new SSRC
// beyond that replaces the one heard from least recently. A peer sends
// one stream; a re-INVITE or a transfer may start another.
const srtpSources = 4

// srtpReceiver checks and decrypts what one leg receives. Only the leg's
// reader uses it.
type srtpReceiver struct {
	t    *srtpTransform
	srcs [srtpSources]srtpSource
	tick uint64
}

// unprotect authenticates an SRTP packet, checks it against the replay
// window, and decrypts its payload in place. On success h describes the
// plaintext packet pkt[:n] (padding stripped as by parseRTP). On failure
// nothing of the receiver's state changes.
func (r *srtpReceiver) unprotect(pkt []byte, h *rtpHeader) (n int, err error) {
	if err := h.parseHeader(pkt); err != nil {
		return 0, err
	}
	tl := r.t.tagLen
	n = len(pkt) - tl
	if n < h.payloadOff {
		return 0, errSRTPAuth
	}
	s, fresh := r.source(h.ssrc)
	roc, sl := s.roc, s.sl
	if fresh {
		roc, sl = 0, h.seq
	}
	v, ok := guessIndex(roc, sl, h.seq)
	if !ok {
		return 0, errSRTPReplay
	}
	index := uint64(v)<<16 | uint64(h.seq)
	highest := uint64(roc)<<16 | uint64(sl)
	var delta int64
	if !fresh {
		delta = int64(index) - int64(highest)
		if delta <= 0 && (-delta >= srtpReplayWindow || s.window&(1<<uint(-delta)) != 0) {
			return 0, errSRTPReplay
		}
	}
	if subtle.ConstantTimeCompare(r.t.tag(pkt[:n], v), pkt[n:]) != 1 {
		return 0, errSRTPAuth
	}
	r.t.crypt(pkt[h.payloadOff:n], pkt[h.payloadOff:n], h.ssrc, v, h.seq)
	if err := h.parse(pkt[:n]); err != nil {
		return 0, err // bad padding inside the encrypted part
	}
	// Authenticated: now the state may move (RFC 3711 §3.3.2).
	r.tick++
	switch {
	case fresh:
		*s = srtpSource{ssrc: h.ssrc, roc: v, sl: h.seq, window: 1, valid: true}
	case delta > 0:
		if delta >= srtpReplayWindow {
			s.window = 1
		} else {
			s.window = s.window<<uint(delta) | 1
		}
		s.roc, s.sl = v, h.seq
	default:
		s.window |= 1 << uint(-delta)
	}
	s.last = r.tick
	return n, nil
}

// source returns the state of ssrc, or the slot a new SSRC would take
// (fresh): a free one or the least recently heard.
func (r *srtpReceiver) source(ssrc uint32) (s *srtpSource, fresh bool) {
	var victim *srtpSource
	for i := range r.srcs {
		c := &r.srcs[i]
		if c.valid && c.ssrc == ssrc {
			return c, false
		}
		if victim == nil || (victim.valid && (!c.valid || c.last < victim.last)) {
			victim = c
		}
	}
	return victim, true
}

// srtpSender encrypts what one leg sends. It is used under the leg's
// tx.mu; the leg sends one SSRC, so one rollover state serves.
type srtpSender struct {
	t       *srtpTransform
	roc     uint32
	sl      uint16
	started bool
	buf     [srtpMaxPacket]byte
}

// protect encrypts an RTP packet with a 12-byte header (as Leg.send
// writes them) into the sender's buffer and appends the tag. The result
// is valid until the next call. b itself is not changed.
func (s *srtpSender) protect(b []byte) ([]byte, error) {
	const hdr = 12
	if len(b) < hdr || len(b)+s.t.tagLen > len(s.buf) {
		return nil, errRTPShort
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	seq := binary.BigEndian.Uint16(b[2:4])
	if !s.started {
		s.started, s.sl = true, seq
	}
	// The index of a packet sent out of order (a reordered forward) is
	// estimated as a receiver would (RFC 3711 §3.3.1).
	v, ok := guessIndex(s.roc, s.sl, seq)
	if !ok {
		v = 0
	}
	if uint64(v)<<16|uint64(seq) > uint64(s.roc)<<16|uint64(s.sl) {
		s.roc, s.sl = v, seq
	}
	n := len(b)
	copy(s.buf[:hdr], b[:hdr])
	s.t.crypt(s.buf[hdr:n], b[hdr:], ssrc, v, seq)
	copy(s.buf[n:], s.t.tag(s.buf[:n], v))
	return s.buf[:n+s.t.tagLen], nil
}

// srtpSession is a leg's SRTP state for one keying: both directions.
type srtpSession struct {
	keys SRTP
	send *srtpSender
	recv *srtpReceiver
}

func newSRTPSession(k SRTP) (*srtpSession, error) {
	if k.Send.Suite != k.Recv.Suite {
		return nil, fmt.Errorf("media: SRTP suites differ: send %v, receive %v", k.Send.Suite, k.Recv.Suite)
	}
	st, err := newSRTPTransform(k.Send)
	if err != nil {
		return nil, err
	}
	rt, err := newSRTPTransform(k.Recv)
	if err != nil {
		return nil, err
	}
	return &srtpSession{keys: k, send: &srtpSender{t: st}, recv: &srtpReceiver{t: rt}}, nil
}

// keySRTP sets c's SRTP session for the keying k (nil: plain RTP). Each
// direction whose key a re-INVITE keeps keeps its crypto context, so its
// rollover counter and replay window carry on (RFC 3711 §3.2, RFC 4568
// §7.1.4: the same key continues the context, and a reset index would
// reuse keystream); a new key starts a new context.
func (c *legConfig) keySRTP(k *SRTP, old *legConfig) error {
	if k == nil {
		return nil
	}
	s, err := newSRTPSession(*k)
	if err != nil {
		return err
	}
	if old != nil && old.srtp != nil {
		if old.srtp.keys.Send == k.Send {
			s.send = old.srtp.send
		}
		if old.srtp.keys.Recv == k.Recv {
			s.recv = old.srtp.recv
		}
		if s.send == old.srtp.send && s.recv == old.srtp.recv {
			s = old.srtp
		}
	}
	c.srtp = s
	return nil
}

// rejectSRTP counts a received packet dropped by SRTP.
func (l *Leg) rejectSRTP(err error) {
	l.e.dropped.Add(1)
	l.statsMu.Lock()
	l.in.rejected++
	switch err {
	case errSRTPAuth:
		l.in.srtpAuth++
		l.e.srtpAuth.Add(1)
	case errSRTPReplay:
		l.in.srtpReplay++
		l.e.srtpReplay.Add(1)
	}
	l.statsMu.Unlock()
}
