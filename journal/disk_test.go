package journal

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The journal's size on disk is real and grows with what is written (it
// was always 0 while Badger's own counters were off).
func TestDiskUsageGrowsWithWrites(t *testing.T) {
	j, err := Open(DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	before := j.DiskUsage()
	if before.Total() <= 0 {
		t.Fatalf("DiskUsage of an open journal = %+v, want some bytes (MANIFEST, memtable log)", before)
	}
	ctx := context.Background()
	pad := strings.Repeat("x", 3900) // values ≥ 100 bytes go to the value log
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 1000 {
		c := &CallRecord{Direction: "inbound", From: "1001", To: "600", Route: fmt.Sprintf("r%d-%s", i, pad),
			Arrived: start.Add(time.Duration(i) * time.Second)}
		if err := j.PutCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	after := j.DiskUsage()
	// 1000 records of about 4 KB: at least 3 MB more, in the value log
	// (and the memtable's log, whichever Badger has written by now).
	if grew := after.Total() - before.Total(); grew < 3<<20 {
		t.Errorf("DiskUsage grew by %d bytes after writing ~4 MB (before %+v, after %+v)", grew, before, after)
	}
	if after.ValueLog+after.WAL <= before.ValueLog+before.WAL {
		t.Errorf("value log and memtable logs did not grow: before %+v, after %+v", before, after)
	}
	if lsm, vlog := j.Sizes(); lsm != after.LSM && vlog <= 0 {
		t.Errorf("Sizes() = %d, %d, want the DiskUsage parts", lsm, vlog)
	}
	if j.WriteErrors() != 0 {
		t.Errorf("WriteErrors = %d after successful writes, want 0", j.WriteErrors())
	}
}
