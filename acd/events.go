package acd

import (
	"fmt"
	"time"
)

// EventKind is the kind of an ACD event. Every change of an agent's state
// and every step of a call through a queue is an event; the daemon writes
// them to the journal (append-only), and the queue reports are computed
// from them alone.
type EventKind int

// Event kinds.
const (
	EventUnknown EventKind = iota
	// EventAgentState: an agent changed state (Prev → State, Reason).
	EventAgentState
	// EventEnter: a call entered a queue (Position).
	EventEnter
	// EventOffer: a call was offered to an agent (reserved).
	EventOffer
	// EventNoAnswer: an offer failed (Reason says why); the call went back
	// to its place in the queue.
	EventNoAnswer
	// EventConnect: a call was connected to an agent after Wait.
	EventConnect
	// EventRequeue: a connected call lost its agent (phone gone) and went
	// back to the head of its queue.
	EventRequeue
	// EventAbandon: the caller hung up while waiting (Wait, Position).
	EventAbandon
	// EventTimeout: the call left after the queue's maximum wait (overflow).
	EventTimeout
	// EventFull: the call was refused by a full queue (overflow).
	EventFull
	// EventComplete: a connected call ended (Wait, Talk); Reason says who
	// hung up ("caller" or "agent").
	EventComplete
	// EventTransfer: a connected or waiting call was transferred away
	// (Reason names the target).
	EventTransfer
)

var eventNames = [...]string{"unknown", "agent_state", "enter", "offer", "no_answer", "connect", "requeue",
	"abandon", "timeout", "full", "complete", "transfer"}

// String returns the event kind's name as stored in the journal.
func (k EventKind) String() string {
	if k < 0 || int(k) >= len(eventNames) {
		return "unknown"
	}
	return eventNames[k]
}

// ParseEventKind parses an event kind's name.
func ParseEventKind(s string) (EventKind, error) {
	for i, n := range eventNames {
		if i > 0 && n == s {
			return EventKind(i), nil
		}
	}
	return EventUnknown, fmt.Errorf("acd event kind %q unknown", s)
}

// MarshalText writes the kind's name.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses the kind's name.
func (k *EventKind) UnmarshalText(b []byte) error {
	v, err := ParseEventKind(string(b))
	*k = v
	return err
}

// Event is one ACD event. Fields not relevant to the kind are zero.
type Event struct {
	Time  time.Time `json:"t"`
	Kind  EventKind `json:"kind"`
	Agent string    `json:"agent,omitempty"`
	Queue string    `json:"queue,omitempty"`
	// Call is the entry's id (the call id).
	Call string `json:"call,omitempty"`
	// State and Prev are an agent's new and old state.
	State State `json:"state,omitempty"`
	Prev  State `json:"prev,omitempty"`
	// Reason is a pause reason, why an offer failed, who hung up, or a
	// transfer target.
	Reason string `json:"reason,omitempty"`
	// Position is the caller's 1-based position in the queue (on enter:
	// the position taken; on abandon/timeout: the last position).
	Position int `json:"pos,omitempty"`
	// Wait is the time from entering the queue (the first time, for a
	// requeued call) to the event.
	Wait time.Duration `json:"wait,omitempty"`
	// Talk is the time connected, on complete and transfer.
	Talk time.Duration `json:"talk,omitempty"`
	// Kind of the queue (inbound or campaign), for reports.
	Outbound bool `json:"outbound,omitempty"`
	// Consult marks events of a consultation call between operators (not
	// a customer's call: reports skip it).
	Consult bool `json:"consult,omitempty"`
	// Again marks an enter, connect, abandon, timeout, full or transfer of
	// a call that an operator of this queue answered already (requeued
	// after its operator's phone went, transferred to another operator of
	// the queue, handed over by an attended transfer): the call counts
	// once in the queue's figures, so such events do not count again.
	Again bool `json:"again,omitempty"`
	// Queues are the queues an agent serves, on the agent_state event that
	// starts its work (reports count the agent's time for them).
	Queues []string `json:"queues,omitempty"`
}

// EventSink receives ACD events in order. Record is called with the
// ACD's lock held: it must not block and must not call back into the ACD
// (queue the event and return).
type EventSink interface {
	Record(Event)
}

// EventFunc adapts a function to EventSink.
type EventFunc func(Event)

// Record calls f(e).
func (f EventFunc) Record(e Event) { f(e) }
