package peertest

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BaresipOptions describe one operator softphone.
type BaresipOptions struct {
	User, Password string
	// Registrar is host:port of the appliance.
	Registrar string
	// MicSeconds is how long the microphone plays the Russian prompt
	// (repeated); baresip hangs up when it ends. Default 30.
	MicSeconds int
	// AnswerMode is "auto" (the default: answer at once) or "manual"
	// (ring until cancelled: a phone nobody answers).
	AnswerMode string
	// MicTone, when set, makes the microphone a sine of this frequency
	// instead of the prompt (to tell who hears whom).
	MicTone float64
	// Transport "tls" registers (and takes calls) over TLS; CAFile is
	// then given as sip_cafile (baresip 1.0 does not verify the server's
	// certificate with it, though).
	Transport string
	CAFile    string
	// MediaEnc is the account's mediaenc: "srtp" (SDES offered on
	// RTP/AVP, best effort) or "srtp-mand" (RTP/SAVP only).
	MediaEnc string
}

// Baresip is a running baresip softphone.
type Baresip struct {
	t      *testing.T
	cmd    *exec.Cmd
	Dir    string
	RecDir string
	out    SyncBuffer
	done   chan error
	ctrl   string // host:port of its ctrl_tcp module
	// RTPPorts are the first and last of baresip's RTP/RTCP ports.
	RTPPorts [2]int
}

// StartBaresip renders a profile from this package's templates (auto
// answer, G.711, microphone = prompt WAV, recordings by sndfile) and runs
// baresip. It registers with digest auth at o.Registrar. It is stopped at
// test end (SIGINT, then a second SIGINT, by PID).
func StartBaresip(t *testing.T, o BaresipOptions) *Baresip {
	t.Helper()
	bin := RequirePeer(t, "baresip")
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec")
	if err := os.MkdirAll(rec, 0o755); err != nil {
		t.Fatal(err)
	}
	if o.MicSeconds == 0 {
		o.MicSeconds = 30
	}
	mic := filepath.Join(dir, "mic.wav")
	if o.MicTone > 0 {
		writeToneWAV(t, mic, o.MicTone, o.MicSeconds)
	} else {
		writeRepeatedWAV(t, filepath.Join(ScenarioDir(), "prompt_ru_8k_s16.wav"), mic, o.MicSeconds)
	}
	// Ports found free may be taken by another process before baresip
	// binds them (the machine runs other tests): start it, wait until it
	// says it is ready, and on "Address already in use" start again on
	// fresh ports.
	for attempt := 1; ; attempt++ {
		b, collided := startBaresipOnce(t, o, dir, rec, mic, bin)
		if !collided {
			t.Cleanup(b.Stop)
			return b
		}
		b.Stop()
		if attempt == 5 {
			t.Fatalf("baresip: its ports were taken %d times in a row:\n%s", attempt, b.Output())
		}
		t.Logf("baresip: a port was taken before it bound it; again on fresh ports")
	}
}

// baresipRTPPorts is the size of each baresip's RTP port range.
const baresipRTPPorts = 32

