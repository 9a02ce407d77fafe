package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// writeWAV writes a PCM16 WAV with the given rate and channel count.
func writeWAV(t *testing.T, path string, rate, channels int) {
	t.Helper()
	n := rate / 2 * channels
	data := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(8000*((i/8)%2*2-1))))
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rate),
		uint32(rate * channels * 2), uint16(channels * 2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runCmd(args ...string) (stdout, stderr string, code int) {
	app := newApp()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errb
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := runApp(app, append([]string{"obzvon"}, args...))
	code = 0
	if err != nil {
		code = exitFailure
		if ec, ok := err.(interface{ ExitCode() int }); ok {
			code = ec.ExitCode()
		}
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	stereo := filepath.Join(dir, "stereo.wav")
	writeWAV(t, stereo, 8000, 2)
	wideband := filepath.Join(dir, "wide.wav")
	writeWAV(t, wideband, 16000, 1)
	good := filepath.Join(dir, "good.wav")
	writeWAV(t, good, 8000, 1)
	for _, tc := range []struct {
		name, toml string
		code       int
		want       []string
	}{
		{"defaults", "", 0, []string{"OK"}},
		{"own prompt", fmt.Sprintf("[prompts.files]\ngreeting = %q\n", good), 0, []string{"OK"}},
		{"stereo prompt", fmt.Sprintf("[prompts.files]\ngreeting = %q\n", stereo), exitFailure, []string{"prompts.files.greeting", "stereo.wav"}},
		{"16 kHz prompt", fmt.Sprintf("[prompts.files]\nmenu = %q\n", wideband), exitFailure, []string{"prompts.files.menu", "wide.wav"}},
		{"missing prompt file", "[prompts.files]\nmenu = \"/nonexistent/menu.wav\"\n", exitFailure, []string{"/nonexistent/menu.wav"}},
		{"unknown key and bad value", "[sip]\nprot = 1\n", exitFailure, []string{"sip.prot: unknown key"}},
		{"bad values", "[rtp]\nport_min = 10\n[log]\nlevel = \"x\"\n", exitFailure, []string{"rtp.port_min = 10", `log.level = "x"`, "2 problem(s)"}},
		{"trunk open to anyone", "[[route]]\nname = \"trunk\"\nmatch = \"8*\"\naction = \"dial\"\ntarget = \"sip:${number}@192.0.2.20\"\nallow = [\"anyone\"]\n", 0,
			[]string{"OK", "warning: route[0] (trunk)", "toll fraud"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".toml")
			if err := os.WriteFile(path, []byte(tc.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errs, code := runCmd("check-config", path)
			if code != tc.code {
				t.Errorf("check-config exit %d, want %d; stdout %q stderr %q", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errs, w) {
					t.Errorf("check-config output lacks %q:\n%s%s", w, out, errs)
				}
			}
		})
	}
}

// buildBinary builds obzvon once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "obzvon")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func httpGet(url string) (int, string) {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The daemon on SIGTERM: /readyz fails, the active call gets BYE after the
// drain timeout, its record is in the journal, and the exit code is 0.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	peertest.RequirePeer(t, "sipp")
	bin := buildBinary(t)
	dir := t.TempDir()
	sipPort, httpPort := peertest.FreePort(t), peertest.FreePort(t)
	// Apart from the dialer tests (10000-13999), the load benchmark
	// (14000-17999) and the media tests (20000-29999).
	base := 18000 + (os.Getpid()%50)*20
	cfg := fmt.Sprintf(`[sip]
port = %d
[http]
listen = "127.0.0.1:%d"
[rtp]
port_min = %d
port_max = %d
[data]
dir = %q
[calls]
drain_timeout = "1s"
`, sipPort, httpPort, base, base+19, dir)
	cfgPath := filepath.Join(dir, "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, cfgPath, httpPort)
	base_ := d.url
	deadline := time.Now().Add(20 * time.Second)
	// A short call first; its record is read through the daemon's admin
	// socket while the daemon holds the journal.
	short := peertest.StartSIPp(t, "uac_inbound.xml", "127.0.0.1:"+strconv.Itoa(sipPort), "-s", "600", "-d", "500", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := short.Wait(15 * time.Second); code != 0 {
		t.Fatalf("short call: sipp exit %d\n%s", code, short.Output())
	}
	var listed []journal.CallRecord
	for {
		out, err := exec.Command(bin, "journal", "calls", "--dir", filepath.Join(dir, "journal"), "--json",
			"--from", time.Now().Add(-time.Hour).Format(time.RFC3339), "--to", time.Now().Add(time.Hour).Format(time.RFC3339)).Output()
		if err != nil {
			t.Fatalf("obzvon journal calls while the daemon runs: %v\n%s", err, out)
		}
		if err := json.Unmarshal(out, &listed); err != nil {
			t.Fatalf("journal calls --json: %v\n%s", err, out)
		}
		if len(listed) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(listed) != 1 || listed[0].Route != "echo" || listed[0].HangupBy != "caller" {
		t.Fatalf("journal calls via the daemon = %+v, want the short echo call", listed)
	}

	caller := peertest.StartSIPp(t, "uac_inbound.xml", "127.0.0.1:"+strconv.Itoa(sipPort), "-s", "600", "-d", "30000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	body := d.waitMetric(20*time.Second, `obzvon_calls_active{direction="inbound"} 1`)
	// Answered: the echo sends packets back only once the call is up.
	out0 := metricValue(body, `obzvon_rtp_packets_total{dir="out"}`)
	d.waitMetricFunc(20*time.Second, `obzvon_rtp_packets_total{dir="out"}`, func(v float64) bool { return v >= out0+10 })
	// The live exposition, with a call up, passes Prometheus's own lint.
	promtool := peertest.RequirePeer(t, "promtool")
	_, exposition := httpGet(base_ + "/metrics")
	lint := exec.Command(promtool, "check", "metrics")
	lint.Stdin = strings.NewReader(exposition)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on the daemon's /metrics: %v\n%s", err, out)
	}
	for _, want := range []string{`obzvon_sip_requests_total{method="INVITE"} 2`, `obzvon_calls_total{direction="inbound",result="answered"} 1`,
		"obzvon_rtp_packets_total", `obzvon_journal_size_bytes{part="vlog"}`, "obzvon_rtp_forward_delay_seconds_bucket", "process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(exposition, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sawNotReady := false
	for i := 0; i < 20 && !sawNotReady; i++ {
		code, _ := httpGet(base_ + "/readyz")
		sawNotReady = code == http.StatusServiceUnavailable
		time.Sleep(25 * time.Millisecond)
	}
	if !sawNotReady {
		t.Errorf("/readyz did not answer 503 while draining")
	}
	if err := d.wait(20 * time.Second); err != nil {
		t.Fatalf("daemon exit: %v; logs:\n%s", err, d.logs.String())
	}
	if code := caller.Wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d, want 0 (BYE from the daemon answered); output:\n%s", code, caller.Output())
	}
	jr, err := journal.Open(journal.DefaultOptions(filepath.Join(dir, "journal")))
	if err != nil {
		t.Fatalf("reopen journal: %v", err)
	}
	defer jr.Close()
	calls, err := jr.Calls(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil || len(calls) != 2 {
		t.Fatalf("journal calls = %d, %v; want 2", len(calls), err)
	}
	if c := calls[1]; c.HangupBy != "system" || c.SIPCode != 200 || c.Route != "echo" {
		t.Errorf("call record = hangup_by %q code %d route %q; want system 200 echo", c.HangupBy, c.SIPCode, c.Route)
	}
}

func TestShippedConfigIsValid(t *testing.T) {
	out, errs, code := runCmd("check-config", "../../systemd/obzvon.toml")
	if code != 0 || !strings.Contains(out, "OK (5 routes)") {
		t.Errorf("check-config systemd/obzvon.toml = exit %d, %q %q; want OK with 5 routes", code, out, errs)
	}
}
