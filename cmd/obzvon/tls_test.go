package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
)

// check-config looks into the TLS files: it says which certificate serves
// until when, and names the key and the problem when the pair is bad.
func TestCheckConfigTLS(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, o peertest.TLSOptions) peertest.TLSFiles {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return peertest.MakeTLSFiles(t, d, o)
	}
	good := mk("good", peertest.TLSOptions{CommonName: "sip.example", NotAfter: time.Now().Add(90 * 24 * time.Hour)})
	other := mk("other", peertest.TLSOptions{})
	expired := mk("expired", peertest.TLSOptions{NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-48 * time.Hour)})
	tlsConf := func(cert, key string) string {
		return fmt.Sprintf("[sip]\ntransports = [\"udp\", \"tls\"]\ntls_cert_file = %q\ntls_key_file = %q\n", cert, key)
	}
	for _, tc := range []struct {
		name, toml string
		code       int
		want       []string
	}{
		{"good pair", tlsConf(good.Cert, good.Key), 0, []string{"OK", `TLS certificate "sip.example" valid until ` + validUntil(90)}},
		{"key of another certificate", tlsConf(good.Cert, other.Key), exitFailure, []string{"sip.tls_key_file", other.Key, "does not go with sip.tls_cert_file"}},
		{"expired", tlsConf(expired.Cert, expired.Key), exitFailure, []string{"sip.tls_cert_file", "expired on"}},
		{"missing key", tlsConf(good.Cert, filepath.Join(dir, "none.key")), exitFailure, []string{"sip.tls_key_file", "none.key", "cannot read"}},
		{"credentials directory unset", tlsConf("${CREDENTIALS_DIRECTORY}/sip.crt", good.Key), exitFailure, []string{"$CREDENTIALS_DIRECTORY is not set"}},
		{"no files named", "[sip]\ntransports = [\"tls\"]\n", exitFailure, []string{"sip.tls_cert_file", "sip.tls_key_file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".toml")
			if err := os.WriteFile(path, []byte(tc.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errs, code := runCmd("check-config", path)
			if code != tc.code {
				t.Errorf("check-config exit %d, want %d; stdout %q stderr %q", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errs, w) {
					t.Errorf("check-config output lacks %q:\n%s%s", w, out, errs)
				}
			}
		})
	}
}

func validUntil(days int) string {
	return time.Now().Add(time.Duration(days) * 24 * time.Hour).UTC().Format(time.DateOnly)
}
