package acd

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// queueLogEvents is a day's morning with every line kind of the export:
// a start of work before the export's period, calls answered (ended by
// the caller and by the operator), rung without answer, abandoned, timed
// out and overflowed, refused by a full queue, transferred blind (to an
// external number too) and attended, a consultation, pauses.
func queueLogEvents() []Event {
	return []Event{
		evState(-600, "anna", StateLoggedOut, StateReady, "", "main", "second"),
		evEnter(-30, "c0", "main", 2), // entered before the period: its CONNECT refers back
		evOffer(-1, "c0", "main", "anna", 29), evState(-1, "anna", StateReady, StateReserved, ""),
		evState(2, "anna", StateReserved, StateTalking, ""), evConnect(2, "c0", "main", "anna", 32),
		evComplete(62, "c0", "main", "anna", "caller", 32, 60), evState(62, "anna", StateTalking, StateWrapUp, ""),
		evState(72, "anna", StateWrapUp, StateReady, ""),

		evState(80, "boris", StateLoggedOut, StateReady, ""), // no queues known: pauses go to NONE
		evEnter(100, "c1", "main", 1), evOffer(100, "c1", "main", "boris", 0),
		evNoAnswer(115.4, "c1", "main", "boris", 15.4), evState(115.4, "boris", StateReserved, StatePaused, PauseNoAnswer),
		evOffer(115.4, "c1", "main", "anna", 15.4), evConnect(116, "c1", "main", "anna", 16),
		evComplete(200, "c1", "main", "anna", "agent", 16, 84),
		evState(210, "boris", StatePaused, StateReady, ""),

		evEnter(300, "c2", "main", 1), evAbandon(312, "c2", "main", 1, 12),
		evEnter(400, "c3", "main", 2), evTimeout(520, "c3", "main", 1, 120),
		evEnter(520, "c3", "second", 1), evConnect(530, "c3", "second", "anna", 10),
		evTransfer(560, "c3", "second", "anna", "+74951234567", 10, 30),
		evFull(600, "c4", "main"),

		evEnter(700, "c5", "main", 1), evConnect(701, "c5", "main", "boris", 1),
		consult(evEnter(730, "c5/consult", "main", 1)), consult(evConnect(731, "c5/consult", "main", "anna", 1)),
		evTransfer(760, "c5", "main", "boris", "anna", 1, 59), byTransfer(again(evConnect(760, "c5", "main", "anna", 60))),
		evComplete(800, "c5", "main", "anna", "caller", 31, 69),

		evState(900, "anna", StateReady, StatePaused, "обед"), evState(2700, "anna", StatePaused, StateReady, ""),
		evState(3000, "boris", StateReady, StateLoggedOut, "finish"),
		evEnter(3700, "c9", "main", 1), // after the period: not written
	}
}

// TestQueueLogGolden: the export of queueLogEvents over 09:00–10:00
// (go test -update rewrites testdata/queuelog.golden).
func TestQueueLogGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteQueueLog(&b, queueLogEvents(), rt0, rt0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "queuelog.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("queue_log differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestQueueLogLines checks the lines' shape against Asterisk's documented
// formats, independently of the golden file: field counts per event, no
// caller number, nothing outside the period, consultations left out.
func TestQueueLogLines(t *testing.T) {
	var b bytes.Buffer
	evs := queueLogEvents()
	evs = append(evs, Event{Time: rat(50), Kind: EventEnter, Queue: "main", Call: "c|x\n", Position: 1})
	if err := WriteQueueLog(&b, evs, rt0, rt0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Data fields per event (after epoch|callid|queue|agent|event).
	wantData := map[string]int{"ENTERQUEUE": 3, "CONNECT": 3, "COMPLETECALLER": 3, "COMPLETEAGENT": 3, "ABANDON": 3,
		"EXITWITHTIMEOUT": 3, "FULL": 1, "RINGNOANSWER": 1, "TRANSFER": 5, "AGENTLOGIN": 1, "AGENTLOGOFF": 2, "PAUSE": 1, "UNPAUSE": 1}
	seen := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for _, l := range lines {
		f := strings.Split(l, "|")
		if len(f) < 6 {
			t.Errorf("line %q: %d fields, want at least 6", l, len(f))
			continue
		}
		ev := f[4]
		seen[ev]++
		if n, ok := wantData[ev]; !ok {
			t.Errorf("line %q: event %s not in the export's list", l, ev)
		} else if len(f)-5 != n {
			t.Errorf("line %q: %d data fields, want %d", l, len(f)-5, n)
		}
		if strings.Contains(l, "consult") {
			t.Errorf("line %q: a consultation is no call", l)
		}
		if strings.Contains(l, "4951234567") {
			t.Errorf("line %q: an external number", l)
		}
		if f[0] < "1772442000" || f[0] >= "1772445600" {
			t.Errorf("line %q: outside 09:00–10:00", l)
		}
	}
	for ev := range wantData {
		if seen[ev] == 0 {
			t.Errorf("no %s line", ev)
		}
	}
	if !strings.Contains(b.String(), "|c/x |main|NONE|ENTERQUEUE|||1\n") {
		t.Errorf("a call id with | and a newline is not cleaned:\n%s", b.String())
	}
}
