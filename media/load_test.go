//go:build linux

package media

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// The load benchmark bridges N calls (2N legs, recording on) and drives
// them with 20 ms packets both ways from a generator process — the test
// binary re-executed with loadGenEnv set — so that getrusage of this
// process bills the engine alone.

const loadGenEnv = "OBZVON_MEDIA_LOADGEN"

var loadTime = flag.Duration("media.loadtime", 2*time.Second, "measuring time of each BenchmarkBridgedCalls case")

func BenchmarkBridgedCalls(b *testing.B) {
	for _, n := range []int{250, 500, 1000} {
		for _, w := range []int{-1, 0} {
			b.Run(fmt.Sprintf("calls=%d/readers=%s", n, readerName(w)), func(b *testing.B) {
				b.ReportAllocs()
				benchBridgedCalls(b, n, w, *loadTime, 0)
			})
		}
	}
}

// BenchmarkBridgedCallsSRTP is BenchmarkBridgedCalls at 500 calls with
// SRTP on no leg, on one leg of each call (a phone on SRTP, a trunk on
// plain RTP) and on both; the generator encrypts what it sends to keyed
// legs (in its own process, not billed to the engine).
func BenchmarkBridgedCallsSRTP(b *testing.B) {
	for _, keyed := range []int{0, 1, 2} {
		b.Run(fmt.Sprintf("calls=500/srtp_legs=%d", keyed), func(b *testing.B) {
			b.ReportAllocs()
			benchBridgedCalls(b, 500, 0, *loadTime, keyed)
		})
	}
}

// benchBridgedCalls runs calls bridged calls; srtpLegs of each call's two
// legs (0, 1: the first, 2) are keyed with SRTP.
func benchBridgedCalls(b *testing.B, calls, workers int, d time.Duration, srtpLegs int) {
	rssBefore := rssBytes()
	dir := b.TempDir()
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 20000, PortMax: 29999, RecordDir: b.TempDir(), Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()

	warm := time.Second
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), loadGenEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		b.Fatalf("load generator did not start")
	}
	gen, err := netip.ParseAddrPort(strings.TrimSpace(out.Text()))
	if err != nil {
		b.Fatalf("load generator address %q: %v", out.Text(), err)
	}

	var targets []string
	var recs []*Recorder
	var bridges []*Bridge
	for i := range calls {
		codecA, codecB := PCMU, PCMU
		if i%2 == 1 {
			codecB = PCMA // half the calls transcode
		}
		la, err := e.NewLeg()
		if err != nil {
			b.Fatal(err)
		}
		lb, err := e.NewLeg()
		if err != nil {
			b.Fatal(err)
		}
		var ka, kb *SRTP
		if srtpLegs >= 1 {
			ka = &SRTP{Send: mustKey(b, AESCM128HMACSHA180), Recv: mustKey(b, AESCM128HMACSHA180)}
		}
		if srtpLegs >= 2 {
			kb = &SRTP{Send: mustKey(b, AESCM128HMACSHA180), Recv: mustKey(b, AESCM128HMACSHA180)}
		}
		if err := la.Start(LegParams{Remote: gen, Codec: codecA, EventPT: 101, SRTP: ka}); err != nil {
			b.Fatal(err)
		}
		if err := lb.Start(LegParams{Remote: gen, Codec: codecB, EventPT: 101, SRTP: kb}); err != nil {
			b.Fatal(err)
		}
		rec, err := NewRecorder(filepath.Join(dir, fmt.Sprintf("call%d.wav", i)))
		if err != nil {
			b.Fatal(err)
		}
		br, err := e.Connect(la, lb, rec)
		if err != nil {
			b.Fatal(err)
		}
		recs, bridges = append(recs, rec), append(bridges, br)
		same := 0
		if codecA == codecB && srtpLegs == 0 {
			same = 1 // payload passes untouched: the generator's send stamp survives
		}
		targets = append(targets, fmt.Sprintf("%s %d %d%s", la.LocalAddr(), codecA.PayloadType(), same, genKey(ka)),
			fmt.Sprintf("%s %d %d%s", lb.LocalAddr(), codecB.PayloadType(), same, genKey(kb)))
	}
	fmt.Fprintf(stdin, "%d\n%s\n", warm+d+200*time.Millisecond, strings.Join(targets, "\n"))
	stdin.Close()

	time.Sleep(warm)
	c0, cpu0, h0, k0 := e.Counters(), cpuTime(), e.ForwardDelay(), udpRcvbufErrors()
	b.ResetTimer()
	time.Sleep(d)
	c1, cpu1, h1, k1 := e.Counters(), cpuTime(), e.ForwardDelay(), udpRcvbufErrors()
	b.StopTimer()
	rss := rssBytes()

	var sent, recv, e2e50, e2e99 uint64
	if out.Scan() {
		fmt.Sscanf(out.Text(), "sent %d recv %d e2e_p50_ns %d e2e_p99_ns %d", &sent, &recv, &e2e50, &e2e99)
	}
	for _, br := range bridges {
		br.Disconnect()
	}
	incomplete := 0
	for _, r := range recs {
		switch err := r.Close(); {
		case errors.Is(err, ErrRecordingIncomplete):
			incomplete++ // the shared disk did not keep up: report, don't fail
		case err != nil:
			b.Error(err)
		}
	}
	b.ReportMetric(float64(incomplete), "recordings_incomplete")

	in, fwd := c1.PacketsIn-c0.PacketsIn, c1.PacketsOut-c0.PacketsOut
	hist := h1.Sub(h0)
	if fwd == 0 {
		b.Fatalf("nothing forwarded")
	}
	b.ReportMetric(float64(fwd)/d.Seconds(), "fwd_pkt/s")
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(fwd), "cpu_us/pkt")
	b.ReportMetric(float64(hist.Quantile(0.5).Nanoseconds())/1e3, "delay_p50_us")
	b.ReportMetric(float64(hist.Quantile(0.99).Nanoseconds())/1e3, "delay_p99_us")
	b.ReportMetric(float64(c1.PacketsDropped-c0.PacketsDropped), "engine_drop_pkts")
	b.ReportMetric(float64(in), "in_pkts")
	b.ReportMetric(float64(c1.PacketsLost-c0.PacketsLost), "rtp_lost_pkts")
	b.ReportMetric(float64(k1-k0), "kernel_rcvbuf_drops")
	if sent > 0 {
		b.ReportMetric(100*float64(int64(sent)-int64(recv))/float64(sent), "e2e_loss_%")
		b.ReportMetric(float64(e2e50)/1e3, "e2e_p50_us")
		b.ReportMetric(float64(e2e99)/1e3, "e2e_p99_us")
	}
	b.ReportMetric(float64(rss-rssBefore)/float64(calls)/(1<<20), "rss_MB/call")
}

