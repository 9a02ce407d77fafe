package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate valid in [from, to) and its
// key under dir, returning their paths.
func writePair(t *testing.T, dir, name string, from, to time.Time) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: from, NotAfter: to}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

func TestHTTPTLSPair(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	goodCert, goodKey := writePair(t, dir, "good", now.Add(-time.Hour), now.Add(24*time.Hour))
	_, otherKey := writePair(t, dir, "other", now.Add(-time.Hour), now.Add(24*time.Hour))
	oldCert, oldKey := writePair(t, dir, "old", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	tests := []struct {
		name      string
		cert, key string
		wantKey   string // the key the error must name; "" = valid
		wantMsg   string
	}{
		{"neither: self-signed", "", "", "", ""},
		{"matching pair", goodCert, goodKey, "", ""},
		{"certificate alone", goodCert, "", "http.tls_key_file", "missing"},
		{"key alone", "", goodKey, "http.tls_cert_file", "missing"},
		{"key of another certificate", goodCert, otherKey, "http.tls_key_file", "not the key"},
		{"expired certificate", oldCert, oldKey, "http.tls_cert_file", "expired"},
		{"missing file", filepath.Join(dir, "none.crt"), goodKey, "http.tls_cert_file", "cannot read"},
		{"key given as certificate", goodKey, goodKey, "http.tls_cert_file", "not a usable certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "[http]\n"
			if tc.cert != "" {
				src += "tls_cert_file = " + quote(tc.cert) + "\n"
			}
			if tc.key != "" {
				src += "tls_key_file = " + quote(tc.key) + "\n"
			}
			c, err := Parse(strings.NewReader(src))
			if err != nil {
				t.Fatalf("Parse(%q) = %v, want the [http] tls keys accepted", src, err)
			}
			if c.HTTP.CertFile != tc.cert || c.HTTP.KeyFile != tc.key {
				t.Fatalf("parsed cert/key = %q/%q, want %q/%q", c.HTTP.CertFile, c.HTTP.KeyFile, tc.cert, tc.key)
			}
			err = c.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %s", tc.wantKey)
			}
			if !strings.Contains(err.Error(), tc.wantKey) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Validate() = %v, want it to name %s and say %q", err, tc.wantKey, tc.wantMsg)
			}
		})
	}
}

// A path under ${CREDENTIALS_DIRECTORY} is checked where it can be read:
// in the service (variable set), not by check-config in a shell.
func TestHTTPTLSCredentialsDirectory(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	writePair(t, dir, "web", now.Add(-time.Hour), now.Add(24*time.Hour))
	src := "[http]\ntls_cert_file = \"${CREDENTIALS_DIRECTORY}/web.crt\"\ntls_key_file = \"${CREDENTIALS_DIRECTORY}/web.key\"\n"
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	c, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("without CREDENTIALS_DIRECTORY: Validate() = %v, want nil (checked at start)", err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if err := c.Validate(); err != nil {
		t.Fatalf("with CREDENTIALS_DIRECTORY=%s: Validate() = %v, want nil", dir, err)
	}
	if _, err := c.HTTP.LoadPair(now); err != nil {
		t.Fatalf("LoadPair = %v", err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", t.TempDir())
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "http.tls_cert_file") {
		t.Fatalf("empty credentials directory: Validate() = %v, want http.tls_cert_file unreadable", err)
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }
