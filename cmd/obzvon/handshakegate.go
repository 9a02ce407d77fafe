package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"
)

// The handshake gate bounds how many TLS handshakes of the HTTP listener
// do their CPU work at once (issue 11 item 9). A flood of new HTTPS
// connections (1,000 logins at once) otherwise makes as many goroutines
// runnable, each for a key exchange and a signature, and Go schedules
// them first come first served: /healthz, the API and the SIP stack
// queued behind the whole flood for seconds. Waiting for a slot, a
// handshake is parked, not runnable, so the rest of the daemon is served
// between handshakes.
//
// A slot is taken when the ClientHello has arrived (GetConfigForClient)
// and given back when the server writes its first flight, by which time
// the key share and the signature are computed: a client that sends its
// ClientHello slowly, or never answers our flight, holds no slot.

// handshakeSlotWait bounds the wait for a slot; past it the handshake
// fails and the client may retry.
const handshakeSlotWait = 10 * time.Second

type handshakeGate struct {
	slots chan struct{}
}

// newHandshakeGate allows one handshake at a time per core.
func newHandshakeGate() *handshakeGate {
	return &handshakeGate{slots: make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))}
}

// config returns tc with the gate in its GetConfigForClient: handshakes
// of connections wrapped by conn wait for a slot there.
func (g *handshakeGate) config(tc *tls.Config) *tls.Config {
	c := tc.Clone()
	inner := tc.GetConfigForClient
	c.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		if gc, ok := hi.Conn.(*gatedConn); ok {
			if err := gc.acquire(hi.Context()); err != nil {
				return nil, err
			}
		}
		if inner != nil {
			return inner(hi)
		}
		return nil, nil
	}
	return c
}

// conn wraps a connection about to be handed to tls.Server.
func (g *handshakeGate) conn(c net.Conn) net.Conn { return &gatedConn{Conn: c, g: g} }

// gatedConn holds a handshake slot from acquire until its first Write
// (our first flight) or Close.
type gatedConn struct {
	net.Conn
	g *handshakeGate

	mu   sync.Mutex
	held bool
	done bool // the slot was taken and given back: never again
}

func (c *gatedConn) acquire(ctx context.Context) error {
	c.mu.Lock()
	again := c.held || c.done // a second ClientHello (HelloRetryRequest)
	c.mu.Unlock()
	if again {
		return nil
	}
	t := time.NewTimer(handshakeSlotWait)
	defer t.Stop()
	select {
	case c.g.slots <- struct{}{}:
	case <-t.C:
		return fmt.Errorf("tls handshake: no slot within %v (too many handshakes at once)", handshakeSlotWait)
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
	return nil
}

func (c *gatedConn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		c.held, c.done = false, true
		<-c.g.slots
	}
}

func (c *gatedConn) Write(b []byte) (int, error) {
	c.release()
	return c.Conn.Write(b)
}

func (c *gatedConn) Close() error {
	c.release()
	return c.Conn.Close()
}
