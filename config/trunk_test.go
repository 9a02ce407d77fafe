package config

import (
	"strings"
	"testing"
)

func TestTrunks(t *testing.T) {
	good := `[[trunk]]
name = "main"
address = "192.0.2.20"
username = "obzvon"
password = "s3cret"
caller_id = "+78652000000"
strip_prefix = "+7"
add_prefix = "8"
max_channels = 30
max_cps = 0.5

[[trunk]]
name = "reserve"
address = "192.0.2.21:5080"
transport = "tcp"
`
	c, err := Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	main, ok := c.TrunkByName("main")
	if !ok || main.Address != "192.0.2.20:5060" || main.Transport != "udp" || main.Backoff.Duration != DefaultTrunkBackoff {
		t.Errorf("main = %+v", main)
	}
	if u := main.URI("+79123456789"); u != "sip:89123456789@192.0.2.20:5060" {
		t.Errorf("URI = %q", u)
	}
	if u := c.Trunks[1].URI("+79123456789"); u != "sip:+79123456789@192.0.2.21:5080;transport=tcp" {
		t.Errorf("reserve URI = %q", u)
	}
	bad := []struct{ edit, with, want string }{
		{`name = "reserve"`, `name = "main"`, `trunk[1].name = "main": same name as trunk[0]`},
		{`address = "192.0.2.20"`, `address = "trunk.example"`, `trunk[0].address`},
		{`transport = "tcp"`, `transport = "sctp"`, `trunk[1].transport = "sctp"`},
		{`max_cps = 0.5`, `max_cps = -1`, `trunk[0].max_cps = -1`},
		{`username = "obzvon"`, `username = ""`, `trunk[0].username = "": a password needs a username`},
		{`add_prefix = "8"`, `add_prefix = "8x"`, `trunk[0].add_prefix`},
		{`max_channels = 30`, "max_channels = 30\nbackoff = \"1h\"", `trunk[0].backoff = "1h0m0s": must be 100ms..10m`},
	}
	for _, tt := range bad {
		c, err := Parse(strings.NewReader(strings.Replace(good, tt.edit, tt.with, 1)))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want %q", tt.with, err, tt.want)
		}
	}
}
