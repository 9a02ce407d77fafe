package dialer

// SRTP keyed by SDP Security Descriptions (RFC 4568) with the two suites
// package media implements. The offer/answer rules:
//
//   - An offer on RTP/SAVP (or RTP/SAVPF) is answered with SRTP when
//     rtp.srtp allows it for the transport the INVITE came over (tls: only
//     SIP over TLS, so the keys are not readable on the wire; any), with
//     our own fresh key on the first crypto line whose suite we support
//     (RFC 4568 §7.1.2). Otherwise it gets 488, never a plain RTP answer
//     (which the offerer could not use).
//   - An offer on RTP/AVP with crypto lines (best-effort SRTP, RFC 8643)
//     is answered with SRTP under the same conditions, else as plain RTP
//     (the crypto lines ignored), which the offerer accepts.
//   - A dial route with srtp = true offers RTP/SAVP with one crypto line
//     per suite, each with its own key; the answer must pick one.
//   - A re-INVITE of a call on SRTP must keep SRTP (refused with 488
//     otherwise: no downgrade by re-INVITE); the peer may change its key
//     (RFC 4568 §7.1.4), and we keep ours.
//
// Each side's a=crypto carries the key it encrypts with (RFC 4568 §6.1):
// ours goes into media.SRTP.Send, the peer's into media.SRTP.Recv.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/media"
)

// Errors of SRTP negotiation; each is answered with 488.
var (
	// ErrSRTPOff means an RTP/SAVP offer reached an appliance with
	// rtp.srtp = off.
	ErrSRTPOff = errors.New("SRTP offered but not enabled (rtp.srtp = off)")
	// ErrSRTPNeedsTLS means an RTP/SAVP offer came over SIP without TLS
	// while rtp.srtp = tls: its keys were readable on the wire.
	ErrSRTPNeedsTLS = errors.New("SRTP offered over SIP without TLS (rtp.srtp = tls)")
	// ErrNoCryptoSuite means no crypto line of an SRTP offer or answer is
	// usable: no supported suite, or MKI or session parameters we do not
	// implement.
	ErrNoCryptoSuite = errors.New("no usable SRTP crypto line (we support AES_CM_128_HMAC_SHA1_80 and _32, no MKI, no session parameters)")
	// ErrSRTPDowngrade means a re-offer would turn SRTP off in a call that
	// uses it.
	ErrSRTPDowngrade = errors.New("re-offer without SRTP in a call on SRTP")
	// ErrUnsupportedProfile means the m= line's transport profile is not
	// RTP/AVP, RTP/AVPF, RTP/SAVP or RTP/SAVPF (DTLS-SRTP, say).
	ErrUnsupportedProfile = errors.New("unsupported media transport profile")
)

// reason488 is the reason phrase of the 488 for a negotiation error.
func reason488(err error) string {
	switch {
	case errors.Is(err, ErrSRTPOff):
		return "Not Acceptable Here (SRTP not enabled)"
	case errors.Is(err, ErrSRTPNeedsTLS):
		return "Not Acceptable Here (SRTP keys need SIP over TLS)"
	case errors.Is(err, ErrNoCryptoSuite):
		return "Not Acceptable Here (no supported SRTP crypto suite)"
	case errors.Is(err, ErrSRTPDowngrade):
		return "Not Acceptable Here (SRTP cannot be turned off)"
	case errors.Is(err, ErrUnsupportedProfile):
		return "Not Acceptable Here (unsupported media profile)"
	}
	return "Not Acceptable Here"
}

// sdesCrypto is one a=crypto line (RFC 4568 §9.1) we can use.
type sdesCrypto struct {
	Tag int
	Key media.SRTPKey
}

