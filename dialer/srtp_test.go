package dialer

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/media"
)

const testKey = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz" // 30 bytes, RFC 4568's example

func TestParseCrypto(t *testing.T) {
	for _, tt := range []struct {
		in    string
		tag   int
		suite media.SRTPSuite
		err   string
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey, 1, media.AESCM128HMACSHA180, ""},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:" + testKey + "|2^31", 2, media.AESCM128HMACSHA132, ""},
		{"3 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(testKey, "="), 3, media.AESCM128HMACSHA180, ""},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^20|1:4", 0, 0, "MKI not supported"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|1:4", 0, 0, "MKI not supported"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + " UNENCRYPTED_SRTP", 0, 0, "session parameters"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + ";inline:" + testKey, 0, 0, "one inline: key"},
		{"1 AEAD_AES_256_GCM inline:" + testKey, 0, 0, "not supported"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:QUJD", 0, 0, "not 30 bytes"},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:!!!", 0, 0, "not 30 bytes"},
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + testKey, 0, 0, "tag"},
		{"1 AES_CM_128_HMAC_SHA1_80", 0, 0, "want TAG SUITE"},
		{"1 AES_CM_128_HMAC_SHA1_80 key:" + testKey, 0, 0, "one inline: key"},
	} {
		c, err := parseCrypto(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseCrypto(%q) = %v, want error with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || c.Tag != tt.tag || c.Key.Suite != tt.suite {
			t.Errorf("parseCrypto(%q) = %+v, %v; want tag %d %v", tt.in, c, err, tt.tag, tt.suite)
			continue
		}
		if back, err := parseCrypto(c.String()); err != nil || back != c {
			t.Errorf("parseCrypto(%q.String()) = %+v, %v; want the same line", tt.in, back, err)
		}
	}
}

func offerWith(proto string, lines ...string) *Offer {
	o := &Offer{Proto: proto, Addr: netip.MustParseAddrPort("127.0.0.1:4000")}
	for _, l := range lines {
		if c, err := parseCrypto(l); err == nil {
			o.Crypto = append(o.Crypto, c)
		}
	}
	return o
}

