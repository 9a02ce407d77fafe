package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if goroutines outlive them: every
// receiver, ticker and SIP handler must stop with its run.
//
// One exception, as in package dialer: sipgo v1.7.3 keeps the UDP
// connection its client opened for an outbound request to an address no
// listener of ours serves (and that connection's reader) after
// UserAgent.Close; one per user agent, not per call (seen once on a loaded
// machine).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"),
	)
}
