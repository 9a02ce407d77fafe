package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// SIPTLS configures SIP over TLS (RFC 3261 §26; RFC 5630 for sips:). It
// is part of [sip]; TLS listens when "tls" is among sip.transports.
type SIPTLS struct {
	// TLSPort is the TLS listener's port (TCP), 5061 by default.
	TLSPort int `toml:"tls_port"`
	// TLSCertFile and TLSKeyFile are the server certificate (PEM, leaf
	// first, then intermediates) and its private key (PEM). With systemd,
	// LoadCredential=sip.crt:/etc/obzvon/sip.crt and
	// "${CREDENTIALS_DIRECTORY}/sip.crt" here; ${VAR} is expanded. The
	// pair is re-read when either file changes, for renewals.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// TLSVerifyClient asks peers for a certificate: "off" (the default:
	// phones authenticate with digest), "optional" (a certificate, when
	// sent, must verify against TLSClientCAFile: trunks that present one
	// are checked, phones without one still connect), "required".
	TLSVerifyClient string `toml:"tls_verify_client"`
	// TLSClientCAFile holds the CAs (PEM) that peers' client
	// certificates must chain to; needed unless TLSVerifyClient is off.
	TLSClientCAFile string `toml:"tls_client_ca_file"`
	// TLSCAFile holds the CAs (PEM) that servers we connect to over TLS
	// (trunks dialled with sips: or ;transport=tls) must chain to; empty
	// means the system's roots. Our certificate is presented to them as a
	// client certificate.
	TLSCAFile string `toml:"tls_ca_file"`
}

// TLS verify-client modes.
const (
	VerifyClientOff      = "off"
	VerifyClientOptional = "optional"
	VerifyClientRequired = "required"
)

// SRTP modes of rtp.srtp: when media is keyed with SDES (RFC 4568).
const (
	// SRTPOff refuses offers of RTP/SAVP with 488 and ignores crypto
	// lines in RTP/AVP offers.
	SRTPOff = "off"
	// SRTPTLS answers SRTP offers when the SIP signalling came over TLS,
	// so the keys in the SDP are not in clear; over UDP or TCP an RTP/SAVP
	// offer gets 488.
	SRTPTLS = "tls"
	// SRTPAny answers SRTP offers over any transport. Over UDP or TCP the
	// keys travel in clear in the SDP: media is protected only from those
	// who see the RTP but not the SIP.
	SRTPAny = "any"
)

func defaultSIPTLS() SIPTLS {
	return SIPTLS{TLSPort: 5061, TLSVerifyClient: VerifyClientOff}
}

// HasTransport reports whether t (udp, tcp, tls) is among the transports.
func (s SIP) HasTransport(t string) bool {
	for _, x := range s.Transports {
		if x == t {
			return true
		}
	}
	return false
}

// validTransport reports whether t may be listed in sip.transports.
func validTransport(t string) bool { return t == "udp" || t == "tcp" || t == "tls" }

// validateTLS checks the [sip] TLS keys, rtp.srtp and the routes' srtp,
// without touching files (CheckTLSFiles does).
func (c *Config) validateTLS(bad func(key string, val any, format string, args ...any)) {
	s := c.SIP
	if s.TLSPort < 1 || s.TLSPort > 65535 {
		bad("sip.tls_port", s.TLSPort, "must be 1..65535")
	} else if s.HasTransport("tls") && s.HasTransport("tcp") && s.TLSPort == s.Port {
		bad("sip.tls_port", s.TLSPort, "is sip.port, which TCP listens on; TLS needs its own port (5061)")
	}
	switch s.TLSVerifyClient {
	case VerifyClientOff, VerifyClientOptional, VerifyClientRequired:
	default:
		bad("sip.tls_verify_client", s.TLSVerifyClient, "must be off, optional or required")
	}
	if s.HasTransport("tls") {
		if s.TLSCertFile == "" {
			bad("sip.tls_cert_file", s.TLSCertFile, "TLS is in sip.transports: name the certificate (PEM)")
		}
		if s.TLSKeyFile == "" {
			bad("sip.tls_key_file", s.TLSKeyFile, "TLS is in sip.transports: name the private key (PEM)")
		}
		if s.TLSVerifyClient != VerifyClientOff && s.TLSVerifyClient != "" && s.TLSClientCAFile == "" {
			bad("sip.tls_client_ca_file", s.TLSClientCAFile, "sip.tls_verify_client is %s: name the CAs client certificates must chain to", s.TLSVerifyClient)
		}
	}
	switch c.RTP.SRTP {
	case SRTPOff, SRTPTLS, SRTPAny:
	default:
		bad("rtp.srtp", c.RTP.SRTP, "must be off, tls (SRTP when SIP is over TLS) or any")
	}
	for i, t := range c.Trunks {
		if !t.SRTP {
			continue
		}
		key := fmt.Sprintf("trunk[%d].srtp", i)
		switch {
		case c.RTP.SRTP == SRTPOff:
			bad(key, t.SRTP, "rtp.srtp is off: turn it on (tls or any) to offer SRTP")
		case c.RTP.SRTP == SRTPTLS && t.Transport != "tls":
			bad(key, t.SRTP, "rtp.srtp is tls but the trunk's transport is %q; its keys would travel in clear", t.Transport)
		}
	}
	for i, r := range c.Routes {
		if !r.SRTP {
			continue
		}
		key := fmt.Sprintf("route[%d].srtp", i)
		switch {
		case r.Action != ActionDial:
			bad(key, r.SRTP, "only a dial route places a leg that can offer SRTP")
		case c.RTP.SRTP == SRTPOff:
			bad(key, r.SRTP, "rtp.srtp is off: turn it on (tls or any) to offer SRTP")
		case c.RTP.SRTP == SRTPTLS && !TargetIsTLS(r.Target) && !strings.HasPrefix(r.Target, "reg:"):
			bad(key, r.SRTP, "rtp.srtp is tls but the target %q is not reached over TLS (sips: or ;transport=tls); its keys would travel in clear", r.Target)
		}
	}
}

