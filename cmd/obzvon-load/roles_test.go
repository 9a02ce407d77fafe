package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Every tone of the roles is told apart by its payload, as sent and
// transcoded to the other law, and its frequency is what it says.
func TestClassifierTones(t *testing.T) {
	c := audioClassifier()
	classes := []audioClass{clsLegacy, clsCaller, clsCallee}
	for k := range operatorTones {
		classes = append(classes, clsOperator+audioClass(k))
	}
	freq := map[audioClass]int{clsLegacy: legacyFreq, clsCaller: callerFreq, clsCallee: calleeFreq}
	seen := map[int]audioClass{}
	for _, cls := range classes {
		f, ok := freq[cls]
		if !ok {
			f = operatorFreq(int(cls - clsOperator))
		}
		if other, dup := seen[f]; dup {
			t.Errorf("%v and %v share %d Hz", cls, other, f)
		}
		seen[f] = cls
		tp := c.tonePayloads(cls)
		for law, pt := range []byte{ptPCMU, ptPCMA} {
			if got := c.classify(pt, tp[law]); got != cls {
				t.Errorf("classify(%v as PT %d) = %v", cls, pt, got)
			}
			if share := toneShare(decodeG711(nil, pt, tp[law]), float64(f)); share < 0.95 {
				t.Errorf("%v (PT %d): %d Hz share %.3f, want >= 0.95", cls, pt, f, share)
			}
			// Transcoded by the appliance to the other law.
			other := []byte{ptPCMA, ptPCMU}[law]
			tc := encodeG711(other, decodeG711(nil, pt, tp[law]))
			if got := c.classify(other, tc); got != cls {
				t.Errorf("classify(%v transcoded to PT %d) = %v", cls, other, got)
			}
		}
	}
	// Phone k and k+55 share a tone (documented), 1 kHz is nobody's.
	if operatorFreq(operatorTones) != operatorFreq(0) || c.tonePayloads(clsOperator + operatorTones)[0][5] != c.tonePayloads(clsOperator)[0][5] {
		t.Error("operator tones do not wrap around")
	}
	for k := range operatorTones {
		if operatorFreq(k) == legacyFreq || operatorFreq(k)%50 != 0 || operatorFreq(k) > 3400 {
			t.Errorf("operatorFreq(%d) = %d", k, operatorFreq(k))
		}
	}
}

