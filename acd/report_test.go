package acd

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// Hand-written event sequences, as the ACD writes them: times are
// seconds after 09:00 on the report's day.

var rt0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func rsec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
func rat(s float64) time.Time      { return rt0.Add(rsec(s)) }

func evEnter(t float64, call, q string, pos int) Event {
	return Event{Time: rat(t), Kind: EventEnter, Queue: q, Call: call, Position: pos}
}
func evOffer(t float64, call, q, agent string, wait float64) Event {
	return Event{Time: rat(t), Kind: EventOffer, Queue: q, Call: call, Agent: agent, Wait: rsec(wait)}
}
func evConnect(t float64, call, q, agent string, wait float64) Event {
	return Event{Time: rat(t), Kind: EventConnect, Queue: q, Call: call, Agent: agent, Wait: rsec(wait), Position: 1}
}
func evComplete(t float64, call, q, agent, by string, wait, talk float64) Event {
	return Event{Time: rat(t), Kind: EventComplete, Queue: q, Call: call, Agent: agent, Reason: by, Wait: rsec(wait), Talk: rsec(talk)}
}
func evAbandon(t float64, call, q string, pos int, wait float64) Event {
	return Event{Time: rat(t), Kind: EventAbandon, Queue: q, Call: call, Position: pos, Wait: rsec(wait)}
}
func evTimeout(t float64, call, q string, pos int, wait float64) Event {
	return Event{Time: rat(t), Kind: EventTimeout, Queue: q, Call: call, Position: pos, Wait: rsec(wait)}
}
func evFull(t float64, call, q string) Event {
	return Event{Time: rat(t), Kind: EventFull, Queue: q, Call: call}
}
func evTransfer(t float64, call, q, agent, target string, wait, talk float64) Event {
	return Event{Time: rat(t), Kind: EventTransfer, Queue: q, Call: call, Agent: agent, Reason: target, Wait: rsec(wait), Talk: rsec(talk)}
}
func evRequeue(t float64, call, q, agent string, wait float64) Event {
	return Event{Time: rat(t), Kind: EventRequeue, Queue: q, Call: call, Agent: agent, Reason: "agent gone", Wait: rsec(wait)}
}
func evNoAnswer(t float64, call, q, agent string, wait float64) Event {
	return Event{Time: rat(t), Kind: EventNoAnswer, Queue: q, Call: call, Agent: agent, Reason: "no answer", Wait: rsec(wait)}
}
func evState(t float64, agent string, prev, st State, reason string, queues ...string) Event {
	return Event{Time: rat(t), Kind: EventAgentState, Agent: agent, Prev: prev, State: st, Reason: reason, Queues: queues}
}
func consult(e Event) Event { e.Consult = true; return e }
func again(e Event) Event   { e.Again = true; return e }

// byTransfer marks the connect that completes an attended transfer.
func byTransfer(e Event) Event { e.Reason = "transfer"; return e }

