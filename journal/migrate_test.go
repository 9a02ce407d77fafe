package journal

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMigrations(t *testing.T) {
	dir := t.TempDir()
	ran := 0
	first := []migration{{1, "one", func(*Journal) error { ran++; return nil }}}
	o := DefaultOptions(dir)
	o.migrations = first
	j, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	// A record written under schema 1; migration 2 must reindex it.
	c := &CallRecord{Direction: "inbound", Arrived: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := j.PutCall(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if ran != 1 {
		t.Fatalf("migration 1 ran %d times, want 1", ran)
	}

	// Reopen with two migrations: only the second runs.
	o.migrations = append(first, migration{2, "reindex", (*Journal).reindexAll})
	j, err = Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := j.SchemaVersion(); v != 2 || ran != 1 {
		t.Fatalf("after reopen schema = %d, migration 1 runs = %d; want 2, 1", v, ran)
	}
	got, err := j.Calls(context.Background(), time.Time{}, time.Time{})
	if err != nil || len(got) != 1 || got[0].ID != c.ID {
		t.Fatalf("Calls after reindex = %v, %v; want the one call", got, err)
	}
	mustHealthy(t, j)
	j.Close()

	// An older binary (knowing only schema 1) refuses the directory.
	o.migrations = first
	if _, err := Open(o); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open with older binary = %v, want ErrNewerSchema", err)
	}

	// Read-only open of an up-to-date journal works and refuses writes.
	o.migrations = nil
	o.ReadOnly = true
	if j, err = Open(o); err != nil {
		t.Fatalf("Open(read-only) = %v", err)
	}
	defer j.Close()
	if err := j.PutCall(context.Background(), &CallRecord{Direction: "inbound", Arrived: time.Now()}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("PutCall on read-only = %v, want ErrReadOnly", err)
	}
}
