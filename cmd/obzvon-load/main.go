// Command obzvon-load is the load generator of obzvon's benchmarks (make
// bench-load). It plays callers (UAC: INVITE at a rate, hold, BYE, 1 kHz
// G.711 tone both ways) and a SIP trunk (UAS: answer, echo or tone), in
// one process if asked, and reports call outcomes, setup latency, RTP
// loss, its own CPU and, given --obzvon-pid, the appliance's CPU per
// forwarded packet and memory.
//
// It is built to cost little next to the appliance: RTP of all calls goes
// through a few UDP sockets with recvmmsg/sendmmsg, one 20 ms ticker sends
// for every call, and the packet path does not allocate. It only ever
// talks to loopback addresses.
//
//	obzvon-load --target 127.0.0.1:5060 --number 8800 --rate 100 \
//	    --concurrent 500 --total 500 --hold 40s --uas-listen 127.0.0.1:5080 \
//	    --uas-mode echo --obzvon-pid 1234 --json out.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitStuck   = 3
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed command line.
type options struct {
	uac        *uacConfig
	uasListen  netip.AddrPort
	uasMode    uasMode
	rtpIP      netip.Addr
	sockets    int
	duration   time.Duration
	deadline   time.Duration
	obzvonPID  int
	metricsURL string
	rtt        bool
	jsonOut    string
	progress   time.Duration
	logLevel   slog.Level
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("obzvon-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		target    = fs.String("target", "", "caller role: SIP `HOST:PORT` to call (loopback only); empty disables the caller role")
		number    = fs.String("number", "600", "caller role: Request-URI user (the dialed number)")
		rate      = fs.Float64("rate", 10, "caller role: new calls per second")
		conc      = fs.Int("concurrent", 0, "caller role: at most this many calls at once (0: no limit)")
		total     = fs.Int("total", 0, "caller role: stop after this many calls (0: until --duration)")
		hold      = fs.Duration("hold", 5*time.Second, "caller role: how long an answered call stays up before BYE")
		setupTO   = fs.Duration("setup-timeout", 10*time.Second, "caller role: INVITE without a final answer after this is a timeout")
		rtpOn     = fs.Bool("rtp", true, "caller role: stream the 1 kHz tone while a call is up")
		codec     = fs.String("codec", "pcmu", "caller role: codecs to offer: pcmu, pcma or both")
		uasListen = fs.String("uas-listen", "", "trunk role: answer INVITEs on SIP `IP:PORT` (loopback only); empty disables the trunk role")
		uasModeS  = fs.String("uas-mode", "echo", "trunk role: echo (send back what arrives) or tone")
		rtpIP     = fs.String("rtp-ip", "127.0.0.1", "RTP address to bind and announce (IPv4 loopback)")
		sockets   = fs.Int("rtp-sockets", 4, "RTP sockets per role")
		duration  = fs.Duration("duration", 30*time.Second, "place new calls for this long (trunk only: run this long)")
		deadline  = fs.Duration("deadline", 0, "hard stop after this long (0: duration + hold + setup-timeout + 10s)")
		pid       = fs.Int("obzvon-pid", 0, "measure this process's CPU and RSS from /proc")
		rtt       = fs.Bool("rtt", false, "measure RTP round trips (the far end must echo) and the trunk's echo latency, with kernel arrival timestamps")
		metrics   = fs.String("metrics-url", "", "scrape obzvon's `URL` (http://127.0.0.1:PORT/metrics) at the window's start and end")
		jsonOut   = fs.String("json", "", "also write the report as JSON to `FILE` (- for stdout instead of text)")
		progress  = fs.Duration("progress", 5*time.Second, "print a progress line to stderr this often (0: never)")
		logLevel  = fs.String("log-level", "error", "sipgo log level: debug, info, warn, error")
	)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o := &options{duration: *duration, deadline: *deadline, obzvonPID: *pid, jsonOut: *jsonOut, progress: *progress, sockets: *sockets, metricsURL: *metrics, rtt: *rtt}
	if *metrics != "" {
		if err := checkMetricsURL(*metrics); err != nil {
			return nil, fmt.Errorf("--metrics-url %w", err)
		}
	}
	if err := o.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	ip, err := netip.ParseAddr(*rtpIP)
	if err != nil || !ip.Is4() || !ip.IsLoopback() {
		return nil, fmt.Errorf("--rtp-ip %q: must be an IPv4 loopback address such as 127.0.0.1", *rtpIP)
	}
	o.rtpIP = ip
	if *sockets < 1 || *sockets > 256 {
		return nil, fmt.Errorf("--rtp-sockets %d: must be 1..256", *sockets)
	}
	if *duration <= 0 {
		return nil, fmt.Errorf("--duration %s: must be positive", *duration)
	}
	if *deadline < 0 {
		return nil, fmt.Errorf("--deadline %s: must not be negative", *deadline)
	}
	if *pid < 0 {
		return nil, fmt.Errorf("--obzvon-pid %d: must be a process id", *pid)
	}
	if *target == "" && *uasListen == "" {
		return nil, errors.New("nothing to do: give --target (callers), --uas-listen (trunk) or both")
	}
	if *target != "" {
		ap, err := parseLoopback(*target)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		if ap.Port() == 0 {
			return nil, fmt.Errorf("--target %q: needs a port", *target)
		}
		if *number == "" || strings.ContainsAny(*number, "@:;<> ") {
			return nil, fmt.Errorf("--number %q: must be a plain user part such as 8800", *number)
		}
		if *rate <= 0 || *rate > 100000 {
			return nil, fmt.Errorf("--rate %g: must be in (0, 100000] calls/s", *rate)
		}
		if *conc < 0 || *total < 0 {
			return nil, fmt.Errorf("--concurrent %d, --total %d: must not be negative", *conc, *total)
		}
		if *hold < 0 || *setupTO <= 0 {
			return nil, fmt.Errorf("--hold %s, --setup-timeout %s: hold must not be negative, setup-timeout must be positive", *hold, *setupTO)
		}
		var pts []byte
		switch *codec {
		case "pcmu":
			pts = []byte{ptPCMU}
		case "pcma":
			pts = []byte{ptPCMA}
		case "both":
			pts = []byte{ptPCMU, ptPCMA}
		default:
			return nil, fmt.Errorf("--codec %q: want pcmu, pcma or both", *codec)
		}
		o.uac = &uacConfig{Target: ap, Number: *number, Rate: *rate, Concurrent: *conc, Total: *total,
			Hold: *hold, SetupTimeout: *setupTO, RTP: *rtpOn, PTs: pts}
		if o.deadline == 0 {
			o.deadline = *duration + *hold + *setupTO + 10*time.Second
		}
	}
	if *uasListen != "" {
		ap, err := parseLoopback(*uasListen)
		if err != nil {
			return nil, fmt.Errorf("--uas-listen: %w", err)
		}
		m, ok := parseUASMode(*uasModeS)
		if !ok {
			return nil, fmt.Errorf("--uas-mode %q: want echo or tone", *uasModeS)
		}
		o.uasListen, o.uasMode = ap, m
	}
	if o.deadline == 0 {
		o.deadline = *duration + 10*time.Second
	}
	if o.deadline < *duration {
		return nil, fmt.Errorf("--deadline %s: shorter than --duration %s", o.deadline, *duration)
	}
	return o, nil
}