// cpuTime returns the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssBytes returns the resident set size from /proc/self/status.
func rssBytes() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// udpRcvbufErrors returns the system-wide UDP RcvbufErrors counter.
func udpRcvbufErrors() uint64 {
	b, _ := os.ReadFile("/proc/net/snmp")
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "Udp: ") || !strings.HasPrefix(lines[i+1], "Udp: ") {
			continue
		}
		names, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j, n := range names {
			if n == "RcvbufErrors" && j < len(vals) {
				v, _ := strconv.ParseUint(vals[j], 10, 64)
				return v
			}
		}
	}
	return 0
}

// runLoadGenerator is the generator process: it prints its address, reads
// the run time and the targets ("addr pt same" lines) from stdin, sends one
// 160-byte packet per target every 20 ms (spread over the 20 ms), counts
// what comes back, and prints "sent N recv M e2e_p50_ns X e2e_p99_ns Y".
// Every payload starts with its send time; packets coming back from a leg
// of a same-codec call (payload untouched) give the one-way delay through
// kernel and engine — on one clock, since both ends are this process.
func runLoadGenerator() int {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	setBufferForce(conn, 32<<20)
	fmt.Println(conn.LocalAddr().String())
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<20)
	in.Scan()
	dur, _ := strconv.ParseInt(in.Text(), 10, 64)
	type target struct {
		addr *net.UDPAddr
		pt   byte
		srtp *srtpSender // encrypts what goes to a keyed leg, or nil
	}
	var targets []target
	stamped := make(map[netip.AddrPort]bool)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 3 && len(f) != 4 {
			continue
		}
		ap := netip.MustParseAddrPort(f[0])
		pt, _ := strconv.Atoi(f[1])
		t := target{addr: net.UDPAddrFromAddrPort(ap), pt: byte(pt)}
		if len(f) == 4 {
			var k SRTPKey
			k.Suite = AESCM128HMACSHA180
			if raw, err := hex.DecodeString(f[3]); err == nil {
				copy(k.Key[:], raw)
			}
			tr, err := newSRTPTransform(k)
			if err != nil {
				fmt.Fprintln(os.Stderr, "loadgen:", err)
				return 1
			}
			t.srtp = &srtpSender{t: tr}
		}
		targets = append(targets, t)
		stamped[ap] = f[2] == "1"
	}
	epoch := time.Now()
	var e2e delayHistogram
	pc := ipv4.NewPacketConn(conn)
	var recv uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		msgs := make([]ipv4.Message, 64)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, 1500)}
		}
		for {
			n, err := pc.ReadBatch(msgs, 0)
			if err != nil {
				return
			}
			now := time.Since(epoch)
			recv += uint64(n)
			for _, m := range msgs[:n] {
				ua, ok := m.Addr.(*net.UDPAddr)
				if !ok || m.N < 20 || !stamped[ua.AddrPort()] {
					continue
				}
				sentAt := time.Duration(binary.BigEndian.Uint64(m.Buffers[0][12:20]))
				e2e.record(now - sentAt)
			}
		}
	}()
	const slots = 10 // spread each 20 ms round over 10 sends of batches
	msgs := make([]ipv4.Message, len(targets))
	plain := make([][]byte, len(targets))
	for i, t := range targets {
		buf := make([]byte, 12+FrameSamples)
		putRTPHeader(buf, false, t.pt, 0, 0, uint32(i+1))
		for j := 12; j < len(buf); j++ {
			buf[j] = 0x55
		}
		plain[i] = buf
		msgs[i] = ipv4.Message{Buffers: [][]byte{buf}, Addr: t.addr}
	}
	var sent uint64
	start := time.Now()
	end := start.Add(time.Duration(dur))
	per := (len(msgs) + slots - 1) / slots
	for round := 0; ; round++ {
		for s := range slots {
			at := start.Add(time.Duration(round)*20*time.Millisecond + time.Duration(s)*2*time.Millisecond)
			time.Sleep(time.Until(at))
			lo, hi := min(s*per, len(msgs)), min((s+1)*per, len(msgs))
			batch := msgs[lo:hi]
			stamp := uint64(time.Since(epoch))
			for i := range batch {
				b := plain[lo+i]
				binary.BigEndian.PutUint16(b[2:], uint16(round))
				binary.BigEndian.PutUint32(b[4:], uint32(round*FrameSamples))
				binary.BigEndian.PutUint64(b[12:], stamp)
				if s := targets[lo+i].srtp; s != nil {
					w, err := s.protect(b)
					if err != nil {
						fmt.Fprintln(os.Stderr, "loadgen:", err)
						return 1
					}
					batch[i].Buffers[0] = w
				}
			}
			for len(batch) > 0 {
				n, err := pc.WriteBatch(batch, 0)
				if err != nil {
					fmt.Fprintln(os.Stderr, "loadgen:", err)
					return 1
				}
				sent += uint64(n)
				batch = batch[n:]
			}
		}
		if time.Now().After(end) {
			break
		}
	}
	time.Sleep(300 * time.Millisecond) // let the last packets come back
	conn.Close()
	<-done
	h := e2e.snapshot()
	fmt.Printf("sent %d recv %d e2e_p50_ns %d e2e_p99_ns %d\n", sent, recv, h.Quantile(0.5).Nanoseconds(), h.Quantile(0.99).Nanoseconds())
	return 0
}

// setBufferForce sets the socket's buffers beyond net.core.rmem_max when
// running as root (SO_RCVBUFFORCE), else as far as the limit allows.
func setBufferForce(c *net.UDPConn, n int) {
	c.SetReadBuffer(n)
	c.SetWriteBuffer(n)
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, n)
		})
	}
}

// genKey is the " KEYHEX" suffix of a target line for a keyed leg: the
// key the generator encrypts with (the leg's receive key); "" for plain.
func genKey(k *SRTP) string {
	if k == nil {
		return ""
	}
	return " " + hex.EncodeToString(k.Recv.Key[:])
}
