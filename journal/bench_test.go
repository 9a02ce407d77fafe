package journal

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/obzvon/obzvon/lists"
)

// benchRows is the registry size for the registry benchmarks:
// OBZVON_BENCH_ROWS, default 100000 (the figure is 3000000).
func benchRows(b *testing.B) int {
	if s := os.Getenv("OBZVON_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("OBZVON_BENCH_ROWS=%q: want a positive number", s)
		}
		return n
	}
	return 100_000
}

// dirSize is the disk space used under dir (allocated blocks, as du
// reports: Badger preallocates its log files sparsely, so their lengths
// overstate what is used).
func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += info.Size()
		}
		return nil
	})
	return n
}

// BenchmarkRegistryLoad loads a synthetic registry into a fresh on-disk
// journal per iteration and reports rows/s and the directory size.
func BenchmarkRegistryLoad(b *testing.B) {
	rows := benchRows(b)
	var csv bytes.Buffer
	if err := lists.WriteSyntheticRegistry(&csv, rows, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(csv.Len()))
	var total time.Duration
	var size int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		j, err := Open(DefaultOptions(dir))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		st, errs, err := j.LoadRegistry(context.Background(), adm, bytes.NewReader(csv.Bytes()), lists.FormatCSV, "synthetic.csv")
		total += time.Since(start)
		if err != nil || st.Inserted != rows || len(errs) != 0 {
			b.Fatalf("LoadRegistry = %+v, %d row errors, %v", st, len(errs), err)
		}
		b.StopTimer()
		j.Close()
		size = dirSize(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/total.Seconds(), "rows/s")
	b.ReportMetric(float64(size)/(1<<20), "MiB-on-disk")
}

var (
	searchOnce sync.Once
	searchJ    *Journal
	searchKeep bool // the registry directory is the user's (OBZVON_BENCH_DIR)
	searchErr  error
)

