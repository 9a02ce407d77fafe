package dialer

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: every
// call, leg, timer and listener must be gone when its server is closed.
//
// One exception: sipgo v1.7.3 keeps the UDP connection its client opened
// for outbound requests (and that connection's reader) after
// UserAgent.Close; it is one per server, not per call.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"),
	)
}