// TargetIsTLS reports whether a SIP URI target is reached over TLS: a
// sips: URI or a transport=tls parameter.
func TargetIsTLS(target string) bool {
	t := strings.ToLower(target)
	return strings.HasPrefix(t, "sips:") || strings.Contains(t, ";transport=tls")
}

// ExpandPath expands ${VAR} and $VAR in a configured file name, as for
// systemd's ${CREDENTIALS_DIRECTORY}. A variable the path uses that is
// not set is an error, not an empty string: "/sip.crt" would be a
// confusing file to look for.
func ExpandPath(p string) (string, error) {
	var missing []string
	out := os.Expand(p, func(v string) string {
		val, ok := os.LookupEnv(v)
		if !ok {
			missing = append(missing, v)
		}
		return val
	})
	if len(missing) > 0 {
		hint := ""
		if missing[0] == "CREDENTIALS_DIRECTORY" {
			hint = " (systemd sets it for units with LoadCredential=; outside systemd set it or use a plain path)"
		}
		return "", fmt.Errorf("$%s is not set%s", missing[0], hint)
	}
	return out, nil
}

// CheckTLSFiles reads the files the TLS settings name, when TLS is
// listed in sip.transports, and reports every problem as a *FieldError:
// unreadable or malformed files, a key that does not match the
// certificate, a certificate not yet valid or expired, CA files without
// certificates. It returns the leaf certificate for a summary.
func (c *Config) CheckTLSFiles(now time.Time) (*x509.Certificate, error) {
	s := c.SIP
	if !s.HasTransport("tls") {
		return nil, nil
	}
	var errs []error
	bad := func(key, val, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Value: val, Msg: fmt.Sprintf(format, args...)})
	}
	read := func(key, p string) []byte {
		path, err := ExpandPath(p)
		if err != nil {
			bad(key, p, "%v", err)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			bad(key, p, "cannot read: %v", errors.Unwrap(err))
			return nil
		}
		return b
	}
	certPEM := read("sip.tls_cert_file", s.TLSCertFile)
	keyPEM := read("sip.tls_key_file", s.TLSKeyFile)
	var leaf *x509.Certificate
	if certPEM != nil {
		if blk, _ := pem.Decode(certPEM); blk == nil || blk.Type != "CERTIFICATE" {
			bad("sip.tls_cert_file", s.TLSCertFile, "no PEM CERTIFICATE block in the file")
			certPEM = nil
		} else if leaf, _ = x509.ParseCertificate(blk.Bytes); leaf == nil {
			bad("sip.tls_cert_file", s.TLSCertFile, "the first certificate does not parse")
			certPEM = nil
		}
	}
	if keyPEM != nil {
		if blk, _ := pem.Decode(keyPEM); blk == nil || !strings.Contains(blk.Type, "PRIVATE KEY") {
			bad("sip.tls_key_file", s.TLSKeyFile, "no PEM PRIVATE KEY block in the file")
			keyPEM = nil
		}
	}
	if certPEM != nil && keyPEM != nil {
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			bad("sip.tls_key_file", s.TLSKeyFile, "does not go with sip.tls_cert_file %q: %v", s.TLSCertFile, err)
		}
	}
	if leaf != nil {
		switch {
		case now.After(leaf.NotAfter):
			bad("sip.tls_cert_file", s.TLSCertFile, "certificate %q expired on %s", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(leaf.NotBefore):
			bad("sip.tls_cert_file", s.TLSCertFile, "certificate %q is not valid before %s", leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))
		}
	}
	for _, ca := range []struct{ key, file string }{{"sip.tls_client_ca_file", s.TLSClientCAFile}, {"sip.tls_ca_file", s.TLSCAFile}} {
		if ca.file == "" || (ca.key == "sip.tls_client_ca_file" && s.TLSVerifyClient == VerifyClientOff) {
			continue
		}
		if b := read(ca.key, ca.file); b != nil && !x509.NewCertPool().AppendCertsFromPEM(b) {
			bad(ca.key, ca.file, "no PEM certificates in the file")
		}
	}
	return leaf, errors.Join(errs...)
}
