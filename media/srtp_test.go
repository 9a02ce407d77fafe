package media

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 3711 Appendix B.3: session keys derived from a master key and salt.
func TestSRTPKeyDerivationRFC3711(t *testing.T) {
	var k SRTPKey
	k.Suite = AESCM128HMACSHA180
	copy(k.Key[:16], unhex(t, "E1F97A0D3E018BE0D64FA32C06DE4139"))
	copy(k.Key[16:], unhex(t, "0EC675AD498AFEEBB6960B3AABE6"))
	master, err := aes.NewCipher(k.Key[:16])
	if err != nil {
		t.Fatal(err)
	}
	var salt [14]byte
	copy(salt[:], k.Key[16:])
	for _, tt := range []struct {
		name  string
		label byte
		n     int
		want  string
	}{
		{"cipher key", labelEncryption, 16, "C61E7A93744F39EE10734AFE3FF7A087"},
		{"cipher salt", labelSalt, 14, "30CBBC08863D8C85D49DB34A9AE1"},
		{"auth key", labelAuth, 20, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"},
	} {
		out := make([]byte, tt.n)
		deriveSRTPKey(master, &salt, tt.label, out)
		if got := strings.ToUpper(hex.EncodeToString(out)); got != tt.want {
			t.Errorf("%s = %s, want %s", tt.name, got, tt.want)
		}
	}
	tr, err := newSRTPTransform(k)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ToUpper(hex.EncodeToString(tr.salt[:])); got != "30CBBC08863D8C85D49DB34A9AE1" {
		t.Errorf("transform salt = %s", got)
	}
}

// RFC 3711 Appendix B.2: the AES-CM keystream for SSRC 0, index 0.
func TestSRTPKeystreamRFC3711(t *testing.T) {
	block, err := aes.NewCipher(unhex(t, "2B7E151628AED2A6ABF7158809CF4F3C"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &srtpTransform{block: block}
	copy(tr.salt[:], unhex(t, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD"))
	want := unhex(t, `E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0`)
	got := make([]byte, len(want))
	tr.crypt(got, got, 0, 0, 0)
	if !bytes.Equal(got, want) {
		t.Errorf("keystream\n got %X\nwant %X", got, want)
	}
}

func pionProfile(s SRTPSuite) srtp.ProtectionProfile {
	if s == AESCM128HMACSHA132 {
		return srtp.ProtectionProfileAes128CmHmacSha1_32
	}
	return srtp.ProtectionProfileAes128CmHmacSha1_80
}

func pionContext(t testing.TB, k SRTPKey, opts ...srtp.ContextOption) *srtp.Context {
	t.Helper()
	c, err := srtp.CreateContext(k.Key[:16], k.Key[16:], pionProfile(k.Suite), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustKey(t testing.TB, s SRTPSuite) SRTPKey {
	t.Helper()
	k, err := NewSRTPKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Our transform and pion/srtp's understand each other both ways, for both
// suites, across a sequence number wrap (the rollover counter) and with
// CSRCs, a header extension and padding in the packets we receive.
func TestSRTPInteropWithPion(t *testing.T) {
	for _, suite := range []SRTPSuite{AESCM128HMACSHA180, AESCM128HMACSHA132} {
		t.Run(suite.String(), func(t *testing.T) {
			k := mustKey(t, suite)
			tr, err := newSRTPTransform(k)
			if err != nil {
				t.Fatal(err)
			}
			send := &srtpSender{t: tr}
			pdec := pionContext(t, k, srtp.SRTPReplayProtection(64))
			tr2, _ := newSRTPTransform(k)
			recv := &srtpReceiver{t: tr2}
			penc := pionContext(t, k)

			for i := range 40 {
				seq := uint16(65520 + i) // wraps after 16 packets
				payload := bytes.Repeat([]byte{byte(i)}, 160)
				plain := make([]byte, 12+len(payload))
				putRTPHeader(plain, i == 0, 0, seq, uint32(i*160), 0x11223344)
				copy(plain[12:], payload)

				// ours -> pion
				wire, err := send.protect(plain)
				if err != nil {
					t.Fatal(err)
				}
				if len(wire) != len(plain)+suite.TagLen() {
					t.Fatalf("packet %d: SRTP length %d, want %d", i, len(wire), len(plain)+suite.TagLen())
				}
				if bytes.Contains(wire, payload[:16]) && i != 0 {
					t.Fatalf("packet %d: plaintext on the wire", i)
				}
				got, err := pdec.DecryptRTP(nil, wire, nil)
				if err != nil {
					t.Fatalf("packet %d (seq %d): pion cannot decrypt ours: %v", i, seq, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("packet %d: pion decrypted %x, want %x", i, got, plain)
				}

				// pion -> ours, with CSRC, extension and padding
				pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: seq, Timestamp: uint32(i * 160),
					SSRC: 0x55667788, CSRC: []uint32{7}}, Payload: payload}
				if i%3 == 1 {
					if err := pk.Header.SetExtension(1, []byte{1, 2}); err != nil {
						t.Fatal(err)
					}
				}
				if i%4 == 2 {
					pk.Header.Padding, pk.PaddingSize = true, 4
				}
				raw, err := pk.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				enc, err := penc.EncryptRTP(nil, raw, nil)
				if err != nil {
					t.Fatal(err)
				}
				var h rtpHeader
				n, err := recv.unprotect(enc, &h)
				if err != nil {
					t.Fatalf("packet %d (seq %d): we cannot unprotect pion's: %v", i, seq, err)
				}
				if h.seq != seq || h.pt != 8 || !bytes.Equal(enc[h.payloadOff:h.payloadEnd], payload) || n != len(raw) {
					t.Fatalf("packet %d: unprotected seq %d pt %d payload %x (n %d), want seq %d pt 8 %x (n %d)",
						i, h.seq, h.pt, enc[h.payloadOff:h.payloadEnd], n, seq, payload, len(raw))
				}
			}
			if send.roc != 1 || recv.srcs[0].roc != 1 {
				t.Errorf("rollover counters after the wrap: sender %d, receiver %d; want 1", send.roc, recv.srcs[0].roc)
			}
		})
	}
}

// A tampered packet (payload, header or tag) fails authentication and
// changes nothing; a packet seen before is a replay; one older than the
// window is refused; reordered packets within the window pass once.
func TestSRTPAuthenticationAndReplay(t *testing.T) {
	k := mustKey(t, AESCM128HMACSHA180)
	penc := pionContext(t, k)
	tr, _ := newSRTPTransform(k)
	recv := &srtpReceiver{t: tr}
	packet := func(seq uint16) []byte {
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 9},
			Payload: bytes.Repeat([]byte{0x55}, 160)}).Marshal()
		enc, err := penc.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	unprotect := func(b []byte) error {
		var h rtpHeader
		_, err := recv.unprotect(append([]byte(nil), b...), &h)
		return err
	}
	pkts := make([][]byte, 200)
	for i := range pkts {
		pkts[i] = packet(uint16(1000 + i))
	}
	for i := range 100 {
		if err := unprotect(pkts[i]); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
	}
	for _, off := range []int{1, 5, 12, 100, len(pkts[100]) - 1} { // header, payload, tag
		bad := append([]byte(nil), pkts[100]...)
		bad[off] ^= 0x01
		if err := unprotect(bad); !errors.Is(err, errSRTPAuth) {
			t.Errorf("packet with byte %d flipped: %v, want errSRTPAuth", off, err)
		}
	}
	if err := unprotect(pkts[100][:20]); !errors.Is(err, errSRTPAuth) {
		t.Errorf("truncated packet: %v, want errSRTPAuth", err)
	}
	if err := unprotect(pkts[100]); err != nil {
		t.Errorf("genuine packet after tampered copies: %v (state moved on a failed packet?)", err)
	}
	if err := unprotect(pkts[100]); !errors.Is(err, errSRTPReplay) {
		t.Errorf("packet 100 again: %v, want errSRTPReplay", err)
	}
	if err := unprotect(pkts[50]); !errors.Is(err, errSRTPReplay) {
		t.Errorf("packet 50 again: %v, want errSRTPReplay", err)
	}
	// 103 before 101 and 102 (reordering), then each once.
	for _, i := range []int{103, 101, 102} {
		if err := unprotect(pkts[i]); err != nil {
			t.Errorf("reordered packet %d: %v", i, err)
		}
	}
	if err := unprotect(pkts[101]); !errors.Is(err, errSRTPReplay) {
		t.Errorf("reordered packet 101 again: %v, want errSRTPReplay", err)
	}
	// Jump ahead: 190; 120 is now 70 behind, outside the 64-packet window.
	if err := unprotect(pkts[190]); err != nil {
		t.Fatal(err)
	}
	if err := unprotect(pkts[120]); !errors.Is(err, errSRTPReplay) {
		t.Errorf("packet 70 behind the highest: %v, want errSRTPReplay (too old)", err)
	}
	if err := unprotect(pkts[140]); err != nil {
		t.Errorf("packet 50 behind the highest, never seen: %v, want accepted", err)
	}
	// A packet keyed with another key does not authenticate.
	other := pionContext(t, mustKey(t, AESCM128HMACSHA180))
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1195, SSRC: 9}, Payload: make([]byte, 160)}).Marshal()
	enc, _ := other.EncryptRTP(nil, raw, nil)
	if err := unprotect(enc); !errors.Is(err, errSRTPAuth) {
		t.Errorf("packet under another key: %v, want errSRTPAuth", err)
	}
}

// The per-packet path allocates nothing, in either direction.
func TestSRTPNoAllocations(t *testing.T) {
	for _, suite := range []SRTPSuite{AESCM128HMACSHA180, AESCM128HMACSHA132} {
		k := mustKey(t, suite)
		st, _ := newSRTPTransform(k)
		rt, _ := newSRTPTransform(k)
		send, recv := &srtpSender{t: st}, &srtpReceiver{t: rt}
		plain := make([]byte, 12+160)
		buf := make([]byte, 1500)
		seq := uint16(0)
		var h rtpHeader
		allocs := testing.AllocsPerRun(200, func() {
			putRTPHeader(plain, false, 0, seq, uint32(seq)*160, 77)
			seq++
			wire, err := send.protect(plain)
			if err != nil {
				t.Fatal(err)
			}
			n := copy(buf, wire)
			if _, err := recv.unprotect(buf[:n], &h); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.1f allocations per protect+unprotect, want 0", suite, allocs)
		}
	}
}

func TestSRTPSuiteNames(t *testing.T) {
	for _, s := range []SRTPSuite{AESCM128HMACSHA180, AESCM128HMACSHA132} {
		got, err := ParseSRTPSuite(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSRTPSuite(%q) = %v, %v; want %v", s.String(), got, err, s)
		}
	}
	for _, bad := range []string{"", "AES_256_CM_HMAC_SHA1_80", "aes_cm_128_hmac_sha1_80", "AEAD_AES_128_GCM"} {
		if _, err := ParseSRTPSuite(bad); err == nil {
			t.Errorf("ParseSRTPSuite(%q) = nil error, want unsupported", bad)
		}
	}
	if _, err := NewSRTPKey(SRTPSuiteUnknown); err == nil {
		t.Errorf("NewSRTPKey(unknown) = nil error")
	}
	if s := SRTPSuite(9).String(); s != "SRTPSuite(9)" {
		t.Errorf("SRTPSuite(9).String() = %q", s)
	}
}

// srtpPeer is a test peer speaking SRTP with pion/srtp: the reference
// implementation on the far side of the engine's legs.
type srtpPeer struct {
	*peer
	key      SRTPKey // what the peer encrypts with
	enc, dec *srtp.Context
	sent     [][]byte // the SRTP packets sent, as on the wire
}

// newSRTPPeer returns a peer and the leg keying that talks to it.
func newSRTPPeer(t testing.TB, suite SRTPSuite) (*srtpPeer, *SRTP) {
	t.Helper()
	k := &SRTP{Send: mustKey(t, suite), Recv: mustKey(t, suite)}
	p := &srtpPeer{peer: newPeer(t), key: k.Recv}
	p.enc = pionContext(t, k.Recv)
	p.dec = pionContext(t, k.Send, srtp.SRTPReplayProtection(64))
	return p, k
}

// sendTone sends n 20 ms SRTP packets of a tone.
func (p *srtpPeer) sendTone(to netip.AddrPort, c Codec, pt uint8, freq float64, n int) {
	p.t.Helper()
	for i := range n {
		pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: i == 0, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc},
			Payload: Encode(nil, toneSamples(freq, 8000, i*FrameSamples, FrameSamples), c)}
		raw, err := pk.Marshal()
		if err != nil {
			p.t.Fatal(err)
		}
		enc, err := p.enc.EncryptRTP(nil, raw, nil)
		if err != nil {
			p.t.Fatal(err)
		}
		p.sent = append(p.sent, enc)
		if _, err := p.conn.WriteToUDPAddrPort(enc, to); err != nil {
			p.t.Fatal(err)
		}
		p.seq++
		p.ts += FrameSamples
	}
}

// recvSRTP reads n packets, checks they are SRTP that authenticates, and
// returns them decrypted and as they came on the wire.
func (p *srtpPeer) recvSRTP(n int) (plain []rtp.Packet, wire [][]byte) {
	p.t.Helper()
	buf := make([]byte, 1500)
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(plain) < n {
		k, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			p.t.Fatalf("received %d of %d packets: %v", len(plain), n, err)
		}
		w := append([]byte(nil), buf[:k]...)
		dec, err := p.dec.DecryptRTP(nil, w, nil)
		if err != nil {
			p.t.Fatalf("packet %d from the engine is not SRTP under the leg's key: %v", len(plain), err)
		}
		var pk rtp.Packet
		if err := pk.Unmarshal(dec); err != nil {
			p.t.Fatal(err)
		}
		plain, wire = append(plain, pk), append(wire, w)
	}
	return plain, wire
}

