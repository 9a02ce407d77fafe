package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The trunk's campaign mode: the called people of an outbound campaign,
// as in the campaign simulator's reference scenario (campaigns/simulator.go,
// `obzvon simulate`): a dial is answered live with probability Live after a
// ring time drawn from Ring; of the rest, shares of the mix ring until the
// appliance cancels (no answer), reach an answering machine (answered
// after Ring, plays a long greeting) or are busy (486 after BusyRing).
// A live answer sends the callee tone, waits for an operator's tone and
// talks for a time drawn from Talk once it arrives; it hangs up itself
// only after Patience with no operator. Every duration drawn is divided
// by Scale. The trunk measures what the appliance plays to a live answer
// that no operator takes (the safe-harbor message: any audio that is no
// tone of ours and not silence) and how long after the answer it starts.

// Outcomes of a campaign dial.
const (
	campLive     = "live"
	campNoAnswer = "no_answer"
	campMachine  = "machine"
	campBusy     = "busy"
)

// campaignConfig configures the campaign mode.
type campaignConfig struct {
	Live     float64 // probability of a live answer
	NoAnswer float64 // shares of the rest (normalised)
	Machine  float64
	Busy     float64
	Ring     dist // ring time before a live or machine answer
	BusyRing dist // ring time before 486
	Talk     dist // talk time once an operator is heard
	Patience time.Duration
	Greeting time.Duration // a machine's greeting; it hangs up after it and 2 s
	Scale    float64
	Seed     uint64
}

// parseMix parses --trunk-mix "no_answer=0.5,machine=0.3,busy=0.2".
func parseMix(s string, c *campaignConfig) error {
	c.NoAnswer, c.Machine, c.Busy = 0, 0, 0
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		x, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || x < 0 {
			return fmt.Errorf("%q: want no_answer=W,machine=W,busy=W with weights >= 0", s)
		}
		switch k {
		case campNoAnswer:
			c.NoAnswer = x
		case campMachine:
			c.Machine = x
		case campBusy:
			c.Busy = x
		default:
			return fmt.Errorf("%q: unknown outcome %q (want no_answer, machine, busy)", s, k)
		}
	}
	if c.NoAnswer+c.Machine+c.Busy == 0 {
		return fmt.Errorf("%q: weights add up to 0", s)
	}
	return nil
}

// campaignTrunk is the campaign mode's state.
type campaignTrunk struct {
	cfg      campaignConfig
	greeting *audioSrc
	events   *eventLog

	mu       sync.Mutex
	rng      *rand.Rand
	counts   map[string]uint64 // dials by drawn outcome
	ended    map[string]uint64 // live and machine calls by who ended them
	ring     map[string][]time.Duration
	cancels  map[string]uint64 // CANCELed while ringing, by outcome
	connect  []time.Duration   // live: answer → first operator packet
	safe     []time.Duration   // live: answer → first safe-harbor packet
	safeOnly uint64            // live: safe harbor heard and no operator
	noAgent  uint64            // live: neither operator nor safe harbor
	abandon  uint64            // live: hung up by the callee after Patience
	talk     []time.Duration
	machine  []time.Duration // machine: answer → far end's BYE
	byOp     map[string]uint64
	dropouts uint64
	maxGap   time.Duration
}

func newCampaignTrunk(cfg campaignConfig, ev *eventLog) (*campaignTrunk, error) {
	g, err := greetingSrc(cfg.Greeting)
	if err != nil {
		return nil, err
	}
	return &campaignTrunk{cfg: cfg, greeting: g, events: ev,
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d)),
		counts: map[string]uint64{}, ended: map[string]uint64{}, ring: map[string][]time.Duration{},
		cancels: map[string]uint64{}, byOp: map[string]uint64{}}, nil
}

// draw picks an outcome.
func (c *campaignTrunk) draw() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	x := c.rng.Float64()
	if x < c.cfg.Live {
		return campLive
	}
	rest := c.cfg.NoAnswer + c.cfg.Machine + c.cfg.Busy
	y := c.rng.Float64() * rest
	switch {
	case y < c.cfg.NoAnswer:
		return campNoAnswer
	case y < c.cfg.NoAnswer+c.cfg.Machine:
		return campMachine
	}
	return campBusy
}