// parseLoopback parses IP:PORT and refuses anything but a loopback IP.
func parseLoopback(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%q: want IP:PORT such as 127.0.0.1:5060", s)
	}
	if !ap.Addr().IsLoopback() {
		return ap, fmt.Errorf("%q: not a loopback address; obzvon-load only talks to 127.0.0.0/8 or ::1", s)
	}
	return ap, nil
}

func run(parent context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "obzvon-load: %v\nTry: obzvon-load -h\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	r, err := execute(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "obzvon-load: %v\n", err)
		return exitFailure
	}
	if o.jsonOut != "-" {
		r.writeText(stdout)
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		b = append(b, '\n')
		if o.jsonOut == "-" {
			_, _ = stdout.Write(b)
		} else if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			fmt.Fprintf(stderr, "obzvon-load: write report: %v\n", err)
			return exitFailure
		}
	}
	return exitOK
}

// execute runs the roles o asks for and returns the report.
func execute(parent context.Context, o *options, progress io.Writer) (*report, error) {
	start := time.Now()
	ctx, cancel := context.WithDeadline(parent, start.Add(o.deadline))
	defer cancel()
	// Whatever happens, do not outlive the deadline by much.
	watchdog := time.AfterFunc(o.deadline+15*time.Second, func() {
		fmt.Fprintln(os.Stderr, "obzvon-load: still running 15 s after the hard deadline; exiting")
		os.Exit(exitStuck)
	})
	defer watchdog.Stop()

	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: o.logLevel}))
	sip.SetDefaultLogger(log)

	m := newMonitor(o.obzvonPID, o.metricsURL)
	rep := &report{Started: start.UTC()}
	var (
		caller  *uac
		trunk   *uas
		engines []*engine
	)
	defer func() {
		for _, e := range engines {
			e.closeSockets()
		}
	}()
	if o.uasListen.IsValid() {
		ep, err := newSIPEndpoint(o.uasListen, "trunk", log)
		if err != nil {
			return nil, err
		}
		defer ep.close()
		e, err := newEngine("trunk", o.rtpIP, o.sockets, o.uasMode == uasEcho)
		if err != nil {
			return nil, err
		}
		engines = append(engines, e)
		if o.rtt && o.uasMode == uasEcho {
			if err := e.measureDelay(); err != nil {
				return nil, err
			}
		}
		trunk = newUAS(ctx, ep, e, o.uasMode)
		e.run(ctx)
		if err := ep.serve(ctx); err != nil {
			return nil, err
		}
		rep.UASListen = ep.addr.String()
	}
	if o.uac != nil {
		ep, err := newSIPEndpoint(netip.AddrPortFrom(o.rtpIP, 0), "caller", log)
		if err != nil {
			return nil, err
		}
		defer ep.close()
		e, err := newEngine("caller", o.rtpIP, o.sockets, false)
		if err != nil {
			return nil, err
		}
		engines = append(engines, e)
		if o.rtt {
			if err := e.measureDelay(); err != nil {
				return nil, err
			}
		}
		caller = newUAC(*o.uac, ep, e)
		e.run(ctx)
		if err := ep.serve(ctx); err != nil {
			return nil, err
		}
	}
	m.begin()
	mctx, mstop := context.WithCancel(ctx)
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		m.watch(mctx, o, caller, trunk, engines, progress)
	}()

	if caller != nil {
		caller.run(ctx, start.Add(o.duration))
	} else {
		select {
		case <-ctx.Done():
		case <-time.After(o.duration):
		}
	}
	if caller != nil && trunk != nil {
		// The trunk's side of the last BYEs (relayed by obzvon) may still
		// be on its way: give it a moment to count them.
		for i := 0; i < 300 && trunk.active.Load() > 0 && ctx.Err() == nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	mstop()
	mwg.Wait()
	m.end(engines, caller)
	if caller != nil {
		cr := caller.report(start)
		rep.UAC = &cr
	}
	if trunk != nil {
		tr := trunk.report()
		rep.UAS = &tr
	}
	cancel() // stop tickers; receivers stop with their sockets
	for _, e := range engines {
		e.close()
	}
	for _, e := range engines {
		rr := e.report()
		if e.stamps {
			h, rej := e.delay()
			what := "trunk echo latency: kernel arrival to the echo's sendmmsg"
			if e.name == "caller" {
				what = "round trip: caller send to the kernel arrival of its echo (via obzvon and the trunk, when routed so)"
			}
			rr.Delay = h.summary(what, rej)
		}
		if e.name == "caller" {
			rep.UAC.RTP = rr
		} else {
			rep.UAS.RTP = rr
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.fill(o, m)
	if parent.Err() != nil {
		rep.Interrupted = true
	}
	return rep, nil
}
