package journal

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obzvon/obzvon/lists"
)

const crashLoadEnv = "OBZVON_CRASH_LOAD_DIR"

// crashLoadRows is the size of the registry the load-crash test loads:
// big enough for a load to span several Badger transactions.
const crashLoadRows = 30_000

// TestCrashLoadChild is the loader the load-crash test runs in a child
// process: it loads two versions of one registry (same policy numbers,
// every other field different) one after the other, so a kill lands in
// an insert or in an update that moves every index key. It does nothing
// in a normal test run.
func TestCrashLoadChild(t *testing.T) {
	dir := os.Getenv(crashLoadEnv)
	if dir == "" {
		return
	}
	j, err := Open(DefaultOptions(dir))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	files := [2][]byte{}
	for i := range files {
		var b bytes.Buffer
		if err := lists.WriteSyntheticRegistry(&b, crashLoadRows, uint64(i+1)); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		files[i] = b.Bytes()
	}
	for n := 0; n < 40; n++ {
		seed := 1 + n%2
		fmt.Printf("L %d\n", seed)
		if _, _, err := j.LoadRegistry(context.Background(), adm, bytes.NewReader(files[seed-1]), lists.FormatCSV, "r.csv"); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Printf("D %d\n", seed)
	}
	os.Exit(0)
}

// TestSIGKILLDuringRegistryLoad kills a process in the middle of
// registry loads at a random moment, then checks that the journal's
// indexes agree with its records right away (every person is whole or
// absent: a record and its index keys commit together), and that loading
// the file again leaves every person of the file findable.
func TestSIGKILLDuringRegistryLoad(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("loads a 30k registry several times; runs without -short and -race")
	}
	for round := 0; round < 3; round++ {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLoadChild$", "-test.timeout=300s")
			cmd.Env = append(os.Environ(), crashLoadEnv+"="+dir)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// The kill lands in the first load (an insert) or, after it
			// finished, in a later one (an update of every person).
			killIn := 1 + rand.IntN(3)
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			loads, lastSeed := 0, 0
			var timer <-chan time.Time
			killed := false
			for !killed {
				select {
				case line, ok := <-lines:
					if !ok {
						t.Fatalf("child exited before the kill")
					}
					if strings.HasPrefix(line, "ERR") {
						t.Fatalf("child: %s", line)
					}
					if f := strings.Fields(line); len(f) == 2 && f[0] == "L" {
						loads++
						lastSeed, _ = strconv.Atoi(f[1])
						if loads == killIn {
							// A random moment inside this load: the random
							// point of the kill, not a synchronization.
							timer = time.After(time.Duration(50+rand.IntN(1500)) * time.Millisecond)
						}
					}
				case <-timer:
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					killed = true
				}
			}
			for line := range lines {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "L" {
					lastSeed, _ = strconv.Atoi(f[1])
				}
			}
			_ = cmd.Wait()
			t.Logf("killed during load %d (seed %d)", loads, lastSeed)

			j, err := Open(DefaultOptions(dir))
			if err != nil {
				t.Fatalf("reopen after SIGKILL: %v", err)
			}
			defer j.Close()
			ctx := context.Background()
			probs, err := j.CheckIndexes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range probs {
				if i < 10 {
					t.Errorf("after the crash: index problem: %s", p)
				}
			}
			if len(probs) > 0 {
				t.Fatalf("%d index problems right after the crash, want none", len(probs))
			}
			// Load the interrupted file again: every person of it must
			// then be there, as the file says, and findable by phone.
			var b bytes.Buffer
			if err := lists.WriteSyntheticRegistry(&b, crashLoadRows, uint64(lastSeed)); err != nil {
				t.Fatal(err)
			}
			file := b.String()
			st, errs, err := j.LoadRegistry(ctx, adm, strings.NewReader(file), lists.FormatCSV, "r.csv")
			if err != nil || len(errs) != 0 || st.Rows != crashLoadRows {
				t.Fatalf("reload = %+v, %d row errors, %v", st, len(errs), err)
			}
			t.Logf("reload: %+v", st)
			mustHealthy(t, j)
			rows := strings.Split(strings.TrimSuffix(file, "\n"), "\n")[1:]
			for k := 0; k < 200; k++ {
				f := strings.Split(rows[rand.IntN(len(rows))], ";")
				p, err := j.Person(ctx, adm, f[4])
				if err != nil {
					t.Fatalf("person %s of the file: %v", f[4], err)
				}
				if p.Surname != f[0] {
					t.Errorf("person %s surname = %q, want %q", f[4], p.Surname, f[0])
				}
				if f[5] == "" {
					continue
				}
				found, err := j.PersonsByPhone(ctx, adm, f[5])
				if err != nil {
					t.Fatal(err)
				}
				if !containsENP(found, f[4]) {
					t.Errorf("person %s not found by phone %s", f[4], f[5])
				}
			}
		})
	}
}

func containsENP(ps []Person, enp string) bool {
	for _, p := range ps {
		if p.ENP == enp {
			return true
		}
	}
	return false
}