// toneInPayloads reports whether most of the raw packets hold the tone in
// the 20 ms of G.711 after a 12-byte header, decoded as c: the check a
// wire capture makes.
func toneInPayloads(pkts [][]byte, c Codec, freq float64) bool {
	tonal := 0
	for _, b := range pkts {
		if len(b) >= 12+FrameSamples && hasTone(Decode(nil, b[12:12+FrameSamples], c), freq) {
			tonal++
		}
	}
	return tonal > len(pkts)/2
}

// A phone on SRTP bridged to a trunk on plain RTP, recorded: each hears
// the other, the recording holds the phone's decrypted tone, the phone's
// wire carries no plaintext audio either way, and tampered and replayed
// packets are dropped and counted without reaching the trunk.
func TestSRTPLegBridgedToPlainLeg(t *testing.T) {
	for _, suite := range []SRTPSuite{AESCM128HMACSHA180, AESCM128HMACSHA132} {
		t.Run(suite.String(), func(t *testing.T) {
			e := newTestEngine(t)
			phone, keys := newSRTPPeer(t, suite)
			trunk := newPeer(t)
			a := startLeg(t, e, LegParams{Remote: phone.addr(), Codec: PCMU, EventPT: 101, SRTP: keys})
			b := startLeg(t, e, LegParams{Remote: trunk.addr(), Codec: PCMA, EventPT: 101})
			rec, err := NewRecorder(filepath.Join(t.TempDir(), "srtp.wav"))
			if err != nil {
				t.Fatal(err)
			}
			br, err := e.Connect(a, b, rec)
			if err != nil {
				t.Fatal(err)
			}
			const n = 50
			phone.sendTone(a.LocalAddr(), PCMU, 0, 1000, n)
			toTrunk := trunk.recv(n)
			if pcm := checkStream(t, toTrunk, 8, PCMA); !hasTone(pcm, 1000) {
				t.Errorf("trunk (plain PCMA) does not hear the phone's 1 kHz tone")
			}
			trunk.sendTone(b.LocalAddr(), PCMA, 8, 1000, n)
			toPhone, wire := phone.recvSRTP(n)
			if pcm := checkStream(t, toPhone, 0, PCMU); !hasTone(pcm, 1000) {
				t.Errorf("phone (SRTP) does not hear the trunk's tone after decryption")
			}
			if toneInPayloads(wire, PCMU, 1000) {
				t.Errorf("the engine's packets to the phone carry the tone in clear")
			}
			var clear [][]byte // the plain leg's wire: the check must see the tone there
			for _, pk := range toTrunk {
				raw, _ := pk.Marshal()
				clear = append(clear, raw)
			}
			if !toneInPayloads(clear, PCMA, 1000) {
				t.Errorf("the wire check does not find the tone on the plain leg (the check is broken)")
			}
			if toneInPayloads(phone.sent, PCMU, 1000) {
				t.Errorf("the phone's packets carry the tone in clear (the test's SRTP peer is broken)")
			}

			// Tampered: one payload bit flipped in a packet not seen yet.
			// Replayed: a packet sent before.
			raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: phone.seq + 100, Timestamp: phone.ts, SSRC: phone.ssrc},
				Payload: Encode(nil, toneSamples(1000, 8000, 0, FrameSamples), PCMU)}).Marshal()
			bad, err := phone.enc.EncryptRTP(nil, raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			bad[40] ^= 0x10
			if _, err := phone.conn.WriteToUDPAddrPort(bad, a.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if _, err := phone.conn.WriteToUDPAddrPort(phone.sent[n-2], a.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			phone.sendTone(a.LocalAddr(), PCMU, 0, 1000, 1) // a genuine one after them
			trunk.recv(1)
			st := a.Stats()
			if st.SRTPAuthFailed != 1 || st.SRTPReplayed != 1 || st.PacketsIn != n+1 {
				t.Errorf("phone leg Stats() = %+v; want 1 auth failure, 1 replay, %d packets in", st, n+1)
			}
			if c := e.Counters(); c.SRTPAuthFailures != 1 || c.SRTPReplays != 1 {
				t.Errorf("Counters() = %+v; want 1 SRTP auth failure and 1 replay", c)
			}
			if bs := b.Stats(); bs.PacketsOut != n+1 {
				t.Errorf("trunk leg sent %d packets, want %d (a dropped packet was forwarded?)", bs.PacketsOut, n+1)
			}

			br.Disconnect()
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			left, right := readStereoWAV(t, rec.Path())
			if !hasTone(left, 1000) {
				t.Errorf("recording: left (the SRTP phone) has no 1 kHz tone: it was not decrypted")
			}
			if !hasTone(right, 1000) {
				t.Errorf("recording: right (the trunk) has no 1 kHz tone")
			}
		})
	}
}

