// Package peertest runs real SIP peers (SIPp from Debian's sip-tester) on
// loopback for obzvon's tests, and analyses what they leave behind: free
// ports, SIPp processes with their scenarios and audio, stereo WAV
// recordings and the share of a tone in them. Only tests import it.
package peertest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequirePeer finds a peer program. Outside CI a missing peer skips the
// test; under CI=true it fails it, so a broken install cannot pass.
func RequirePeer(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (run make test-deps): %v", name, err)
	}
	t.Skipf("%s is not installed (make test-deps installs it)", name)
	return ""
}

// FreePort returns a port free on loopback for both UDP and TCP.
func FreePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		tl, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		u.Close()
		if err != nil {
			continue
		}
		tl.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// FreeMediaPort returns an even port P with P..P+3 free (SIPp binds its
// media port and the one above it... and +2 for its second stream).
func FreeMediaPort(t *testing.T) int {
	t.Helper()
	return FreeMediaPorts(t, 4)
}

// FreeMediaPorts returns an even port P with P..P+n-1 free at the time of
// the call.
func FreeMediaPorts(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := u.LocalAddr().(*net.UDPAddr).Port &^ 1
		u.Close()
		ok := true
		var held []*net.UDPConn
		for i := 0; i < n; i++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + i})
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free media ports")
	return 0
}

// SIPp is one running SIPp process.
type SIPp struct {
	t    *testing.T
	cmd  *exec.Cmd
	dir  string
	out  SyncBuffer
	done chan error
}

// StartSIPp runs sipp with a scenario of this package's sipp directory in
// its own work directory holding the audio files (caller.ulaw and
// caller.alaw: a 1 kHz tone; callee.ulaw: a Russian prompt; human.ulaw
// and machine.ulaw: a person's «Алло?» and a voicemail greeting); it runs
// at most 30 s and is killed (by PID) at test end if still running.
func StartSIPp(t *testing.T, scenario string, args ...string) *SIPp {
	t.Helper()
	return StartSIPpFor(t, 30*time.Second, scenario, args...)
}

// StartSIPpFor is StartSIPp for a sipp that runs at most life (its
// -timeout; it is killed 15 s later if still running).
func StartSIPpFor(t *testing.T, life time.Duration, scenario string, args ...string) *SIPp {
	t.Helper()
	bin := RequirePeer(t, "sipp")
	dir := t.TempDir()
	td := ScenarioDir()
	for link, file := range map[string]string{
		"caller.ulaw":  "tone1k_8k.ulaw",
		"caller.alaw":  "tone1k_8k.alaw",
		"callee.ulaw":  "prompt_ru_8k.ulaw",
		"human.ulaw":   "human.ulaw",
		"machine.ulaw": "machine.ulaw",
	} {
		if err := os.Symlink(filepath.Join(td, file), filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]string{"-sf", filepath.Join(td, scenario), "-i", "127.0.0.1", "-mi", "127.0.0.1",
		"-nostdin", "-trace_err", "-timeout", strconv.Itoa(int(life.Seconds())) + "s"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), life+15*time.Second)
	s := &SIPp{t: t, dir: dir, done: make(chan error, 1)}
	s.cmd = exec.CommandContext(ctx, bin, all...)
	s.cmd.Dir = dir
	s.cmd.Stdout = &s.out
	s.cmd.Stderr = &s.out
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp: %v", err)
	}
	go func() { s.done <- s.cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// Wait waits for sipp to exit and returns its exit code.
func (s *SIPp) Wait(timeout time.Duration) int {
	s.t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		s.t.Fatalf("sipp: %v", err)
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		s.t.Fatalf("sipp did not finish in %v; output:\n%s\n%s", timeout, s.out.String(), s.Logs())
	}
	return -1
}

// Dir is sipp's work directory (its logs, and -trace_* files).
func (s *SIPp) Dir() string { return s.dir }

// Stop ends sipp (SIGKILL, by PID) if it still runs and waits for it.
func (s *SIPp) Stop() {
	select {
	case err := <-s.done:
		s.done <- err
	default:
		_ = s.cmd.Process.Kill()
		s.done <- <-s.done
	}
}

// Logs returns SIPp's error log for failure messages.
func (s *SIPp) Logs() string {
	m, _ := filepath.Glob(filepath.Join(s.dir, "*_errors.log"))
	var b bytes.Buffer
	for _, f := range m {
		d, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(f), d)
	}
	return b.String()
}

// StereoWAV is a decoded 16-bit stereo recording, samples in [-1, 1).
type StereoWAV struct {
	Rate        int
	Left, Right []float64
}

// ReadStereoWAV parses a canonical PCM WAV with two 16-bit channels.
func ReadStereoWAV(t *testing.T, path string) StereoWAV {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read recording: %v", err)
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("recording %s is not a RIFF/WAVE file", path)
	}
	var w StereoWAV
	var data []byte
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size > len(body) {
			size = len(body)
		}
		switch id {
		case "fmt ":
			if binary.LittleEndian.Uint16(body[0:]) != 1 || binary.LittleEndian.Uint16(body[2:]) != 2 || binary.LittleEndian.Uint16(body[14:]) != 16 {
				t.Fatalf("recording format: want PCM, 2 channels, 16 bits; header % x", body[:16])
			}
			w.Rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			data = body[:size]
		}
		off += 8 + size + size&1
	}
	for i := 0; i+4 <= len(data); i += 4 {
		w.Left = append(w.Left, float64(int16(binary.LittleEndian.Uint16(data[i:])))/32768)
		w.Right = append(w.Right, float64(int16(binary.LittleEndian.Uint16(data[i+2:])))/32768)
	}
	return w
}

// ToneShare is the share of a signal's power at freq (Goertzel over
// 20 ms blocks), over the blocks that are not silent. It returns the
// share and the number of non-silent blocks.
func ToneShare(x []float64, rate int, freq float64) (float64, int) {
	const block = 160
	k := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var tone, total float64
	n := 0
	for i := 0; i+block <= len(x); i += block {
		var s1, s2, energy float64
		for _, v := range x[i : i+block] {
			s1, s2 = v+k*s1-s2, s1
			energy += v * v
		}
		if energy/block < 1e-5 { // below about -50 dBFS: silence
			continue
		}
		p := s1*s1 + s2*s2 - k*s1*s2
		tone += 2 * p / block
		total += energy
		n++
	}
	if total == 0 {
		return 0, 0
	}
	return tone / total, n
}

// ScenarioDir is the absolute path of the SIPp scenarios and audio.
func ScenarioDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "sipp")
}

// Output is what SIPp printed so far.
func (s *SIPp) Output() string { return s.out.String() }

// SyncBuffer is a bytes.Buffer safe for concurrent writers (a process's
// output copier, concurrent handlers' logs) and the test reading it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WaitUDPBound waits until something (a peer just started) has bound UDP
// port, as the kernel's socket tables (/proc/net/udp, udp6) show. It does
// not probe by binding the port itself: a probe holding the port for an
// instant made a peer that bound at that instant fail and exit. It fails
// the test after timeout.
func WaitUDPBound(t *testing.T, port int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !udpPortBound(port) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing bound UDP port %d within %v", port, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// udpPortBound reports whether a UDP socket of this host is bound to port
// on any address.
func udpPortBound(port int) bool {
	want := fmt.Sprintf(":%04X ", port)
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// "  sl  local_address rem_address ...": the local address is
			// the second field, HEXADDR:HEXPORT.
			fields := strings.Fields(line)
			if len(fields) > 2 && strings.HasSuffix(fields[1]+" ", want) {
				return true
			}
		}
	}
	return false
}
