package dialer

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/media"
)

func sdpLines(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

func TestParseSDP(t *testing.T) {
	head := []string{"v=0", "o=x 1 1 IN IP4 127.0.0.1", "s=x", "c=IN IP4 127.0.0.1", "t=0 0"}
	for _, tc := range []struct {
		name    string
		body    []byte
		wantErr error
		addr    string
		codecs  []CodecPT
		eventPT uint8
		dir     Direction
	}{
		{"sipp offer", sdpLines(append(head, "m=audio 26000 RTP/AVP 0 8 96", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
			"a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15", "a=ptime:20", "a=sendrecv")...),
			nil, "127.0.0.1:26000", []CodecPT{{media.PCMU, 0}, {media.PCMA, 8}}, 96, DirSendRecv},
		{"static PTs without rtpmap, PCMA first", sdpLines(append(head, "m=audio 4000 RTP/AVP 8 0")...),
			nil, "127.0.0.1:4000", []CodecPT{{media.PCMA, 8}, {media.PCMU, 0}}, 0, DirSendRecv},
		{"sendonly is hold", sdpLines(append(head, "m=audio 4000 RTP/AVP 0", "a=sendonly")...),
			nil, "127.0.0.1:4000", []CodecPT{{media.PCMU, 0}}, 0, DirSendOnly},
		{"old-style hold c=0.0.0.0", sdpLines("v=0", "o=x 1 2 IN IP4 127.0.0.1", "s=x", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			nil, "0.0.0.0:4000", []CodecPT{{media.PCMU, 0}}, 0, DirSendOnly},
		{"unsupported codecs only", sdpLines(append(head, "m=audio 4000 RTP/AVP 9 18", "a=rtpmap:9 G722/8000")...),
			nil, "127.0.0.1:4000", nil, 0, DirSendRecv},
		{"garbage", []byte("hello world"), ErrBadSDP, "", nil, 0, 0},
		{"video only", sdpLines(append(head, "m=video 4000 RTP/AVP 96")...), ErrBadSDP, "", nil, 0, 0},
		{"no connection line", sdpLines("v=0", "o=x 1 1 IN IP4 127.0.0.1", "s=x", "t=0 0", "m=audio 4000 RTP/AVP 0"), ErrBadSDP, "", nil, 0, 0},
		{"empty", nil, ErrBadSDP, "", nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseSDP(tc.body)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ParseSDP = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSDP: %v", err)
			}
			if o.Addr != netip.MustParseAddrPort(tc.addr) || o.EventPT != tc.eventPT || o.Direction != tc.dir {
				t.Errorf("ParseSDP = addr %v event %d dir %v, want %v %d %v", o.Addr, o.EventPT, o.Direction, tc.addr, tc.eventPT, tc.dir)
			}
			if len(o.Codecs) != len(tc.codecs) {
				t.Fatalf("codecs = %v, want %v", o.Codecs, tc.codecs)
			}
			for i := range o.Codecs {
				if o.Codecs[i] != tc.codecs[i] {
					t.Errorf("codecs[%d] = %v, want %v", i, o.Codecs[i], tc.codecs[i])
				}
			}
			if _, err := o.Choose(); (err != nil) != (len(tc.codecs) == 0) {
				t.Errorf("Choose error = %v with codecs %v", err, tc.codecs)
			}
		})
	}
}

func TestWriteSDPRoundTrips(t *testing.T) {
	s := &sdpSession{id: 42}
	addr := netip.MustParseAddrPort("127.0.0.1:20000")
	b := s.writeSDP(addr, offerCodecs, defaultEventPT, DirSendRecv)
	want := "v=0\r\no=obzvon 42 1 IN IP4 127.0.0.1\r\ns=obzvon\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
	if string(b) != want {
		t.Errorf("writeSDP =\n%s\nwant\n%s", b, want)
	}
	o, err := ParseSDP(b)
	if err != nil || o.Addr != addr || o.EventPT != defaultEventPT || len(o.Codecs) != 2 {
		t.Errorf("ParseSDP(writeSDP) = %+v, %v", o, err)
	}
	b2 := s.writeSDP(addr, offerCodecs[:1], 0, DirRecvOnly)
	if !strings.Contains(string(b2), "o=obzvon 42 2 ") || !strings.Contains(string(b2), "a=recvonly") {
		t.Errorf("second description lacks version 2 or recvonly:\n%s", b2)
	}
}

func TestAnswerDirection(t *testing.T) {
	for in, want := range map[Direction]Direction{
		DirSendRecv: DirSendRecv, DirSendOnly: DirRecvOnly, DirRecvOnly: DirSendOnly, DirInactive: DirInactive,
	} {
		if got := in.answerTo(); got != want {
			t.Errorf("%v.answerTo() = %v, want %v", in, got, want)
		}
	}
}
