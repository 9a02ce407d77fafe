package dialer

// SIP over TLS (RFC 3261 §26.2, §26.3.1; RFC 5630 for sips:).
//
// The TLS listener is one of diago's transports, on sip.tls_port. Its
// certificate comes from files (systemd LoadCredential= friendly: the
// paths may use ${CREDENTIALS_DIRECTORY}) and is re-read when a file
// changes, so a renewed certificate is served without a restart. Peers
// may be asked for a client certificate (trunks), checked against
// sip.tls_client_ca_file. The same certificate is our client certificate
// when we connect to a TLS trunk, whose server certificate must chain to
// sip.tls_ca_file (or the system's roots).
//
// What TLS changes in the call flows:
//   - A phone registered over TLS keeps the transport in its binding;
//     calls to it (reg:USER) go back over TLS, on the connection the
//     registration came in on (RFC 5626's flow, without the option tags).
//   - Our Contact is sip:...;transport=tls, except that a sips: request
//     gets a sips: Contact (RFC 3261 §8.1.1.8, §12.1.1): the peer's
//     in-dialog requests then come back over TLS.
//   - A request for a sips: URI that did not come over TLS is refused
//     with 416 (RFC 5630 §3.1.3: sips: means TLS on every hop).

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/config"
)

// certReloadCheck bounds how often the certificate files are stat'ed on
// handshakes.
const certReloadCheck = 5 * time.Second

// certLoader serves the configured certificate and key, re-reading them
// when either file's modification time changes. A failed reload keeps the
// certificate in use (and logs why).
type certLoader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu              sync.Mutex
	cert            *tls.Certificate
	certMod, keyMod time.Time
	checked         time.Time
}

func newCertLoader(certFile, keyFile string, log *slog.Logger) (*certLoader, error) {
	var err error
	l := &certLoader{log: log, now: time.Now}
	if l.certFile, err = config.ExpandPath(certFile); err != nil {
		return nil, fmt.Errorf("sip.tls_cert_file %q: %w", certFile, err)
	}
	if l.keyFile, err = config.ExpandPath(keyFile); err != nil {
		return nil, fmt.Errorf("sip.tls_key_file %q: %w", keyFile, err)
	}
	if _, err := l.get(); err != nil {
		return nil, err
	}
	return l, nil
}

// get returns the current certificate.
func (l *certLoader) get() (*tls.Certificate, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.cert != nil && now.Sub(l.checked) < certReloadCheck {
		return l.cert, nil
	}
	l.checked = now
	cs, cerr := os.Stat(l.certFile)
	ks, kerr := os.Stat(l.keyFile)
	if err := errors.Join(cerr, kerr); err != nil {
		if l.cert != nil {
			l.log.Warn("tls certificate files unreadable; keeping the loaded certificate", "error", err, attrHint, "check the paths and permissions of the TLS certificate and key files in the config")
			return l.cert, nil
		}
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	if l.cert != nil && cs.ModTime().Equal(l.certMod) && ks.ModTime().Equal(l.keyMod) {
		return l.cert, nil
	}
	c, err := tls.LoadX509KeyPair(l.certFile, l.keyFile)
	if err != nil {
		if l.cert != nil {
			l.log.Warn("tls certificate reload failed; keeping the loaded certificate", "error", err, attrHint, "check that the new certificate and key match and are PEM; the old certificate stays in use")
			l.certMod, l.keyMod = cs.ModTime(), ks.ModTime() // don't retry until they change again
			return l.cert, nil
		}
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", l.certFile, l.keyFile, err)
	}
	l.cert, l.certMod, l.keyMod = &c, cs.ModTime(), ks.ModTime()
	if c.Leaf != nil {
		l.log.Info("tls certificate loaded", "subject", c.Leaf.Subject.CommonName,
			"not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
		if now.After(c.Leaf.NotAfter) {
			l.log.Error("tls certificate has expired: peers will refuse it", "not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339), attrHint, "renew the TLS certificate and put it in place; the daemon reloads it")
		}
	}
	return l.cert, nil
}

// readPool reads a PEM CA bundle.
func readPool(key, file string) (*x509.CertPool, error) {
	path, err := config.ExpandPath(file)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", key, file, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s %s: no PEM certificates", key, path)
	}
	return p, nil
}

// tlsConfigs builds the listener's and the client's TLS configuration
// from [sip]; both are nil when TLS is not among the transports.
func tlsConfigs(sc config.SIP, log *slog.Logger) (server, client *tls.Config, err error) {
	if !sc.HasTransport("tls") {
		// No listener, no certificate; dialled TLS trunks are still
		// checked against tls_ca_file when it is set.
		if sc.TLSCAFile == "" {
			return nil, nil, nil
		}
		client = &tls.Config{MinVersion: tls.VersionTLS12}
		client.RootCAs, err = readPool("sip.tls_ca_file", sc.TLSCAFile)
		return nil, client, err
	}
	certs, err := newCertLoader(sc.TLSCertFile, sc.TLSKeyFile, log)
	if err != nil {
		return nil, nil, err
	}
	server = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.get() },
	}
	switch sc.TLSVerifyClient {
	case config.VerifyClientOptional:
		server.ClientAuth = tls.VerifyClientCertIfGiven
	case config.VerifyClientRequired:
		server.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if server.ClientAuth != tls.NoClientCert {
		if server.ClientCAs, err = readPool("sip.tls_client_ca_file", sc.TLSClientCAFile); err != nil {
			return nil, nil, err
		}
	}
	client = &tls.Config{
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return certs.get() },
	}
	if sc.TLSCAFile != "" {
		if client.RootCAs, err = readPool("sip.tls_ca_file", sc.TLSCAFile); err != nil {
			return nil, nil, err
		}
	}
	return server, client, nil
}

