package journal

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestGroupCommitIsolation creates appeals from many goroutines, a
// quarter of them with a link to a missing appeal: those must fail alone,
// every other must be stored, whatever groups the committer formed.
func TestGroupCommitIsolation(t *testing.T) {
	j, err := Open(DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	const n = 200
	errs := make([]error, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := card("", "")
			if i%4 == 0 {
				a.Links = []string{"missing"}
			}
			errs[i] = j.CreateAppeal(ctx, op1, a)
			ids[i] = a.ID
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		switch {
		case i%4 == 0 && !errors.Is(errs[i], ErrInvalid):
			t.Errorf("create %d with a bad link = %v, want ErrInvalid", i, errs[i])
		case i%4 != 0 && errs[i] != nil:
			t.Errorf("create %d = %v, want success", i, errs[i])
		case i%4 != 0:
			if _, err := j.Appeal(ctx, adm, ids[i]); err != nil {
				t.Errorf("appeal %d not stored: %v", i, err)
			}
		}
	}
	l, _ := j.Appeals(ctx, adm, nil, AppealFilter{Limit: 1000})
	if len(l) != n-n/4 {
		t.Errorf("%d appeals stored, want %d", len(l), n-n/4)
	}
	mustHealthy(t, j)
	st := j.Stats()
	if st.Writes < n || st.Commits == 0 || st.Commits >= st.Writes {
		t.Errorf("Stats() = %+v, want ≥ %d writes in fewer commits", st, n)
	}
	t.Logf("group commit: %d writes in %d commits", st.Writes, st.Commits)
	j.Close()
	if err := j.CreateAppeal(ctx, op1, card("", "")); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateAppeal after Close = %v, want ErrClosed", err)
	}
}

// TestGroupCommitGroups runs concurrent writers on a synced on-disk
// journal and checks that the committer really groups them: fewer Badger
// commits (fsyncs) than writes. A committer that commits one write at a
// time (maxGroup 1) fails it.
func TestGroupCommitGroups(t *testing.T) {
	j, err := Open(DefaultOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	const writers, each = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errs <- j.CreateAppeal(ctx, op1, card("", ""))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := j.Stats()
	if st.Writes != writers*each {
		t.Errorf("Stats().Writes = %d, want %d", st.Writes, writers*each)
	}
	// Each writer waits for its commit before its next write, so while
	// one group is being synced the others queue up behind it: only a
	// committer that never groups needs a commit per write.
	if st.Commits >= st.Writes {
		t.Errorf("%d writes from %d concurrent writers took %d commits: the committer does not group", st.Writes, writers, st.Commits)
	}
	t.Logf("group commit: %d writes in %d commits (%.1f per fsync)", st.Writes, st.Commits, float64(st.Writes)/float64(st.Commits))
}