func (c *campaignTrunk) onInvite(ctx context.Context, u *uas, req *sip.Request, tx sip.ServerTransaction) {
	md, err := parseSDP(req.Body())
	pt, ok := pickG711(md.pts)
	if err != nil || !ok {
		u.reject(req, tx, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	outcome := c.draw()
	c.mu.Lock()
	c.counts[outcome]++
	c.mu.Unlock()
	d, err := u.ds.ReadInvite(req, tx)
	if err != nil {
		u.reject(req, tx, sip.StatusBadRequest, "Bad Request")
		return
	}
	defer d.Close()
	_ = d.Respond(sip.StatusRinging, "Ringing", nil)
	callID := req.CallID().Value()
	invited := time.Now()
	var ring time.Duration
	switch outcome {
	case campNoAnswer:
		ring = -1
	case campBusy:
		ring = c.cfg.BusyRing.draw()
	default:
		ring = c.cfg.Ring.draw()
	}
	if ring >= 0 {
		t := time.NewTimer(ring)
		defer t.Stop()
		select {
		case <-t.C:
		case <-d.Context().Done():
			c.cancelled(outcome, invited, callID)
			return
		case <-ctx.Done():
			return
		}
	} else {
		select {
		case <-d.Context().Done():
			c.cancelled(outcome, invited, callID)
		case <-ctx.Done():
		}
		return
	}
	c.mu.Lock()
	c.ring[outcome] = append(c.ring[outcome], ring)
	c.mu.Unlock()
	if outcome == campBusy {
		u.rejected.Add(1)
		_ = d.Respond(sip.StatusBusyHere, "Busy Here", nil)
		c.events.write(event{Role: "trunk", ID: req.Recipient.User, Event: "dial_end", CallID: callID, Outcome: campBusy})
		return
	}

	l := u.rtp.newLeg(true)
	l.callID = callID
	if outcome == campLive {
		l.src = toneSrc(clsCallee)
	} else {
		l.src = c.greeting
	}
	w := newAudioWatch(audioClass.isOperator)
	l.watch = w
	defer l.stop()
	if err := l.start(md.addr, pt); err != nil {
		_ = d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		return
	}
	if err := d.RespondSDP(buildSDP(u.rtp.ip, l.port(), u.sessID.Add(1), []byte{pt})); err != nil {
		if d.Context().Err() != nil {
			c.cancelled(outcome, invited, callID)
		} else {
			u.noAck.Add(1)
		}
		return
	}
	answered := time.Now()
	u.answered.Add(1)
	u.active.Add(1)
	defer u.active.Add(-1)

	by := ""
	var talkEnd, patience, greetingEnd <-chan time.Time
	connected := w.first
	if outcome == campLive {
		t := time.NewTimer(c.cfg.Patience)
		defer t.Stop()
		patience = t.C
	} else {
		t := time.NewTimer(c.greeting.length() + 2*time.Second)
		defer t.Stop()
		greetingEnd = t.C
	}
loop:
	for {
		select {
		case <-connected:
			connected = nil
			if outcome == campLive {
				patience = nil
				t := time.NewTimer(c.cfg.Talk.draw())
				defer t.Stop()
				talkEnd = t.C
			}
		case <-talkEnd:
			by = "callee"
			break loop
		case <-patience:
			by = "callee_patience"
			break loop
		case <-greetingEnd:
			by = "machine"
			break loop
		case <-d.Context().Done():
			by = "far_end"
			break loop
		case <-ctx.Done():
			by = "run_end"
			break loop
		}
	}
	end := time.Now()
	l.stop()
	if by != "far_end" {
		bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.Bye(bctx)
		cancel()
	}
	first, other := w.firstAt.Load(), w.otherAt.Load()
	ev := event{Role: "trunk", ID: req.Recipient.User, Event: "dial_end", CallID: callID, Outcome: outcome, HungUp: by,
		Start: answered.UnixNano(), End: end.UnixNano()}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended[outcome+"/"+by]++
	switch outcome {
	case campLive:
		if first > 0 {
			wait := time.Duration(first - answered.UnixNano())
			c.connect = append(c.connect, wait)
			c.talk = append(c.talk, end.Sub(time.Unix(0, first)))
			op := audioClass(w.firstCls.Load()).String()
			c.byOp[op]++
			ev.Peer, ev.WaitMs = op, float64(wait)/1e6
		}
		if other > 0 {
			c.safe = append(c.safe, time.Duration(other-answered.UnixNano()))
			if first == 0 {
				c.safeOnly++
			}
		}
		if first == 0 && other == 0 {
			c.noAgent++
		}
		if by == "callee_patience" {
			c.abandon++
		}
	case campMachine:
		if by == "far_end" {
			c.machine = append(c.machine, end.Sub(answered))
		}
	}
	for _, s := range w.segments() {
		c.dropouts += s.Dropouts
		c.maxGap = max(c.maxGap, time.Duration(s.MaxGapNs))
	}
	if other > 0 {
		ev.TalkMs = float64(other-answered.UnixNano()) / 1e6 // safe-harbor start after answer
	}
	c.events.write(ev)
}

func (c *campaignTrunk) cancelled(outcome string, invited time.Time, callID string) {
	c.mu.Lock()
	c.cancels[outcome]++
	c.ring[outcome+"_cancelled"] = append(c.ring[outcome+"_cancelled"], time.Since(invited))
	c.mu.Unlock()
	c.events.write(event{Role: "trunk", Event: "cancelled", CallID: callID, Outcome: outcome})
}

// campaignReport is the campaign mode's part of the trunk report.
type campaignReport struct {
	Live     float64 `json:"live_probability"`
	Mix      string  `json:"mix"`
	Scale    float64 `json:"scale"`
	Ring     string  `json:"ring"`
	Talk     string  `json:"talk"`
	Patience string  `json:"patience"`
	// Dials by drawn outcome; Cancelled by outcome (the appliance gave up
	// while it rang); Ended counts answered calls by outcome/who ended
	// them (far_end: the appliance's BYE).
	Dials     map[string]uint64         `json:"dials"`
	Cancelled map[string]uint64         `json:"cancelled"`
	Ended     map[string]uint64         `json:"ended"`
	RingTime  map[string]latencySummary `json:"ring_time"`
	// Connect is a live answer's wait for an operator: answer → first
	// packet of an operator's tone.
	Connect latencySummary `json:"live_connect"`
	// SafeHarbor is answer → first packet of the appliance's own audio
	// (neither silence nor a tone of ours) on a live answer: its
	// safe-harbor message when no operator was free.
	SafeHarbor      latencySummary    `json:"safe_harbor_start"`
	SafeHarborOnly  uint64            `json:"live_safe_harbor_no_operator"`
	NoOperatorNoMsg uint64            `json:"live_no_operator_no_message"`
	Abandoned       uint64            `json:"live_hung_up_by_callee_patience"`
	TalkTime        latencySummary    `json:"live_talk_time"`
	MachineHangup   latencySummary    `json:"machine_answer_to_far_end_bye"`
	ByOperator      map[string]uint64 `json:"live_by_operator"`
	Dropouts        uint64            `json:"operator_audio_dropouts"`
	MaxGapMs        float64           `json:"operator_audio_max_gap_ms"`
}

func (c *campaignTrunk) report() *campaignReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := func(m map[string]uint64) map[string]uint64 {
		out := map[string]uint64{}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	r := &campaignReport{Live: c.cfg.Live, Mix: fmt.Sprintf("no_answer=%g,machine=%g,busy=%g", c.cfg.NoAnswer, c.cfg.Machine, c.cfg.Busy),
		Scale: c.cfg.Scale, Ring: c.cfg.Ring.String(), Talk: c.cfg.Talk.String(), Patience: c.cfg.Patience.String(),
		Dials: cp(c.counts), Cancelled: cp(c.cancels), Ended: cp(c.ended), RingTime: map[string]latencySummary{},
		Connect: summarize(c.connect), SafeHarbor: summarize(c.safe), SafeHarborOnly: c.safeOnly, NoOperatorNoMsg: c.noAgent,
		Abandoned: c.abandon, TalkTime: summarize(c.talk), MachineHangup: summarize(c.machine), ByOperator: cp(c.byOp),
		Dropouts: c.dropouts, MaxGapMs: round3(float64(c.maxGap) / 1e6)}
	for k, v := range c.ring {
		r.RingTime[k] = summarize(v)
	}
	return r
}
