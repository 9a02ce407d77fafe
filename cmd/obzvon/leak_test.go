package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
)

// Margins over the idle figures that the daemon must return to after the
// calls. A goroutine per call leaked would be hundreds over; a media leg
// leaked holds two sockets (RTP and RTCP).
const (
	leakGoroutineMargin = 5
	leakFDMargin        = 4
)

// After 200 short calls (a prompt, then BYE from obzvon) and 20 bridged
// calls with RTP both ways through the real binary, no call is active and
// the daemon's goroutines and open descriptors (two sockets per media
// leg) are back to their idle counts.
//
// The test does not wait out sipgo's transaction timers (Timer L/J, 32 s)
// and does not assert on the heap: the ended transactions are held by
// time.AfterFunc timers, not by goroutines, so the heap stays up for 32 s
// while goroutines are back at once. scripts/leak-check.sh (make
// leak-check) measures the heap after the timers.
func TestNoLeakAfterCalls(t *testing.T) {
	bin := buildBinary(t)
	load := filepath.Join(t.TempDir(), "obzvon-load")
	if out, err := exec.Command("go", "build", "-o", load, "../obzvon-load").CombinedOutput(); err != nil {
		t.Fatalf("go build obzvon-load: %v\n%s", err, out)
	}

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	prompt := filepath.Join(dir, "greeting.wav")
	writeWAV(t, prompt, 8000, 1)
	sipPort, trunkPort, httpPort := peertest.FreePort(t), peertest.FreePort(t), peertest.FreePort(t)
	rtp := peertest.FreeMediaPort(t)
	cfg := fmt.Sprintf(`[log]
level = "warn"
[sip]
host = "127.0.0.1"
port = %d
transports = ["udp"]
[rtp]
ip = "127.0.0.1"
port_min = %d
port_max = %d
[http]
listen = "127.0.0.1:%d"
[data]
dir = %q
[calls]
drain_timeout = "1s"
max_setup_rate = 0
[prompts.files]
greeting = %q
[[route]]
name = "prompt"
match = "601"
action = "playback"
prompt = "greeting"
[[route]]
name = "trunk"
match = "88*"
action = "dial"
target = "sip:8800@127.0.0.1:%d"
allow = ["127.0.0.1"]
`, sipPort, rtp, rtp+999, httpPort, data, prompt, trunkPort)
	cfgPath := filepath.Join(dir, "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, cfgPath, httpPort)
	sock := socketAPI(adminSocketPath(data)).hc
	pid := d.cmd.Process.Pid
	// /readyz on TCP can answer before the admin socket exists: wait for
	// the socket too.
	for deadline := time.Now().Add(20 * time.Second); ; {
		res, err := sock.Get("http://obzvon/readyz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin socket never answered: %v; logs:\n%s", err, d.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	goroutines := func() int {
		t.Helper()
		res, err := sock.Get("http://obzvon/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatalf("goroutine profile: %v", err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		n, err := strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
		if err != nil {
			t.Fatalf("goroutine profile starts %q: %v", first, err)
		}
		return n
	}
	fds := func() int {
		t.Helper()
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	// settled polls f until it is at most limit; it gives up after 20 s
	// and returns the last value.
	settled := func(f func() int, limit int) int {
		deadline := time.Now().Add(20 * time.Second)
		for {
			n := f()
			if n <= limit || time.Now().After(deadline) {
				return n
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Idle: wait until the start-up goroutines (journal, Badger) have
	// settled: the same count five samples in a row (at most 20 s).
	steady := func() int {
		last, same := goroutines(), 0
		for deadline := time.Now().Add(20 * time.Second); same < 5 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond) // sampling interval, not a synchronization
			n := goroutines()
			if n == last {
				same++
			} else {
				last, same = n, 0
			}
		}
		return last
	}
	idleG, idleFD := steady(), fds()
	t.Logf("idle: %d goroutines, %d fds", idleG, idleFD)

	run := func(name string, args ...string) {
		t.Helper()
		report := filepath.Join(dir, name+".json")
		args = append(args, "--target", fmt.Sprintf("127.0.0.1:%d", sipPort), "--setup-timeout", "10s",
			"--progress", "0", "--json", report)
		cmd := exec.Command(load, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("obzvon-load %s: %v\n%s\ndaemon logs:\n%s", name, err, out, d.logs.String())
		}
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			UAC struct {
				Attempted, Answered, Failed, Timeouts, Errors uint64
			} `json:"uac"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s report: %v", name, err)
		}
		if u := r.UAC; u.Attempted == 0 || u.Answered != u.Attempted || u.Failed+u.Timeouts+u.Errors != 0 {
			t.Fatalf("%s calls: attempted %d answered %d failed %d timeouts %d errors %d, want all answered\n%s",
				name, u.Attempted, u.Answered, u.Failed, u.Timeouts, u.Errors, d.logs.String())
		}
	}
	// Short calls: obzvon plays the prompt and hangs up.
	run("short", "--number", "601", "--rate", "100", "--total", "200", "--duration", "3s", "--hold", "10s", "--rtp=false")
	// Bridged calls: a second leg to the generator's echo trunk, RTP both
	// ways, the caller hangs up.
	run("bridged", "--number", "8801", "--rate", "20", "--total", "20", "--concurrent", "20", "--duration", "2s",
		"--hold", "2s", "--uas-listen", fmt.Sprintf("127.0.0.1:%d", trunkPort), "--uas-mode", "echo")

	active := settled(func() int {
		_, body := httpGet(d.url + "/metrics")
		n := 0
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, "obzvon_calls_active{"); ok {
				_, val, _ := strings.Cut(v, "} ")
				f, err := strconv.ParseFloat(val, 64)
				if err != nil {
					t.Fatalf("metrics line %q: %v", line, err)
				}
				n += int(f)
			}
		}
		return n
	}, 0)
	if active != 0 {
		t.Errorf("obzvon_calls_active = %d after the calls ended, want 0", active)
	}
	if g := settled(goroutines, idleG+leakGoroutineMargin); g > idleG+leakGoroutineMargin {
		t.Errorf("goroutines = %d after the calls, want at most %d (idle %d + %d)", g, idleG+leakGoroutineMargin, idleG, leakGoroutineMargin)
	}
	if n := settled(fds, idleFD+leakFDMargin); n > idleFD+leakFDMargin {
		t.Errorf("open fds = %d after the calls, want at most %d (idle %d + %d): media legs left open?", n, idleFD+leakFDMargin, idleFD, leakFDMargin)
	}
}