// Two SRTP legs with different keys bridged: each side's packets are
// decrypted under one key and encrypted under the other; DTMF events pass
// and are detected on the decrypted stream.
func TestSRTPBothLegs(t *testing.T) {
	e := newTestEngine(t)
	p1, k1 := newSRTPPeer(t, AESCM128HMACSHA180)
	p2, k2 := newSRTPPeer(t, AESCM128HMACSHA132)
	a := startLeg(t, e, LegParams{Remote: p1.addr(), Codec: PCMU, EventPT: 101, SRTP: k1})
	b := startLeg(t, e, LegParams{Remote: p2.addr(), Codec: PCMU, EventPT: 101, SRTP: k2})
	if _, err := e.Connect(a, b, nil); err != nil {
		t.Fatal(err)
	}
	p1.sendTone(a.LocalAddr(), PCMU, 0, 1000, 20)
	got, wire := p2.recvSRTP(20)
	if pcm := checkStream(t, got, 0, PCMU); !hasTone(pcm, 1000) {
		t.Errorf("second SRTP peer does not hear the first's tone")
	}
	if toneInPayloads(wire, PCMU, 1000) {
		t.Errorf("tone in clear on the second leg's wire")
	}
	p2.sendTone(b.LocalAddr(), PCMU, 0, 1000, 20)
	if got, _ := p1.recvSRTP(20); !hasTone(checkStream(t, got, 0, PCMU), 1000) {
		t.Errorf("first SRTP peer does not hear the second's tone")
	}
	// An RFC 4733 event, encrypted: detected on a, passed to b as an event.
	for i, end := range []bool{false, true, true, true} {
		pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Marker: i == 0, SequenceNumber: p1.seq, Timestamp: p1.ts, SSRC: p1.ssrc},
			Payload: AppendEvent(nil, Event{Code: 7, End: end, Volume: 10, Duration: uint16(160 * (i + 1))})}
		raw, _ := pk.Marshal()
		enc, _ := p1.enc.EncryptRTP(nil, raw, nil)
		p1.conn.WriteToUDPAddrPort(enc, a.LocalAddr())
		p1.seq++
	}
	ev, _ := p2.recvSRTP(4)
	if got, err := ParseEvent(ev[0].Payload); err != nil || got.Code != 7 || ev[0].PayloadType != 101 {
		t.Errorf("event on the second leg: PT %d %+v %v, want PT 101 event 7", ev[0].PayloadType, got, err)
	}
	select {
	case d := <-a.DTMF():
		if d != '7' {
			t.Errorf("DTMF() = %q, want '7'", d)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no DTMF digit from the encrypted event")
	}
}

