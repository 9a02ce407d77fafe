package dialer

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/journal"
)

// storedBindings is a registrar's credentials and store whose store
// holds bindings made before a restart.
type storedBindings struct {
	fakeCreds
	mu sync.Mutex
	bs []journal.SIPBinding
}

func (s *storedBindings) SetSIPBindings(_ context.Context, login string, bs []journal.SIPBinding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []journal.SIPBinding
	for _, b := range s.bs {
		if b.Login != login {
			keep = append(keep, b)
		}
	}
	s.bs = append(keep, bs...)
	return nil
}

func (s *storedBindings) SIPBindings(context.Context) ([]journal.SIPBinding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]journal.SIPBinding(nil), s.bs...), nil
}

// silentListener accepts TCP connections and never says a word: a
// port that takes the connection and then leaves a TLS handshake (or an
// INVITE) hanging.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// Phones registered over TLS before a restart: their bindings come back
// from the store, the connections they point at do not. A phone whose
// Contact is a TLS listener (our own dialer here, answering with echo)
// is called there; one whose Contact takes the TCP connection and never
// completes the handshake (behind NAT, a dead flow) gets 480 asking it
// to re-register, not an INVITE hanging until the ring timeout.
func TestTLSBindingsAfterRestart(t *testing.T) {
	_, tlsB := withTLS(t)
	phone := startApplianceWith(t, []config.Route{{Name: "echo", Match: "88*", Action: config.ActionEcho}}, nil, tlsB, rtpHalf(1))
	silent := silentListener(t)
	deadLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := deadLn.Addr().String() // then closed: nothing listens there
	deadLn.Close()

	exp := time.Now().Add(10 * time.Minute)
	store := &storedBindings{fakeCreds: fakeCreds{"1001": "secret-1001", "1002": "secret-1002"}, bs: []journal.SIPBinding{
		// Registered from an ephemeral port (gone), with a listening Contact.
		{Login: "1001", Contact: "sip:8801@" + phone.tlsTarget() + ";transport=tls", Source: dead, Transport: "TLS", Expires: exp},
		// Behind NAT: the Contact and the old source take TCP and hang.
		{Login: "1002", Contact: "sip:1002@" + silent + ";transport=tls", Source: silent, Transport: "TLS", Expires: exp},
	}}
	_, tlsA := withTLS(t)
	a := startApplianceWith(t, nil, store, tlsA, rtpHalf(0), func(c *config.Config) {
		c.SIP.TLSCAFile = phone.cfg.SIP.TLSCAFile // the listening phone's certificate is trusted
	})
	for _, u := range []string{"1001", "1002"} {
		if bs := a.srv.Registrar().Lookup(u); len(bs) != 1 || !bs[0].Restored {
			t.Fatalf("Lookup(%s) after restart = %+v, want one binding marked Restored", u, bs)
		}
	}

	ctx := context.Background()
	leg, err := a.srv.Dial(ctx, "reg:1001", DialOptions{RingTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("Dial(reg:1001) with a listening Contact = %v, want answered", err)
	}
	leg.Hangup(ctx)

	_, err = a.srv.Dial(ctx, "reg:1002", DialOptions{RingTimeout: 30 * time.Second})
	var de *DialError
	if !errors.As(err, &de) || de.Code != 480 || !errors.Is(err, errNeedsReRegister) {
		t.Fatalf("Dial(reg:1002) with a dead flow = %v, want 480 (re-register) before the ring timeout", err)
	}
}
