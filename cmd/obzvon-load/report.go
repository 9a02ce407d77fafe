package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// rtpReport is one role's RTP figures.
type rtpReport struct {
	rtpTotals
	LossPct float64 `json:"loss_pct"`
	// PerLegMin and PerLegP50 are the fewest and the median packets one
	// call's leg received.
	PerLegMin uint64 `json:"per_leg_received_min"`
	PerLegP50 uint64 `json:"per_leg_received_p50"`
	// SentPct is Sent as a share of Scheduled (tone senders only).
	SentPct    float64 `json:"sent_pct_of_schedule,omitempty"`
	Unmatched  uint64  `json:"unmatched"`
	SendErrors uint64  `json:"send_errors"`
	LateTicks  uint64  `json:"late_ticks"`
	// Skipped counts tone packets never sent because the ticker was more
	// than maxCatchUp-1 periods late (the machine starved the generator).
	Skipped uint64 `json:"skipped"`
	// ToneShare is the lowest 1 kHz energy share among the first payloads
	// of received streams (1 = clean tone; -1 = none received).
	ToneShare float64 `json:"tone_share_min"`
	// Delay is the round trip (caller) or echo latency (trunk) with --rtt.
	Delay *delaySummary `json:"delay,omitempty"`
	// NextSend is, for a moment picked at random while the leg streams
	// (a connect, say), the wait until the generator next sends: from the
	// gaps between its ticker's runs. Up to 20 ms when it keeps time; the
	// rest is the machine starving the generator. StalledPct is the share
	// of the time in gaps over two periods (40 ms).
	NextSend   *delaySummary `json:"wait_for_next_send,omitempty"`
	StalledPct float64       `json:"stalled_pct,omitempty"`
}

func (e *engine) report() rtpReport {
	tot, per := e.totals()
	r := rtpReport{rtpTotals: tot, Unmatched: e.unmatched.Load(), SendErrors: e.txErrors.Load(), LateTicks: e.lateTicks.Load(), Skipped: e.skipped.Load(), ToneShare: -1}
	if e.tickGaps.n > 0 {
		us := func(d time.Duration) float64 { return round3(float64(d) / 1e3) }
		r.NextSend = &delaySummary{What: "from a random moment to the generator's next send (its ticker's gaps)", N: e.tickGaps.n,
			P50us: us(e.tickGaps.residualQuantile(0.50)), P99us: us(e.tickGaps.residualQuantile(0.99)), MaxUs: us(time.Duration(e.tickGaps.max))}
		r.StalledPct = round3(100 * e.tickGaps.shareOver(2*packetPeriod*time.Millisecond))
	}
	if r.Expected > 0 {
		r.LossPct = round3(100 * float64(r.Lost) / float64(r.Expected))
	}
	if len(per) > 0 {
		r.PerLegMin, r.PerLegP50 = per[0], per[(len(per)-1)/2]
	}
	if r.Scheduled > 0 {
		r.SentPct = round3(100 * float64(r.Sent) / float64(r.Scheduled))
	}
	e.sampleMu.Lock()
	for _, s := range e.samples {
		v := toneShare(decodeG711(nil, s.pt, s.payload), 1000)
		if r.ToneShare < 0 || v < r.ToneShare {
			r.ToneShare = round3(v)
		}
	}
	e.sampleMu.Unlock()
	return r
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// snapshot is the state of the counters at one moment.
type snapshot struct {
	t         time.Time
	obzvonCPU time.Duration
	cpuOK     bool
	rx        uint64
	answered  uint64
	self      time.Duration
	active    int64
	metrics   promSamples
}

// monitor samples the appliance (/proc), machine pressure and the
// generator's counters, finds the steady window and prints progress.
type monitor struct {
	pid        int
	metricsURL string
	phones     *phones

	mu        sync.Mutex
	begin0    snapshot
	w0, w1    snapshot
	wStarted  bool
	wEnded    bool
	steady    bool
	rssBase   uint64
	rssPeak   uint64
	peakCalls int64
	psiStart  float64
	psiEnd    float64
	psiMax    float64
	procErr   string
	metErr    string
}

func newMonitor(pid int, metricsURL string) *monitor {
	return &monitor{pid: pid, metricsURL: metricsURL}
}

// snapWindow is snap plus a scrape of obzvon's metrics, for the window's
// ends.
func (m *monitor) snapWindow(engines []*engine, caller *uac, trunk *uas) snapshot {
	s := m.snap(engines, caller, trunk)
	if m.metricsURL != "" {
		ps, err := scrapeMetrics(m.metricsURL)
		if err != nil && m.metErr == "" {
			m.metErr = err.Error()
		}
		s.metrics = ps
	}
	return s
}

func (m *monitor) snap(engines []*engine, caller *uac, trunk *uas) snapshot {
	s := snapshot{t: time.Now()}
	if m.pid > 0 {
		c, err := procCPU(m.pid)
		if err == nil {
			s.obzvonCPU, s.cpuOK = c, true
		} else if m.procErr == "" {
			m.procErr = err.Error()
		}
	}
	for _, e := range engines {
		s.rx += e.rxPackets.Load()
	}
	switch {
	case caller != nil:
		s.answered = caller.answered.Load()
		s.active = caller.active.Load()
	case trunk != nil:
		s.answered = trunk.answered.Load()
		s.active = trunk.active.Load()
	}
	u, sy := selfCPU()
	s.self = u + sy
	return s
}

func (m *monitor) begin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.psiStart = cpuPressure()
	m.psiMax = m.psiStart
	if m.pid > 0 {
		if v, err := procRSS(m.pid); err == nil {
			m.rssBase, m.rssPeak = v, v
		} else {
			m.procErr = err.Error()
		}
	}
	m.begin0 = m.snap(nil, nil, nil)
}