// BenchmarkPersonSearch searches a loaded synthetic registry with the
// queries operators type (surname prefix, surname + name, name + birth
// date, birth date alone) and reports p50 and p99 latency.
func BenchmarkPersonSearch(b *testing.B) {
	rows := benchRows(b)
	searchOnce.Do(func() {
		// OBZVON_BENCH_DIR keeps the loaded registry between runs: the
		// first run loads it, later runs search it again at once.
		dir, keep := os.Getenv("OBZVON_BENCH_DIR"), true
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "obzvon-bench-search-"); err != nil {
				searchErr = err
				return
			}
			keep = false
		}
		if searchJ, searchErr = Open(DefaultOptions(dir)); searchErr != nil {
			return
		}
		searchKeep = keep
		if got, _ := searchJ.SearchPersons(context.Background(), op1, PersonQuery{Birth: "1950-01-01"}); len(got) > 0 && keep {
			b.Logf("setup: reusing the registry in %s (%.1f MiB on disk)", dir, float64(dirSize(dir))/(1<<20))
			return
		}
		var csv bytes.Buffer
		if searchErr = lists.WriteSyntheticRegistry(&csv, rows, 1); searchErr != nil {
			return
		}
		// The setup load is reported too: with OBZVON_BENCH_ROWS=3000000
		// this one run gives the load rate, the size on disk and the
		// search latencies for the figures.
		var st LoadStats
		st, _, searchErr = searchJ.LoadRegistry(context.Background(), adm, &csv, lists.FormatCSV, "synthetic.csv")
		if searchErr == nil {
			b.Logf("setup: loaded %d rows in %s (%.0f rows/s); %.1f MiB on disk",
				st.Rows, st.Took.Round(time.Millisecond), float64(st.Rows)/st.Took.Seconds(), float64(dirSize(dir))/(1<<20))
		}
	})
	if searchErr != nil {
		b.Fatal(searchErr)
	}
	// Queries are taken from the registry itself so most find someone.
	var sample bytes.Buffer
	lists.WriteSyntheticRegistry(&sample, 2000, 1)
	res, _ := lists.ReadAll(&sample, lists.FormatCSV, nil)
	rng := rand.New(rand.NewPCG(7, 7))
	queries := make([]PersonQuery, 0, 1000)
	for i := 0; i < cap(queries); i++ {
		r := res.Rows[rng.IntN(len(res.Rows))]
		sur := []rune(r.Surname)
		switch i % 4 {
		case 0:
			queries = append(queries, PersonQuery{Surname: string(sur[:min(len(sur), 3+rng.IntN(3))])})
		case 1:
			queries = append(queries, PersonQuery{Surname: r.Surname, Name: string([]rune(r.Name)[:2])})
		case 2:
			queries = append(queries, PersonQuery{Name: r.Name, Birth: r.Birth})
		default:
			queries = append(queries, PersonQuery{Birth: r.Birth})
		}
	}
	ctx := context.Background()
	// Searches are audited; measure the lookup the operator waits for
	// with the journal's own audit write included, as in production.
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := searchJ.SearchPersons(ctx, op1, queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// searchQueries are operator-like queries taken from the synthetic
// registry itself, so most find someone.
func searchQueries(n int) []PersonQuery {
	var sample bytes.Buffer
	lists.WriteSyntheticRegistry(&sample, 2000, 1)
	res, _ := lists.ReadAll(&sample, lists.FormatCSV, nil)
	rng := rand.New(rand.NewPCG(7, 7))
	queries := make([]PersonQuery, 0, n)
	for i := 0; i < n; i++ {
		r := res.Rows[rng.IntN(len(res.Rows))]
		sur := []rune(r.Surname)
		switch i % 4 {
		case 0:
			queries = append(queries, PersonQuery{Surname: string(sur[:min(len(sur), 3+rng.IntN(3))])})
		case 1:
			queries = append(queries, PersonQuery{Surname: r.Surname, Name: string([]rune(r.Name)[:2])})
		case 2:
			queries = append(queries, PersonQuery{Name: r.Name, Birth: r.Birth})
		default:
			queries = append(queries, PersonQuery{Birth: r.Birth})
		}
	}
	return queries
}

// BenchmarkSearchAfterLoad loads a synthetic registry (OBZVON_BENCH_ROWS)
// into a fresh journal and, from the moment LoadRegistry returns, searches
// for OBZVON_BENCH_AFTER (default 30s), reporting p50/p99 per 5-second
// window: the latency operators see while compaction settles. Run it
// with -benchtime=1x.
func BenchmarkSearchAfterLoad(b *testing.B) {
	rows := benchRows(b)
	window, total := 5*time.Second, 30*time.Second
	if s := os.Getenv("OBZVON_BENCH_AFTER"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			b.Fatalf("OBZVON_BENCH_AFTER=%q: want a duration like 60s", s)
		}
		total = d
	}
	var csv bytes.Buffer
	if err := lists.WriteSyntheticRegistry(&csv, rows, 1); err != nil {
		b.Fatal(err)
	}
	queries := searchQueries(1000)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		j, err := Open(DefaultOptions(dir))
		if err != nil {
			b.Fatal(err)
		}
		st, _, err := j.LoadRegistry(ctx, adm, bytes.NewReader(csv.Bytes()), lists.FormatCSV, "synthetic.csv")
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d rows in %s (%.0f rows/s)", st.Rows, st.Took.Round(time.Millisecond), float64(st.Rows)/st.Took.Seconds())
		start := time.Now()
		var lat []time.Duration
		var first []time.Duration
		for w := time.Duration(0); w < total; w += window {
			lat = lat[:0]
			for n := 0; time.Since(start) < w+window; n++ {
				t0 := time.Now()
				if _, err := j.SearchPersons(ctx, op1, queries[n%len(queries)]); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			l0 := j.db.Levels()[0]
			b.Logf("%3.0fs-%3.0fs: %5d searches p50 %6dµs p99 %6dµs max %6dµs; L0 %d tables",
				w.Seconds(), (w + window).Seconds(), len(lat), lat[len(lat)/2].Microseconds(),
				lat[len(lat)*99/100].Microseconds(), lat[len(lat)-1].Microseconds(), l0.NumTables)
			if w == 0 {
				first = slices.Clone(lat)
			}
		}
		b.ReportMetric(float64(first[len(first)/2].Microseconds()), "first5s-p50-µs")
		b.ReportMetric(float64(first[len(first)*99/100].Microseconds()), "first5s-p99-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "last5s-p99-µs")
		j.Close()
		b.ReportMetric(float64(dirSize(dir))/(1<<20), "MiB-on-disk")
	}
}

// BenchmarkAppealCreateSynced64 creates appeals from 64 concurrent writers
// on a synced on-disk journal and reports creates/s.
func BenchmarkAppealCreateSynced64(b *testing.B) {
	j, err := Open(DefaultOptions(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				a := card(fmt.Sprintf("+7900%07d", i%10_000_000), "")
				if err := j.CreateAppeal(ctx, op1, a); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}