// Silence, speech (the built-in prompts) and a tone that is not ours are
// silence, other and other.
func TestClassifierOther(t *testing.T) {
	c := audioClassifier()
	for law, pt := range []byte{ptPCMU, ptPCMA} {
		if got := c.classify(pt, silenceFrame[law]); got != clsSilence {
			t.Errorf("silence (PT %d) = %v", pt, got)
		}
		if got := c.classify(pt, encodeG711(pt, sineSamples(425))); got != clsOther {
			t.Errorf("425 Hz (PT %d) = %v, want other", pt, got)
		}
		quiet := make([]int16, packetSamples)
		for i := range quiet {
			quiet[i] = int16(20 * math.Sin(float64(i)))
		}
		if got := c.classify(pt, encodeG711(pt, quiet)); got != clsSilence {
			t.Errorf("-64 dBFS noise (PT %d) = %v, want silence", pt, got)
		}
	}
	g, err := greetingSrc(3 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if g.length() < 3*time.Second {
		t.Errorf("greeting %v long, want >= 3 s", g.length())
	}
	counts := map[audioClass]int{}
	for i := range len(g.frames[0]) {
		counts[c.classify(ptPCMU, g.frame(ptPCMU, i))]++
	}
	// Speech has pauses; most of it must be "other", none a tone of ours.
	if counts[clsOther] < len(g.frames[0])*6/10 || counts[clsOther]+counts[clsSilence] != len(g.frames[0]) {
		t.Errorf("greeting frames by class = %v of %d; want >= 60%% other, the rest silence", counts, len(g.frames[0]))
	}
	if !bytes.Equal(g.frame(ptPCMU, len(g.frames[0])), silenceFrame[0]) {
		t.Error("a played-out greeting does not fall silent")
	}
}

// The watch finds the first wanted packet, splits segments at pauses and
// talker changes, and counts dropouts.
func TestAudioWatch(t *testing.T) {
	w := newAudioWatch(audioClass.isCustomer)
	ms := int64(time.Millisecond)
	w.observe(clsSilence, 0, false)
	w.observe(clsOperator, 10*ms, false)
	w.observe(clsOther, 15*ms, false)
	select {
	case <-w.first:
		t.Fatal("first closed before a wanted packet")
	default:
	}
	for i := int64(0); i < 10; i++ {
		at := 100*ms + i*20*ms
		if i >= 5 {
			at += 80 * ms // one dropout of 100 ms between 4 and 5
		}
		w.observe(clsCaller, at, i == 0)
	}
	w.observe(clsCaller, 2000*ms, false) // after a pause of >= 500 ms: a new segment
	w.observe(clsCallee, 2020*ms, false) // another talker at once: another one
	<-w.first
	if w.firstAt.Load() != 100*ms || audioClass(w.firstCls.Load()) != clsCaller || w.otherAt.Load() != 15*ms || w.unwanted != 1 {
		t.Errorf("first %d (%v), other %d, unwanted %d", w.firstAt.Load(), audioClass(w.firstCls.Load()), w.otherAt.Load(), w.unwanted)
	}
	s := w.segments()
	if len(s) != 3 || s[0].Packets != 10 || s[0].Dropouts != 1 || s[0].MaxGapNs != 100*ms || s[1].Packets != 1 || s[2].Class != clsCallee || w.switches != 1 {
		t.Errorf("segments = %+v, switches %d", s, w.switches)
	}
}

// Two customers switched onto one session leg back to back send the same
// caller tone with no pause between them: the marker bit the appliance
// puts on the first packet of a new source splits them, and the second
// segment starts at that packet.
func TestAudioWatchSplitsAtMarker(t *testing.T) {
	w := newAudioWatch(audioClass.isCustomer)
	ms := int64(time.Millisecond)
	t0 := 1000 * ms
	for i := int64(0); i < 5; i++ {
		w.observe(clsCaller, t0+i*20*ms, i == 0)
	}
	for i := int64(0); i < 5; i++ {
		w.observe(clsCaller, t0+100*ms+i*20*ms, i == 0) // the next customer, 20 ms later
	}
	w.observe(clsCaller, t0+200*ms, false)
	s := w.segments()
	if len(s) != 2 || s[0].Start != t0 || s[0].Packets != 5 || s[1].Start != t0+100*ms || s[1].Packets != 6 || w.marks != 1 {
		t.Errorf("segments = %+v, marks %d; want two of 5 and 6 packets, the second from 100 ms", s, w.marks)
	}
}

func TestParseDist(t *testing.T) {
	for _, tc := range []struct {
		in       string
		lo, hi   time.Duration
		bad, set bool
	}{
		{"5s", 5 * time.Second, 5 * time.Second, false, true},
		{"fixed:2s", 2 * time.Second, 2 * time.Second, false, true},
		{"uniform:3s-15s", 3 * time.Second, 15 * time.Second, false, true},
		{"exp:1s", 0, time.Hour, false, true},
		{"", 0, 0, false, false},
		{"exp:0s", 0, 0, true, false},
		{"uniform:5s-3s", 0, 0, true, false},
		{"normal:3s", 0, 0, true, false},
		{"soon", 0, 0, true, false},
	} {
		d, err := parseDist(tc.in)
		if (err != nil) != tc.bad || d.set() != tc.set {
			t.Errorf("parseDist(%q) = %v, set %v; want error %v, set %v", tc.in, err, d.set(), tc.bad, tc.set)
			continue
		}
		if tc.bad || !tc.set {
			continue
		}
		d = d.withRand(7, 1)
		for range 100 {
			if v := d.draw(); v < tc.lo || v > tc.hi {
				t.Errorf("%s drew %v, outside [%v, %v]", tc.in, v, tc.lo, tc.hi)
			}
		}
	}
	// The mean of exp:12s scaled by 10 is 1.2 s.
	d, _ := parseDist("exp:12s")
	d = d.withRand(1, 10)
	var sum time.Duration
	const n = 20000
	for range n {
		sum += d.draw()
	}
	if mean := sum / n; mean < 1140*time.Millisecond || mean > 1260*time.Millisecond {
		t.Errorf("exp:12s / 10: mean of %d draws %v, want 1.2 s ± 5%%", n, mean)
	}
}

// The campaign trunk draws outcomes in the configured shares.
func TestCampaignDraw(t *testing.T) {
	c := &campaignConfig{Live: 0.3, Greeting: time.Second, Seed: 3}
	if err := parseMix("no_answer=0.5,machine=0.3,busy=0.2", c); err != nil {
		t.Fatal(err)
	}
	ct, err := newCampaignTrunk(*c, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	const n = 20000
	for range n {
		got[ct.draw()]++
	}
	want := map[string]float64{campLive: 0.3, campNoAnswer: 0.35, campMachine: 0.21, campBusy: 0.14}
	for k, p := range want {
		if share := got[k] / n; math.Abs(share-p) > 0.015 {
			t.Errorf("%s: share %.3f of %d draws, want %.2f ± 0.015", k, share, n, p)
		}
	}
	for _, bad := range []string{"busy=x", "busy=-1", "fax=1", "busy=0,machine=0", "busy"} {
		if err := parseMix(bad, c); err == nil {
			t.Errorf("parseMix(%q) = nil, want an error", bad)
		}
	}
}

func TestLoadAccounts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := loadAccounts(write("ok", "# phones\nop1 s1\n\n1002 s2 ivanova\n"+`{"login":"op3","password":"x","sip_secret":"s3","sip_realm":"obzvon"}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []phoneAccount{{"op1", "s1", "op1"}, {"1002", "s2", "ivanova"}, {"op3", "s3", "op3"}}
	if len(got) != len(want) {
		t.Fatalf("accounts = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("account %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for name, tc := range map[string]struct{ body, msg string }{
		"empty":  {"# nothing\n", "no phones"},
		"fields": {"op1\n", ":1: want USER SECRET"},
		"dup":    {"op1 a\nop1 b\n", `:2: user "op1" already on line 1`},
		"user":   {"op@1 a\n", `user "op@1"`},
		"json":   {"{bad\n", ":1:"},
	} {
		if _, err := loadAccounts(write(name, tc.body)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want %q", name, err, tc.msg)
		}
	}
}

func TestAnswerModeAndHeaders(t *testing.T) {
	for in, want := range map[string]string{"auto": "auto", "never": "never", "ring:3s": "ring:3s"} {
		m, err := parseAnswerMode(in)
		if err != nil || m.String() != want {
			t.Errorf("parseAnswerMode(%q) = %v, %v", in, m, err)
		}
	}
	for _, bad := range []string{"", "ring", "ring:-1s", "later"} {
		if _, err := parseAnswerMode(bad); err == nil {
			t.Errorf("parseAnswerMode(%q) = nil error", bad)
		}
	}
	req := sip.NewRequest(sip.INVITE, sip.Uri{User: "op1", Host: "127.0.0.1"})
	if _, ok := answerAfter(req); ok {
		t.Error("answer-after found in a request without Call-Info")
	}
	req.AppendHeader(sip.NewHeader("Call-Info", "<sip:127.0.0.1>;answer-after=2"))
	if d, ok := answerAfter(req); !ok || d != 2*time.Second {
		t.Errorf("answerAfter = %v, %v; want 2s", d, ok)
	}
	for body, want := range map[string]string{"v=0\r\nm=audio 1 RTP/AVP 0\r\n": "sendrecv", "m=audio 1 RTP/AVP 0\r\na=sendonly\r\n": "sendonly", "a=inactive\r\n": "inactive"} {
		if got := sdpDirection([]byte(body)); got != want {
			t.Errorf("sdpDirection(%q) = %s, want %s", body, got, want)
		}
	}
	for offer, want := range map[string]string{"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": "sendrecv"} {
		if got := mirrorDirection(offer); got != want {
			t.Errorf("mirrorDirection(%s) = %s, want %s", offer, got, want)
		}
	}
}

func TestRoleFlagErrors(t *testing.T) {
	accts := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(accts, []byte("op1 s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--phones", accts}, "needs --phone-registrar"},
		{[]string{"--phones", accts, "--phone-registrar", "192.0.2.1:5060"}, "--phone-registrar"},
		{[]string{"--phones", accts, "--phone-registrar", "127.0.0.1:5060", "--phone-answer", "maybe"}, "--phone-answer"},
		{[]string{"--phones", accts, "--phone-registrar", "127.0.0.1:5060", "--phone-count", "2"}, "has 1 accounts"},
		{[]string{"--phones", "/nonexistent/phones"}, "--phones"},
		{[]string{"--uas-listen", "127.0.0.1:5080", "--talk", "5s"}, "give --target too"},
		{[]string{"--target", "127.0.0.1:5060", "--talk", "exp:x"}, "--talk"},
		{[]string{"--target", "127.0.0.1:5060", "--patience", "uniform:9s-1s"}, "--patience"},
		{[]string{"--target", "127.0.0.1:5060", "--caller-audio", "operator99"}, "--caller-audio"},
		{[]string{"--target", "127.0.0.1:5060", "--number", "7001,,7002"}, "--number"},
		{[]string{"--uas-listen", "127.0.0.1:5080", "--uas-mode", "campaign", "--trunk-live", "1.5"}, "--trunk-live"},
		{[]string{"--uas-listen", "127.0.0.1:5080", "--uas-mode", "campaign", "--trunk-mix", "fax=1"}, "--trunk-mix"},
		{[]string{"--uas-listen", "127.0.0.1:5080", "--uas-mode", "campaign", "--trunk-ring", ""}, "--trunk-ring"},
		{[]string{"--uas-listen", "127.0.0.1:5080", "--uas-mode", "campaign", "--trunk-scale", "0"}, "--trunk-scale"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tc.args, code, errb.String(), exitUsage, tc.want)
		}
	}
}