// watch runs until ctx ends.
func (m *monitor) watch(ctx context.Context, o *options, caller *uac, trunk *uas, engines []*engine, w io.Writer) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	holdMode := caller != nil && caller.cfg.Concurrent > 0 && caller.cfg.Total > 0 && caller.cfg.Total <= caller.cfg.Concurrent
	m.mu.Lock()
	m.begin0 = m.snapWindow(engines, caller, trunk)
	if !holdMode {
		// Rate mode and trunk only: the window is the placing period.
		m.w0, m.wStarted = m.begin0, true
	}
	m.mu.Unlock()
	lastPSI, lastProgress := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.mu.Lock()
			if m.pid > 0 {
				if v, err := procRSS(m.pid); err == nil && v > m.rssPeak {
					m.rssPeak = v
				}
			}
			if now.Sub(lastPSI) >= time.Second {
				lastPSI = now
				if p := cpuPressure(); p > m.psiMax {
					m.psiMax = p
				}
			}
			var active int64
			if caller != nil {
				active = caller.active.Load()
			} else if trunk != nil {
				active = trunk.active.Load()
			}
			m.peakCalls = max(m.peakCalls, active)
			if holdMode {
				caller.mu.Lock()
				placed := !caller.placedAt.IsZero()
				caller.mu.Unlock()
				switch {
				case !m.wStarted && active > 0 && (active >= int64(caller.cfg.Total) || (placed && caller.setups.Load() == 0)):
					m.w0, m.wStarted, m.steady = m.snapWindow(engines, caller, trunk), true, true
				case m.wStarted && !m.wEnded && active < m.w0.active:
					m.w1, m.wEnded = m.snapWindow(engines, caller, trunk), true
				}
			} else if caller != nil && !m.wEnded {
				caller.mu.Lock()
				placed := !caller.placedAt.IsZero()
				caller.mu.Unlock()
				if placed {
					m.w1, m.wEnded, m.steady = m.snapWindow(engines, caller, trunk), true, true
				}
			}
			if o.progress > 0 && now.Sub(lastProgress) >= o.progress {
				lastProgress = now
				fmt.Fprintln(w, m.progressLine(now, caller, trunk, engines))
			}
			m.mu.Unlock()
		}
	}
}