// parseCrypto reads the value of an a=crypto attribute: "TAG SUITE
// inline:KEY[|LIFETIME]". Lines with an MKI, several keys or session
// parameters are refused: we implement none of them.
func parseCrypto(v string) (sdesCrypto, error) {
	var c sdesCrypto
	f := strings.Fields(v)
	if len(f) < 3 {
		return c, fmt.Errorf("crypto %q: want TAG SUITE inline:KEY", v)
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 || len(f[0]) > 9 {
		return c, fmt.Errorf("crypto %q: tag %q is not 1-9 digits", v, f[0])
	}
	c.Tag = tag
	if c.Key.Suite, err = media.ParseSRTPSuite(f[1]); err != nil {
		return c, err
	}
	if len(f) > 3 {
		return c, fmt.Errorf("crypto %q: session parameters %q not supported", v, strings.Join(f[3:], " "))
	}
	kp, ok := strings.CutPrefix(f[2], "inline:")
	if !ok || strings.Contains(kp, ";") {
		return c, fmt.Errorf("crypto %q: want one inline: key", v)
	}
	parts := strings.Split(kp, "|")
	if len(parts) > 2 {
		return c, fmt.Errorf("crypto %q: MKI not supported", v)
	}
	if len(parts) == 2 && strings.Contains(parts[1], ":") {
		return c, fmt.Errorf("crypto %q: MKI not supported", v)
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(parts[0])
	}
	if err != nil || len(key) != media.SRTPKeyLen {
		return c, fmt.Errorf("crypto %q: key is not %d bytes of base64", v, media.SRTPKeyLen)
	}
	copy(c.Key.Key[:], key)
	return c, nil
}

// String renders the attribute value.
func (c sdesCrypto) String() string {
	return fmt.Sprintf("%d %s inline:%s", c.Tag, c.Key.Suite, base64.StdEncoding.EncodeToString(c.Key.Key[:]))
}

// profileSecure reports whether an m= line's profile is SRTP's; err for
// profiles we cannot answer at all.
func profileSecure(proto string) (bool, error) {
	switch strings.ToUpper(proto) {
	case "RTP/AVP", "RTP/AVPF", "":
		return false, nil
	case "RTP/SAVP", "RTP/SAVPF":
		return true, nil
	}
	return false, fmt.Errorf("%w %q", ErrUnsupportedProfile, proto)
}

// sdpSRTP is the SRTP state of an SDP session: what we offered, and once
// agreed, the crypto line in force on each side.
type sdpSRTP struct {
	proto   string        // the m= line's profile: RTP/SAVP, or RTP/AVP for best effort
	offered []sdesCrypto  // our offer's lines, until the answer
	local   *sdesCrypto   // ours, in force
	remote  media.SRTPKey // the peer's key, in force
}

// params is the media keying, nil while nothing is agreed.
func (s *sdpSRTP) params() *media.SRTP {
	if s == nil || s.local == nil {
		return nil
	}
	return &media.SRTP{Send: s.local.Key, Recv: s.remote}
}

// proto is the profile to write on our m= line.
func (s *sdpSession) proto() string {
	if s.srtp != nil && s.srtp.proto != "" {
		return s.srtp.proto
	}
	return "RTP/AVP"
}

// cryptoLines renders our a=crypto lines: the one in force, or those we
// offer.
func (s *sdpSession) cryptoLines() string {
	if s.srtp == nil {
		return ""
	}
	var b strings.Builder
	if s.srtp.local != nil {
		fmt.Fprintf(&b, "a=crypto:%s\r\n", s.srtp.local)
		return b.String()
	}
	for _, c := range s.srtp.offered {
		fmt.Fprintf(&b, "a=crypto:%s\r\n", c)
	}
	return b.String()
}

// srtpAllowed reports whether rtp.srtp lets media be keyed over a SIP
// transport ("UDP", "TCP", "TLS").
func srtpAllowed(mode, transport string) error {
	switch mode {
	case config.SRTPAny:
		return nil
	case config.SRTPTLS:
		if strings.EqualFold(transport, "TLS") || strings.EqualFold(transport, "WSS") {
			return nil
		}
		return ErrSRTPNeedsTLS
	}
	return ErrSRTPOff
}

// answerSRTP decides the SRTP of our answer to off, which came over
// transport, and sets it on sess: nil state for plain RTP.
func answerSRTP(mode, transport string, off *Offer, sess *sdpSession) error {
	secure, err := profileSecure(off.Proto)
	if err != nil {
		return err
	}
	if !secure && len(off.Crypto) == 0 {
		return nil // plain RTP
	}
	if err := srtpAllowed(mode, transport); err != nil {
		if secure {
			return err
		}
		return nil // best effort: answer plain RTP, the crypto lines ignored
	}
	if len(off.Crypto) == 0 {
		return ErrNoCryptoSuite
	}
	theirs := off.Crypto[0]
	ours, err := media.NewSRTPKey(theirs.Key.Suite)
	if err != nil {
		return err
	}
	sess.srtp = &sdpSRTP{proto: off.Proto, local: &sdesCrypto{Tag: theirs.Tag, Key: ours}, remote: theirs.Key}
	return nil
}

// offerSRTP makes sess offer RTP/SAVP with one crypto line per suite.
func offerSRTP(sess *sdpSession) error {
	st := &sdpSRTP{proto: "RTP/SAVP"}
	for i, suite := range []media.SRTPSuite{media.AESCM128HMACSHA180, media.AESCM128HMACSHA132} {
		k, err := media.NewSRTPKey(suite)
		if err != nil {
			return err
		}
		st.offered = append(st.offered, sdesCrypto{Tag: i + 1, Key: k})
	}
	sess.srtp = st
	return nil
}

// takeSRTPAnswer applies the far end's answer to our offer: with SRTP
// offered, the answer must be on SRTP's profile with one of our tags and
// its suite (RFC 4568 §7.1.3). It returns the keying (nil: plain RTP).
func takeSRTPAnswer(sess *sdpSession, ans *Offer) (*media.SRTP, error) {
	if sess.srtp == nil {
		return nil, nil
	}
	if sess.srtp.local != nil { // agreed already (early media, then 200)
		for _, c := range ans.Crypto {
			if c.Tag == sess.srtp.local.Tag && c.Key.Suite == sess.srtp.local.Key.Suite {
				sess.srtp.remote = c.Key
				return sess.srtp.params(), nil
			}
		}
		return nil, ErrNoCryptoSuite
	}
	if secure, _ := profileSecure(ans.Proto); !secure {
		return nil, fmt.Errorf("%w: answer on %q", ErrNoCryptoSuite, ans.Proto)
	}
	for _, c := range ans.Crypto {
		for i := range sess.srtp.offered {
			o := sess.srtp.offered[i]
			if c.Tag == o.Tag && c.Key.Suite == o.Key.Suite {
				sess.srtp.local, sess.srtp.remote, sess.srtp.offered = &o, c.Key, nil
				return sess.srtp.params(), nil
			}
		}
	}
	return nil, ErrNoCryptoSuite
}

// reofferSRTP applies a re-offer in an established call (RFC 4568
// §7.1.4): a call on SRTP stays on it with our key and the peer's
// (possibly new) key; a plain call may move to SRTP as a first offer
// would.
func reofferSRTP(mode, transport string, off *Offer, sess *sdpSession) (*media.SRTP, error) {
	secure, err := profileSecure(off.Proto)
	if err != nil {
		return nil, err
	}
	cur := sess.srtp
	if cur == nil || cur.local == nil {
		if err := answerSRTP(mode, transport, off, sess); err != nil {
			return nil, err
		}
		return sess.srtp.params(), nil
	}
	if !secure && len(off.Crypto) == 0 {
		return nil, ErrSRTPDowngrade
	}
	for _, c := range off.Crypto {
		if c.Key.Suite != cur.local.Key.Suite {
			continue
		}
		ours := cur.local.Key
		if c.Key != cur.remote {
			// The peer starts a new crypto context: so do we, with a new
			// key, whatever it does with the context of ours.
			k, err := media.NewSRTPKey(ours.Suite)
			if err != nil {
				return nil, err
			}
			ours = k
		}
		cur.local = &sdesCrypto{Tag: c.Tag, Key: ours}
		cur.remote, cur.proto = c.Key, off.Proto
		return cur.params(), nil
	}
	return nil, ErrNoCryptoSuite
}

// requestTransport is the transport a request arrived over ("UDP", "TCP",
// "TLS").
func requestTransport(req *sip.Request) string {
	if req == nil {
		return ""
	}
	return strings.ToUpper(req.Transport())
}

// answerSession starts the SDP session of an inbound call's answer with
// the SRTP that off gets (see answerSRTP), or refuses the call with 488
// and reports false.
func (c *call) answerSession(off *Offer) (*sdpSession, bool) {
	sess := c.s.newSession()
	if err := answerSRTP(c.s.cfg.RTP.SRTP, requestTransport(c.in.InviteRequest), off, sess); err != nil {
		c.log.Info("invite refused", "error", err)
		c.reject(488, reason488(err))
		return nil, false
	}
	return sess, true
}
