package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole obzvon configuration. The zero value is not useful:
// start from Default.
type Config struct {
	Log     Log     `toml:"log"`
	SIP     SIP     `toml:"sip"`
	RTP     RTP     `toml:"rtp"`
	HTTP    HTTP    `toml:"http"`
	Data    Data    `toml:"data"`
	Calls   Calls   `toml:"calls"`
	Prompts Prompts `toml:"prompts"`
	Routes  []Route `toml:"route"`
	ACD     ACD     `toml:"acd"`
	Queues  []Queue `toml:"queue"`
	Trunks  []Trunk `toml:"trunk"`
}

// Log configures log/slog output on stderr (journald in production).
type Log struct {
	// Level is one of debug, info, warn, error.
	Level string `toml:"level"`
	// Format is text or json.
	Format string `toml:"format"`
}

// SIP configures the SIP listeners.
type SIP struct {
	// Host is the address the listeners bind to.
	Host string `toml:"host"`
	// Port is the SIP port for every transport.
	Port int `toml:"port"`
	// Transports lists the transports to listen on: udp, tcp, tls (TLS
	// on SIPTLS.TLSPort).
	Transports []string `toml:"transports"`
	// ExternalHost is the host put in Contact headers; empty means Host.
	ExternalHost string `toml:"external_host"`
	// UserAgent is sent in User-Agent and Server headers.
	UserAgent string `toml:"user_agent"`
	// Realm is the digest realm agents' softphones register in; account
	// SIP secrets are hashed with it.
	Realm string `toml:"realm"`
	// RegisterMinExpires and RegisterMaxExpires bound how long a
	// softphone's registration lasts between refreshes.
	RegisterMinExpires Duration `toml:"register_min_expires"`
	RegisterMaxExpires Duration `toml:"register_max_expires"`
	// DigestAlgorithms are offered to registering phones in this order:
	// MD5, SHA-256. Some phones fail when offered an algorithm they lack,
	// so the default is MD5 alone.
	DigestAlgorithms []string `toml:"digest_algorithms"`
	// TCPIdleTimeout closes a SIP TCP connection that sends nothing this
	// long (one carrying a phone's registration stays until the binding
	// lapses); TCPMessageTimeout closes one whose message has been
	// arriving this long (a half-sent message).
	TCPIdleTimeout    Duration `toml:"tcp_idle_timeout"`
	TCPMessageTimeout Duration `toml:"tcp_message_timeout"`
	// TCPMaxPerSource caps SIP TCP connections from one address;
	// TCPMaxConnections caps them all (0: what the descriptor limit
	// leaves after media, recordings, the journal and HTTP).
	TCPMaxPerSource   int `toml:"tcp_max_per_source"`
	TCPMaxConnections int `toml:"tcp_max_connections"`
	// SIPTLS holds the tls_* keys (tls.go).
	SIPTLS
}

// RTP configures media ports.
type RTP struct {
	// IP is the address RTP sockets bind to and SDP announces.
	IP string `toml:"ip"`
	// PortMin and PortMax bound the RTP port range (RTP on even ports,
	// RTCP reserved on the odd port above). Keep the range outside the
	// kernel's ephemeral range (net.ipv4.ip_local_port_range).
	PortMin int `toml:"port_min"`
	PortMax int `toml:"port_max"`
	// SRTP says when media is encrypted with SRTP keyed by SDES: off
	// (default), tls or any (see SRTPOff, SRTPTLS, SRTPAny in tls.go).
	SRTP string `toml:"srtp"`
}

// HTTP configures the listener of the API, the desktop and /metrics.
type HTTP struct {
	Listen string `toml:"listen"`
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For names the client (for per-source login limits).
	TrustedProxies []string `toml:"trusted_proxies"`
	// OpenMetrics serves /metrics without a token (for a Prometheus on a
	// trusted network); otherwise a token of an sre, supervisor or admin
	// account is needed.
	OpenMetrics bool `toml:"open_metrics"`
	// ReadTimeout bounds reading a whole request (attachments included);
	// WriteTimeout bounds writing a response other than a backup stream.
	ReadTimeout  Duration `toml:"read_timeout"`
	WriteTimeout Duration `toml:"write_timeout"`
	// MaxTokenTTL is the longest a bearer token may live (and the life of
	// one created without a TTL).
	MaxTokenTTL Duration `toml:"max_token_ttl"`
	HTTPTLS              // tls_cert_file, tls_key_file (config/httptls.go)
}

