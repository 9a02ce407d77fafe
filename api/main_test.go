package api

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (an
// unclosed journal, a stuck handler).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
