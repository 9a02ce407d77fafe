package journal

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/obzvon/obzvon/lists"
)

const crashDirEnv = "OBZVON_CRASH_CHILD_DIR"

// crashNoSyncEnv, when set, makes the child open its journal with
// SyncWrites off (the power-loss test shows it then loses writes).
const crashNoSyncEnv = "OBZVON_CRASH_CHILD_NOSYNC"

// reader reads persons in the SIGKILL test.
var reader = Actor{"reader", RoleOperatorL1}

// TestCrashChild is the writer the SIGKILL test runs in a child process.
// It does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	o := DefaultOptions(dir)
	o.SyncWrites = os.Getenv(crashNoSyncEnv) == ""
	j, err := Open(o)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	ack := func(format string, a ...any) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, format+"\n", a...) // unbuffered: one write per line
		mu.Unlock()
	}
	ctx := context.Background()
	// A registry load first: acknowledged when LoadRegistry returns.
	if _, _, err := j.LoadRegistry(ctx, adm, strings.NewReader(miniRegistry), lists.FormatCSV, "mini.csv"); err != nil {
		ack("ERR %v", err)
		os.Exit(1)
	}
	ack("R 7")
	var wg sync.WaitGroup
	// A reader of personal data: each acknowledged read must leave its
	// audit entry (auditRead commits it before the data is returned).
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 1000000; i++ {
			if _, err := j.Person(ctx, reader, fmt.Sprintf("10000000000000%02d", 1+i%7)); err != nil {
				ack("ERR %v", err)
				return
			}
			ack("P %d", i+1)
		}
	}()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				a := card(fmt.Sprintf("+7900%07d", i%1000), fmt.Sprintf("%016d", w*100000+i))
				if err := j.CreateAppeal(ctx, op1, a); err != nil {
					ack("ERR %v", err)
					return
				}
				ack("A %s %s", a.ID, a.Number)
				if i%2 == 0 {
					if _, err := j.Move(ctx, op1, a.ID, Step{Move: MoveClose, Resolution: ResolutionExplained, Comment: "ok"}); err != nil {
						ack("ERR %v", err)
						return
					}
					ack("M %s", a.ID)
				}
				c := &CallRecord{Direction: "inbound", Arrived: time.Now(), From: a.Phone}
				if err := j.PutCall(ctx, c); err != nil {
					ack("ERR %v", err)
					return
				}
				ack("C %s", c.ID)
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

// TestSIGKILLDurability runs a synced write load in a child process,
// kills it with SIGKILL after a random number of acknowledged writes,
// reopens the journal and checks that every acknowledged write is there
// and every index agrees with its records.
func TestSIGKILLDurability(t *testing.T) {
	for round := 0; round < 3; round++ {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			dir := t.TempDir()
			acks := runCrashChild(t, dir, 100+rand.IntN(900))
			j, err := Open(DefaultOptions(dir))
			if err != nil {
				t.Fatalf("reopen after SIGKILL: %v", err)
			}
			defer j.Close()
			lost, reads := lostAcks(t, j, acks)
			for _, l := range lost {
				t.Error(l)
			}
			mustHealthy(t, j)
			t.Logf("%d acknowledged writes verified, %d audited reads", len(acks), reads)
		})
	}
}

// runCrashChild runs TestCrashChild writing the journal in dir, kills it
// with SIGKILL after killAfter acknowledged writes and returns the
// acknowledgements it printed. env is added to the child's environment.
func runCrashChild(t *testing.T, dir string, killAfter int, env ...string) []string {
	t.Helper()
	t.Logf("killing after %d acknowledged writes", killAfter)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=120s")
	cmd.Env = append(append(os.Environ(), crashDirEnv+"="+dir), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // if the test fails before the planned kill
	sc := bufio.NewScanner(out)
	var acks []string
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERR") {
			t.Fatalf("child: %s", line)
		}
		acks = append(acks, line)
		if !killed && len(acks) >= killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
			// Lines already in the pipe were acknowledged before
			// the kill: keep reading them. A cut last line has no
			// newline and is dropped below.
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acks before the kill", len(acks))
	}
	if len(acks) > 0 && !validAck(acks[len(acks)-1]) {
		acks = acks[:len(acks)-1]
	}
	return acks
}

// lostAcks checks every acknowledgement of TestCrashChild against the
// reopened journal and describes each acknowledged write that is missing
// or wrong; reads counts the acknowledged reads of personal data.
func lostAcks(t *testing.T, j *Journal, acks []string) (lost []string, reads int) {
	t.Helper()
	ctx := context.Background()
	numbers := map[string]bool{}
	for _, a := range acks {
		f := strings.Fields(a)
		switch f[0] {
		case "A":
			got, err := j.Appeal(ctx, adm, f[1])
			if err != nil {
				lost = append(lost, fmt.Sprintf("acknowledged appeal %s lost: %v", f[1], err))
				continue
			}
			if got.Number != f[2] {
				lost = append(lost, fmt.Sprintf("appeal %s number = %s, want %s", f[1], got.Number, f[2]))
			}
			if numbers[got.Number] {
				lost = append(lost, fmt.Sprintf("number %s used twice", got.Number))
			}
			numbers[got.Number] = true
		case "M":
			got, err := j.Appeal(ctx, adm, f[1])
			if err != nil || got.Status != StatusUnderReview {
				lost = append(lost, fmt.Sprintf("acknowledged close of %s lost: %v", f[1], err))
			}
		case "C":
			if _, err := j.Call(ctx, f[1]); err != nil {
				lost = append(lost, fmt.Sprintf("acknowledged call %s lost: %v", f[1], err))
			}
		case "P":
			reads++
		case "R":
			for i := 1; i <= 7; i++ {
				if _, err := j.Person(ctx, adm, fmt.Sprintf("10000000000000%02d", i)); err != nil {
					lost = append(lost, fmt.Sprintf("acknowledged registry load lost person %d: %v", i, err))
				}
			}
		}
	}
	es, err := j.Audit(ctx, adm, AuditQuery{Account: reader.Login, Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < reads {
		lost = append(lost, fmt.Sprintf("%d audit entries of the reader after %d acknowledged reads: reads of personal data lost their audit", len(es), reads))
	}
	return lost, reads
}

func validAck(s string) bool {
	f := strings.Fields(s)
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "A":
		return len(f) == 3 && len(f[1]) == 26 && len(f[2]) == 11
	case "R":
		return s == "R 7"
	case "P":
		return len(f) == 2 && f[1] != ""
	case "M", "C":
		return len(f) == 2 && len(f[1]) == 26
	}
	return false
}