// Proxies parses TrustedProxies; Validate has checked them.
func (h HTTP) Proxies() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range h.TrustedProxies {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix accepts a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Data says where durable state lives.
type Data struct {
	// Dir holds the journal (Dir/journal) and, unless Recordings is set,
	// the recordings (Dir/recordings/YYYY/MM/DD).
	Dir string `toml:"dir"`
	// Recordings overrides the recordings directory.
	Recordings string `toml:"recordings"`
	// EncryptionKeyFile turns on encryption at rest of the journal with
	// the AES key in this file (16, 24 or 32 bytes, raw or hex); with
	// systemd, LoadCredential=journal.key:/etc/obzvon/journal.key and
	// "${CREDENTIALS_DIRECTORY}/journal.key" here. Empty: no encryption.
	EncryptionKeyFile string `toml:"encryption_key_file"`
	// GCInterval is how often the journal's value log is garbage
	// collected (0 turns it off).
	GCInterval Duration `toml:"gc_interval"`
}

// JournalDir is the Badger directory.
func (d Data) JournalDir() string { return d.Dir + "/journal" }

// RecordingsDir is the root of the recordings tree.
func (d Data) RecordingsDir() string {
	if d.Recordings != "" {
		return d.Recordings
	}
	return d.Dir + "/recordings"
}

// Calls configures call handling limits.
type Calls struct {
	// DrainTimeout is how long active calls may go on after SIGTERM
	// before they are hung up.
	DrainTimeout Duration `toml:"drain_timeout"`
	// RingTimeout is how long an outbound leg may ring before CANCEL.
	RingTimeout Duration `toml:"ring_timeout"`
	// MaxDuration hangs up any call that lasts longer (0 = no limit).
	MaxDuration Duration `toml:"max_duration"`
	// MaxConcurrent refuses new calls with 503 above this many; 0 derives
	// the limit from the RTP port range (see MaxCalls).
	MaxConcurrent int `toml:"max_concurrent"`
	// InviteRate is how many new INVITEs per second one source address
	// may send (twice that in a burst) before it gets 503; addresses in a
	// route's allow networks (trunks) are exempt. 0 turns it off.
	InviteRate float64 `toml:"invite_rate"`
	// MaxSetupRate is how many new calls per second the appliance admits
	// in all (a burst of one second's worth) before it answers 503 with
	// Retry-After: past its setup capacity it would otherwise accept
	// every call and serve them all seconds late. 0 turns it off.
	MaxSetupRate float64 `toml:"max_setup_rate"`
	// RTPTimeout hangs up an answered call when no RTP has arrived from
	// the caller for this long (a phone or gateway gone without BYE);
	// calls on hold are spared. 0 turns it off.
	RTPTimeout Duration `toml:"rtp_timeout"`
}

// Prompts says where IVR prompts come from.
type Prompts struct {
	// Dir holds prompts as NAME.wav; empty means the built-in Russian set.
	Dir string `toml:"dir"`
	// Files maps a prompt name to a WAV file, overriding Dir and the
	// built-in set for that name.
	Files map[string]string `toml:"files"`
}

// Action is what a route does with a call.
type Action string

// Route actions.
const (
	// ActionEcho sends the caller's audio back to the caller.
	ActionEcho Action = "echo"
	// ActionPlayback plays Prompt, then hangs up.
	ActionPlayback Action = "playback"
	// ActionMenu plays Prompt and waits for a digit; Choices map digits
	// to route names.
	ActionMenu Action = "menu"
	// ActionDial places a second SIP leg to Target and switches it to the
	// caller, recorded unless Record is false.
	ActionDial Action = "dial"
	// ActionQueue puts the caller in the [[queue]] named by Queue, to be
	// answered by an operator.
	ActionQueue Action = "queue"
)

var actions = []Action{ActionEcho, ActionPlayback, ActionMenu, ActionDial, ActionQueue}

// Route maps a called number to an action.
type Route struct {
	// Name identifies the route in menus, logs and call records.
	Name string `toml:"name"`
	// Match is the called-number pattern: digits and + match themselves,
	// X matches any one digit, a trailing * matches any rest (also none).
	// An empty Match makes the route reachable only from a menu.
	Match string `toml:"match"`
	// Action is echo, playback, menu or dial.
	Action Action `toml:"action"`
	// Prompt names the prompt for playback and menu (and an optional
	// greeting before echo).
	Prompt string `toml:"prompt"`
	// Target is the SIP URI a dial route calls, or reg:USER for the
	// softphone registered as USER; ${number} in it stands for the called
	// number (sip:${number}@gateway, reg:${number}).
	Target string `toml:"target"`
	// Record turns recording of a dial route on (default true).
	Record *bool `toml:"record"`
	// Choices maps a DTMF digit to the name of the route it leads to.
	Choices map[string]string `toml:"choices"`
	// DigitTimeout is how long a menu waits for a digit after the prompt.
	DigitTimeout Duration `toml:"digit_timeout"`
	// Repeats is how many times a menu replays its prompt without input
	// before hanging up.
	Repeats int `toml:"repeats"`
	// SRTP makes a dial route offer SRTP (RTP/SAVP with SDES keys) on its
	// outbound leg; a far end that does not take it fails the call.
	SRTP bool `toml:"srtp"`
	// Queue names the [[queue]] of a queue route.
	Queue string `toml:"queue"`
	// Allow says who may use the route: "anyone", "phones" (operator
	// phones that authenticate), and networks or addresses of trunks
	// (trusted callers). Unset: "phones" for a dial route to an external
	// target, "anyone" otherwise (see routeaccess.go).
	Allow []string `toml:"allow"`
	// CallerID is the number a dial route shows the far end. Unset: the
	// caller's own number when the caller is trusted (an authenticated
	// phone, a trunk network) or the target is one of our phones; else
	// none ("obzvon"). Never an untrusted caller's choice.
	CallerID string `toml:"caller_id"`
}

// Records reports whether a dial route records.
func (r Route) Records() bool { return r.Record == nil || *r.Record }

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration struct{ time.Duration }

// UnmarshalText parses "1m30s" and the like.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (want e.g. \"30s\", \"2m\"): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Default returns the built-in configuration used by `make run`: SIP and
// HTTP on loopback, data under ./var, a demo route table.
func Default() *Config {
	return &Config{
		Log: Log{Level: "info", Format: "text"},
		SIP: SIP{Host: "127.0.0.1", Port: 5060, Transports: []string{"udp", "tcp"}, UserAgent: "obzvon",
			Realm: "obzvon", RegisterMinExpires: Duration{60 * time.Second}, RegisterMaxExpires: Duration{time.Hour},
			DigestAlgorithms: []string{"MD5"}, SIPTLS: defaultSIPTLS(), TCPIdleTimeout: Duration{2 * time.Minute},
			TCPMessageTimeout: Duration{10 * time.Second}, TCPMaxPerSource: 32},
		RTP: RTP{IP: "127.0.0.1", PortMin: 20000, PortMax: 29999, SRTP: SRTPOff},
		HTTP: HTTP{Listen: "127.0.0.1:8080", OpenMetrics: true,
			ReadTimeout: Duration{2 * time.Minute}, WriteTimeout: Duration{2 * time.Minute},
			MaxTokenTTL: Duration{365 * 24 * time.Hour}},
		Data: Data{Dir: "./var", GCInterval: Duration{10 * time.Minute}},
		ACD: ACD{PauseReasons: []string{"обед", "обучение", "техперерыв"}, SessionRingTimeout: Duration{30 * time.Second},
			RingTimeout: Duration{20 * time.Second}, AgentRTPTimeout: Duration{30 * time.Second}},
		Calls: Calls{
			DrainTimeout: Duration{30 * time.Second},
			RingTimeout:  Duration{30 * time.Second},
			MaxDuration:  Duration{4 * time.Hour},
			RTPTimeout:   Duration{60 * time.Second},
			InviteRate:   defaultInviteRate,
			MaxSetupRate: defaultMaxSetupRate,
		},
		Routes: []Route{
			{Name: "echo", Match: "600", Action: ActionEcho, Prompt: "echo-intro"},
			{Name: "greeting", Match: "601", Action: ActionPlayback, Prompt: "greeting"},
			{Name: "main-menu", Match: "100", Action: ActionMenu, Prompt: "menu",
				Choices:      map[string]string{"1": "greeting", "2": "echo"},
				DigitTimeout: Duration{5 * time.Second}, Repeats: 2},
			{Name: "busy", Action: ActionPlayback, Prompt: "busy"},
			{Name: "contact-center", Match: "8800", Action: ActionQueue, Queue: "main"},
		},
		Queues: []Queue{{Name: "main", Greeting: "queue-greeting", AnnouncePosition: true, AnnounceWait: true,
			AnnounceEvery: Duration{time.Minute}, MaxWait: Duration{10 * time.Minute}, Overflow: "callback",
			WrapUp: Duration{15 * time.Second}, ServiceLevel: "80/20", OpenAppealPriority: 10}},
	}
}

// Load reads and validates the file at path on top of Default.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes TOML on top of Default. Unknown keys are errors. Routes in
// the file replace the default route table as a whole.
func Parse(r io.Reader) (*Config, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	c := Default()
	var probe struct {
		Routes []toml.Primitive `toml:"route"`
		Queues []toml.Primitive `toml:"queue"`
	}
	if _, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&probe); err == nil {
		if len(probe.Routes) > 0 {
			c.Routes = nil
		}
		if len(probe.Queues) > 0 {
			c.Queues = nil
		}
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, err
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		keys := make([]string, len(undec))
		for i, k := range undec {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		var errs []error
		for _, k := range keys {
			errs = append(errs, &FieldError{Key: k, Msg: "unknown key"})
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// FieldError is one problem with one configuration key.
type FieldError struct {
	Key   string // dotted key, e.g. "rtp.port_min" or "route[2].target"
	Value any    // the offending value, nil when not applicable
	Msg   string // what is wrong
}

func (e *FieldError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("%s: %s", e.Key, e.Msg)
	}
	return fmt.Sprintf("%s = %#v: %s", e.Key, e.Value, e.Msg)
}

// Errors unpacks an error returned by Parse or Validate into its field
// errors, in order.
func Errors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

var (
	routeNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	matchRE      = regexp.MustCompile(`^\+?[0-9X#]*\*?$`)
	promptNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// Validate checks every key and returns all problems at once, joined; each
// is a *FieldError naming the key and the value.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key string, val any, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Value: val, Msg: fmt.Sprintf(format, args...)})
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", c.Log.Level, "must be one of debug, info, warn, error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", c.Log.Format, "must be text or json")
	}

	if _, err := netip.ParseAddr(c.SIP.Host); err != nil {
		bad("sip.host", c.SIP.Host, "not an IP address")
	}
	if c.SIP.Port < 1 || c.SIP.Port > 65535 {
		bad("sip.port", c.SIP.Port, "must be 1..65535")
	}
	if len(c.SIP.Transports) == 0 {
		bad("sip.transports", c.SIP.Transports, "at least one of udp, tcp, tls")
	}
	seen := map[string]bool{}
	for i, t := range c.SIP.Transports {
		if !validTransport(t) {
			bad(fmt.Sprintf("sip.transports[%d]", i), t, "must be udp, tcp or tls")
		}
		if seen[t] {
			bad(fmt.Sprintf("sip.transports[%d]", i), t, "listed twice")
		}
		seen[t] = true
	}

	if c.SIP.Realm == "" || strings.ContainsAny(c.SIP.Realm, "\"\\") {
		bad("sip.realm", c.SIP.Realm, "must be non-empty, without quotes or backslashes")
	}
	if c.SIP.RegisterMinExpires.Duration < 10*time.Second || c.SIP.RegisterMinExpires.Duration > c.SIP.RegisterMaxExpires.Duration {
		bad("sip.register_min_expires", c.SIP.RegisterMinExpires.String(), "must be at least 10s and at most sip.register_max_expires (%s)", c.SIP.RegisterMaxExpires)
	}
	if len(c.SIP.DigestAlgorithms) == 0 {
		bad("sip.digest_algorithms", c.SIP.DigestAlgorithms, "at least one of MD5, SHA-256")
	}
	for i, a := range c.SIP.DigestAlgorithms {
		if a != "MD5" && a != "SHA-256" {
			bad(fmt.Sprintf("sip.digest_algorithms[%d]", i), a, "must be MD5 or SHA-256")
		}
	}
	c.validateTLS(bad)
	if _, err := netip.ParseAddr(c.RTP.IP); err != nil {
		bad("rtp.ip", c.RTP.IP, "not an IP address")
	}
	if c.RTP.PortMin < 1024 || c.RTP.PortMin > 65534 {
		bad("rtp.port_min", c.RTP.PortMin, "must be 1024..65534")
	}
	if c.RTP.PortMax < 1025 || c.RTP.PortMax > 65535 {
		bad("rtp.port_max", c.RTP.PortMax, "must be 1025..65535")
	}
	if c.RTP.PortMax-c.RTP.PortMin < 3 {
		bad("rtp.port_max", c.RTP.PortMax, "range from rtp.port_min (%d) must hold at least two RTP/RTCP pairs", c.RTP.PortMin)
	}

	if _, err := netip.ParseAddrPort(c.HTTP.Listen); err != nil {
		bad("http.listen", c.HTTP.Listen, "want IP:PORT, e.g. 127.0.0.1:8080")
	}
	for i, p := range c.HTTP.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), p, "want a CIDR like 10.0.0.0/24 or an address")
		}
	}
	if c.HTTP.ReadTimeout.Duration < time.Second {
		bad("http.read_timeout", c.HTTP.ReadTimeout.String(), "must be at least 1s")
	}
	if c.HTTP.WriteTimeout.Duration < time.Second {
		bad("http.write_timeout", c.HTTP.WriteTimeout.String(), "must be at least 1s")
	}
	errs = append(errs, c.HTTP.tlsErrors()...)
	if c.Data.Dir == "" {
		bad("data.dir", c.Data.Dir, "must not be empty")
	}
	if c.Data.GCInterval.Duration < 0 {
		bad("data.gc_interval", c.Data.GCInterval.String(), "must not be negative")
	}

	if c.Calls.DrainTimeout.Duration < 0 {
		bad("calls.drain_timeout", c.Calls.DrainTimeout.String(), "must not be negative")
	}
	if c.Calls.RingTimeout.Duration < time.Second || c.Calls.RingTimeout.Duration > 10*time.Minute {
		bad("calls.ring_timeout", c.Calls.RingTimeout.String(), "must be 1s..10m")
	}
	if c.Calls.MaxDuration.Duration < 0 {
		bad("calls.max_duration", c.Calls.MaxDuration.String(), "must not be negative")
	}
	if d := c.Calls.RTPTimeout.Duration; d != 0 && d < time.Second {
		bad("calls.rtp_timeout", c.Calls.RTPTimeout.String(), "must be 0 (off) or at least 1s")
	}
	if c.Calls.MaxConcurrent < 0 {
		bad("calls.max_concurrent", c.Calls.MaxConcurrent, "must not be negative")
	}

	for name := range c.Prompts.Files {
		if !promptNameRE.MatchString(name) {
			bad("prompts.files."+name, c.Prompts.Files[name], "prompt names are lowercase letters, digits, - and _")
		}
	}

	names := map[string]int{}
	for i, r := range c.Routes {
		key := fmt.Sprintf("route[%d]", i)
		if !routeNameRE.MatchString(r.Name) {
			bad(key+".name", r.Name, "must be lowercase letters, digits, - and _")
		} else if j, dup := names[r.Name]; dup {
			bad(key+".name", r.Name, "same name as route[%d]", j)
		} else {
			names[r.Name] = i
		}
		if !matchRE.MatchString(r.Match) {
			bad(key+".match", r.Match, "pattern is digits, +, #, X (any digit) and a trailing * (any rest)")
		}
		switch r.Action {
		case ActionEcho:
		case ActionPlayback, ActionMenu:
			if r.Prompt == "" {
				bad(key+".prompt", r.Prompt, "a %s route needs a prompt", r.Action)
			}
		case ActionQueue:
		case ActionDial:
			sipURI := strings.HasPrefix(r.Target, "sip:") && len(r.Target) >= 6
			registered := strings.HasPrefix(r.Target, "reg:") && len(r.Target) > 4
			if !sipURI && !registered {
				bad(key+".target", r.Target, "a dial route needs a SIP URI (sip:8800@127.0.0.1:5080) or reg:USER for a registered softphone (reg:${number})")
			}
		default:
			bad(key+".action", string(r.Action), "must be one of %s", actionList())
		}
		if r.Action != ActionMenu && len(r.Choices) > 0 {
			bad(key+".choices", r.Choices, "only a menu route has choices")
		}
		if r.Action == ActionMenu {
			if len(r.Choices) == 0 {
				bad(key+".choices", r.Choices, "a menu route needs at least one choice")
			}
			if r.DigitTimeout.Duration < 0 || r.DigitTimeout.Duration > time.Minute {
				bad(key+".digit_timeout", r.DigitTimeout.String(), "must be 0..1m")
			}
			if r.Repeats < 0 || r.Repeats > 10 {
				bad(key+".repeats", r.Repeats, "must be 0..10")
			}
		}
		if r.Prompt != "" && !promptNameRE.MatchString(r.Prompt) {
			bad(key+".prompt", r.Prompt, "prompt names are lowercase letters, digits, - and _")
		}
	}
	errs = append(errs, c.validateTrunks()...)
	for i, r := range c.Routes {
		digits := make([]string, 0, len(r.Choices))
		for d := range r.Choices {
			digits = append(digits, d)
		}
		sort.Strings(digits)
		for _, d := range digits {
			key := fmt.Sprintf("route[%d].choices.%s", i, d)
			if len(d) != 1 || !strings.Contains("0123456789*#ABCD", d) {
				bad(key, r.Choices[d], "a choice key is one DTMF digit (0-9, *, #, A-D)")
			}
			target := r.Choices[d]
			if _, ok := names[target]; !ok {
				bad(key, target, "no route has this name")
			} else if target == r.Name {
				bad(key, target, "a menu choice cannot lead to the menu itself")
			}
		}
	}
	c.validateACD(bad)
	errs = append(errs, c.validateRouteAccess()...)
	errs = append(errs, c.validateLimits()...)
	return errors.Join(errs...)
}

