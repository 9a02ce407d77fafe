package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sipEndpoint is one sipgo user agent serving one loopback UDP socket:
// requests it sends leave from that socket, so the peer's in-dialog
// requests (BYE) come back to it.
type sipEndpoint struct {
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	conn    *net.UDPConn
	addr    netip.AddrPort
	contact sip.ContactHeader
}

// newSIPEndpoint binds listen (port 0 for any) and prepares a UA named
// user for it. Serving starts with serve.
func newSIPEndpoint(listen netip.AddrPort, user string, log *slog.Logger) (*sipEndpoint, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(listen))
	if err != nil {
		return nil, fmt.Errorf("SIP listen %s: %w", listen, err)
	}
	_ = conn.SetReadBuffer(sockBufSize)
	_ = conn.SetWriteBuffer(sockBufSize)
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("obzvon-load"), sipgo.WithUserAgentHostname(addr.Addr().String()))
	if err != nil {
		conn.Close()
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		conn.Close()
		return nil, err
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log),
		sipgo.WithClientHostname(addr.Addr().String()),
		sipgo.WithClientConnectionAddr(addr.String()))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &sipEndpoint{
		ua: ua, srv: srv, client: client, conn: conn, addr: addr,
		contact: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: addr.Addr().String(), Port: int(addr.Port())}},
	}, nil
}

// serve reads SIP from the socket until ctx ends. It returns once the
// socket is in sipgo's connection pool: a request sent before that would
// make sipgo bind the same address again and fail.
func (s *sipEndpoint) serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.conn.Close()
	}()
	go func() { _ = s.srv.ServeUDP(s.conn) }()
	tl := s.srv.TransportLayer()
	for range 2000 {
		if c, _ := tl.GetConnection("udp", s.addr.String()); c != nil {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("SIP socket %s: sipgo did not start serving it within 2 s", s.addr)
}

func (s *sipEndpoint) close() {
	s.conn.Close()
	_ = s.ua.Close()
}
