package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/obzvon/obzvon/config"
)

// The HTTP listener speaks HTTPS and plain HTTP on one port ([http]
// listen): a connection whose first byte is a TLS handshake record (0x16)
// gets TLS, any other is plain. Plain HTTP serves only what machines poll
// without a browser (/healthz, /readyz, and /metrics when open_metrics)
// and redirects the rest to the same URL over HTTPS, so a browser that
// typed http:// lands on the desktop and the session cookie (Secure)
// never travels in clear.

// Self-signed certificate: where it is kept and how long it lives.
const (
	selfSignedDir      = "tls"
	selfSignedCertName = "selfsigned.crt"
	selfSignedKeyName  = "selfsigned.key"
	selfSignedLifetime = 5 * 365 * 24 * time.Hour
	// selfSignedRenew is how long before expiry a start makes a new one.
	selfSignedRenew = 30 * 24 * time.Hour
	// sniffTimeout bounds the wait for a new connection's first byte.
	sniffTimeout = 10 * time.Second
)

// selfSignedPaths returns where the self-signed certificate and key live.
func selfSignedPaths(dataDir string) (cert, key string) {
	d := filepath.Join(dataDir, selfSignedDir)
	return filepath.Join(d, selfSignedCertName), filepath.Join(d, selfSignedKeyName)
}

// certFingerprint is the SHA-256 of a certificate's DER, as browsers show
// it (AA:BB:…).
func certFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// httpsCertificate returns the certificate of the listener: the
// configured pair, or the self-signed one under the data directory,
// made when missing, near expiry or not naming the listen address. It
// logs the certificate's SHA-256 fingerprint.
func httpsCertificate(cfg *config.Config, log *slog.Logger, now time.Time) (tls.Certificate, error) {
	if !cfg.HTTP.SelfSigned() {
		pair, err := cfg.HTTP.LoadPair(now)
		if err != nil {
			return tls.Certificate{}, err
		}
		cert, _ := cfg.HTTP.Paths()
		log.Info("https certificate", "source", cert, "sha256", certFingerprint(pair.Leaf.Raw),
			"not_after", pair.Leaf.NotAfter.UTC().Format(time.DateOnly))
		return pair, nil
	}
	certPath, keyPath := selfSignedPaths(cfg.Data.Dir)
	hosts := certHosts(cfg.HTTP.Listen)
	pair, err := (config.HTTPTLS{CertFile: certPath, KeyFile: keyPath}).LoadPair(now)
	made := false
	if err != nil || now.Add(selfSignedRenew).After(pair.Leaf.NotAfter) || !coversHosts(pair.Leaf, hosts) {
		if pair, err = makeSelfSigned(certPath, keyPath, hosts, now); err != nil {
			return tls.Certificate{}, fmt.Errorf("self-signed https certificate: %w", err)
		}
		made = true
	}
	log.Info("https certificate", "source", "self-signed", "generated", made, "file", certPath,
		"sha256", certFingerprint(pair.Leaf.Raw), "not_after", pair.Leaf.NotAfter.UTC().Format(time.DateOnly),
		"names", strings.Join(hosts, ","))
	return pair, nil
}

// certHosts are the names and addresses a self-signed certificate covers:
// localhost and loopback, the host name, and the listen address (every
// interface address when it listens on all).
func certHosts(listen string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	ap, err := netip.ParseAddrPort(listen)
	if err == nil && ap.Addr().IsUnspecified() {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsLinkLocalUnicast() {
					hosts = append(hosts, p.Addr().String())
				}
			}
		}
	} else if err == nil {
		hosts = append(hosts, ap.Addr().Unmap().String())
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

// coversHosts reports whether c names every host.
func coversHosts(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// makeSelfSigned writes a new ECDSA P-256 certificate for hosts and its
// key (mode 0600), replacing both files atomically.
func makeSelfSigned(certPath, keyPath string, hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "obzvon " + host, Organization: []string{"obzvon (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return tls.Certificate{}, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The key first: a crash between the two leaves a key without its
	// certificate, which the next start replaces, never a certificate
	// with a stranger's key.
	if err := writeFileAtomic(keyPath, 0o600, bytesOf(keyPEM)); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, 0o644, bytesOf(certPEM)); err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	pair.Leaf, err = x509.ParseCertificate(der)
	return pair, err
}

// listenHTTP opens [http] listen for HTTPS and plain HTTP on one port.
func listenHTTP(cfg *config.Config, log *slog.Logger) (net.Listener, error) {
	pair, err := httpsCertificate(cfg, log, time.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", cfg.HTTP.Listen, err)
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	return newDualListener(ln, tc), nil
}

// dualListener hands out TLS connections (*tls.Conn, so net/http sets
// Request.TLS and speaks HTTP/2 on them) and plain ones from one socket.
// Each new connection is classified by its first byte in its own
// goroutine, so a client that sends nothing holds up only itself.
type dualListener struct {
	net.Listener
	tls   *tls.Config
	gate  *handshakeGate
	conns chan net.Conn
	errs  chan error
	done  chan struct{}
	once  sync.Once
}

func newDualListener(ln net.Listener, tc *tls.Config) *dualListener {
	gate := newHandshakeGate()
	d := &dualListener{Listener: ln, tls: gate.config(tc), gate: gate, conns: make(chan net.Conn), errs: make(chan error, 1), done: make(chan struct{})}
	go d.acceptLoop()
	return d
}

func (d *dualListener) acceptLoop() {
	var delay time.Duration
	for {
		c, err := d.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				select {
				case d.errs <- err:
				case <-d.done:
				}
				return
			}
			// Out of descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
			case <-d.done:
				return
			}
			continue
		}
		delay = 0
		go d.classify(c)
	}
}

func (d *dualListener) classify(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 1024)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 { // TLS record type: handshake
		out = tls.Server(d.gate.conn(out), d.tls)
	}
	select {
	case d.conns <- out:
	case <-d.done:
		c.Close()
	}
}

// Accept returns the next classified connection.
func (d *dualListener) Accept() (net.Conn, error) {
	select {
	case c := <-d.conns:
		return c, nil
	case err := <-d.errs:
		return nil, err
	case <-d.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections being classified are closed.
func (d *dualListener) Close() error {
	var err error
	d.once.Do(func() {
		close(d.done)
		err = d.Listener.Close()
	})
	return err
}

// peekedConn reads first what was peeked.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// plainHTTP wraps the handler of the dual listener: requests over TLS go
// to h; plain ones only for health and (when open) metrics, every other
// one is redirected (308, keeping method and body) to HTTPS on the same
// port.
func plainHTTP(h http.Handler, openMetrics bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			h.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case "/healthz", "/readyz":
			h.ServeHTTP(w, r)
			return
		case "/metrics":
			if openMetrics {
				h.ServeHTTP(w, r)
				return
			}
		}
		host := r.Host
		if _, _, err := net.SplitHostPort(host); err != nil {
			// No port in Host: the client came through a port it
			// believes is 80; send it to the port it reached.
			if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				if _, port, err := net.SplitHostPort(la.String()); err == nil {
					host = net.JoinHostPort(strings.Trim(host, "[]"), port)
				}
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
