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
	phones     *phonesConfig
	phoneSIP   netip.AddrPort
	campaign   *campaignConfig
	events     string
	readyFile  string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("obzvon-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		target    = fs.String("target", "", "caller role: SIP `HOST:PORT` to call (loopback only); empty disables the caller role")
		number    = fs.String("number", "600", "caller role: Request-URI user (the dialed number); a comma list is dialed in turn")
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
		events    = fs.String("events", "", "write one JSON line per phone call segment, queue call and campaign dial to `FILE` (Unix ns times, to join with the appliance's journal)")

		callerAudio = fs.String("caller-audio", "", "caller role: what callers send instead of their tone: tone1k, caller (400 Hz), callee (450 Hz), operatorK (phone K's tone), speech (Russian prompts, looped); default tone1k, or caller in queue mode")
		queue       = fs.Bool("queue", false, "caller role, queue mode: send the callers' 400 Hz tone, wait for an operator phone's tone, report wait/talk/abandoned/lost (implied by --talk or --patience)")
		talk        = fs.String("talk", "", "caller role, queue mode: talk time once an operator is heard: 5s, exp:MEAN or uniform:MIN-MAX (empty: until the far end hangs up)")
		patience    = fs.String("patience", "", "caller role, queue mode: hang up (abandoned) after this long with no operator heard: 30s, exp:MEAN or uniform:MIN-MAX (empty: never)")

		phonesF     = fs.String("phones", "", "operator phones role: `FILE` of accounts, one a line: USER SECRET [AUTHUSER], or the JSON of obzvon agent add --json; empty disables the role")
		phoneCount  = fs.Int("phone-count", 0, "operator phones role: use the first N accounts (0: all)")
		phoneReg    = fs.String("phone-registrar", "", "operator phones role: registrar `IP:PORT` (loopback; default: --target)")
		phoneListen = fs.String("phone-listen", "", "operator phones role: SIP `IP:PORT` of the phones (default: --rtp-ip, any port)")
		phoneExp    = fs.Duration("phone-expires", 120*time.Second, "operator phones role: registration lifetime asked for; refreshed at half of it")
		phoneAns    = fs.String("phone-answer", "auto", "operator phones role: auto (at once, or after Call-Info answer-after), ring:DURATION, or never")
		phoneSpread = fs.Duration("phone-spread", time.Second, "operator phones role: spread the first REGISTERs over this long")
		segGap      = fs.Duration("segment-gap", defaultSegmentGap, "operator phones role: a pause in customer audio this long ends a segment (one customer)")
		readyFile   = fs.String("ready-file", "", "operator phones role: create `FILE` once every phone has registered (or failed to), for scripts to wait on")

		trunkLive     = fs.Float64("trunk-live", 0.3, "trunk role, campaign mode: probability of a live answer")
		trunkMix      = fs.String("trunk-mix", "no_answer=0.5,machine=0.3,busy=0.2", "trunk role, campaign mode: shares of the other outcomes")
		trunkRing     = fs.String("trunk-ring", "uniform:3s-15s", "trunk role, campaign mode: ring time before a live or machine answer")
		trunkBusyRing = fs.String("trunk-busy-ring", "uniform:1s-5s", "trunk role, campaign mode: ring time before 486 Busy Here")
		trunkTalk     = fs.String("trunk-talk", "exp:120s", "trunk role, campaign mode: live talk time once an operator is heard")
		trunkScale    = fs.Float64("trunk-scale", 1, "trunk role, campaign mode: divide every drawn ring and talk time by this")
		trunkPatience = fs.Duration("trunk-patience", 30*time.Second, "trunk role, campaign mode: a live answer hangs up after this with no operator (not scaled)")
		trunkGreeting = fs.Duration("trunk-greeting", 8*time.Second, "trunk role, campaign mode: at least this much of a machine's greeting (Russian speech); it hangs up 2 s after (not scaled)")
		seed          = fs.Uint64("seed", 1, "trunk role, campaign mode, and queue-mode callers: random seed")
	)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o := &options{duration: *duration, deadline: *deadline, obzvonPID: *pid, jsonOut: *jsonOut, progress: *progress, sockets: *sockets, metricsURL: *metrics, rtt: *rtt, events: *events, readyFile: *readyFile}
	if *readyFile != "" && *phonesF == "" {
		return nil, errors.New("--ready-file is for the operator phones role: give --phones too")
	}
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
	if *target == "" && *uasListen == "" && *phonesF == "" {
		return nil, errors.New("nothing to do: give --target (callers), --uas-listen (trunk), --phones (operator phones) or several")
	}
	if *target != "" {
		ap, err := parseLoopback(*target)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		if ap.Port() == 0 {
			return nil, fmt.Errorf("--target %q: needs a port", *target)
		}
		numbers := strings.Split(*number, ",")
		for _, n := range numbers {
			if n == "" || strings.ContainsAny(n, "@:;<> ") {
				return nil, fmt.Errorf("--number %q: must be a plain user part such as 8800, or a comma list of them", *number)
			}
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
		o.uac = &uacConfig{Target: ap, Number: numbers[0], Numbers: numbers, Rate: *rate, Concurrent: *conc, Total: *total,
			Hold: *hold, SetupTimeout: *setupTO, RTP: *rtpOn, PTs: pts}
		td, err := parseDist(*talk)
		if err != nil {
			return nil, fmt.Errorf("--talk %w", err)
		}
		pd, err := parseDist(*patience)
		if err != nil {
			return nil, fmt.Errorf("--patience %w", err)
		}
		o.uac.Talk, o.uac.Patience = td.withRand(*seed, 1), pd.withRand(*seed+1, 1)
		o.uac.Queue = *queue || td.set() || pd.set()
		if *callerAudio != "" {
			a, err := parseAudio(*callerAudio)
			if err != nil {
				return nil, fmt.Errorf("--caller-audio %w", err)
			}
			o.uac.Audio = a
		}
		if o.deadline == 0 {
			keep := *hold
			if o.uac.Queue {
				// A queue call waits at most the patience (else up to the
				// deadline) and talks about the talk time.
				keep = max(pd.upper(), 60*time.Second) + td.upper()
			}
			o.deadline = *duration + keep + *setupTO + 10*time.Second
		}
	} else if *queue || *talk != "" || *patience != "" {
		return nil, errors.New("--queue, --talk and --patience are for the caller role: give --target too")
	}
	if *phonesF != "" {
		accts, err := loadAccounts(*phonesF)
		if err != nil {
			return nil, fmt.Errorf("--phones: %w", err)
		}
		if *phoneCount < 0 || *phoneCount > len(accts) {
			return nil, fmt.Errorf("--phone-count %d: the file has %d accounts", *phoneCount, len(accts))
		}
		if *phoneCount > 0 {
			accts = accts[:*phoneCount]
		}
		regS := *phoneReg
		if regS == "" {
			regS = *target
		}
		if regS == "" {
			return nil, errors.New("--phones needs --phone-registrar (or --target)")
		}
		reg, err := parseLoopback(regS)
		if err != nil || reg.Port() == 0 {
			return nil, fmt.Errorf("--phone-registrar %q: want a loopback IP:PORT", regS)
		}
		if *phoneExp < time.Second {
			return nil, fmt.Errorf("--phone-expires %s: must be at least 1s", *phoneExp)
		}
		am, err := parseAnswerMode(*phoneAns)
		if err != nil {
			return nil, fmt.Errorf("--phone-answer %w", err)
		}
		if *phoneSpread < 0 || *segGap <= 0 {
			return nil, fmt.Errorf("--phone-spread %s, --segment-gap %s: spread must not be negative, gap must be positive", *phoneSpread, *segGap)
		}
		o.phones = &phonesConfig{Registrar: reg, Accounts: accts, Expires: *phoneExp, Answer: am, RegSpread: *phoneSpread, SegmentGap: *segGap}
		if *deadline == 0 && o.deadline > 0 {
			o.deadline += *phoneSpread + 10*time.Second // registering comes first
		}
		if *phoneListen != "" {
			ap, err := parseLoopback(*phoneListen)
			if err != nil {
				return nil, fmt.Errorf("--phone-listen: %w", err)
			}
			o.phoneSIP = ap
		}
	}
	if *uasListen != "" {
		ap, err := parseLoopback(*uasListen)
		if err != nil {
			return nil, fmt.Errorf("--uas-listen: %w", err)
		}
		m, ok := parseUASMode(*uasModeS)
		if !ok {
			return nil, fmt.Errorf("--uas-mode %q: want echo, tone or campaign", *uasModeS)
		}
		o.uasListen, o.uasMode = ap, m
		if m == uasCampaign {
			c := &campaignConfig{Live: *trunkLive, Scale: *trunkScale, Patience: *trunkPatience, Greeting: *trunkGreeting, Seed: *seed}
			if !(c.Live >= 0 && c.Live <= 1) {
				return nil, fmt.Errorf("--trunk-live %g: must be in [0, 1]", c.Live)
			}
			if !(c.Scale > 0) {
				return nil, fmt.Errorf("--trunk-scale %g: must be positive", c.Scale)
			}
			if err := parseMix(*trunkMix, c); err != nil {
				return nil, fmt.Errorf("--trunk-mix %w", err)
			}
			for i, x := range []struct {
				name string
				s    string
				d    *dist
			}{{"--trunk-ring", *trunkRing, &c.Ring}, {"--trunk-busy-ring", *trunkBusyRing, &c.BusyRing}, {"--trunk-talk", *trunkTalk, &c.Talk}} {
				d, err := parseDist(x.s)
				if err != nil || !d.set() {
					return nil, fmt.Errorf("%s %q: want a duration (5s), exp:MEAN or uniform:MIN-MAX", x.name, x.s)
				}
				*x.d = d.withRand(*seed+uint64(10+i), c.Scale)
			}
			if c.Patience <= 0 || c.Greeting <= 0 {
				return nil, fmt.Errorf("--trunk-patience %s, --trunk-greeting %s: must be positive", c.Patience, c.Greeting)
			}
			o.campaign = c
		}
	}
	if o.deadline == 0 {
		o.deadline = *duration + 10*time.Second
		if o.phones != nil {
			o.deadline += *phoneSpread + 10*time.Second
		}
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
	if len(args) > 0 {
		switch args[0] {
		case "sample":
			return runSample(parent, args[1:], stdout, stderr)
		case "acd-report":
			return runACDReport(args[1:], stdout, stderr)
		}
	}
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

	// The SIP sockets outlive the run's context: when the run ends (its
	// deadline, or SIGINT) callers still send their BYEs and phones
	// theirs and their un-REGISTERs through them; they close when
	// execute returns.
	sipCtx, sipStop := context.WithCancel(context.Background())
	defer sipStop()

	log := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: o.logLevel}))
	sip.SetDefaultLogger(log)

	m := newMonitor(o.obzvonPID, o.metricsURL)
	rep := &report{Started: start.UTC()}
	var (
		caller  *uac
		trunk   *uas
		ops     *phones
		engines []*engine
		events  *eventLog
	)
	if o.events != "" {
		var err error
		if events, err = openEventLog(o.events); err != nil {
			return nil, fmt.Errorf("--events: %w", err)
		}
		defer events.close()
	}
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
		if o.campaign != nil {
			if trunk.camp, err = newCampaignTrunk(*o.campaign, events); err != nil {
				return nil, err
			}
		}
		e.run(ctx)
		if err := ep.serve(sipCtx); err != nil {
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
		caller.events = events
		e.run(ctx)
		if err := ep.serve(sipCtx); err != nil {
			return nil, err
		}
	}
	// The phones register before the callers start calling.
	pctx, pstop := context.WithCancel(ctx)
	defer pstop()
	var pwg sync.WaitGroup
	if o.phones != nil {
		listen := o.phoneSIP
		if !listen.IsValid() {
			listen = netip.AddrPortFrom(o.rtpIP, 0)
		}
		ep, err := newSIPEndpoint(listen, "phone", log)
		if err != nil {
			return nil, err
		}
		defer ep.close()
		e, err := newEngine("phones", o.rtpIP, o.sockets, false)
		if err != nil {
			return nil, err
		}
		engines = append(engines, e)
		// Customer audio is timed by its arrival at the phone's socket, so
		// a connect measured against the appliance's events does not
		// include the generator's own scheduling.
		if err := e.stampArrivals(); err != nil {
			return nil, err
		}
		ops = newPhones(*o.phones, ep, e, events)
		e.run(ctx)
		if err := ep.serve(sipCtx); err != nil {
			return nil, err
		}
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			ops.run(pctx, start.Add(o.deadline))
		}()
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second+o.phones.RegSpread)
		all := ops.waitRegistered(rctx)
		rcancel()
		if !all {
			fmt.Fprintf(progress, "obzvon-load: %d of %d phones registered (%d failed); going on\n", ops.registered.Load(), len(ops.list), ops.regFail.Load())
		}
		if o.readyFile != "" {
			msg := fmt.Sprintf("registered %d of %d\n", ops.registered.Load(), len(ops.list))
			if err := os.WriteFile(o.readyFile, []byte(msg), 0o644); err != nil {
				return nil, fmt.Errorf("--ready-file: %w", err)
			}
		}
	}
	m.phones = ops
	m.begin()
	mctx, mstop := context.WithCancel(ctx)
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		m.watch(mctx, o, caller, trunk, engines, progress)
	}()

	if caller != nil {
		caller.run(ctx, time.Now().Add(o.duration)) // after the phones registered
	} else {
		select {
		case <-ctx.Done():
		case <-time.After(o.duration):
		}
	}
	if ops != nil {
		if caller != nil {
			// Let the appliance's BYEs of the last calls reach the phones.
			for i := 0; i < 300 && ops.active.Load() > 0 && ctx.Err() == nil; i++ {
				time.Sleep(10 * time.Millisecond)
			}
		}
		pstop() // hang up, unregister
		pwg.Wait()
	}
	if caller != nil && trunk != nil {
		// The trunk's side of the last BYEs (relayed by obzvon) may still
		// be on its way: give it a moment to count them.
		for i := 0; i < 300 && trunk.active.Load()+trunk.pending.Load() > 0 && ctx.Err() == nil; i++ {
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
	if ops != nil {
		pr := ops.report()
		rep.Phones = &pr
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
		switch e.name {
		case "caller":
			rep.UAC.RTP = rr
		case "phones":
			rep.Phones.RTP = rr
		default:
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
