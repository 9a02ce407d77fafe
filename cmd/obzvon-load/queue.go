package main

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Queue mode of the caller role: what a queue benchmark needs of a caller.

// Outcomes of an answered queue call.
const (
	outConnected = "connected" // reached an operator (then hung up by either side)
	outAbandoned = "abandoned" // the caller gave up waiting (patience)
	outLost      = "lost"      // the far end ended it before any operator was heard
	outCut       = "cut"       // still waiting when the run ended
)

// queueStats are the caller role's queue-mode figures.
type queueStats struct {
	mu         sync.Mutex
	outcomes   map[string]uint64
	hungUpBy   map[string]uint64 // of connected calls: caller, far_end, run_end
	wait       []time.Duration   // answer → first operator packet
	abandonAt  []time.Duration   // answer → hang-up, of abandoned calls
	lostAt     []time.Duration   // answer → far end's BYE, of lost calls
	talk       []time.Duration   // first operator packet → end
	byOperator map[string]uint64
	dropouts   uint64
	maxGap     time.Duration
	switches   uint64
	unwanted   uint64
}

// queueCall runs an answered call in queue mode (see uacConfig.Queue):
// leg l streams the caller tone and watches for operators.
func (u *uac) queueCall(ctx context.Context, d *sipgo.DialogClientSession, l *leg, answered time.Time, n int) {
	w := l.watch
	var patience <-chan time.Time
	if u.cfg.Patience.set() {
		t := time.NewTimer(u.cfg.Patience.draw())
		defer t.Stop()
		patience = t.C
	}
	outcome, by := "", ""
	var talkEnd <-chan time.Time
	connected := w.first
wait:
	for {
		select {
		case <-connected:
			connected = nil
			if u.cfg.Talk.set() {
				t := time.NewTimer(u.cfg.Talk.draw())
				defer t.Stop()
				talkEnd = t.C
			}
			patience = nil
		case <-patience:
			outcome, by = outAbandoned, "caller"
			break wait
		case <-talkEnd:
			outcome, by = outConnected, "caller"
			break wait
		case <-d.Context().Done():
			by = "far_end"
			outcome = outLost
			if w.firstAt.Load() > 0 {
				outcome = outConnected
			}
			break wait
		case <-ctx.Done():
			by = "run_end"
			outcome = outCut
			if w.firstAt.Load() > 0 {
				outcome = outConnected
			}
			break wait
		}
	}
	end := time.Now()
	l.stop()
	if by == "far_end" {
		u.remoteBye.Add(1)
	} else {
		bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := d.Bye(bctx)
		cancel()
		switch {
		case err == nil:
			u.localBye.Add(1)
		case d.Context().Err() != nil && d.LoadState() == sip.DialogStateEnded:
			u.remoteBye.Add(1)
		default:
			u.byeFailed.Add(1)
			u.noteErr("BYE: " + err.Error())
		}
	}
	first := w.firstAt.Load()
	q := &u.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.outcomes == nil {
		q.outcomes, q.hungUpBy, q.byOperator = map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
	}
	q.outcomes[outcome]++
	ev := event{Role: "caller", ID: strconv.Itoa(n + 1), Event: "call_end", CallID: d.InviteRequest.CallID().Value(), Outcome: outcome, HungUp: by,
		Start: answered.UnixNano(), End: end.UnixNano()}
	switch outcome {
	case outConnected:
		wait := time.Duration(first - answered.UnixNano())
		talk := end.Sub(time.Unix(0, first))
		q.wait = append(q.wait, wait)
		q.talk = append(q.talk, talk)
		q.hungUpBy[by]++
		op := audioClass(w.firstCls.Load()).String()
		q.byOperator[op]++
		ev.Peer, ev.WaitMs, ev.TalkMs = op, float64(wait)/1e6, float64(talk)/1e6
	case outAbandoned:
		q.abandonAt = append(q.abandonAt, end.Sub(answered))
		ev.WaitMs = float64(end.Sub(answered)) / 1e6
	case outLost:
		q.lostAt = append(q.lostAt, end.Sub(answered))
		ev.WaitMs = float64(end.Sub(answered)) / 1e6
	}
	for _, s := range w.segments() {
		q.dropouts += s.Dropouts
		q.maxGap = max(q.maxGap, time.Duration(s.MaxGapNs))
		ev.Dropouts += s.Dropouts
		ev.MaxGapMs = max(ev.MaxGapMs, float64(s.MaxGapNs)/1e6)
		ev.Packets += s.Packets
	}
	q.switches += w.switches
	q.unwanted += w.unwanted
	u.events.write(ev)
}

// queueReport is the caller role's queue-mode part of the report.
type queueReport struct {
	Talk     string `json:"talk,omitempty"`
	Patience string `json:"patience,omitempty"`
	// Connected calls reached an operator (its tone arrived); Abandoned
	// callers hung up after their patience with no operator heard; Lost
	// calls were ended by the far end before any operator was heard
	// (add the setup failures — failed_by_code, errors — for every call
	// that ended without an operator and without the caller giving up);
	// Cut were still waiting when the run ended.
	Connected uint64 `json:"connected"`
	Abandoned uint64 `json:"abandoned"`
	Lost      uint64 `json:"lost"`
	Cut       uint64 `json:"cut"`
	// HungUpBy splits the connected calls: caller (talk time over),
	// far_end, run_end.
	HungUpBy map[string]uint64 `json:"connected_hung_up_by"`
	// Wait is answer → first packet of an operator's audio.
	Wait         latencySummary `json:"wait"`
	AbandonAfter latencySummary `json:"abandoned_after"`
	LostAfter    latencySummary `json:"lost_after"`
	// TalkTime is first operator packet → end of call.
	TalkTime latencySummary `json:"talk_time"`
	// ByOperator counts connected calls by the operator tone heard first.
	ByOperator map[string]uint64 `json:"by_operator"`
	// Dropouts are gaps of over 60 ms in an operator's audio;
	// OperatorSwitches count another operator's tone following without
	// a pause; OtherTones count packets of a tone that is no operator's
	// (another caller's: crossed audio).
	Dropouts         uint64  `json:"operator_audio_dropouts"`
	MaxGapMs         float64 `json:"operator_audio_max_gap_ms"`
	OperatorSwitches uint64  `json:"operator_switches"`
	OtherTones       uint64  `json:"non_operator_tone_packets"`
}

func (u *uac) queueReport() *queueReport {
	if !u.cfg.Queue {
		return nil
	}
	q := &u.q
	q.mu.Lock()
	defer q.mu.Unlock()
	r := &queueReport{Talk: u.cfg.Talk.String(), Patience: u.cfg.Patience.String(),
		Connected: q.outcomes[outConnected], Abandoned: q.outcomes[outAbandoned], Lost: q.outcomes[outLost], Cut: q.outcomes[outCut],
		HungUpBy: map[string]uint64{}, Wait: summarize(q.wait), AbandonAfter: summarize(q.abandonAt), LostAfter: summarize(q.lostAt),
		TalkTime: summarize(q.talk), ByOperator: map[string]uint64{}, Dropouts: q.dropouts, MaxGapMs: round3(float64(q.maxGap) / 1e6),
		OperatorSwitches: q.switches, OtherTones: q.unwanted}
	for k, v := range q.hungUpBy {
		r.HungUpBy[k] = v
	}
	for k, v := range q.byOperator {
		r.ByOperator[k] = v
	}
	return r
}

// operatorsHeard lists the operators of ByOperator, sorted.
func (r *queueReport) operatorsHeard() []string {
	var out []string
	for k := range r.ByOperator {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
