//go:build linux

package journal

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/obzvon/obzvon/internal/lossyfs"
)

// powerLossRound runs the crash child's mixed writers on a lossyfs mount,
// kills the child after a random number of acknowledged writes, cuts the
// power (every byte not fsynced is dropped), reopens the journal from the
// backing directory and returns what was lost.
func powerLossRound(t *testing.T, env ...string) (lost []string, acks int) {
	if raceEnabled {
		t.Skip("crash test: runs in the pass without -race")
	}
	if err := lossyfs.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	backing, mnt := t.TempDir(), t.TempDir()
	fsys, err := lossyfs.Mount(backing, mnt)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Cut()
	a := runCrashChild(t, filepath.Join(mnt, "journal"), 50+rand.IntN(950), env...)
	if err := fsys.Cut(); err != nil {
		t.Fatal(err)
	}
	st := fsys.Stats()
	t.Logf("power cut after %d acknowledged writes: %d writes, %d fsyncs (%d bytes synced), %d bytes dropped",
		len(a), st.Writes, st.Fsyncs, st.SyncedBytes, st.DroppedBytes)
	j, err := Open(DefaultOptions(filepath.Join(backing, "journal")))
	if err != nil {
		return []string{fmt.Sprintf("reopen after the power cut: %v", err)}, len(a)
	}
	defer j.Close()
	lost, _ = lostAcks(t, j, a)
	if len(lost) == 0 {
		mustHealthy(t, j)
	}
	return lost, len(a)
}

// TestPowerLossDurability is TestSIGKILLDurability with a power cut
// instead of a process kill: the journal runs on a file system that loses
// every write not yet fsynced (internal/lossyfs), and every acknowledged
// write must survive.
func TestPowerLossDurability(t *testing.T) {
	for round := 0; round < 3; round++ {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			lost, _ := powerLossRound(t)
			for _, l := range lost {
				t.Error(l)
			}
		})
	}
}

// TestPowerLossCatchesUnsyncedJournal runs the same writers with
// SyncWrites off: acknowledged writes must then be lost, or the
// power-loss test above could not tell a synced journal from one that is
// not.
func TestPowerLossCatchesUnsyncedJournal(t *testing.T) {
	lost, acks := powerLossRound(t, crashNoSyncEnv+"=1")
	if len(lost) == 0 {
		t.Fatalf("no acknowledged write lost after a power cut with SyncWrites off (%d acks): the power-loss harness does not drop unsynced data", acks)
	}
	t.Logf("with SyncWrites off, the power cut lost %d of %d acknowledged writes, e.g. %s", len(lost), acks, lost[0])
}
