package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// Trunk is a SIP trunk that outbound campaigns dial through ([[trunk]]).
// Trunks are tried in the order written: a trunk that answers 503 or does
// not answer at all is backed off and the next one is used.
type Trunk struct {
	// Name identifies the trunk in campaigns, metrics and call records.
	Name string `toml:"name"`
	// Address is the trunk's host:port (an IP address; port 5060 when
	// omitted).
	Address string `toml:"address"`
	// Transport is udp (default), tcp or tls (the trunk's certificate is
	// checked against sip.tls_ca_file; ours is presented to it).
	Transport string `toml:"transport"`
	// SRTP offers SRTP (RTP/SAVP with SDES keys) to the trunk; a trunk
	// that does not take it fails the call. Needs rtp.srtp on, and
	// transport = "tls" when rtp.srtp = "tls" (see tls.go).
	SRTP bool `toml:"srtp"`
	// Username and Password answer the trunk's digest challenge (401 or
	// 407); PasswordFile reads the password from a file instead (a systemd
	// credential).
	Username     string `toml:"username"`
	Password     string `toml:"password"`
	PasswordFile string `toml:"password_file"`
	// CallerID is the number sent in From (a campaign may set its own).
	CallerID string `toml:"caller_id"`
	// StripPrefix is removed from the E.164 number ("+7"), then
	// AddPrefix is put before it ("8"): +79123456789 → 89123456789.
	StripPrefix string `toml:"strip_prefix"`
	AddPrefix   string `toml:"add_prefix"`
	// MaxChannels bounds the trunk's simultaneous calls (0: no limit).
	MaxChannels int `toml:"max_channels"`
	// MaxCPS bounds new calls per second; below 1 the calls are spaced
	// (0.5: one every 2 s). 0: no limit.
	MaxCPS float64 `toml:"max_cps"`
	// Backoff is how long a failing trunk is left alone before it is
	// tried again (doubling on each failure up to 16 times).
	Backoff Duration `toml:"backoff"`
}

// DefaultTrunkBackoff is a failing trunk's first back-off.
const DefaultTrunkBackoff = 5 * time.Second

var (
	trunkNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	prefixRE    = regexp.MustCompile(`^\+?[0-9]*$`)
)

// Dest returns the number sent to the trunk for an E.164 number.
func (t Trunk) Dest(e164 string) string {
	return t.AddPrefix + strings.TrimPrefix(e164, t.StripPrefix)
}

// URI returns the Request-URI for an E.164 number.
func (t Trunk) URI(e164 string) string {
	u := "sip:" + t.Dest(e164) + "@" + t.Address
	if t.Transport == "tcp" || t.Transport == "tls" {
		u += ";transport=" + t.Transport
	}
	return u
}

// validateTrunks checks the [[trunk]] tables.
func (c *Config) validateTrunks() []error {
	var errs []error
	bad := func(key string, val any, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Value: val, Msg: fmt.Sprintf(format, args...)})
	}
	names := map[string]int{}
	for i := range c.Trunks {
		t := &c.Trunks[i]
		key := fmt.Sprintf("trunk[%d]", i)
		if !trunkNameRE.MatchString(t.Name) {
			bad(key+".name", t.Name, "must be lowercase letters, digits, - and _")
		} else if j, dup := names[t.Name]; dup {
			bad(key+".name", t.Name, "same name as trunk[%d]", j)
		} else {
			names[t.Name] = i
		}
		if ap, err := netip.ParseAddrPort(t.Address); err == nil {
			if ap.Port() == 0 {
				bad(key+".address", t.Address, "port 0")
			}
		} else if a, err := netip.ParseAddr(t.Address); err == nil {
			t.Address = netip.AddrPortFrom(a, 5060).String()
		} else {
			bad(key+".address", t.Address, "want IP:PORT or IP, e.g. 192.0.2.20:5060")
		}
		switch t.Transport {
		case "":
			t.Transport = "udp"
		case "udp", "tcp", "tls":
		default:
			bad(key+".transport", t.Transport, "must be udp, tcp or tls")
		}
		if t.Password != "" && t.PasswordFile != "" {
			bad(key+".password_file", t.PasswordFile, "set password or password_file, not both")
		}
		if (t.Password != "" || t.PasswordFile != "") && t.Username == "" {
			bad(key+".username", t.Username, "a password needs a username")
		}
		if !prefixRE.MatchString(t.StripPrefix) {
			bad(key+".strip_prefix", t.StripPrefix, "digits, optionally after +")
		}
		if !prefixRE.MatchString(t.AddPrefix) || strings.HasPrefix(t.AddPrefix, "+") && t.StripPrefix == "" {
			bad(key+".add_prefix", t.AddPrefix, "digits, optionally after + (then strip the + first)")
		}
		if t.CallerID != "" && !prefixRE.MatchString(t.CallerID) {
			bad(key+".caller_id", t.CallerID, "digits, optionally after +")
		}
		if t.MaxChannels < 0 {
			bad(key+".max_channels", t.MaxChannels, "must not be negative")
		}
		if t.MaxCPS < 0 || t.MaxCPS > 1000 || t.MaxCPS != t.MaxCPS {
			bad(key+".max_cps", t.MaxCPS, "must be 0 (no limit) to 1000")
		}
		switch {
		case t.Backoff.Duration == 0:
			t.Backoff.Duration = DefaultTrunkBackoff
		case t.Backoff.Duration < 100*time.Millisecond || t.Backoff.Duration > 10*time.Minute:
			bad(key+".backoff", t.Backoff.String(), "must be 100ms..10m")
		}
	}
	return errs
}

// TrunkByName returns the trunk with that name.
func (c *Config) TrunkByName(name string) (Trunk, bool) {
	for _, t := range c.Trunks {
		if t.Name == name {
			return t, true
		}
	}
	return Trunk{}, false
}
