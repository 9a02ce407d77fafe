package dialer

import (
	"context"
	"testing"

	"github.com/obzvon/obzvon/config"
)

// TestDialRightAfterStart: a call placed the moment Start returns goes
// out. sipgo reports its UDP listener ready before it registers the
// socket in its connection pool; a request sent in that gap made it bind
// a second socket to the same address and fail (EADDRINUSE: "500 send
// INVITE"), so Start waits for the registration.
func TestDialRightAfterStart(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}})
	for i := range 20 {
		srv, _ := newPhoneServer(t)
		out, err := srv.Dial(context.Background(), "sip:600@"+a.target(), DialOptions{})
		if err != nil {
			t.Fatalf("dial %d right after Start: %v", i, err)
		}
		out.Hangup(context.Background())
		srv.Close()
	}
}
