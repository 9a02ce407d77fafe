package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
)

func tlsConfig(t *testing.T, toml string) (*Config, error) {
	t.Helper()
	c, err := Parse(strings.NewReader(toml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c, c.Validate()
}

func TestTLSAndSRTPOffByDefault(t *testing.T) {
	c := Default()
	if c.SIP.HasTransport("tls") || c.RTP.SRTP != SRTPOff || c.SIP.TLSPort != 5061 || c.SIP.TLSVerifyClient != VerifyClientOff {
		t.Errorf("Default(): transports %v, rtp.srtp %q, tls_port %d, verify %q; want no TLS, srtp off, 5061, off",
			c.SIP.Transports, c.RTP.SRTP, c.SIP.TLSPort, c.SIP.TLSVerifyClient)
	}
	if _, err := c.CheckTLSFiles(time.Now()); err != nil {
		t.Errorf("CheckTLSFiles without TLS = %v, want nil", err)
	}
}

func TestValidateTLSKeys(t *testing.T) {
	for _, tt := range []struct {
		name string
		toml string
		want []string // each must appear in the joined error
	}{
		{"tls without files", "[sip]\ntransports = [\"udp\", \"tls\"]\n",
			[]string{`sip.tls_cert_file = "": TLS is in sip.transports`, `sip.tls_key_file = "": TLS is in sip.transports`}},
		{"tls on the tcp port", "[sip]\nport = 5070\ntls_port = 5070\ntransports = [\"tcp\", \"tls\"]\ntls_cert_file = \"a\"\ntls_key_file = \"b\"\n",
			[]string{`sip.tls_port = 5070: is sip.port`}},
		{"verify without CA", "[sip]\ntransports = [\"tls\"]\ntls_cert_file = \"a\"\ntls_key_file = \"b\"\ntls_verify_client = \"required\"\n",
			[]string{`sip.tls_client_ca_file = "": sip.tls_verify_client is required`}},
		{"bad verify mode", "[sip]\ntls_verify_client = \"yes\"\n", []string{`sip.tls_verify_client = "yes": must be off, optional or required`}},
		{"bad port", "[sip]\ntls_port = 70000\n", []string{`sip.tls_port = 70000: must be 1..65535`}},
		{"bad srtp", "[rtp]\nsrtp = \"yes\"\n", []string{`rtp.srtp = "yes": must be off, tls`}},
		{"route srtp with srtp off", "[[route]]\nname = \"t\"\nmatch = \"8*\"\naction = \"dial\"\ntarget = \"sips:${number}@192.0.2.1\"\nsrtp = true\n",
			[]string{`route[0].srtp = true: rtp.srtp is off`}},
		{"route srtp over plain SIP", "[rtp]\nsrtp = \"tls\"\n[[route]]\nname = \"t\"\nmatch = \"8*\"\naction = \"dial\"\ntarget = \"sip:${number}@192.0.2.1\"\nsrtp = true\n",
			[]string{`route[0].srtp = true: rtp.srtp is tls but the target "sip:${number}@192.0.2.1" is not reached over TLS`}},
		{"trunk srtp with srtp off", "[[trunk]]\nname = \"t\"\naddress = \"192.0.2.1\"\ntransport = \"tls\"\nsrtp = true\n",
			[]string{`trunk[0].srtp = true: rtp.srtp is off`}},
		{"trunk srtp over udp", "[rtp]\nsrtp = \"tls\"\n[[trunk]]\nname = \"t\"\naddress = \"192.0.2.1\"\nsrtp = true\n",
			[]string{`trunk[0].srtp = true: rtp.srtp is tls but the trunk's transport is ""`}},
		{"route srtp on echo", "[rtp]\nsrtp = \"any\"\n[[route]]\nname = \"e\"\nmatch = \"600\"\naction = \"echo\"\nsrtp = true\n",
			[]string{`route[0].srtp = true: only a dial route`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tlsConfig(t, tt.toml)
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() error lacks %q; got:\n%v", w, err)
				}
			}
		})
	}
	for _, ok := range []string{
		"[sip]\ntransports = [\"udp\", \"tcp\", \"tls\"]\ntls_cert_file = \"a\"\ntls_key_file = \"b\"\n",
		"[rtp]\nsrtp = \"tls\"\n[[route]]\nname = \"t\"\nmatch = \"8*\"\naction = \"dial\"\ntarget = \"sip:${number}@192.0.2.1;transport=tls\"\nsrtp = true\n",
		"[rtp]\nsrtp = \"tls\"\n[[route]]\nname = \"a\"\nmatch = \"1XXX\"\naction = \"dial\"\ntarget = \"reg:${number}\"\nsrtp = true\n",
		"[rtp]\nsrtp = \"any\"\n[[route]]\nname = \"t\"\nmatch = \"8*\"\naction = \"dial\"\ntarget = \"sip:${number}@192.0.2.1\"\nsrtp = true\n",
		"[rtp]\nsrtp = \"tls\"\n[[trunk]]\nname = \"t\"\naddress = \"192.0.2.1\"\ntransport = \"tls\"\nsrtp = true\n",
	} {
		if _, err := tlsConfig(t, ok); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", ok, err)
		}
	}
}