func (m *monitor) progressLine(now time.Time, caller *uac, trunk *uas, engines []*engine) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t=%.0fs", now.Sub(m.begin0.t).Seconds())
	if caller != nil {
		fmt.Fprintf(&b, " calls attempted=%d answered=%d active=%d timeouts=%d errors=%d",
			caller.attempted.Load(), caller.answered.Load(), caller.active.Load(), caller.timeouts.Load(), caller.errs.Load())
	}
	if trunk != nil {
		fmt.Fprintf(&b, " trunk answered=%d active=%d", trunk.answered.Load(), trunk.active.Load())
	}
	if p := m.phones; p != nil {
		fmt.Fprintf(&b, " phones registered=%d answered=%d active=%d", p.registered.Load(), p.answered.Load(), p.active.Load())
	}
	for _, e := range engines {
		fmt.Fprintf(&b, " %s rx=%d tx=%d", e.name, e.rxPackets.Load(), e.txPackets.Load())
	}
	if m.pid > 0 {
		fmt.Fprintf(&b, " obzvon_rss=%.1fMB", float64(m.rssPeak)/1024)
	}
	fmt.Fprintf(&b, " psi=%.1f%%", m.psiMax)
	return b.String()
}

// end closes the window (if still open) and takes the final readings.
func (m *monitor) end(engines []*engine, caller *uac) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var trunk *uas
	if !m.wStarted {
		m.w0, m.wStarted = m.begin0, true
	}
	if !m.wEnded {
		m.w1, m.wEnded = m.snapWindow(engines, caller, trunk), true
		if caller == nil {
			m.steady = true
		}
	}
	m.psiEnd = cpuPressure()
}

// report is everything obzvon-load prints at the end.
type report struct {
	Started     time.Time      `json:"started"`
	Seconds     float64        `json:"seconds"`
	Interrupted bool           `json:"interrupted,omitempty"`
	Config      reportConfig   `json:"config"`
	UASListen   string         `json:"uas_listen,omitempty"`
	UAC         *uacReport     `json:"uac,omitempty"`
	UAS         *uasReport     `json:"uas,omitempty"`
	Phones      *phonesReport  `json:"phones,omitempty"`
	Window      windowReport   `json:"window"`
	Generator   cpuReport      `json:"generator_cpu"`
	Obzvon      *obzvonReport  `json:"obzvon,omitempty"`
	Metrics     *metricsReport `json:"obzvon_metrics_window,omitempty"`
	PSI         psiReport      `json:"cpu_pressure_some_avg10"`
}

type reportConfig struct {
	Target     string  `json:"target,omitempty"`
	Number     string  `json:"number,omitempty"`
	Rate       float64 `json:"rate,omitempty"`
	Concurrent int     `json:"concurrent,omitempty"`
	Total      int     `json:"total,omitempty"`
	Hold       string  `json:"hold,omitempty"`
	RTP        bool    `json:"rtp"`
	RTT        bool    `json:"rtt,omitempty"`
	UASMode    string  `json:"uas_mode,omitempty"`
	Phones     int     `json:"phones,omitempty"`
	Registrar  string  `json:"phone_registrar,omitempty"`
	Duration   string  `json:"duration"`
	Sockets    int     `json:"rtp_sockets"`
}

// windowReport covers the steady window: all calls up (hold mode) or the
// placing period (rate mode).
type windowReport struct {
	Steady    bool    `json:"steady"`
	StartS    float64 `json:"start_s"`
	Seconds   float64 `json:"seconds"`
	Calls     int64   `json:"calls_active_at_start"`
	Answered  uint64  `json:"answered"`
	RxPackets uint64  `json:"rx_packets"`
	RxPerSec  float64 `json:"rx_packets_per_s"`
	GenCPUPct float64 `json:"generator_cpu_pct_of_core"`
	ObzCPUS   float64 `json:"obzvon_cpu_s,omitempty"`
	ObzCPUPct float64 `json:"obzvon_cpu_pct_of_core,omitempty"`
	UsPerPkt  float64 `json:"obzvon_cpu_us_per_forwarded_packet,omitempty"`
	MsPerCall float64 `json:"obzvon_cpu_ms_per_answered_call,omitempty"`
}

