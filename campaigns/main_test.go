package campaigns

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind (SimulateSeeds runs
// days concurrently).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