// check-config's file checks: each problem names the key, the file and
// what is wrong with it.
func TestCheckTLSFiles(t *testing.T) {
	dir := t.TempDir()
	good := peertest.MakeTLSFiles(t, filepath.Join(mkdir(t, dir, "good")), peertest.TLSOptions{CommonName: "sip.example"})
	other := peertest.MakeTLSFiles(t, filepath.Join(mkdir(t, dir, "other")), peertest.TLSOptions{})
	expired := peertest.MakeTLSFiles(t, filepath.Join(mkdir(t, dir, "expired")), peertest.TLSOptions{
		CommonName: "old.example", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	future := peertest.MakeTLSFiles(t, filepath.Join(mkdir(t, dir, "future")), peertest.TLSOptions{
		NotBefore: time.Now().Add(24 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour)})
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o600)
	cfg := func(cert, key string, mod ...func(*Config)) *Config {
		c := Default()
		c.SIP.Transports = []string{"udp", "tls"}
		c.SIP.TLSCertFile, c.SIP.TLSKeyFile = cert, key
		for _, m := range mod {
			m(c)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		return c
	}
	leaf, err := cfg(good.Cert, good.Key).CheckTLSFiles(time.Now())
	if err != nil || leaf == nil || leaf.Subject.CommonName != "sip.example" {
		t.Fatalf("CheckTLSFiles(good pair) = %v, %v; want the leaf sip.example and no error", leaf, err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", filepath.Join(dir, "good"))
	if _, err := cfg("${CREDENTIALS_DIRECTORY}/server.pem", "$CREDENTIALS_DIRECTORY/server.key").CheckTLSFiles(time.Now()); err != nil {
		t.Errorf("CheckTLSFiles with ${CREDENTIALS_DIRECTORY} = %v, want nil", err)
	}
	for _, tt := range []struct {
		name string
		c    *Config
		want string
	}{
		{"key of another certificate", cfg(good.Cert, other.Key), `sip.tls_key_file = "` + other.Key + `": does not go with sip.tls_cert_file`},
		{"expired", cfg(expired.Cert, expired.Key), `certificate "old.example" expired on ` + time.Now().Add(-24*time.Hour).UTC().Format(time.DateOnly)},
		{"not yet valid", cfg(future.Cert, future.Key), `is not valid before`},
		{"missing cert", cfg(filepath.Join(dir, "none.pem"), good.Key), `sip.tls_cert_file = "` + filepath.Join(dir, "none.pem") + `": cannot read: no such file or directory`},
		{"garbage cert", cfg(garbage, good.Key), `sip.tls_cert_file = "` + garbage + `": no PEM CERTIFICATE block`},
		{"cert as key", cfg(good.Cert, good.Cert), `sip.tls_key_file = "` + good.Cert + `": no PEM PRIVATE KEY block`},
		{"garbage CA", cfg(good.Cert, good.Key, func(c *Config) { c.SIP.TLSCAFile = garbage }), `sip.tls_ca_file = "` + garbage + `": no PEM certificates`},
		{"client CA unreadable", cfg(good.Cert, good.Key, func(c *Config) {
			c.SIP.TLSVerifyClient, c.SIP.TLSClientCAFile = VerifyClientOptional, filepath.Join(dir, "nope.pem")
		}), `sip.tls_client_ca_file = "` + filepath.Join(dir, "nope.pem") + `": cannot read`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.CheckTLSFiles(time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckTLSFiles() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	os.Unsetenv("CREDENTIALS_DIRECTORY")
	_, err = cfg("${CREDENTIALS_DIRECTORY}/server.pem", good.Key).CheckTLSFiles(time.Now())
	if err == nil || !strings.Contains(err.Error(), `$CREDENTIALS_DIRECTORY is not set (systemd sets it`) {
		t.Errorf("CheckTLSFiles with CREDENTIALS_DIRECTORY unset = %v, want it named", err)
	}
}

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(parts...)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