func report(t *testing.T, events []Event, interval time.Duration) *Report {
	t.Helper()
	r, err := BuildReport(events, ReportOptions{From: rt0, To: rt0.Add(time.Hour), Interval: interval,
		Thresholds: map[string]time.Duration{"main": 20 * time.Second, "second": 10 * time.Second}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func queueOf(t *testing.T, r *Report, q string) QueueReport {
	t.Helper()
	for _, qr := range r.Queues {
		if qr.Queue == q {
			return qr
		}
	}
	t.Fatalf("no queue %q in the report", q)
	return QueueReport{}
}

func totalOf(t *testing.T, r *Report, q string) Figures { t.Helper(); return queueOf(t, r, q).Total }

func counts(f Figures) QueueCounters { return f.Counters() }

func wantCounts(t *testing.T, what string, got Figures, want QueueCounters) {
	t.Helper()
	if c := counts(got); c != want {
		t.Errorf("%s: counts %+v, want %+v", what, c, want)
	}
}

func wantRatio(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %v", what, want)
		return
	}
	if math.Abs(*got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, *got, want)
	}
}

// TestReportResults: each result counts with its wait against the
// threshold (20 s, inclusive): service level, ASA, abandonment, longest
// wait.
func TestReportResults(t *testing.T) {
	evs := []Event{
		evEnter(0, "c1", "main", 1), evConnect(5, "c1", "main", "a", 5), evComplete(65, "c1", "main", "a", "caller", 5, 60),
		evEnter(10, "c2", "main", 1), evConnect(40, "c2", "main", "a", 30), evComplete(100, "c2", "main", "a", "agent", 30, 60),
		evEnter(20, "c3", "main", 2), evAbandon(25, "c3", "main", 2, 5),
		evEnter(30, "c4", "main", 2), evAbandon(80, "c4", "main", 1, 50),
		evEnter(50, "c5", "main", 3), evTimeout(170, "c5", "main", 1, 120),
		evFull(60, "c6", "main"),
		// Exactly at the threshold is within it (as the ACD counts).
		evEnter(70, "c7", "main", 1), evConnect(90, "c7", "main", "b", 20), evComplete(150, "c7", "main", "b", "caller", 20, 60),
	}
	f := totalOf(t, report(t, evs, 15*time.Minute), "main")
	wantCounts(t, "main", f, QueueCounters{Offered: 7, Answered: 3, AnsweredInSL: 2, Abandoned: 2, AbandonedInSL: 1, Timeouts: 1, Full: 1})
	wantRatio(t, "service level", f.ServiceLevel, 2.0/4) // 2 in SL / (3 answered + 1 abandoned after 20 s)
	wantRatio(t, "ASA", f.ASA, 55.0/3)
	wantRatio(t, "abandon rate", f.AbandonRate, 2.0/7)
	if f.LongestWait != 120 {
		t.Errorf("longest wait %v, want 120", f.LongestWait)
	}
	wantRatio(t, "AHT", f.AHT, 60) // no wrap-up events: talk only
}

// TestReportRequeueCountsOnce: a call requeued after its operator's phone
// went (connect, requeue, connect) is one call answered once, with the
// wait of its first answer; its handle time has both operators' talk.
func TestReportRequeueCountsOnce(t *testing.T) {
	evs := []Event{
		evEnter(0, "c1", "main", 1), evConnect(4, "c1", "main", "a", 4),
		evRequeue(34, "c1", "main", "a", 34), evConnect(40, "c1", "main", "b", 40),
		evComplete(100, "c1", "main", "b", "caller", 40, 60),
	}
	f := totalOf(t, report(t, evs, 15*time.Minute), "main")
	wantCounts(t, "main", f, QueueCounters{Offered: 1, Answered: 1, AnsweredInSL: 1})
	wantRatio(t, "ASA", f.ASA, 4)
	wantRatio(t, "AHT", f.AHT, 90)
	if f.Handled != 1 {
		t.Errorf("handled %d, want 1", f.Handled)
	}
}

// TestReportAnsweredCallNotAbandoned: a requeued call whose caller hangs
// up before the next operator (or that leaves after the maximum wait)
// was answered already: no abandon, no timeout.
func TestReportAnsweredCallNotAbandoned(t *testing.T) {
	evs := []Event{
		evEnter(0, "c1", "main", 1), evConnect(4, "c1", "main", "a", 4),
		evRequeue(34, "c1", "main", "a", 34), again(evAbandon(60, "c1", "main", 1, 60)),
		evEnter(100, "c2", "main", 1), evConnect(101, "c2", "main", "a", 1),
		evRequeue(130, "c2", "main", "a", 30), again(evTimeout(220, "c2", "main", 1, 120)),
	}
	f := totalOf(t, report(t, evs, 15*time.Minute), "main")
	wantCounts(t, "main", f, QueueCounters{Offered: 2, Answered: 2, AnsweredInSL: 2})
	wantRatio(t, "service level", f.ServiceLevel, 1)
}

// TestReportConsultationIsNoCall: an operator's consultation with another
// (consult: true) is neither offered nor answered.
func TestReportConsultationIsNoCall(t *testing.T) {
	evs := []Event{
		evEnter(0, "c1", "main", 1), evConnect(2, "c1", "main", "a", 2),
		consult(evEnter(30, "c1/consult", "main", 1)), consult(evConnect(31, "c1/consult", "main", "b", 1)),
		consult(evComplete(50, "c1/consult", "main", "b", "cancel", 1, 19)),
		consult(evEnter(60, "c1/consult", "main", 1)), consult(evAbandon(65, "c1/consult", "main", 1, 5)),
		evComplete(90, "c1", "main", "a", "caller", 2, 88),
	}
	f := totalOf(t, report(t, evs, 15*time.Minute), "main")
	wantCounts(t, "main", f, QueueCounters{Offered: 1, Answered: 1, AnsweredInSL: 1})
	wantRatio(t, "AHT", f.AHT, 88)
}

// TestReportAttendedTransferIsNoNewAnswer: completing an attended
// transfer (transfer by A, connect to B with reason "transfer") keeps one
// answered call; its handle time is A's talk and wrap-up plus B's.
func TestReportAttendedTransferIsNoNewAnswer(t *testing.T) {
	evs := []Event{
		evState(0, "a", StateLoggedOut, StateReady, "", "main"), evState(0, "b", StateLoggedOut, StateReady, "", "main"),
		evEnter(0, "c1", "main", 1), evOffer(0, "c1", "main", "a", 0), evState(0, "a", StateReady, StateReserved, ""),
		evState(3, "a", StateReserved, StateTalking, ""), evConnect(3, "c1", "main", "a", 3),
		consult(evEnter(30, "c1/consult", "main", 1)), consult(evOffer(30, "c1/consult", "main", "b", 0)),
		evState(30, "b", StateReady, StateReserved, ""), evState(31, "b", StateReserved, StateTalking, ""),
		consult(evConnect(31, "c1/consult", "main", "b", 1)),
		evTransfer(60, "c1", "main", "a", "b", 3, 57), byTransfer(evConnect(60, "c1", "main", "b", 60)),
		evState(60, "a", StateTalking, StateWrapUp, ""), evState(70, "a", StateWrapUp, StateReady, ""),
		evComplete(120, "c1", "main", "b", "caller", 31, 89),
		evState(120, "b", StateTalking, StateWrapUp, ""), evState(125, "b", StateWrapUp, StateReady, ""),
	}
	f := totalOf(t, report(t, evs, 15*time.Minute), "main")
	wantCounts(t, "main", f, QueueCounters{Offered: 1, Answered: 1, AnsweredInSL: 1})
	wantRatio(t, "ASA", f.ASA, 3)
	wantRatio(t, "AHT", f.AHT, 57+10+89+5)
	if f.Handled != 1 {
		t.Errorf("handled %d, want 1", f.Handled)
	}

	// Even when the call's first connect is missing from the journal (an
	// event the desk had to drop), the transfer's connect is no answer:
	// its wait would be the whole first conversation.
	lost := []Event{
		evEnter(0, "c1", "main", 1),
		evTransfer(60, "c1", "main", "a", "b", 3, 57), byTransfer(evConnect(60, "c1", "main", "b", 60)),
		evComplete(120, "c1", "main", "b", "caller", 31, 89),
	}
	wantCounts(t, "first connect lost", totalOf(t, report(t, lost, 15*time.Minute), "main"), QueueCounters{Offered: 1})
}

// TestReportTransferToAnotherQueue: a call answered in main and
// transferred (blind) to queue second counts in both, each with the wait
// from its entry into that queue.
func TestReportTransferToAnotherQueue(t *testing.T) {
	evs := []Event{
		evEnter(0, "c1", "main", 1), evConnect(5, "c1", "main", "a", 5),
		evTransfer(35, "c1", "main", "a", "queue:second", 5, 30),
		evEnter(35, "c1", "second", 1), evConnect(50, "c1", "second", "c", 15),
		evComplete(80, "c1", "second", "c", "caller", 15, 30),
	}
	r := report(t, evs, 15*time.Minute)
	main, second := totalOf(t, r, "main"), totalOf(t, r, "second")
	wantCounts(t, "main", main, QueueCounters{Offered: 1, Answered: 1, AnsweredInSL: 1})
	wantCounts(t, "second", second, QueueCounters{Offered: 1, Answered: 1}) // 15 s > second's 10 s
	wantRatio(t, "second's ASA", second.ASA, 15)
	wantRatio(t, "main's AHT", main.AHT, 30)
	wantRatio(t, "second's AHT", second.AHT, 30)
}

// TestReportOverflowCountsInEachQueue: a call that times out in main and
// overflows to second counts in main (timeout) and in second (answered).
func TestReportOverflowCountsInEachQueue(t *testing.T) {
	evs := []Event{
		evEnter(0, "c1", "main", 1), evTimeout(120, "c1", "main", 1, 120),
		evEnter(120, "c1", "second", 1), evConnect(125, "c1", "second", "c", 5),
		evComplete(185, "c1", "second", "c", "agent", 5, 60),
		evFull(200, "c2", "main"), evEnter(200, "c2", "second", 1), evAbandon(230, "c2", "second", 1, 30),
	}
	r := report(t, evs, 15*time.Minute)
	wantCounts(t, "main", totalOf(t, r, "main"), QueueCounters{Offered: 2, Timeouts: 1, Full: 1})
	wantCounts(t, "second", totalOf(t, r, "second"), QueueCounters{Offered: 2, Answered: 1, AnsweredInSL: 1, Abandoned: 1})
	if sl := totalOf(t, r, "main").ServiceLevel; sl != nil {
		t.Errorf("main's service level %v, want null (no call answered or abandoned)", *sl)
	}
}

// TestReportTransferBackIntoTheQueue: a blind transfer to another
// operator of the same queue enters it again: still one call there.
func TestReportTransferBackIntoTheQueue(t *testing.T) {
	evs := []Event{
		evEnter(0, "c1", "main", 1), evConnect(5, "c1", "main", "a", 5),
		evTransfer(35, "c1", "main", "a", "1002", 5, 30),
		again(evEnter(35, "c1", "main", 1)), again(evConnect(37, "c1", "main", "b", 2)),
		evComplete(97, "c1", "main", "b", "caller", 2, 60),
	}
	f := totalOf(t, report(t, evs, 15*time.Minute), "main")
	wantCounts(t, "main", f, QueueCounters{Offered: 1, Answered: 1, AnsweredInSL: 1})
	wantRatio(t, "ASA", f.ASA, 5)
	wantRatio(t, "AHT", f.AHT, 90)
}

// TestReportIntervalOfEntry: a call counts in the interval in which it
// entered the queue, though answered in the next; calls that entered
// before the report (events of the lookback) are not counted.
func TestReportIntervalOfEntry(t *testing.T) {
	evs := []Event{
		evEnter(-30, "c0", "main", 1), evConnect(5, "c0", "main", "a", 35), evComplete(60, "c0", "main", "a", "caller", 35, 55),
		evEnter(890, "c1", "main", 1), evConnect(920, "c1", "main", "a", 30), evComplete(980, "c1", "main", "a", "caller", 30, 60),
		evEnter(905, "c2", "main", 2), evConnect(1000, "c2", "main", "a", 95), evComplete(1100, "c2", "main", "a", "caller", 95, 100),
	}
	r := report(t, evs, 15*time.Minute)
	q := queueOf(t, r, "main")
	if len(q.Intervals) != 2 {
		t.Fatalf("intervals %+v, want 09:00 and 09:15", q.Intervals)
	}
	first, second := q.Intervals[0], q.Intervals[1]
	if !first.Start.Equal(rt0) || !first.End.Equal(rat(900)) || !second.Start.Equal(rat(900)) {
		t.Errorf("interval bounds %v–%v, %v–%v", first.Start, first.End, second.Start, second.End)
	}
	wantCounts(t, "09:00", first, QueueCounters{Offered: 1, Answered: 1})
	wantCounts(t, "09:15", second, QueueCounters{Offered: 1, Answered: 1})
	wantRatio(t, "09:00 ASA", first.ASA, 30)
	wantCounts(t, "total", q.Total, QueueCounters{Offered: 2, Answered: 2})

	// 30-minute intervals hold both; 60 minutes too, the same totals.
	for _, iv := range []time.Duration{30 * time.Minute, time.Hour, 0} {
		q := queueOf(t, report(t, evs, iv), "main")
		if len(q.Intervals) != 1 {
			t.Errorf("by %v: %d intervals, want 1", iv, len(q.Intervals))
		}
		wantCounts(t, "total by "+iv.String(), q.Total, QueueCounters{Offered: 2, Answered: 2})
	}
}

// TestReportAHTWithWrapUp: handle time is talk plus the wrap-up the
// operator's agent_state events show (wrap_up until ready), and ends a
// wrap-up still running at Now.
func TestReportAHTWithWrapUp(t *testing.T) {
	evs := []Event{
		evState(0, "a", StateLoggedOut, StateReady, "", "main"),
		evEnter(0, "c1", "main", 1), evState(1, "a", StateReady, StateReserved, ""),
		evState(2, "a", StateReserved, StateTalking, ""), evConnect(2, "c1", "main", "a", 2),
		evComplete(62, "c1", "main", "a", "caller", 2, 60), evState(62, "a", StateTalking, StateWrapUp, ""),
		evState(77, "a", StateWrapUp, StatePaused, "обед"),
		evEnter(100, "c2", "main", 1), evConnect(110, "c2", "main", "b", 10),
		evComplete(140, "c2", "main", "b", "caller", 10, 30), evState(140, "b", StateTalking, StateWrapUp, ""),
	}
	r, err := BuildReport(evs, ReportOptions{From: rt0, To: rt0.Add(time.Hour), Thresholds: map[string]time.Duration{"main": 20 * time.Second},
		Location: time.UTC, Now: rat(150)})
	if err != nil {
		t.Fatal(err)
	}
	f := totalOf(t, r, "main")
	// (60 + 15) and (30 + 10 so far) over two calls.
	wantRatio(t, "AHT", f.AHT, (75.0+40)/2)
}

// TestReportOccupancy: the queue's operators' time by state, cut at the
// interval bounds: occupancy = (talking + wrap_up + reserved) / (ready +
// reserved + talking + wrap_up); pauses are outside it.
func TestReportOccupancy(t *testing.T) {
	evs := []Event{
		// a starts work for main before the report: ready from 08:50.
		evState(-600, "a", StateLoggedOut, StateReady, "", "main"),
		evEnter(880, "c1", "main", 1), evState(880, "a", StateReady, StateReserved, ""),
		evState(890, "a", StateReserved, StateTalking, ""), evConnect(890, "c1", "main", "a", 10),
		evComplete(950, "c1", "main", "a", "caller", 10, 60), evState(950, "a", StateTalking, StateWrapUp, ""),
		evState(980, "a", StateWrapUp, StatePaused, "обед"), evState(1280, "a", StatePaused, StateReady, ""),
		evState(1800, "a", StateReady, StateLoggedOut, "finish"),
		// b serves another queue: not main's operator.
		evState(0, "b", StateLoggedOut, StateReady, "", "second"),
	}
	q := queueOf(t, report(t, evs, 15*time.Minute), "main")
	if len(q.Intervals) != 2 {
		t.Fatalf("intervals %+v", q.Intervals)
	}
	first, second := q.Intervals[0], q.Intervals[1]
	if first.ReadySeconds != 880 || first.ReservedSeconds != 10 || first.TalkingSeconds != 10 {
		t.Errorf("09:00: ready %v reserved %v talking %v, want 880, 10, 10", first.ReadySeconds, first.ReservedSeconds, first.TalkingSeconds)
	}
	wantRatio(t, "09:00 occupancy", first.Occupancy, 20.0/900)
	// 09:15: talking 50, wrap-up 30, paused 300, ready 520.
	if second.TalkingSeconds != 50 || second.WrapUpSeconds != 30 || second.PausedSeconds != 300 || second.ReadySeconds != 520 {
		t.Errorf("09:15: %+v", second)
	}
	wantRatio(t, "09:15 occupancy", second.Occupancy, 80.0/600)
	wantRatio(t, "total occupancy", q.Total.Occupancy, 100.0/1500)
	// With Now unset, open states end at the last event (a's logout).
	if f := totalOf(t, report(t, evs, 15*time.Minute), "second"); f.ReadySeconds != 1800 {
		t.Errorf("second's ready seconds %v, want 1800 (b, until the last event)", f.ReadySeconds)
	}
}

// TestReportOfferedOperatorCounts: an operator whose start of work is not
// in the events (older journals) belongs to the queues it was offered.
func TestReportOfferedOperatorCounts(t *testing.T) {
	evs := []Event{
		evEnter(0, "c1", "main", 1), evState(0, "a", StateReady, StateReserved, ""), evOffer(0, "c1", "main", "a", 0),
		evState(10, "a", StateReserved, StateTalking, ""), evConnect(10, "c1", "main", "a", 10),
		evComplete(70, "c1", "main", "a", "caller", 10, 60), evState(70, "a", StateTalking, StateReady, ""),
	}
	r, err := BuildReport(evs, ReportOptions{From: rt0, To: rt0.Add(time.Hour), Location: time.UTC, Now: rat(100)})
	if err != nil {
		t.Fatal(err)
	}
	f := totalOf(t, r, "main")
	if f.ReservedSeconds != 10 || f.TalkingSeconds != 60 || f.ReadySeconds != 30 {
		t.Errorf("reserved %v talking %v ready %v, want 10, 60, 30", f.ReservedSeconds, f.TalkingSeconds, f.ReadySeconds)
	}
}

func TestReportBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  ReportOptions
		want string
	}{
		{"no period", ReportOptions{}, "end after its start"},
		{"reversed", ReportOptions{From: rt0, To: rt0.Add(-time.Hour)}, "end after its start"},
		{"interval", ReportOptions{From: rt0, To: rt0.Add(time.Hour), Interval: 20 * time.Minute}, "want 15m, 30m or 60m"},
		{"too long", ReportOptions{From: rt0, To: rt0.Add(24 * 365 * time.Hour), Interval: 15 * time.Minute}, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildReport(nil, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("BuildReport(%+v) = %v, want an error with %q", tc.opt, err, tc.want)
			}
		})
	}
}

// TestReportJSON: the stable JSON of a report: null ratios without calls,
// every configured queue listed.
func TestReportJSON(t *testing.T) {
	r := report(t, []Event{evEnter(0, "c1", "main", 1), evAbandon(5, "c1", "main", 1, 5)}, 0)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"queue":"main"`, `"queue":"second"`, `"service_level":null`, `"abandon_rate":1`,
		`"sl_threshold_seconds":20`, `"interval_seconds":0`} {
		if !strings.Contains(s, want) {
			t.Errorf("report JSON lacks %s:\n%s", want, s)
		}
	}
}