// A re-INVITE that keeps the keys keeps the replay state; new keys take
// effect for both directions.
func TestSRTPUpdateKeys(t *testing.T) {
	e := newTestEngine(t)
	phone, keys := newSRTPPeer(t, AESCM128HMACSHA180)
	trunk := newPeer(t)
	a := startLeg(t, e, LegParams{Remote: phone.addr(), Codec: PCMU, SRTP: keys})
	b := startLeg(t, e, LegParams{Remote: trunk.addr(), Codec: PCMU})
	if _, err := e.Connect(a, b, nil); err != nil {
		t.Fatal(err)
	}
	phone.sendTone(a.LocalAddr(), PCMU, 0, 1000, 3)
	trunk.recv(3)
	first := a.cfg.Load().srtp
	if err := a.Update(LegParams{Remote: phone.addr(), Codec: PCMU, SRTP: &SRTP{Send: keys.Send, Recv: keys.Recv}}); err != nil {
		t.Fatal(err)
	}
	if a.cfg.Load().srtp != first {
		t.Errorf("Update with the same keys replaced the SRTP session (replay state lost)")
	}
	phone.conn.WriteToUDPAddrPort(phone.sent[0], a.LocalAddr())
	phone.sendTone(a.LocalAddr(), PCMU, 0, 1000, 1)
	trunk.recv(1)
	if st := a.Stats(); st.SRTPReplayed != 1 {
		t.Errorf("replay after a same-key Update: SRTPReplayed = %d, want 1", st.SRTPReplayed)
	}
	// The peer re-keys, we keep our key: our sending context carries on
	// (its rollover counter; a reset would reuse keystream), the receiving
	// one is new.
	half := &SRTP{Send: keys.Send, Recv: mustKey(t, AESCM128HMACSHA180)}
	if err := a.Update(LegParams{Remote: phone.addr(), Codec: PCMU, SRTP: half}); err != nil {
		t.Fatal(err)
	}
	if s := a.cfg.Load().srtp; s.send != first.send || s.recv == first.recv {
		t.Errorf("Update with a new receive key: sender kept %v, receiver kept %v; want the sender kept, the receiver new",
			s.send == first.send, s.recv == first.recv)
	}
	// New keys on both sides.
	nk := &SRTP{Send: mustKey(t, AESCM128HMACSHA180), Recv: mustKey(t, AESCM128HMACSHA180)}
	if err := a.Update(LegParams{Remote: phone.addr(), Codec: PCMU, SRTP: nk}); err != nil {
		t.Fatal(err)
	}
	phone.enc, phone.dec = pionContext(t, nk.Recv), pionContext(t, nk.Send)
	phone.sendTone(a.LocalAddr(), PCMU, 0, 1000, 2)
	trunk.recv(2)
	trunk.sendTone(b.LocalAddr(), PCMU, 0, 1000, 2)
	phone.recvSRTP(2)
	if err := a.Update(LegParams{Remote: phone.addr(), Codec: PCMU, SRTP: &SRTP{Send: mustKey(t, AESCM128HMACSHA180), Recv: mustKey(t, AESCM128HMACSHA132)}}); err == nil {
		t.Errorf("Update with different suites per direction = nil error")
	}
}

