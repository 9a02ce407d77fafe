package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if goroutines outlive them: every
// receiver, ticker and SIP handler must stop with its run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
