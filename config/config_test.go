package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	c, err := Parse(strings.NewReader(`
[sip]
port = 5070
transports = ["udp"]
[calls]
drain_timeout = "5s"
[[route]]
name = "trunk"
match = "88XX*"
action = "dial"
target = "sip:8800@127.0.0.1:25060"
record = false
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.SIP.Port != 5070 || c.SIP.Host != "127.0.0.1" {
		t.Errorf("sip = %+v, want port 5070 on default host", c.SIP)
	}
	if c.Calls.DrainTimeout.Duration != 5*time.Second {
		t.Errorf("drain_timeout = %v, want 5s", c.Calls.DrainTimeout)
	}
	if len(c.Routes) != 1 || c.Routes[0].Records() {
		t.Errorf("routes = %+v, want the file's one route, not recorded", c.Routes)
	}
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	c, err := Parse(strings.NewReader(`
[log]
level = "loud"
[sip]
host = "localhost"
transports = ["udp", "sctp"]
[rtp]
port_min = 30000
port_max = 30001
[http]
listen = ":8080x"
[calls]
ring_timeout = "0s"
[[route]]
name = "Menu"
match = "1a"
action = "menu"
[[route]]
name = "d"
match = "2"
action = "dial"
target = "tel:123"
[[route]]
name = "m"
match = "3"
action = "menu"
prompt = "menu"
choices = { "1" = "nowhere", "12" = "d" }
[[route]]
name = "x"
action = "fly"
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	err = c.Validate()
	want := []string{
		`log.level = "loud"`,
		`sip.host = "localhost"`,
		`sip.transports[1] = "sctp"`,
		`rtp.port_max = 30001`,
		`http.listen = ":8080x"`,
		`calls.ring_timeout = "0s"`,
		`route[0].name = "Menu"`,
		`route[0].match = "1a"`,
		`route[0].prompt = ""`,
		`route[0].choices`,
		`route[1].target = "tel:123"`,
		`route[2].choices.1 = "nowhere": no route has this name`,
		`route[2].choices.12 = "d": a choice key is one DTMF digit`,
		`route[3].action = "fly"`,
	}
	errs := Errors(err)
	if len(errs) != len(want) {
		t.Errorf("Validate returned %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate error lacks %q; got:\n%v", w, err)
		}
	}
	var fe *FieldError
	if !errors.As(errs[0], &fe) || fe.Key != "log.level" {
		t.Errorf("first error = %#v, want *FieldError for log.level", errs[0])
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	_, err := Parse(strings.NewReader("[sip]\nport = 5060\nprot = 1\n[bogus]\nx = 1\n"))
	if err == nil {
		t.Fatal("Parse with unknown keys = nil error, want one naming them")
	}
	for _, k := range []string{"sip.prot: unknown key", "bogus.x: unknown key"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("Parse error %q lacks %q", err, k)
		}
	}
}

func TestParseSyntaxAndTypeErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[sip\nport=1", "to end table name"},
		{"[sip]\nport = \"five\"", "sip.port"},
		{"[calls]\ndrain_timeout = \"soon\"", "not a duration"},
	} {
		_, err := Parse(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, number string
		want            bool
	}{
		{"600", "600", true},
		{"600", "6000", false},
		{"600", "60", false},
		{"88XX", "8812", true},
		{"88XX", "88a2", false},
		{"88*", "88", true},
		{"88*", "88123", true},
		{"8*", "7", false},
		{"*", "", true},
		{"+7X*", "+79161234567", true},
		{"", "", true},
	} {
		if got := MatchPattern(tc.pattern, tc.number); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tc.pattern, tc.number, got, tc.want)
		}
	}
}

func TestMatchRouteFirstWinsAndSkipsMenuOnly(t *testing.T) {
	c := Default()
	if r, ok := c.MatchRoute("600"); !ok || r.Name != "echo" {
		t.Errorf("MatchRoute(600) = %q, %v; want echo", r.Name, ok)
	}
	if _, ok := c.MatchRoute(""); ok {
		t.Errorf("MatchRoute(\"\") matched the menu-only route")
	}
	c.Queues = nil
	if got := c.PromptNames(); strings.Join(got, ",") != "busy,echo-intro,greeting,menu" {
		t.Errorf("PromptNames() without queues = %v", got)
	}
	c.Queues = []Queue{{Name: "q", Greeting: "hello", Overflow: "callback"}}
	if got := c.PromptNames(); strings.Join(got, ",") != "busy,echo-intro,greeting,hello,menu,moh,queue-callback,queue-connect" {
		t.Errorf("PromptNames() with a queue = %v", got)
	}
}