type cpuReport struct {
	UserS  float64 `json:"user_s"`
	SysS   float64 `json:"sys_s"`
	PctAvg float64 `json:"pct_of_core_avg"`
}

type obzvonReport struct {
	PID       int     `json:"pid"`
	RSSBaseKB uint64  `json:"rss_base_kb"`
	RSSPeakKB uint64  `json:"rss_peak_kb"`
	PeakCalls int64   `json:"peak_calls"`
	KBPerCall float64 `json:"rss_kb_per_call,omitempty"`
	Error     string  `json:"error,omitempty"`
}

type psiReport struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Max   float64 `json:"max"`
}

func (r *report) fill(o *options, m *monitor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := reportConfig{Duration: o.duration.String(), Sockets: o.sockets, RTT: o.rtt}
	if o.uac != nil {
		c.Target, c.Number, c.Rate, c.Concurrent, c.Total = o.uac.Target.String(), o.uac.Number, o.uac.Rate, o.uac.Concurrent, o.uac.Total
		c.Hold, c.RTP = o.uac.Hold.String(), o.uac.RTP
	}
	if o.uasListen.IsValid() {
		c.UASMode = o.uasMode.String()
	}
	if o.phones != nil {
		c.Phones, c.Registrar = len(o.phones.Accounts), o.phones.Registrar.String()
	}
	r.Config = c

	w0, w1 := m.w0, m.w1
	secs := w1.t.Sub(w0.t).Seconds()
	wr := windowReport{Steady: m.steady, StartS: round3(w0.t.Sub(m.begin0.t).Seconds()), Seconds: round3(secs),
		Calls: w0.active, Answered: w1.answered - w0.answered, RxPackets: w1.rx - w0.rx}
	if secs > 0 {
		wr.RxPerSec = math.Round(float64(wr.RxPackets) / secs)
		wr.GenCPUPct = round3(100 * (w1.self - w0.self).Seconds() / secs)
	}
	if m.pid > 0 && w0.cpuOK && w1.cpuOK {
		cpu := (w1.obzvonCPU - w0.obzvonCPU).Seconds()
		wr.ObzCPUS = round3(cpu)
		if secs > 0 {
			wr.ObzCPUPct = round3(100 * cpu / secs)
		}
		if wr.RxPackets > 0 {
			wr.UsPerPkt = round3(cpu * 1e6 / float64(wr.RxPackets))
		}
		if wr.Answered > 0 {
			wr.MsPerCall = round3(cpu * 1e3 / float64(wr.Answered))
		}
	}
	r.Window = wr

	u, s := selfCPU()
	r.Generator = cpuReport{UserS: round3(u.Seconds()), SysS: round3(s.Seconds())}
	if r.Seconds > 0 {
		r.Generator.PctAvg = round3(100 * (u + s).Seconds() / r.Seconds)
	}
	if m.pid > 0 {
		oz := &obzvonReport{PID: m.pid, RSSBaseKB: m.rssBase, RSSPeakKB: m.rssPeak, PeakCalls: m.peakCalls, Error: m.procErr}
		if m.peakCalls > 0 && m.rssPeak > m.rssBase {
			oz.KBPerCall = round3(float64(m.rssPeak-m.rssBase) / float64(m.peakCalls))
		}
		r.Obzvon = oz
	}
	r.PSI = psiReport{Start: m.psiStart, End: m.psiEnd, Max: m.psiMax}
	if m.metricsURL != "" {
		mr := metricsReport{Error: m.metErr}
		if w0.metrics != nil && w1.metrics != nil {
			mr = diffMetrics(w0.metrics, w1.metrics)
			mr.Error = m.metErr
		}
		r.Metrics = &mr
	}
}

