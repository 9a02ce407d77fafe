package dialer

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Unparsable SIP packets carrying a caller's name and number reach the
// log, through sipgo, without the name, the number or the body, and 300
// of them make a few lines, not 300 (they were logged whole at ERROR:
// ~33 KB each).
func TestNoPersonalDataInSIPLibraryLogs(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := startApplianceLogged(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}}, nil, log)
	c, err := net.Dial("udp", a.target())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A broken request line makes sipgo's parser fail on the whole packet.
	bad := "INVITE sip:89161234567@127.0.0.1 SIP/2.0 EXTRA\r\n" +
		"From: \"Иванова Мария Петровна\" <sip:89161234567@127.0.0.1>;tag=1\r\n" +
		"To: <sip:600@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 40\r\n\r\n" +
		"v=0\r\ns=Иванова " + strings.Repeat("x", 4000) + "\r\n"
	for range 300 {
		if _, err := c.Write([]byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	// The parser logs as it reads; OPTIONS answered means it has read
	// everything sent before.
	opt := "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP " + c.LocalAddr().String() + ";branch=z9hG4bK-o1\r\n" +
		"From: <sip:t@127.0.0.1>;tag=o\r\nTo: <sip:127.0.0.1>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(opt)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 4096)); err != nil {
		t.Fatalf("no answer to OPTIONS: %v", err)
	}
	out := buf.String()
	if !strings.Contains(out, "failed to parse") {
		t.Fatalf("the SIP library's parse error is not in our log, so this test checks nothing:\n%.2000s", out)
	}
	for _, pd := range []string{"Иванова", "89161234567", "xxxxxxxxxx"} {
		if strings.Contains(out, pd) {
			t.Errorf("log contains %q:\n%.3000s", pd, out)
		}
	}
	if n := strings.Count(out, "failed to parse"); n > 2*sipLogBurst {
		t.Errorf("%d log lines for 300 bad packets, want at most %d (rate-limited)", n, 2*sipLogBurst)
	}
	if len(out) > 20000 {
		t.Errorf("%d bytes of log for 300 bad packets, want < 20000", len(out))
	}
}

func TestSIPLogHandlerScrubsAndLimits(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	h := newSIPLogHandler(slog.NewTextHandler(&buf, nil), func() time.Time { return now })
	log := slog.New(h).With("caller", "Transport<UDP>")
	for range 20 {
		log.Warn("Failed to handle request", "req.from", `"Петров" <sip:+79990001122@x>`, "req.to", "<sip:600@x>",
			"error", "bad header\r\nFrom: Петров", "raddr", "192.0.2.1:5060")
	}
	out := buf.String()
	if strings.Contains(out, "Петров") || strings.Contains(out, "79990001122") {
		t.Errorf("personal data in the log:\n%s", out)
	}
	if n := strings.Count(out, "Failed to handle request"); n != sipLogBurst {
		t.Errorf("%d lines of one message at once, want the burst of %d", n, sipLogBurst)
	}
	if !strings.Contains(out, "raddr=192.0.2.1:5060") {
		t.Errorf("the source address should stay:\n%s", out)
	}
	buf.Reset()
	now = now.Add(sipLogEvery)
	log.Warn("Failed to handle request", "raddr", "192.0.2.1:5060")
	if !strings.Contains(buf.String(), "suppressed=15") {
		t.Errorf("after the pause: %q, want the count of suppressed lines (15)", buf.String())
	}
}
