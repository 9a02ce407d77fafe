package journal

import (
	"context"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// LegRecord is one leg of a call: the caller's, the callee's or the agent's.
type LegRecord struct {
	// Role is "caller", "callee" or "agent".
	Role string `json:"role"`
	// CallID is the SIP Call-ID of the leg.
	CallID    string `json:"call_id,omitempty"`
	RemoteURI string `json:"remote_uri,omitempty"`
	Codec     string `json:"codec,omitempty"`
	// SIPCode is the final response code of the leg (200 when answered).
	SIPCode  int       `json:"sip_code,omitempty"`
	Answered time.Time `json:"answered,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	// RTP statistics of the leg.
	PacketsIn    uint64  `json:"packets_in,omitempty"`
	PacketsOut   uint64  `json:"packets_out,omitempty"`
	PacketsLost  uint64  `json:"packets_lost,omitempty"`
	JitterMillis float64 `json:"jitter_ms,omitempty"`
}

// CallRecord is the call detail record of one call.
type CallRecord struct {
	V int `json:"v"`
	// ID is time-ordered (ULID-like); PutCall assigns it when empty.
	ID string `json:"id"`
	// Direction is "inbound" or "outbound".
	Direction string `json:"direction"`
	// Route is the inbound route, or the campaign of an outbound call.
	Route    string    `json:"route,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Arrived  time.Time `json:"arrived"`
	Answered time.Time `json:"answered,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	// HangupBy is "caller", "callee", "agent" (the operator ended it from
	// the desktop) or "system".
	HangupBy string `json:"hangup_by,omitempty"`
	SIPCode  int    `json:"sip_code,omitempty"`
	Codec    string `json:"codec,omitempty"`
	// Recording is the path of the recording file, if any.
	Recording string      `json:"recording,omitempty"`
	Legs      []LegRecord `json:"legs,omitempty"`

	// Queue is the first queue the call entered (inbound ACD), and
	// QueueEntered when.
	Queue        string    `json:"queue,omitempty"`
	QueueEntered time.Time `json:"queue_entered,omitzero"`
	// QueueResult is how the call left the queues: answered, abandoned,
	// timeout, full, callback, overflow (message) or transferred.
	QueueResult string `json:"queue_result,omitempty"`
	// WaitMillis is the time from entering the first queue until the
	// first operator was connected, or until the call left unanswered.
	WaitMillis int64 `json:"wait_ms,omitempty"`
	// Agents are the operators the call was connected to, in order.
	Agents []AgentSpan `json:"agents,omitempty"`
	// Transfers is the chain of transfers (and overflows) of the call.
	Transfers []Transfer `json:"transfers,omitempty"`
	// Appeal is the appeal registered for the call, if any.
	Appeal string `json:"appeal,omitempty"`
}

// AgentSpan is one operator's part of a call.
type AgentSpan struct {
	Login     string    `json:"login"`
	Queue     string    `json:"queue,omitempty"`
	Connected time.Time `json:"connected"`
	Ended     time.Time `json:"ended,omitzero"`
	// How the span ended: "caller", "agent", "transfer", "agent gone"
	// (the phone dropped; the call went back to the queue), "system".
	EndedBy string `json:"ended_by,omitempty"`
}

// Transfer is one move of a call to another target.
type Transfer struct {
	At time.Time `json:"at"`
	// By is the operator who transferred, or "overflow".
	By string `json:"by"`
	// To is "queue:NAME", an extension, an external number.
	To string `json:"to"`
	// Mode is "blind", "attended" or "overflow".
	Mode string `json:"mode"`
}

const (
	kindCall       = "call"
	callVersion    = 1
	idxCallArrived = "call_arrived"
)

func init() { registerKind[CallRecord](kindCall) }

func (c *CallRecord) kind() string { return kindCall }
func (c *CallRecord) id() string   { return c.ID }
func (c *CallRecord) setVersion()  { c.V = callVersion }
func (c *CallRecord) indexKeys() [][]byte {
	return [][]byte{ikey(idxCallArrived, be64(c.Arrived), []byte(c.ID))}
}

// Validate checks the fields a call record must have.
func (c *CallRecord) Validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("call %s: %w: %s %s", c.ID, ErrInvalid, field, why)
	}
	switch c.Direction {
	case "inbound", "outbound":
	default:
		return bad("direction", fmt.Sprintf("%q is not inbound or outbound", c.Direction))
	}
	if c.Arrived.IsZero() {
		return bad("arrived", "is empty")
	}
	switch c.HangupBy {
	case "", "caller", "callee", "agent", "system":
	default:
		return bad("hangup_by", fmt.Sprintf("%q is not caller, callee, agent or system", c.HangupBy))
	}
	for i, l := range c.Legs {
		switch l.Role {
		case "caller", "callee", "agent":
		default:
			return bad(fmt.Sprintf("legs[%d].role", i), fmt.Sprintf("%q is not caller, callee or agent", l.Role))
		}
	}
	return nil
}

// PutCall stores c durably (synced when the journal syncs writes),
// assigning c.ID when it is empty. Putting a record with an existing ID
// replaces it and moves its time index.
func (j *Journal) PutCall(ctx context.Context, c *CallRecord) error {
	if c.ID == "" {
		c.ID = j.ids.next(c.Arrived)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	cp := *c
	err := j.update(ctx, func(txn *badger.Txn) error { return save(txn, &cp) })
	if err != nil {
		return fmt.Errorf("put call %s: %w", c.ID, err)
	}
	c.V = cp.V
	return nil
}

// Call returns the call record with the given id.
func (j *Journal) Call(ctx context.Context, id string) (*CallRecord, error) {
	var c CallRecord
	err := j.view(ctx, func(txn *badger.Txn) error { return getJSON(txn, recordKey(kindCall, id), &c) })
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", id, err)
	}
	return &c, nil
}

// Calls returns the calls that arrived in [from, to), oldest first.
// A zero from or to leaves that end open.
func (j *Journal) Calls(ctx context.Context, from, to time.Time) ([]CallRecord, error) {
	var out []CallRecord
	prefix := ikey(idxCallArrived)
	var end []byte
	if !to.IsZero() {
		end = ikey(idxCallArrived, be64(to))
	}
	err := j.view(ctx, func(txn *badger.Txn) error {
		return scanIndex(txn, prefix, ikey(idxCallArrived, be64(from)), false, func(k, pk []byte) (bool, error) {
			if end != nil && string(k) >= string(end) {
				return false, nil
			}
			var c CallRecord
			if err := getJSON(txn, pk, &c); err != nil {
				return false, fmt.Errorf("index %q: %w", k, err)
			}
			out = append(out, c)
			return true, ctx.Err()
		})
	})
	if err != nil {
		return nil, fmt.Errorf("calls: %w", err)
	}
	return out, nil
}

// ReadCalls returns the call records that arrived in [from, to) for who,
// and audits the read durably (call records hold callers' numbers: personal
// data under 152-FZ). Roles that may not read calls get ErrDenied.
func (j *Journal) ReadCalls(ctx context.Context, who Actor, from, to time.Time) ([]CallRecord, error) {
	if !Allowed(who.Role, ActionRead, ResourceCall) {
		return nil, fmt.Errorf("read calls: %w: role %s", ErrDenied, who.Role)
	}
	calls, err := j.Calls(ctx, from, to)
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("%s to %s, %d records", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), len(calls))
	if err := j.auditRead(ctx, who, "read", "calls:", "", detail); err != nil {
		return nil, err
	}
	return calls, nil
}
