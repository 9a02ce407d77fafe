package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
)

// kill -9 in the middle of a recorded call: the recording on disk is a
// valid WAV holding the call's audio up to about a second before the kill.
func TestRecordingSurvivesKill9(t *testing.T) {
	peertest.RequirePeer(t, "sipp")
	bin := buildBinary(t)
	dir := t.TempDir()
	sipPort, httpPort, trunkPort := peertest.FreePort(t), peertest.FreePort(t), peertest.FreePort(t)
	base := 19000 + (os.Getpid()%50)*20
	cfg := fmt.Sprintf(`[sip]
port = %d
[http]
listen = "127.0.0.1:%d"
[rtp]
port_min = %d
port_max = %d
[data]
dir = %q
[[route]]
name = "trunk"
match = "88*"
action = "dial"
target = "sip:${number}@127.0.0.1:%d"
allow = ["127.0.0.1"]
`, sipPort, httpPort, base, base+19, dir, trunkPort)
	cfgPath := filepath.Join(dir, "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, cfgPath, httpPort)
	peertest.StartSIPp(t, "uas_trunk.xml", "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)), "-m", "1")
	peertest.StartSIPp(t, "uac_inbound.xml", "127.0.0.1:"+strconv.Itoa(sipPort), "-s", "8800", "-d", "30000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	d.waitMetric(20*time.Second, `obzvon_calls_active{direction="inbound"} 1`, `obzvon_calls_active{direction="outbound"} 1`)
	time.Sleep(4 * time.Second) // 4 s of recorded talk
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = d.wait(10 * time.Second)

	files, _ := filepath.Glob(filepath.Join(dir, "recordings", "*", "*", "*", "*.wav"))
	if len(files) != 1 {
		t.Fatalf("recordings after kill -9: %v, want 1", files)
	}
	wav := peertest.ReadStereoWAV(t, files[0])
	secs := float64(len(wav.Left)) / float64(wav.Rate)
	if secs < 2.5 {
		t.Errorf("recording holds %.1f s after 4 s of talk and kill -9, want >= 2.5 s (at most about a second lost)", secs)
	}
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 100 {
		t.Errorf("left channel after kill -9: 1 kHz share %.2f over %d blocks, want the caller's tone", share, n)
	}
}
