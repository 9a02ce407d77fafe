package media

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestMain(m *testing.M) {
	if os.Getenv(loadGenEnv) != "" {
		// The load benchmark re-executes the test binary as its traffic
		// generator so that the generator's CPU is not billed to the engine.
		os.Exit(runLoadGenerator())
	}
	goleak.VerifyTestMain(m)
}