// A re-INVITE in which the peer changes its key but we keep ours must not
// restart our sending context: after a sequence number wrap (rollover
// counter 1) the peer, continuing its context for our key, still
// authenticates what we send.
func TestSRTPSendContextSurvivesPeerRekey(t *testing.T) {
	e := newTestEngine(t)
	phone, keys := newSRTPPeer(t, AESCM128HMACSHA180)
	trunk := newPeer(t)
	a := startLeg(t, e, LegParams{Remote: phone.addr(), Codec: PCMU, SRTP: keys})
	b := startLeg(t, e, LegParams{Remote: trunk.addr(), Codec: PCMU})
	if _, err := e.Connect(a, b, nil); err != nil {
		t.Fatal(err)
	}
	a.tx.mu.Lock()
	a.tx.seq = 65530 // the next packets wrap
	a.tx.mu.Unlock()
	trunk.sendTone(b.LocalAddr(), PCMU, 0, 1000, 10)
	phone.recvSRTP(10)
	rekeyed := &SRTP{Send: keys.Send, Recv: mustKey(t, AESCM128HMACSHA180)}
	if err := a.Update(LegParams{Remote: phone.addr(), Codec: PCMU, SRTP: rekeyed}); err != nil {
		t.Fatal(err)
	}
	phone.enc = pionContext(t, rekeyed.Recv)
	trunk.sendTone(b.LocalAddr(), PCMU, 0, 1000, 5)
	if got, _ := phone.recvSRTP(5); !hasTone(checkStream(t, got, 0, PCMU), 1000) {
		t.Errorf("after the peer's re-key the peer does not hear the tone")
	}
	phone.sendTone(a.LocalAddr(), PCMU, 0, 1000, 3)
	trunk.recv(3)
}
