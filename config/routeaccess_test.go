package config

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestRouteAccessDefaults(t *testing.T) {
	cases := []struct {
		r      Route
		anyone bool
		phones bool
	}{
		{Route{Action: ActionDial, Target: "sip:${number}@192.0.2.20"}, false, true},
		{Route{Action: ActionDial, Target: "reg:${number}"}, true, false},
		{Route{Action: ActionPlayback}, true, false},
		{Route{Action: ActionMenu}, true, false},
		{Route{Action: ActionEcho}, true, false},
		{Route{Action: ActionDial, Target: "sip:x@192.0.2.20", Allow: []string{"phones", "192.0.2.0/24"}}, false, true},
	}
	for _, tc := range cases {
		a := tc.r.Access()
		if a.Anyone != tc.anyone || a.Phones != tc.phones {
			t.Errorf("Route{%s %s allow %v}.Access() = anyone %v phones %v, want %v %v", tc.r.Action, tc.r.Target, tc.r.Allow, a.Anyone, a.Phones, tc.anyone, tc.phones)
		}
	}
	a := Route{Action: ActionDial, Target: "sip:x@h", Allow: []string{"192.0.2.0/24", "198.51.100.7"}}.Access()
	for addr, want := range map[string]bool{"192.0.2.9": true, "198.51.100.7": true, "198.51.100.8": false, "::ffff:192.0.2.1": true} {
		if got := a.Trusted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Trusted(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestRouteAccessValidate(t *testing.T) {
	c := Default()
	n := len(c.Routes)
	c.Routes = append(c.Routes,
		Route{Name: "t1", Match: "8*", Action: ActionDial, Target: "sip:${number}@192.0.2.20", Allow: []string{"everyone"}},
		Route{Name: "t2", Match: "9*", Action: ActionDial, Target: "sip:${number}@192.0.2.20", Allow: []string{}},
		Route{Name: "t3", Match: "7*", Action: ActionDial, Target: "sip:${number}@192.0.2.20", CallerID: "Boss <sip:1@x>"},
	)
	err := c.Validate()
	for _, want := range []string{fmt.Sprintf(`route[%d].allow[0] = "everyone": want "anyone", "phones"`, n),
		fmt.Sprintf("route[%d].allow", n+1), fmt.Sprintf("route[%d].caller_id", n+2)} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want an error about %s", err, want)
		}
	}
}

func TestWarningsAnyoneToExternal(t *testing.T) {
	c := Default()
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("default config warnings = %q, want none", w)
	}
	n := len(c.Routes)
	c.Routes = append(c.Routes,
		Route{Name: "trunk", Match: "8*", Action: ActionDial, Target: "sip:${number}@192.0.2.20", Allow: []string{"anyone"}},
		Route{Name: "safe", Match: "9*", Action: ActionDial, Target: "sip:${number}@192.0.2.20"},
		Route{Name: "out", Action: ActionDial, Target: "sip:100@192.0.2.20"},
		Route{Name: "m", Match: "5", Action: ActionMenu, Prompt: "menu", Choices: map[string]string{"9": "out"}},
	)
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, fmt.Sprintf("route[%d] (trunk)", n)) || !strings.Contains(w, "toll fraud") {
		t.Errorf("warnings %q: want one about route trunk", w)
	}
	if strings.Contains(w, "(safe)") {
		t.Errorf("warnings %q: route safe is phones-only by default", w)
	}
	if !strings.Contains(w, fmt.Sprintf("route[%d] (m): choice 9", n+3)) {
		t.Errorf("warnings %q: want one about menu m leading to out", w)
	}
}

func TestMatchRouteDigitsOnly(t *testing.T) {
	c := Default()
	c.Routes = []Route{{Name: "trunk", Match: "8*", Action: ActionDial, Target: "sip:${number}@192.0.2.20"}}
	for number, want := range map[string]bool{
		"89161234567":                 true,
		"8":                           true,
		"8;maddr=198.51.100.1":        false,
		"8?Route=%3Csip:evil%3E":      false,
		"8abc":                        false,
		"8%30":                        false,
		"":                            false,
		"8" + strings.Repeat("1", 40): false,
	} {
		if _, got := c.MatchRoute(number); got != want {
			t.Errorf("MatchRoute(%q) = %v, want %v", number, got, want)
		}
	}
}

func TestMaxCallsDerivedFromRTPRange(t *testing.T) {
	c := Default() // 20000–29999: 5000 RTP/RTCP pairs, IVR routes only
	if got := c.MaxCalls(); got != 5000 {
		t.Errorf("MaxCalls() of the defaults = %d, want 5000", got)
	}
	c.Routes = append(c.Routes, Route{Name: "t", Match: "8*", Action: ActionDial, Target: "reg:${number}"})
	if got := c.MaxCalls(); got != 2500 {
		t.Errorf("MaxCalls() with a dial route = %d, want 2500 (two pairs a call)", got)
	}
	c.Calls.MaxConcurrent = 30
	if got := c.MaxCalls(); got != 30 {
		t.Errorf("MaxCalls() with max_concurrent 30 = %d, want 30", got)
	}
	c.Calls.InviteRate = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "calls.invite_rate") {
		t.Errorf("Validate() with invite_rate -1 = %v, want an error about it", err)
	}
}
