package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"
)

// HTTPTLS is the HTTPS part of [http]: the certificate and key of the
// desktop, the API and /metrics. Both empty: the appliance makes a
// self-signed certificate on first start (kept under data.dir/tls and
// reused) and logs its SHA-256 fingerprint, for users to compare with
// what their browser shows. The listener speaks HTTPS and plain HTTP on
// the same port: plain HTTP answers /healthz, /readyz and (with
// open_metrics) /metrics, and redirects everything else to HTTPS.
type HTTPTLS struct {
	// CertFile is a PEM certificate chain, leaf first; KeyFile its PEM
	// private key. Both may name ${CREDENTIALS_DIRECTORY}/… for systemd's
	// LoadCredential=.
	CertFile string `toml:"tls_cert_file"`
	KeyFile  string `toml:"tls_key_file"`
}

// SelfSigned reports whether no certificate is configured, so the
// appliance makes its own.
func (t HTTPTLS) SelfSigned() bool { return t.CertFile == "" && t.KeyFile == "" }

// Paths returns the certificate and key paths with environment variables
// (${CREDENTIALS_DIRECTORY}) expanded.
func (t HTTPTLS) Paths() (cert, key string) {
	return os.ExpandEnv(t.CertFile), os.ExpandEnv(t.KeyFile)
}

// LoadPair reads the configured certificate and key and checks that they
// belong together and that the certificate is valid at now. Its errors
// name the key of the file at fault.
func (t HTTPTLS) LoadPair(now time.Time) (tls.Certificate, error) {
	certPath, keyPath := t.Paths()
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, &FieldError{Key: "http.tls_cert_file", Value: t.CertFile, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, &FieldError{Key: "http.tls_key_file", Value: t.KeyFile, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return tls.Certificate{}, &FieldError{Key: "http.tls_cert_file", Value: t.CertFile, Msg: "not a usable certificate: want a PEM CERTIFICATE block first"}
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return tls.Certificate{}, &FieldError{Key: "http.tls_cert_file", Value: t.CertFile, Msg: fmt.Sprintf("not a usable certificate: %v", err)}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, &FieldError{Key: "http.tls_key_file", Value: t.KeyFile, Msg: fmt.Sprintf("not the key of http.tls_cert_file: %v", err)}
	}
	switch {
	case now.After(leaf.NotAfter):
		return tls.Certificate{}, &FieldError{Key: "http.tls_cert_file", Value: t.CertFile,
			Msg: fmt.Sprintf("certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly))}
	case now.Before(leaf.NotBefore):
		return tls.Certificate{}, &FieldError{Key: "http.tls_cert_file", Value: t.CertFile,
			Msg: fmt.Sprintf("certificate not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))}
	}
	pair.Leaf = leaf
	return pair, nil
}

// unwrapPathError drops the path from an *os.PathError (the key and value
// already say which file).
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// tlsErrors checks [http] tls_cert_file and tls_key_file: both or
// neither, and when both, a readable, matching, currently valid pair. A
// path under ${CREDENTIALS_DIRECTORY} cannot be read outside the service
// (check-config runs in a shell): it is checked when the service starts.
func (h HTTP) tlsErrors() []error {
	t := h.HTTPTLS
	switch {
	case t.SelfSigned():
		return nil
	case t.CertFile == "":
		return []error{&FieldError{Key: "http.tls_cert_file", Msg: "missing: http.tls_key_file is set, give the certificate too (or neither, for a self-signed one)"}}
	case t.KeyFile == "":
		return []error{&FieldError{Key: "http.tls_key_file", Msg: "missing: http.tls_cert_file is set, give its private key too (or neither, for a self-signed one)"}}
	}
	if os.Getenv("CREDENTIALS_DIRECTORY") == "" &&
		(strings.Contains(t.CertFile, "CREDENTIALS_DIRECTORY") || strings.Contains(t.KeyFile, "CREDENTIALS_DIRECTORY")) {
		return nil
	}
	if _, err := t.LoadPair(time.Now()); err != nil {
		return []error{err}
	}
	return nil
}
