package dialer

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/media"
)

// FuzzParseSDP feeds ParseSDP arbitrary bodies (seeds: offers of real
// phones and gateways, testdata/fuzz/FuzzParseSDP). It must never panic;
// an error is always ErrBadSDP; an accepted offer carries only codecs we
// support with valid payload types, and the answer we would write for it
// parses back to the same address and codec.
func FuzzParseSDP(f *testing.F) {
	f.Add([]byte("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseSDP(body)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) {
				t.Fatalf("ParseSDP error %v is not ErrBadSDP", err)
			}
			return
		}
		if !o.Addr.IsValid() || o.EventPT > 127 {
			t.Fatalf("ParseSDP accepted %+v", o)
		}
		for _, c := range o.Codecs {
			if (c.Codec != media.PCMU && c.Codec != media.PCMA) || c.PT > 127 {
				t.Fatalf("ParseSDP offered codec %+v", c)
			}
		}
		choice, err := o.Choose()
		if err != nil || o.Addr.Port() == 0 {
			return
		}
		s := &sdpSession{id: 1}
		ans := s.writeSDP(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 20000), []CodecPT{choice}, o.EventPT, o.Direction.answerTo())
		back, err := ParseSDP(ans)
		if err != nil {
			t.Fatalf("our answer %q does not parse: %v", ans, err)
		}
		if back.Addr.Port() != 20000 || len(back.Codecs) != 1 || back.Codecs[0] != choice || back.EventPT != o.EventPT {
			t.Fatalf("our answer parses as %+v, want codec %+v event %d", back, choice, o.EventPT)
		}
	})
}

// FuzzRegisterAuthorization sends the registrar REGISTERs whose
// Authorization header is arbitrary (seeds: headers of real phones,
// testdata/fuzz/FuzzRegisterAuthorization). It must never panic and never
// bind: the answer is 400 (malformed), 401 (challenge, stale nonce) or 403.
func FuzzRegisterAuthorization(f *testing.F) {
	f.Add(`Digest username="1001", realm="obzvon", nonce="x", uri="sip:127.0.0.1", response="0123456789abcdef0123456789abcdef"`)
	r, _ := newTestRegistrar()
	base := fuzzRegister()
	f.Fuzz(func(t *testing.T, auth string) {
		req := base.Clone()
		req.AppendHeader(sip.NewHeader("Authorization", auth))
		res := r.respond(req)
		switch res.StatusCode {
		case 400, 401, 403:
		default:
			t.Fatalf("REGISTER with Authorization %q = %d, want 400, 401 or 403", auth, res.StatusCode)
		}
		if b := r.Lookup("1001"); len(b) != 0 {
			t.Fatalf("a forged Authorization %q bound %+v", auth, b)
		}
	})
}

// fuzzRegister is a REGISTER of user 1001 as a phone sends it, parsed.
func fuzzRegister() *sip.Request {
	raw := "REGISTER sip:127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-fuzz\r\n" +
		"From: <sip:1001@127.0.0.1>;tag=t1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: fuzz-1\r\nCSeq: 2 REGISTER\r\n" +
		"Contact: <sip:1001@127.0.0.1:5999>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		panic(err)
	}
	return m.(*sip.Request)
}

// TestFuzzCorpora checks that the committed seed corpora are there and in
// the go-fuzz format, so the fuzz targets start from real phones'
// messages.
func TestFuzzCorpora(t *testing.T) {
	for _, target := range []string{"FuzzParseSDP", "FuzzRegisterAuthorization"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		if len(files) < 5 {
			t.Errorf("%s: %d seed files, want at least 5", target, len(files))
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil || !strings.HasPrefix(string(b), "go test fuzz v1\n") {
				t.Errorf("%s: not a go-fuzz corpus file (%v)", f, err)
			}
		}
	}
}
