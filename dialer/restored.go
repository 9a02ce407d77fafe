package dialer

// Bindings over a connection after a restart. A phone registered over
// TCP or TLS is called on the connection its REGISTER came over (RFC 3261
// §18.2.2; RFC 5626's flow, without the option tags). The binding is
// stored, the connection is not: after a restart the stored Source is
// the phone's side of a connection that no longer exists, often a port
// behind NAT that nothing listens on, or one a firewall drops silently
// (an INVITE sent there waits for Timer B, 32 s, with the caller
// ringing).
//
// So a restored binding (Binding.Restored) is reached only at its
// Contact, and only when something there completes a TCP connection (and
// for TLS a handshake with a certificate we trust) within
// restoredReachTimeout: a phone that listens on its Contact is called as
// before, any other gets 480 Temporarily Unavailable at once, until it
// registers again (on its next refresh, or when it notices its
// connection gone).

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// restoredReachTimeout bounds the check that a restored binding's Contact
// listens.
const restoredReachTimeout = 3 * time.Second

// errNeedsReRegister is wrapped by the 480 of a call to a restored
// binding whose Contact does not answer.
var errNeedsReRegister = errors.New("the phone's connection ended with the restart and its Contact does not answer: it is reachable again when it re-registers")

// reasonReRegister is the reason phrase of that 480.
const reasonReRegister = "Temporarily Unavailable (phone must re-register)"

// reachContact checks that the Contact of restored binding b listens for
// the binding's transport: a TCP connection, and over TLS a handshake
// with our client configuration (the certificate checked as for trunks).
func (s *Server) reachContact(ctx context.Context, b Binding) error {
	var u sip.Uri
	if err := sip.ParseUri(b.Contact, &u); err != nil {
		return fmt.Errorf("%w: contact %q: %v", errNeedsReRegister, b.Contact, err)
	}
	tr := dialTransport(&u, b.Transport)
	port := u.Port
	switch {
	case tr != "tcp" && tr != "tls":
		return fmt.Errorf("%w: transport %s", errNeedsReRegister, tr)
	case port == 0 && tr == "tls":
		port = 5061
	case port == 0:
		port = 5060
	}
	addr := net.JoinHostPort(u.Host, strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, restoredReachTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: %v", errNeedsReRegister, err)
	}
	defer c.Close()
	if tr == "tls" {
		conf := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.tlsClient != nil {
			conf = s.tlsClient.Clone()
		}
		conf.ServerName = u.Host
		if err := tls.Client(c, conf).HandshakeContext(ctx); err != nil {
			return fmt.Errorf("%w: tls: %v", errNeedsReRegister, err)
		}
	}
	return nil
}