// uaOptions are the user agent's options for TLS: the client side's
// configuration, when TLS is on.
func (s *Server) uaOptions() []sipgo.UserAgentOption {
	if s.tlsClient == nil {
		return nil
	}
	return []sipgo.UserAgentOption{sipgo.WithUserAgenTLSConfig(s.tlsClient)}
}

// transportFor is diago's listener for transport t ("udp", "tcp", "tls").
func (s *Server) transportFor(t, ext string) diago.Transport {
	sc := s.cfg.SIP
	tr := diago.Transport{Transport: t, BindHost: sc.Host, BindPort: sc.Port, ExternalHost: ext, ExternalPort: sc.Port}
	if t == "tls" {
		tr.BindPort, tr.ExternalPort = sc.TLSPort, sc.TLSPort
		tr.TLSConf = s.tlsServer
		// Contact sip:...;transport=tls; sips: only for sips: requests
		// (contactFor), as RFC 5630 §3.3 asks.
		tr.TLSURINoSIPS = true
	}
	return tr
}

// listenTLSLimited binds the real TLS port and moves diago's own TLS
// listener (tr) to an internal loopback port, as for TCP (tcplimit.go):
// SIP over TLS then goes through the same caps per source and in all and
// the same idle and message timeouts, a TLS handshake included in the
// first message's time.
func (s *Server) listenTLSLimited(tr *diago.Transport) error {
	sc := s.cfg.SIP
	ln, internal, err := listenTCPLimited(sc.Host, sc.TLSPort)
	if err != nil {
		return fmt.Errorf("sip listen on tls %s:%d: %w", sc.Host, sc.TLSPort, err)
	}
	s.tlsLn = ln
	tr.BindHost, tr.BindPort = "127.0.0.1", internal
	return nil
}

// limitedTLS is the real TLS port's listener: admission by the TCP caps,
// then TLS, then the guard on the SIP inside.
func (s *Server) limitedTLS() net.Listener {
	conf := s.tlsServer
	return &limitedListener{Listener: s.tlsLn, l: s.tcp, wrap: func(c net.Conn) net.Conn { return tls.Server(c, conf) }}
}

// tlsContact is our Contact on the TLS listener: sips:UA@host:port for a
// sips: dialog, else sip:UA@host:port;transport=tls. It is written here
// rather than left to diago, which drops the transport parameter when
// external_host differs from the bind address (a phone would then send
// its in-dialog requests over UDP to the TLS port).
func (s *Server) tlsContact(sips bool) *sip.ContactHeader {
	sc := s.cfg.SIP
	host := sc.ExternalHost
	if host == "" {
		host = sc.Host
	}
	c := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: sc.UserAgent, Host: host, Port: sc.TLSPort,
		UriParams: sip.NewParams(), Headers: sip.NewParams()}}
	if sips {
		c.Address.Scheme = "sips"
	} else {
		c.Address.UriParams.Add("transport", "tls")
	}
	return c
}

// dialTransport is the transport for an outbound INVITE to uri: the one a
// registered phone's binding came over (so TLS phones are called over
// TLS, on their connection), else the URI's transport parameter, else TLS
// for sips: and UDP for sip:.
func dialTransport(uri *sip.Uri, registered string) string {
	if registered != "" {
		return strings.ToLower(registered)
	}
	if t, ok := uri.UriParams.Get("transport"); ok && t != "" {
		return strings.ToLower(t)
	}
	if uri.Scheme == "sips" {
		return "tls"
	}
	return "udp"
}

// contactFor is our Contact for an INVITE to uri over transport: ours
// (diago's) unless the INVITE goes over TLS, then tlsContact (sips: for a
// sips: URI, RFC 3261 §8.1.1.8).
func (s *Server) contactFor(ours *sip.ContactHeader, uri *sip.Uri, transport string) *sip.ContactHeader {
	if !strings.EqualFold(transport, "tls") {
		return ours
	}
	return s.tlsContact(strings.EqualFold(uri.Scheme, "sips"))
}

// refuseInsecureSIPS answers 416 to a request for a sips: URI that did
// not arrive over TLS (RFC 5630 §3.1.3: TLS on every hop). It reports
// whether it answered.
func refuseInsecureSIPS(req *sip.Request, tx sip.ServerTransaction) bool {
	if req.IsAck() || !strings.EqualFold(req.Recipient.Scheme, "sips") || strings.EqualFold(req.Transport(), "TLS") {
		return false
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 416, "Unsupported URI Scheme (sips: needs TLS)", nil))
	return true
}

// contactHeaders are the headers our responses to the call's INVITE add
// to diago's: our TLS Contact when the INVITE came over TLS (tlsContact).
func (c *call) contactHeaders() []sip.Header {
	req := c.in.InviteRequest
	if requestTransport(req) != "TLS" {
		return nil
	}
	return []sip.Header{c.s.tlsContact(strings.EqualFold(req.Recipient.Scheme, "sips"))}
}

// respondSDP answers the call's INVITE with 200 and an SDP body.
func (c *call) respondSDP(body []byte) error {
	hdrs := append([]sip.Header{sip.NewHeader("Content-Type", "application/sdp")}, c.contactHeaders()...)
	return c.in.DialogServerSession.Respond(200, "OK", body, hdrs...)
}
