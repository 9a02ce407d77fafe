package journal

import (
	"context"
	"testing"
)

// backends lists the journals every contract test runs against.
func backends(t *testing.T) map[string]func(t *testing.T) *Journal {
	return map[string]func(t *testing.T) *Journal{
		"memory": func(t *testing.T) *Journal {
			j, err := Open(Options{InMemory: true})
			if err != nil {
				t.Fatalf("Open(memory) = %v", err)
			}
			t.Cleanup(func() { j.Close() })
			return j
		},
		"disk": func(t *testing.T) *Journal {
			j, err := Open(DefaultOptions(t.TempDir()))
			if err != nil {
				t.Fatalf("Open(disk) = %v", err)
			}
			t.Cleanup(func() { j.Close() })
			return j
		},
	}
}

func mustHealthy(t *testing.T, j *Journal) {
	t.Helper()
	probs, err := j.CheckIndexes(context.Background())
	if err != nil {
		t.Fatalf("CheckIndexes() error = %v", err)
	}
	for _, p := range probs {
		t.Errorf("index problem: %s", p)
	}
}