// writeText prints the report for people.
func (r *report) writeText(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("obzvon-load report (%.1f s%s)", r.Seconds, map[bool]string{true: ", interrupted", false: ""}[r.Interrupted])
	if u := r.UAC; u != nil {
		p("callers → %s number %s: rate %.4g/s (placed %.1f/s), concurrent %d, total %d, hold %s, rtp %v",
			r.Config.Target, r.Config.Number, r.Config.Rate, u.PlaceRate, r.Config.Concurrent, r.Config.Total, r.Config.Hold, r.Config.RTP)
		p("  calls: attempted %d, answered %d, failed %d %v (with Retry-After %v), timeouts %d, errors %d", u.Attempted, u.Answered, u.Failed, u.FailedCodes, u.RetryAfter, u.Timeouts, u.Errors)
		p("  ended: by us %d, by peer %d, BYE failed %d; bad answer SDP %d; BYEs for no call of ours %d", u.LocalBye, u.RemoteBye, u.ByeFailed, u.SDPErrors, u.StrayByes)
		p("  setup INVITE→200: p50 %.3f ms, p99 %.3f ms, max %.3f ms (n=%d)", u.Setup.P50ms, u.Setup.P99ms, u.Setup.MaxMs, u.Setup.N)
		writeRTP(w, "  rtp", u.RTP)
		for _, e := range u.ErrorSample {
			p("  error: %s", e)
		}
	}
	if u := r.UAC; u != nil && u.Queue != nil {
		q := u.Queue
		p("  queue: connected %d (hung up by %v), abandoned %d, lost %d, cut by the run's end %d; operators heard %v", q.Connected, q.HungUpBy, q.Abandoned, q.Lost, q.Cut, q.operatorsHeard())
		p("  queue: wait answer→operator audio p50 %.1f ms, p99 %.1f ms (n=%d); talk p50 %.0f ms; abandoned after p50 %.0f ms; operator audio dropouts %d, max gap %.1f ms",
			q.Wait.P50ms, q.Wait.P99ms, q.Wait.N, q.TalkTime.P50ms, q.AbandonAfter.P50ms, q.Dropouts, q.MaxGapMs)
	}
	if u := r.UAS; u != nil {
		p("trunk on %s (%s): invites %d, answered %d, rejected %d, no ACK %d, BYEs %d (+%d for no call of ours)", r.UASListen, r.Config.UASMode, u.Invites, u.Answered, u.Rejected, u.NoAck, u.Byes, u.StrayByes)
		if c := u.Campaign; c != nil {
			p("  campaign: dials %v, cancelled while ringing %v, ended %v", c.Dials, c.Cancelled, c.Ended)
			p("  campaign: live connect p50 %.1f ms p99 %.1f ms (n=%d); safe harbor start p50 %.1f ms p99 %.1f ms (n=%d, %d without operator); machine answer→BYE p50 %.0f ms (n=%d)",
				c.Connect.P50ms, c.Connect.P99ms, c.Connect.N, c.SafeHarbor.P50ms, c.SafeHarbor.P99ms, c.SafeHarbor.N, c.SafeHarborOnly, c.MachineHangup.P50ms, c.MachineHangup.N)
		}
		writeRTP(w, "  rtp", u.RTP)
	}
	if ph := r.Phones; ph != nil {
		p("phones (%d, answer %s) → registrar %s: registered %d, failures %d %v, refreshes %d, unregistered %d; REGISTER p50 %.2f ms p99 %.2f ms",
			ph.Phones, ph.Answer, r.Config.Registrar, ph.Registered, ph.RegFailures, ph.RegCodes, ph.Refreshes, ph.Unregistered, ph.RegLatency.P50ms, ph.RegLatency.P99ms)
		p("  calls: invites %d, answered %d, busy %d, unknown user %d, cancelled %d, rang unanswered %d, no ACK %d, re-INVITEs %d (%d refused), ended by far end %d, by phone %d",
			ph.Invites, ph.Answered, ph.Busy, ph.NotFound, ph.Cancelled, ph.NeverAnswered, ph.NoAck, ph.ReInvites, ph.ReInviteFail, ph.FarBye, ph.LocalBye)
		p("  customer audio: answer→first packet p50 %.1f ms p99 %.1f ms (n=%d); %d segments (length p50 %.0f ms), %d dropouts, max gap %.1f ms",
			ph.AnswerToCustomer.P50ms, ph.AnswerToCustomer.P99ms, ph.AnswerToCustomer.N, ph.Segments, ph.SegmentLength.P50ms, ph.Dropouts, ph.MaxGapMs)
		for _, e := range ph.ErrorSample {
			p("  error: %s", e)
		}
		writeRTP(w, "  rtp", ph.RTP)
	}
	wr := r.Window
	p("window: %.1f s from t=%.1f s (steady %v), %d calls up at start, %d answered in it, %d RTP packets received (%.0f/s)",
		wr.Seconds, wr.StartS, wr.Steady, wr.Calls, wr.Answered, wr.RxPackets, wr.RxPerSec)
	p("generator CPU: user %.2f s, sys %.2f s (avg %.1f%% of a core; %.1f%% in window)", r.Generator.UserS, r.Generator.SysS, r.Generator.PctAvg, wr.GenCPUPct)
	if oz := r.Obzvon; oz != nil {
		p("obzvon pid %d: CPU %.2f s in window (%.1f%% of a core), %.3f µs per forwarded packet, %.3f ms per call answered in the window",
			oz.PID, wr.ObzCPUS, wr.ObzCPUPct, wr.UsPerPkt, wr.MsPerCall)
		p("  RSS %d kB before, %d kB peak, %d calls peak, %.1f kB per call", oz.RSSBaseKB, oz.RSSPeakKB, oz.PeakCalls, oz.KBPerCall)
		if oz.Error != "" {
			p("  /proc error: %s", oz.Error)
		}
	}
	if mr := r.Metrics; mr != nil {
		keys := make([]string, 0, len(mr.Counters))
		for k, v := range mr.Counters {
			if v != 0 {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			p("  obzvon /metrics in window: %s +%.0f", k, mr.Counters[k])
		}
		for name, h := range mr.Histograms {
			p("  obzvon /metrics in window: %s p50 %.1f µs, p99 %.1f µs (n=%.0f)", name, h.P50us, h.P99us, h.Count)
		}
		if len(mr.Histograms) == 0 {
			p("  obzvon /metrics: no delay histogram exposed")
		}
		if mr.Error != "" {
			p("  obzvon /metrics error: %s", mr.Error)
		}
	}
	p("cpu pressure (some avg10 %%): start %.2f, end %.2f, max %.2f", r.PSI.Start, r.PSI.End, r.PSI.Max)
}

func writeRTP(w io.Writer, prefix string, r rtpReport) {
	if r.Scheduled > 0 {
		fmt.Fprintf(w, "%s: tone schedule: %d packets due, %d sent (%.1f%%)\n", prefix, r.Scheduled, r.Sent, r.SentPct)
	}
	if d := r.Delay; d != nil {
		fmt.Fprintf(w, "%s: %s: p50 %.1f µs, p99 %.1f µs, max %.1f µs (n=%d, unmatched %d)\n", prefix, d.What, d.P50us, d.P99us, d.MaxUs, d.N, d.Rejected)
	}
	if d := r.NextSend; d != nil {
		fmt.Fprintf(w, "%s: %s: p50 %.1f µs, p99 %.1f µs, longest gap %.1f µs (%d gaps); %.2f%% of the time in gaps over 40 ms\n", prefix, d.What, d.P50us, d.P99us, d.MaxUs, d.N, r.StalledPct)
	}
	fmt.Fprintf(w, "%s: per call: received min %d, median %d packets; %d of %d legs received none (%d of them sent, at most %d packets)\n", prefix, r.PerLegMin, r.PerLegP50, r.Silent, r.Legs, r.SilentSent, r.SilentSentMax)
	fmt.Fprintf(w, "%s: sent %d, received %d, lost %d of %d expected (%.3f%%), streams %d, tone-identical %d, tone share %.3f, unmatched %d, send errors %d, late ticks %d, skipped %d\n",
		prefix, r.Sent, r.Received, r.Lost, r.Expected, r.LossPct, r.Streams, r.ToneEqual, r.ToneShare, r.Unmatched, r.SendErrors, r.LateTicks, r.Skipped)
}
