//go:build security

package securitytest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// needTool fails (under CI=true) or skips when a peer tool is missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed: run scripts/install-test-deps.sh", name)
		}
		t.Skipf("%s not installed: run scripts/install-test-deps.sh", name)
	}
	return p
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary is OBZVON_BIN or obzvon built from this tree.
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("OBZVON_BIN"); b != "" {
		return b
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "obzvon-sec-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "obzvon")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/obzvon").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// The test account: its SIP secret is strong, and in the attack
// dictionary at position secretAt.
const (
	testUser   = "tester"
	testSecret = "Zebra-7731-Lamp"
	testPass   = "Верный-пароль-2026"
	secretAt   = 150
)

type daemon struct {
	t       *testing.T
	cmd     *exec.Cmd
	done    chan struct{}
	logs    *peertest.SyncBuffer
	sipPort int
	http    string
	data    string
}

// startDaemon seeds a journal with the test account, then runs the
// binary on it (with at most nofile descriptors when nofile > 0).
func startDaemon(t *testing.T, extra string, nofile int) *daemon {
	t.Helper()
	bin := binary(t)
	data := t.TempDir()
	j, err := journal.Open(journal.DefaultOptions(filepath.Join(data, "journal")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.AddAccount(context.Background(), journal.Actor{Login: "setup", Role: journal.RoleAdmin}, journal.NewAccount{
		Login: testUser, DisplayName: "Тестовый оператор", Roles: []journal.Role{journal.RoleOperatorL1}, Extension: "1005",
		Password: testPass, SIPSecret: testSecret, SIPRealm: "obzvon"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, done: make(chan struct{}), logs: &peertest.SyncBuffer{}, sipPort: peertest.FreePort(t), data: data}
	httpPort := peertest.FreePort(t)
	d.http = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	cfg := fmt.Sprintf(`[sip]
port = %d
[http]
listen = "127.0.0.1:%d"
[rtp]
port_min = 36000
port_max = 36199
[data]
dir = %q
[calls]
drain_timeout = "1s"
%s
[[route]]
name = "greeting"
match = "601"
action = "playback"
prompt = "greeting"
`, d.sipPort, httpPort, data, extra)
	path := filepath.Join(t.TempDir(), "obzvon.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{bin, "serve", "--config", path}
	if nofile > 0 {
		args = append([]string{"prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile), "--"}, args...)
	}
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill() // by PID: the daemon this test started
			<-d.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		// HTTP comes up before SIP: "obzvon ready" is logged once both are.
		if code, _ := get(d.http+"/readyz", 2*time.Second); code == 200 && strings.Contains(d.logs.String(), "obzvon ready") {
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("daemon exited: %s", d.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready: %s", d.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) sipTarget() string { return "127.0.0.1:" + strconv.Itoa(d.sipPort) }

func (d *daemon) pid() int { return d.cmd.Process.Pid }

func get(url string, timeout time.Duration) (int, string) {
	c := &http.Client{Timeout: timeout}
	res, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// metric returns the value of the exposition line starting with name.
func (d *daemon) metric(name string) float64 {
	_, body := get(d.http+"/metrics", 5*time.Second)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name+" ") {
			v, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(sc.Text(), name)), 64)
			return v
		}
	}
	return 0
}

// procStatus reads a kB field of /proc/PID/status (VmRSS, VmHWM) of the
// daemon; with prlimit in front, the daemon is prlimit's exec'd self.
func (d *daemon) procStatus(field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.pid()))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}

func (d *daemon) fds() int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.pid()))
	return len(es)
}

// healthProbe hits /healthz every 50 ms until stop and returns the
// latencies (a failure counts as 10 s).
func (d *daemon) healthProbe(stop <-chan struct{}) <-chan []time.Duration {
	out := make(chan []time.Duration, 1)
	go func() {
		var lat []time.Duration
		for {
			select {
			case <-stop:
				out <- lat
				return
			case <-time.After(50 * time.Millisecond):
			}
			t0 := time.Now()
			code, _ := get(d.http+"/healthz", 10*time.Second)
			el := time.Since(t0)
			if code != 200 {
				el = 10 * time.Second
			}
			lat = append(lat, el)
		}
	}()
	return out
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// cpuPressure is the machine's CPU pressure (PSI "some avg10"), for the
// figures: latencies mean nothing on a machine others saturate.
func cpuPressure() string {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return "PSI unknown"
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	if len(f) > 1 {
		return "CPU PSI " + strings.TrimPrefix(f[1], "avg10=") + "%"
	}
	return "PSI unknown"
}

// latencyBound is want, or 10× want when other work saturates the
// machine (CPU PSI avg10 above 50%): then the figure is logged, and only
// a gross failure fails the test.
func latencyBound(t *testing.T, want time.Duration) time.Duration {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return want
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	if len(f) > 1 {
		if v, err := strconv.ParseFloat(strings.TrimPrefix(f[1], "avg10="), 64); err == nil && v > 50 {
			t.Logf("machine saturated by other work (%s): latency bound %v instead of %v", cpuPressure(), 10*want, want)
			return 10 * want
		}
	}
	return want
}