func actionList() string {
	s := make([]string, len(actions))
	for i, a := range actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// PromptNames returns every prompt name the routes use, sorted, without
// duplicates.
func (c *Config) PromptNames() []string {
	set := map[string]bool{}
	for _, r := range c.Routes {
		if r.Prompt != "" {
			set[r.Prompt] = true
		}
	}
	for _, n := range c.queuePrompts() {
		set[n] = true
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RouteByName returns the route with that name.
func (c *Config) RouteByName(name string) (Route, bool) {
	for _, r := range c.Routes {
		if r.Name == name {
			return r, true
		}
	}
	return Route{}, false
}

// MatchRoute returns the first route whose pattern matches the called
// number. Routes with an empty pattern are never matched, and a number
// that is not ValidNumber matches nothing.
func (c *Config) MatchRoute(called string) (Route, bool) {
	if !ValidNumber(called) {
		return Route{}, false
	}
	for _, r := range c.Routes {
		if r.Match != "" && MatchPattern(r.Match, called) {
			return r, true
		}
	}
	return Route{}, false
}

// MatchPattern reports whether number matches pattern: X is any one digit,
// a trailing * is any rest, everything else matches itself.
func MatchPattern(pattern, number string) bool {
	for i := 0; i < len(pattern); i++ {
		p := pattern[i]
		if p == '*' && i == len(pattern)-1 {
			return true
		}
		if i >= len(number) {
			return false
		}
		n := number[i]
		switch {
		case p == 'X':
			if n < '0' || n > '9' {
				return false
			}
		case p != n:
			return false
		}
	}
	return len(number) == len(pattern)
}
