package main

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestSDPRoundTrip(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	for _, pts := range [][]byte{{ptPCMU}, {ptPCMA}, {ptPCMU, ptPCMA}} {
		b := buildSDP(ip, 40002, 7, pts)
		for _, want := range []string{"v=0\r\n", "c=IN IP4 127.0.0.1\r\n", "a=ptime:20\r\n", "a=sendrecv\r\n"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("buildSDP(%v) lacks %q:\n%s", pts, want, b)
			}
		}
		md, err := parseSDP(b)
		if err != nil {
			t.Fatalf("parseSDP(buildSDP(%v)): %v", pts, err)
		}
		if md.addr != netip.MustParseAddrPort("127.0.0.1:40002") || !slices.Equal(md.pts, pts) {
			t.Errorf("parseSDP(buildSDP(%v)) = %v %v, want 127.0.0.1:40002 %v", pts, md.addr, md.pts, pts)
		}
	}
}

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name string
		sdp  string
		addr string
		pts  []byte
		err  string
	}{
		{
			name: "media-level c= wins",
			sdp:  "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 8 0 101\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:101 telephone-event/8000\r\n",
			addr: "127.0.0.1:20000", pts: []byte{8, 0, 101},
		},
		{
			name: "LF only, video first",
			sdp:  "v=0\nc=IN IP4 127.0.0.2\nm=video 30000 RTP/AVP 96\nm=audio 30002 RTP/AVP 0\n",
			addr: "127.0.0.2:30002", pts: []byte{0},
		},
		{name: "no audio", sdp: "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 1 RTP/AVP 96\r\n", err: "no m=audio"},
		{name: "no c=", sdp: "v=0\r\nm=audio 1 RTP/AVP 0\r\n", err: "no c= line"},
		{name: "bad port", sdp: "c=IN IP4 127.0.0.1\r\nm=audio x RTP/AVP 0\r\n", err: "bad port"},
		{name: "bad pt", sdp: "c=IN IP4 127.0.0.1\r\nm=audio 1 RTP/AVP 0 200\r\n", err: "bad payload type"},
		{name: "bad c=", sdp: "c=IN IP4 nowhere\r\nm=audio 1 RTP/AVP 0\r\n", err: "bad address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := parseSDP([]byte(tt.sdp))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseSDP err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if md.addr.String() != tt.addr || !slices.Equal(md.pts, tt.pts) {
				t.Errorf("parseSDP = %v %v, want %s %v", md.addr, md.pts, tt.addr, tt.pts)
			}
		})
	}
}

func TestPickG711(t *testing.T) {
	tests := []struct {
		pts  []byte
		want byte
		ok   bool
	}{
		{[]byte{0}, 0, true},
		{[]byte{101, 8, 0}, 8, true},
		{[]byte{9, 18}, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := pickG711(tt.pts)
		if got != tt.want || ok != tt.ok {
			t.Errorf("pickG711(%v) = %d %v, want %d %v", tt.pts, got, ok, tt.want, tt.ok)
		}
	}
}
