package dialer

// Limits on SIP over TCP (issue 11 item 3): idle connections and
// half-sent messages are closed, and connections are capped per source
// address and in all, below the descriptor limit, so that one client
// cannot take the descriptors HTTP, the admin socket, media and the
// journal need (19,980 idle connections from one client did).
//
// sipgo accepts on a listener it creates itself; diago makes sipgo listen
// on every transport it is given. So diago's TCP transport listens on an
// internal loopback port nobody is told about, its Contact and Via naming
// the real port, and the real port is served by sipgo's transport layer
// through limitedListener.

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/metrics"
)

// listenTCPLimited binds the real SIP TCP port, and picks a free loopback
// port for diago's own TCP listener.
func listenTCPLimited(host string, port int) (net.Listener, int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, 0, err
	}
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, 0, err
	}
	internal := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	return ln, internal, nil
}

// maxSIPHeader bounds a message's header block; a longer one is abuse
// (sipgo's own parser stops far below it).
const maxSIPHeader = 64 << 10

// tcpLimits is the connection accounting of one SIP TCP listener.
type tcpLimits struct {
	perSource int
	global    int
	idle      time.Duration
	message   time.Duration
	log       *slog.Logger
	metrics   *metrics.Metrics

	mu       sync.Mutex
	total    int
	bySource map[netip.Addr]int
	conns    map[string]*guardedConn // by remote "ip:port"
}

// newTCPLimits derives the caps from cfg and the descriptor limit.
func newTCPLimits(cfg *config.Config, log *slog.Logger, m *metrics.Metrics) *tcpLimits {
	return &tcpLimits{
		perSource: cfg.SIP.TCPMaxPerSource,
		global:    tcpGlobalCap(cfg),
		idle:      cfg.SIP.TCPIdleTimeout.Duration,
		message:   cfg.SIP.TCPMessageTimeout.Duration,
		log:       log,
		metrics:   m,
		bySource:  map[netip.Addr]int{},
		conns:     map[string]*guardedConn{},
	}
}

// tcpGlobalCap is sip.tcp_max_connections, or what the descriptor limit
// leaves after room for media (a socket per RTP and RTCP port), a
// recording file per call, and 1024 for the journal, HTTP, the admin
// socket and the rest; never below 64.
func tcpGlobalCap(cfg *config.Config) int {
	if cfg.SIP.TCPMaxConnections > 0 {
		return cfg.SIP.TCPMaxConnections
	}
	var rl syscall.Rlimit
	nofile := 1024
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur < 1<<31 {
		nofile = int(rl.Cur)
	}
	reserve := (cfg.RTP.PortMax - cfg.RTP.PortMin + 1) + cfg.MaxCalls() + 1024
	return min(max(64, nofile-reserve), 10000)
}

// admit counts a new connection from addr, or refuses it.
func (l *tcpLimits) admit(addr netip.Addr) (ok bool, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total >= l.global:
		return false, "global"
	case l.perSource > 0 && l.bySource[addr] >= l.perSource:
		return false, "source"
	}
	l.total++
	l.bySource[addr]++
	return true, ""
}

func (l *tcpLimits) release(c *guardedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.bySource[c.addr]--; l.bySource[c.addr] <= 0 {
		delete(l.bySource, c.addr)
	}
	if l.conns[c.remote] == c {
		delete(l.conns, c.remote)
	}
}

// keepUntil lets the connection from remote ("ip:port") stay idle until
// t: a phone registered over it (its binding lasts until then) is reached
// over it, so it must not be closed for idleness before.
func (l *tcpLimits) keepUntil(remote string, t time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	c := l.conns[remote]
	l.mu.Unlock()
	if c != nil {
		c.keep.Store(t.UnixNano())
	}
}

// open is the number of connections counted now.
func (l *tcpLimits) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// limitedListener accepts only connections within the caps; others are
// closed at once.
type limitedListener struct {
	net.Listener
	l *tcpLimits
	// wrap, when set, wraps each admitted connection before the guard
	// (TLS: the guard then reads SIP, not ciphertext), and the first
	// message, handshake included, must arrive within the message
	// timeout.
	wrap func(net.Conn) net.Conn
}

func (ll *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		addr := ap.Addr().Unmap()
		if ok, why := ll.l.admit(addr); !ok {
			ll.l.metrics.RateLimited(metrics.LimitedTCPConn)
			ll.l.log.Debug("sip tcp connection refused", "src", addr.String(), "cap", why)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST: free the descriptor and the port at once
			}
			c.Close()
			continue
		}
		gc := &guardedConn{Conn: c, l: ll.l, addr: addr, remote: c.RemoteAddr().String(), last: time.Now()}
		if ll.wrap != nil {
			gc.Conn, gc.started = ll.wrap(c), gc.last
		}
		ll.l.mu.Lock()
		ll.l.conns[gc.remote] = gc
		ll.l.mu.Unlock()
		return gc, nil
	}
}

// guardedConn closes itself (its Read fails with a timeout) when idle for
// longer than the idle timeout (or the registration it carries), or when
// a message has been arriving for longer than the message timeout.
type guardedConn struct {
	net.Conn
	l      *tcpLimits
	addr   netip.Addr
	remote string
	keep   atomic.Int64
	once   sync.Once

	// Read side, touched only by the connection's reader (sipgo's).
	last    time.Time // last byte read, or accept
	started time.Time // first byte of the message in progress; zero between messages
	hdr     []byte    // the header block so far
	body    int       // body bytes still to come
}

var errMessageTooLarge = errors.New("sip message header too large")

func (c *guardedConn) Read(b []byte) (int, error) {
	deadline := c.last.Add(c.l.idle)
	if k := c.keep.Load(); k > 0 && time.Unix(0, k).After(deadline) {
		deadline = time.Unix(0, k)
	}
	if !c.started.IsZero() {
		deadline = c.started.Add(c.l.message)
	}
	if err := c.Conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		now := time.Now()
		c.last = now
		if ferr := c.frame(b[:n], now); ferr != nil {
			return 0, ferr
		}
	}
	return n, err
}

// frame follows message boundaries (RFC 3261 §18.3: header block, then
// Content-Length bytes of body; CRLFs between messages are keep-alives).
func (c *guardedConn) frame(p []byte, now time.Time) error {
	for len(p) > 0 {
		switch {
		case c.body > 0:
			k := min(c.body, len(p))
			c.body -= k
			p = p[k:]
			if c.body == 0 {
				c.started = time.Time{}
			}
		case c.started.IsZero() && (p[0] == '\r' || p[0] == '\n'):
			p = p[1:] // keep-alive
		default:
			if c.started.IsZero() {
				c.started, c.hdr = now, c.hdr[:0]
			}
			i := 0
			for ; i < len(p); i++ {
				c.hdr = append(c.hdr, p[i])
				if bytes.HasSuffix(c.hdr, []byte("\r\n\r\n")) {
					break
				}
			}
			if i == len(p) { // header block goes on
				if len(c.hdr) > maxSIPHeader {
					return errMessageTooLarge
				}
				return nil
			}
			p = p[i+1:]
			c.body = contentLength(c.hdr)
			c.hdr = c.hdr[:0]
			if c.body == 0 {
				c.started = time.Time{}
			}
		}
	}
	return nil
}

// contentLength finds Content-Length (or its compact form l) in a header
// block; 0 when absent or malformed (the parser will say so).
func contentLength(hdr []byte) int {
	for _, line := range bytes.Split(hdr, []byte("\r\n")) {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("l")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(val)))
			if err != nil || n < 0 {
				return 0
			}
			return n
		}
	}
	return 0
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}
