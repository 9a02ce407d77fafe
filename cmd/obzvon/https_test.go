package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
)

// httpsClient is an HTTP client that trusts only the daemon's self-signed
// certificate (read from its data directory) and does not follow
// redirects.
func (d *runningDaemon) httpsClient() *http.Client {
	d.t.Helper()
	return trustingClient(d.t, d.data)
}

func trustingClient(t *testing.T, dataDir string) *http.Client {
	t.Helper()
	certPath, _ := selfSignedPaths(dataDir)
	b, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatalf("self-signed certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no PEM certificate", certPath)
	}
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// The self-signed certificate is made once and reused; a listen address
// it does not name, or its coming expiry, makes a new one.
func TestSelfSignedCertificateReuse(t *testing.T) {
	cfg := config.Default()
	cfg.Data.Dir = t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	now := time.Now()

	first, err := httpsCertificate(cfg, log, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "generated=true") || !strings.Contains(logs.String(), "sha256="+certFingerprint(first.Leaf.Raw)) {
		t.Fatalf("first start log = %q, want generated=true and the fingerprint %s", logs.String(), certFingerprint(first.Leaf.Raw))
	}
	for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
		if err := first.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not name %s: %v", h, err)
		}
	}
	certPath, keyPath := selfSignedPaths(cfg.Data.Dir)
	if st, err := os.Stat(keyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file %s: mode %v, err %v; want 0600", keyPath, st.Mode().Perm(), err)
	}

	logs.Reset()
	second, err := httpsCertificate(cfg, log, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if certFingerprint(second.Leaf.Raw) != certFingerprint(first.Leaf.Raw) || !strings.Contains(logs.String(), "generated=false") {
		t.Fatalf("second start made a new certificate (log %q), want the first one reused", logs.String())
	}

	cfg.HTTP.Listen = "127.0.0.2:8080"
	third, err := httpsCertificate(cfg, log, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := third.Leaf.VerifyHostname("127.0.0.2"); err != nil {
		t.Fatalf("after moving to 127.0.0.2 the certificate does not name it: %v", err)
	}

	fourth, err := httpsCertificate(cfg, log, third.Leaf.NotAfter.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if fourth.Leaf.NotAfter.Equal(third.Leaf.NotAfter) {
		t.Fatalf("a start a day before expiry kept the old certificate (not after %s)", third.Leaf.NotAfter)
	}
	b, _ := os.ReadFile(certPath)
	if blk, _ := pem.Decode(b); blk == nil || !bytes.Equal(blk.Bytes, fourth.Leaf.Raw) {
		t.Fatalf("%s does not hold the renewed certificate", certPath)
	}
}

// serveDual serves h on a dual listener on a free loopback port.
func serveDual(t *testing.T, h http.Handler, dataDir string) string {
	t.Helper()
	cfg := config.Default()
	cfg.Data.Dir = dataDir
	cfg.HTTP.Listen = "127.0.0.1:0"
	ln, err := listenHTTP(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// One port speaks both: HTTPS (HTTP/2) reaches the handler; plain HTTP
// reaches only health and open metrics and is redirected elsewhere; a
// client that connects and says nothing blocks nobody.
func TestDualListener(t *testing.T) {
	data := t.TempDir()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s tls=%v", r.URL.Path, r.TLS != nil)
	})
	addr := serveDual(t, plainHTTP(h, true), data)

	// A silent client holds a connection open while the others are served.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	hc := trustingClient(t, data)
	res, err := hc.Get("https://" + addr + "/api/v1/me")
	if err != nil {
		t.Fatalf("HTTPS GET: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "/api/v1/me tls=true" || res.Proto != "HTTP/2.0" {
		t.Fatalf("HTTPS GET = %d %s %q, want 200 HTTP/2.0 from the handler over TLS", res.StatusCode, res.Proto, body)
	}

	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		path, method string
		wantCode     int
		wantLocation string
	}{
		{"/healthz", "GET", 200, ""},
		{"/readyz", "GET", 200, ""},
		{"/metrics", "GET", 200, ""},
		{"/", "GET", http.StatusPermanentRedirect, "https://" + addr + "/"},
		{"/appeals/01ABC?x=1", "GET", http.StatusPermanentRedirect, "https://" + addr + "/appeals/01ABC?x=1"},
		{"/api/v1/login", "POST", http.StatusPermanentRedirect, "https://" + addr + "/api/v1/login"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader("{}"))
		res, err := plain.Do(req)
		if err != nil {
			t.Fatalf("plain %s %s: %v", tc.method, tc.path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.wantCode || res.Header.Get("Location") != tc.wantLocation {
			t.Errorf("plain %s %s = %d Location %q, want %d %q", tc.method, tc.path, res.StatusCode, res.Header.Get("Location"), tc.wantCode, tc.wantLocation)
		}
		if tc.wantCode == 200 && string(b) != tc.path+" tls=false" {
			t.Errorf("plain %s %s body %q, want the handler's", tc.method, tc.path, b)
		}
	}

	// Closed metrics are not served in clear.
	addr2 := serveDual(t, plainHTTP(h, false), t.TempDir())
	res, err = plain.Get("http://" + addr2 + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusPermanentRedirect {
		t.Errorf("plain /metrics with open_metrics=false = %d, want 308 to HTTPS", res.StatusCode)
	}
}

// The daemon logs the fingerprint of the certificate it serves, and a
// client that trusts that certificate alone reaches the API over HTTPS.
func TestDaemonServesHTTPS(t *testing.T) {
	d := startCLIDaemon(t)
	defer d.stop()
	m := regexp.MustCompile(`https certificate.*sha256=([0-9A-F:]{95})`).FindStringSubmatch(d.logs.String())
	if m == nil {
		t.Fatalf("no certificate fingerprint in the log:\n%s", d.logs)
	}
	hc := d.httpsClient()
	res, err := hc.Get(d.http + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS /healthz: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("HTTPS /healthz = %d", res.StatusCode)
	}
	if got := certFingerprint(res.TLS.PeerCertificates[0].Raw); got != m[1] {
		t.Fatalf("served certificate %s, logged %s", got, m[1])
	}
}

// check-config rejects a certificate without its key, and a key of
// another certificate, naming the key at fault.
func TestCheckConfigTLSPair(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	if _, err := makeSelfSigned(filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"), []string{"localhost"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := makeSelfSigned(filepath.Join(dir, "b.crt"), filepath.Join(dir, "b.key"), []string{"localhost"}, now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, http string
		code       int
		want       string
	}{
		{"pair", fmt.Sprintf("tls_cert_file = %q\ntls_key_file = %q\n", filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key")), 0, "OK"},
		{"cert alone", fmt.Sprintf("tls_cert_file = %q\n", filepath.Join(dir, "a.crt")), exitFailure, "http.tls_key_file: missing"},
		{"wrong key", fmt.Sprintf("tls_cert_file = %q\ntls_key_file = %q\n", filepath.Join(dir, "a.crt"), filepath.Join(dir, "b.key")), exitFailure, "http.tls_key_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "obzvon.toml")
			if err := os.WriteFile(path, []byte("[http]\n"+tc.http), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errs, code := runCmd("check-config", path)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("check-config = exit %d, %q %q; want exit %d mentioning %q", code, out, errs, tc.code, tc.want)
			}
		})
	}
}

// An open event stream (a desktop tab) does not hold the daemon's
// shutdown: the hub closes it, and the HTTP server stops without cutting
// connections at its deadline.
func TestShutdownClosesEventStreams(t *testing.T) {
	d := startCLIDaemon(t)
	if out, errs, code := runCmdStdin("correct horse battery\n", "agent", "add", "--dir", filepath.Join(d.data, "journal"), "--name", "Иванова Анна",
		"--role", "operator_l1", "--password-stdin", "ivanova"); code != 0 {
		t.Fatalf("agent add: %d %s %s", code, out, errs)
	}
	hc := d.httpsClient()
	body := strings.NewReader(`{"login":"ivanova","password":"correct horse battery"}`)
	res, err := hc.Post(d.http+"/api/v1/login", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("login = %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", d.http+"/api/v1/events", nil)
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	stream, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	first := make([]byte, 64)
	if n, err := stream.Body.Read(first); err != nil || !strings.Contains(string(first[:n]), "retry:") {
		t.Fatalf("event stream start %q, %v", first[:n], err)
	}
	d.stop()
	if strings.Contains(d.logs.String(), "http shutdown: connections cut") {
		t.Fatalf("shutdown waited for the open event stream and cut it:\n%s", d.logs)
	}
}