// startBaresipOnce renders the profile on fresh ports, starts baresip and
// waits until it is ready; collided reports that a port was taken.
func startBaresipOnce(t *testing.T, o BaresipOptions, dir, rec, mic, bin string) (b *Baresip, collided bool) {
	t.Helper()
	// baresip binds its RTP port only when a call starts, maybe minutes
	// later, when any process's ephemeral bind may have taken a port found
	// free now (a make test beside this one saw the session leg refused
	// "500 Call Error"): a range of 32 ports, in which libre tries random
	// pairs until one binds.
	rtp := FreeMediaPorts(t, baresipRTPPorts)
	var uriParams, accParams, extra string
	if o.Transport != "" {
		uriParams = ";transport=" + o.Transport
	}
	if o.CAFile != "" {
		extra += "sip_cafile\t\t" + o.CAFile + "\n"
	}
	if o.MediaEnc != "" {
		if _, err := os.Stat("/usr/lib/baresip/modules/srtp.so"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("baresip's srtp module is not installed (run make test-deps): %v", err)
			}
			t.Skipf("baresip's srtp module is not installed: %v", err)
		}
		accParams = ";mediaenc=" + o.MediaEnc
		extra += "module\t\t\tsrtp.so\n"
	}
	vars := map[string]string{
		"{{URI_PARAMS}}":     uriParams,
		"{{ACCOUNT_PARAMS}}": accParams,
		"{{EXTRA_CONFIG}}":   extra,
		"{{SIP_LISTEN}}":     "127.0.0.1:" + strconv.Itoa(FreePort(t)),
		"{{RTP_PORTS}}":      fmt.Sprintf("%d-%d", rtp, rtp+baresipRTPPorts-1),
		"{{CTRL_LISTEN}}":    "127.0.0.1:" + strconv.Itoa(FreePort(t)),
		"{{MIC_WAV}}":        mic,
		"{{REC_DIR}}":        rec,
		"{{MAX_CALLS}}":      "1",
		"{{USER}}":           o.User,
		"{{PASSWORD}}":       o.Password,
		"{{REGISTRAR}}":      o.Registrar,
		"{{REGINT}}":         "60",
		"{{ANSWERMODE}}":     o.AnswerMode,
	}
	if o.AnswerMode == "" {
		vars["{{ANSWERMODE}}"] = "auto"
	}
	tdir := filepath.Join(filepath.Dir(ScenarioDir()), "baresip")
	for _, name := range []string{"config", "accounts"} {
		b, err := os.ReadFile(filepath.Join(tdir, name+".template"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for k, v := range vars {
			s = strings.ReplaceAll(s, k, v)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	b = &Baresip{t: t, Dir: dir, RecDir: rec, done: make(chan error, 1), ctrl: vars["{{CTRL_LISTEN}}"],
		RTPPorts: [2]int{rtp, rtp + baresipRTPPorts - 1}}
	b.cmd = exec.CommandContext(ctx, bin, "-f", dir)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start baresip: %v", err)
	}
	go func() { b.done <- b.cmd.Wait(); cancel() }()
	// baresip logs "baresip is ready." once its listeners are bound; a
	// failed bind is logged before that.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := b.out.String()
		switch {
		case strings.Contains(out, "Address already in use"):
			return b, true
		case strings.Contains(out, "baresip is ready."):
			return b, false
		}
		select {
		case err := <-b.done:
			b.done <- err
			if strings.Contains(b.out.String(), "Address already in use") {
				return b, true
			}
			t.Fatalf("baresip exited before it was ready (%v):\n%s", err, b.out.String())
		case <-time.After(20 * time.Millisecond): // poll its log for the ready line
		}
		if time.Now().After(deadline) {
			b.Stop()
			t.Fatalf("baresip not ready after 30 s:\n%s", b.out.String())
		}
	}
}

// Stop ends baresip: SIGINT (it un-registers), then a second one.
func (b *Baresip) Stop() {
	select {
	case err := <-b.done:
		b.done <- err
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-b.done:
		b.done <- err
		return
	case <-time.After(3 * time.Second):
	}
	_ = b.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-b.done:
		b.done <- err
	case <-time.After(3 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// Command sends a command to baresip's ctrl_tcp module (JSON in a
// netstring, e.g. Command("transfer", "1002")) and returns its answer.
func (b *Baresip) Command(cmd, params string) (string, error) {
	c, err := net.DialTimeout("tcp", b.ctrl, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	js, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": "t"})
	if _, err := c.Write([]byte(strconv.Itoa(len(js)) + ":" + string(js) + ",")); err != nil {
		return "", err
	}
	// ctrl_tcp sends netstrings: the reply carries "response": true and
	// our token; events ("event": true) may come before it on the same
	// connection and are skipped.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	for {
		head, err := r.ReadString(':')
		if err != nil {
			return "", err
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(head, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			return "", fmt.Errorf("baresip ctrl_tcp: bad netstring length %q", head)
		}
		msg := make([]byte, n+1) // the payload and its ','
		if _, err := io.ReadFull(r, msg); err != nil {
			return "", err
		}
		var m struct {
			Response bool   `json:"response"`
			Token    string `json:"token"`
		}
		if json.Unmarshal(msg[:n], &m) == nil && m.Response && m.Token == "t" {
			return string(msg[:n]), nil
		}
	}
}

// Kill ends baresip at once (SIGKILL): no BYE, no un-REGISTER, as a
// phone that lost power.
func (b *Baresip) Kill() {
	select {
	case err := <-b.done:
		b.done <- err
		return
	default:
	}
	_ = b.cmd.Process.Kill()
	b.done <- <-b.done
}

// Output is what baresip logged so far.
func (b *Baresip) Output() string { return b.out.String() }

// Recordings returns sndfile's files: what baresip heard (…-dec.wav) and
// sent (…-enc.wav).
func (b *Baresip) Recordings() (heard, sent []string) {
	heard, _ = filepath.Glob(filepath.Join(b.RecDir, "*-dec.wav"))
	sent, _ = filepath.Glob(filepath.Join(b.RecDir, "*-enc.wav"))
	return heard, sent
}

// ReadMonoWAV returns the samples of a 16-bit mono WAV in [-1, 1).
func ReadMonoWAV(t *testing.T, path string) ([]float64, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data, rate, ch := wavData(t, b)
	if ch != 1 {
		t.Fatalf("%s: %d channels, want 1", path, ch)
	}
	x := make([]float64, len(data)/2)
	for i := range x {
		x[i] = float64(int16(binary.LittleEndian.Uint16(data[2*i:]))) / 32768
	}
	return x, rate
}

// wavData finds the data chunk, rate and channels of a PCM16 WAV.
func wavData(t *testing.T, b []byte) (data []byte, rate, channels int) {
	t.Helper()
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("not a WAV file")
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size > len(body) {
			size = len(body)
		}
		switch id {
		case "fmt ":
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			data = body[:size]
		}
		off += 8 + size + size&1
	}
	return data, rate, channels
}

// writeToneWAV writes a 16-bit 8 kHz mono WAV of a sine at freq.
func writeToneWAV(t *testing.T, dst string, freq float64, seconds int) {
	t.Helper()
	n := 8000 * seconds
	out := make([]byte, 0, 44+2*n)
	out = append(out, "RIFF"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(36+2*n))
	out = append(out, "WAVEfmt "...)
	out = binary.LittleEndian.AppendUint32(out, 16)
	out = binary.LittleEndian.AppendUint16(out, 1)
	out = binary.LittleEndian.AppendUint16(out, 1)
	out = binary.LittleEndian.AppendUint32(out, 8000)
	out = binary.LittleEndian.AppendUint32(out, 16000)
	out = binary.LittleEndian.AppendUint16(out, 2)
	out = binary.LittleEndian.AppendUint16(out, 16)
	out = append(out, "data"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(2*n))
	for i := range n {
		out = binary.LittleEndian.AppendUint16(out, uint16(int16(10000*math.Sin(2*math.Pi*freq*float64(i)/8000))))
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeRepeatedWAV writes src's samples repeated to fill seconds.
func writeRepeatedWAV(t *testing.T, src, dst string, seconds int) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	pcm, rate, _ := wavData(t, b)
	want := rate * 2 * seconds
	out := make([]byte, 0, 44+want)
	out = append(out, "RIFF"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(36+want))
	out = append(out, "WAVEfmt "...)
	out = binary.LittleEndian.AppendUint32(out, 16)
	out = binary.LittleEndian.AppendUint16(out, 1)
	out = binary.LittleEndian.AppendUint16(out, 1)
	out = binary.LittleEndian.AppendUint32(out, uint32(rate))
	out = binary.LittleEndian.AppendUint32(out, uint32(rate*2))
	out = binary.LittleEndian.AppendUint16(out, 2)
	out = binary.LittleEndian.AppendUint16(out, 16)
	out = append(out, "data"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(want))
	for len(out) < 44+want {
		n := min(len(pcm), 44+want-len(out))
		out = append(out, pcm[:n]...)
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
