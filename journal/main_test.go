package journal

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind (the committer,
// GC loop and Badger's own must stop on Close).
func TestMain(m *testing.M) {
	code := m.Run()
	if searchJ != nil {
		searchJ.Close()
		if !searchKeep {
			os.RemoveAll(searchJ.opts.Dir)
		}
	}
	if code == 0 {
		// badger.Open leaves these two behind when it fails (a wrong
		// encryption key in TestEncryptionAtRest); an unclosed journal
		// would still show its compactors, flusher and our committer.
		if err := goleak.Find(
			goleak.IgnoreTopFunction("github.com/dgraph-io/badger/v4.(*DB).monitorCache"),
			goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
		); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