func TestAnswerSRTP(t *testing.T) {
	c80 := "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey
	c32 := "7 AES_CM_128_HMAC_SHA1_32 inline:" + testKey
	gcm := "1 AEAD_AES_128_GCM inline:" + testKey
	for _, tt := range []struct {
		name      string
		mode, tr  string
		off       *Offer
		err       error
		srtp      bool
		tag       int
		suite     media.SRTPSuite
		wantProto string
	}{
		{"plain", config.SRTPOff, "UDP", offerWith("RTP/AVP"), nil, false, 0, 0, "RTP/AVP"},
		{"savp, srtp off", config.SRTPOff, "TLS", offerWith("RTP/SAVP", c80), ErrSRTPOff, false, 0, 0, ""},
		{"savp over udp, tls mode", config.SRTPTLS, "UDP", offerWith("RTP/SAVP", c80), ErrSRTPNeedsTLS, false, 0, 0, ""},
		{"savp over tls", config.SRTPTLS, "TLS", offerWith("RTP/SAVP", c80), nil, true, 1, media.AESCM128HMACSHA180, "RTP/SAVP"},
		{"savp over udp, any", config.SRTPAny, "UDP", offerWith("RTP/SAVP", c32, c80), nil, true, 7, media.AESCM128HMACSHA132, "RTP/SAVP"},
		{"savpf", config.SRTPAny, "TCP", offerWith("RTP/SAVPF", c80), nil, true, 1, media.AESCM128HMACSHA180, "RTP/SAVPF"},
		{"savp, only gcm", config.SRTPAny, "TLS", offerWith("RTP/SAVP", gcm), ErrNoCryptoSuite, false, 0, 0, ""},
		{"savp, gcm first", config.SRTPAny, "TLS", offerWith("RTP/SAVP", gcm, c32), nil, true, 7, media.AESCM128HMACSHA132, "RTP/SAVP"},
		{"best effort, srtp off", config.SRTPOff, "UDP", offerWith("RTP/AVP", c80), nil, false, 0, 0, "RTP/AVP"},
		{"best effort over udp, tls mode", config.SRTPTLS, "UDP", offerWith("RTP/AVP", c80), nil, false, 0, 0, "RTP/AVP"},
		{"best effort over tls", config.SRTPTLS, "TLS", offerWith("RTP/AVP", c80), nil, true, 1, media.AESCM128HMACSHA180, "RTP/AVP"},
		{"dtls-srtp", config.SRTPAny, "UDP", offerWith("UDP/TLS/RTP/SAVP"), ErrUnsupportedProfile, false, 0, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sess := &sdpSession{}
			err := answerSRTP(tt.mode, tt.tr, tt.off, sess)
			if !errors.Is(err, tt.err) {
				t.Fatalf("answerSRTP = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			k := sess.srtp.params()
			if (k != nil) != tt.srtp {
				t.Fatalf("keys %+v, want SRTP %v", k, tt.srtp)
			}
			if sess.proto() != tt.wantProto {
				t.Errorf("answer profile %q, want %q", sess.proto(), tt.wantProto)
			}
			if !tt.srtp {
				if l := sess.cryptoLines(); l != "" {
					t.Errorf("plain answer has crypto lines %q", l)
				}
				return
			}
			if sess.srtp.local.Tag != tt.tag || k.Send.Suite != tt.suite || k.Recv != tt.off.Crypto[0].Key {
				t.Errorf("answer tag %d, keys %+v; want tag %d suite %v and the offer's key to receive", sess.srtp.local.Tag, k, tt.tag, tt.suite)
			}
			if k.Send.Key == k.Recv.Key {
				t.Errorf("we send with the peer's key; want our own")
			}
			b := sess.writeSDP(netip.MustParseAddrPort("127.0.0.1:20000"), []CodecPT{{media.PCMU, 0}}, 0, DirSendRecv)
			back, err := ParseSDP(b)
			if err != nil || back.Proto != tt.wantProto || len(back.Crypto) != 1 || back.Crypto[0].Key != k.Send || back.Crypto[0].Tag != tt.tag {
				t.Errorf("our answer:\n%s\nparses as %+v, %v; want %s with one crypto line (tag %d, our key)", b, back, err, tt.wantProto, tt.tag)
			}
		})
	}
}

// Our SRTP offer has one line per suite with its own key; the answer picks
// a tag, and the keys follow from it. An answer that is not on SRTP's
// profile, or names no tag of ours, fails.
func TestOfferAndTakeSRTPAnswer(t *testing.T) {
	sess := &sdpSession{}
	if err := offerSRTP(sess); err != nil {
		t.Fatal(err)
	}
	b := string(sess.writeSDP(netip.MustParseAddrPort("127.0.0.1:20000"), offerCodecs, defaultEventPT, DirSendRecv))
	if !strings.Contains(b, "m=audio 20000 RTP/SAVP 0 8 101\r\n") || strings.Count(b, "a=crypto:") != 2 ||
		!strings.Contains(b, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") || !strings.Contains(b, "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:") {
		t.Fatalf("SRTP offer:\n%s\nwant RTP/SAVP with crypto lines 1 (_80) and 2 (_32)", b)
	}
	off, _ := ParseSDP([]byte(b))
	if off.Crypto[0].Key == off.Crypto[1].Key {
		t.Errorf("both offered lines carry the same key")
	}
	theirs, _ := media.NewSRTPKey(media.AESCM128HMACSHA132)
	ans := &Offer{Proto: "RTP/AVP", Crypto: []sdesCrypto{{Tag: 2, Key: theirs}}}
	if _, err := takeSRTPAnswer(sess, ans); !errors.Is(err, ErrNoCryptoSuite) {
		t.Errorf("answer on RTP/AVP to an SRTP offer: %v, want ErrNoCryptoSuite", err)
	}
	ans.Proto = "RTP/SAVP"
	ans.Crypto[0].Tag = 5
	if _, err := takeSRTPAnswer(sess, ans); !errors.Is(err, ErrNoCryptoSuite) {
		t.Errorf("answer with a tag we did not offer: %v, want ErrNoCryptoSuite", err)
	}
	ans.Crypto[0].Tag = 2
	k, err := takeSRTPAnswer(sess, ans)
	if err != nil || k.Send != off.Crypto[1].Key || k.Recv != theirs {
		t.Fatalf("takeSRTPAnswer = %+v, %v; want our tag-2 key to send, theirs to receive", k, err)
	}
	if b := string(sess.writeSDP(netip.MustParseAddrPort("127.0.0.1:20000"), offerCodecs[:1], 0, DirSendRecv)); strings.Count(b, "a=crypto:2 ") != 1 || strings.Count(b, "a=crypto:") != 1 {
		t.Errorf("after the answer our description has crypto %q, want only the agreed line 2", b)
	}
	// A 200 after early media must keep the tag agreed in the 183.
	if k2, err := takeSRTPAnswer(sess, ans); err != nil || *k2 != *k {
		t.Errorf("the same answer again = %+v, %v; want the same keys", k2, err)
	}
	// Plain offer, plain answer: nothing to do.
	if k, err := takeSRTPAnswer(&sdpSession{}, &Offer{Proto: "RTP/AVP"}); k != nil || err != nil {
		t.Errorf("plain offer: %+v, %v", k, err)
	}
}

// A re-offer keeps a call on SRTP: the same key from the peer keeps both
// contexts (our key too); a new key from the peer is taken and answered
// with a new key of ours; one without SRTP is refused (no downgrade).
func TestReofferSRTP(t *testing.T) {
	c80 := "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey
	sess := &sdpSession{}
	if err := answerSRTP(config.SRTPTLS, "TLS", offerWith("RTP/SAVP", c80), sess); err != nil {
		t.Fatal(err)
	}
	ours, theirs := sess.srtp.local.Key, sess.srtp.remote
	same := &Offer{Proto: "RTP/SAVP", Crypto: []sdesCrypto{{Tag: 4, Key: theirs}}}
	k, err := reofferSRTP(config.SRTPTLS, "TLS", same, sess)
	if err != nil || k.Send != ours || k.Recv != theirs || sess.srtp.local.Tag != 4 {
		t.Errorf("re-offer with the same key: %+v, %v (tag %d); want both keys kept, tag 4", k, err, sess.srtp.local.Tag)
	}
	newKey, _ := media.NewSRTPKey(media.AESCM128HMACSHA180)
	re := &Offer{Proto: "RTP/SAVP", Crypto: []sdesCrypto{{Tag: 3, Key: newKey}}}
	k, err = reofferSRTP(config.SRTPTLS, "TLS", re, sess)
	if err != nil || k.Send == ours || k.Send.Suite != ours.Suite || k.Recv != newKey || sess.srtp.local.Tag != 3 {
		t.Errorf("re-offer with a new key: %+v, %v (tag %d); want a new key of ours, theirs taken, tag 3", k, err, sess.srtp.local.Tag)
	}
	if _, err := reofferSRTP(config.SRTPTLS, "TLS", &Offer{Proto: "RTP/AVP"}, sess); !errors.Is(err, ErrSRTPDowngrade) {
		t.Errorf("plain re-offer in an SRTP call: %v, want ErrSRTPDowngrade", err)
	}
	plain := &sdpSession{}
	if k, err := reofferSRTP(config.SRTPOff, "UDP", &Offer{Proto: "RTP/AVP"}, plain); k != nil || err != nil {
		t.Errorf("plain re-offer in a plain call: %+v, %v", k, err)
	}
	if _, err := reofferSRTP(config.SRTPOff, "UDP", offerWith("RTP/SAVP", c80), plain); !errors.Is(err, ErrSRTPOff) {
		t.Errorf("SRTP re-offer with SRTP off: %v, want ErrSRTPOff", err)
	}
}

func TestDialTransportAndContact(t *testing.T) {
	parse := func(s string) *sip.Uri {
		t.Helper()
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil {
			t.Fatal(err)
		}
		return &u
	}
	for _, tt := range []struct {
		uri, registered, want string
	}{
		{"sip:1@127.0.0.1", "", "udp"},
		{"sip:1@127.0.0.1;transport=TCP", "", "tcp"},
		{"sip:1@127.0.0.1;transport=tls", "", "tls"},
		{"sips:1@127.0.0.1", "", "tls"},
		{"sip:1@127.0.0.1", "TLS", "tls"},
		{"sip:1@127.0.0.1;transport=udp", "TCP", "tcp"},
	} {
		if got := dialTransport(parse(tt.uri), tt.registered); got != tt.want {
			t.Errorf("dialTransport(%q, %q) = %q, want %q", tt.uri, tt.registered, got, tt.want)
		}
	}
	cfg := config.Default()
	cfg.SIP.TLSPort, cfg.SIP.ExternalHost = 5071, "192.0.2.10"
	srv := &Server{cfg: cfg}
	ours := &sip.ContactHeader{Address: *parse("sip:obzvon@127.0.0.1:5060")}
	if c := srv.contactFor(ours, parse("sip:1@127.0.0.1"), "udp"); c != ours {
		t.Errorf("contactFor(sip:, udp) = %s, want ours unchanged", c)
	}
	for _, tt := range []struct{ uri, want string }{
		{"sip:1@127.0.0.1;transport=tls", "sip:obzvon@192.0.2.10:5071;transport=tls"},
		{"sips:1@127.0.0.1", "sips:obzvon@192.0.2.10:5071"},
	} {
		if c := srv.contactFor(ours, parse(tt.uri), "tls"); c.Address.String() != tt.want {
			t.Errorf("contactFor(%s, tls) = %s, want %s (external host, TLS port)", tt.uri, c.Address.String(), tt.want)
		}
	}
}
