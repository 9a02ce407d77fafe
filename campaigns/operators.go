package campaigns

import (
	"context"
	"time"
)

// What the runner needs from the ACD.
//
// Campaigns are queues of kind "outbound" in the ACD, which owns the
// operators, their states (acd.State) and their session legs. A campaign's
// runner reads the operators it may use through Operators, to give the
// pacer its State; connecting an answered call onto an operator's session
// leg is the dialer's business with the ACD (the planned
// (*dialer.Server).ConnectAgent), and the runner only learns how it went.
// The ACD implements this interface; campaigns does not import it.

// Operators is the ACD's view of a campaign's operators.
type Operators interface {
	// Agents appends to dst the operators assigned to campaign who are
	// logged in (ready, reserved, talking, wrap_up, paused: the pacer
	// counts what it may), each with its time in state and whether it is
	// on an inbound call, and returns the extended slice. It must not
	// block on I/O: the runner calls it several times a second.
	Agents(campaign string, dst []Agent) []Agent
	// Inbound returns the inbound queues the campaign's operators also
	// serve (blending), merged into one, or nil when they serve none.
	Inbound(campaign string) *Inbound
}

// Holder is implemented by Operators that can reserve an operator for a
// call placed at the operator's request (a preview dial, a callback the
// operator owns), so that no other call takes them while it rings and the
// answer reaches them at once.
type Holder interface {
	// Hold reserves agent for attempt for at most lease; it fails when the
	// agent is not working or is on a call.
	Hold(agent, attempt string, lease time.Duration) error
	// Release ends the hold (a no-op once the call reached the agent).
	Release(agent, attempt string)
}

// OperatorsFunc adapts two functions to Operators (tests, the simulator).
type OperatorsFunc struct {
	AgentsFunc  func(campaign string, dst []Agent) []Agent
	InboundFunc func(campaign string) *Inbound
}

// Agents calls AgentsFunc (none when nil).
func (f OperatorsFunc) Agents(campaign string, dst []Agent) []Agent {
	if f.AgentsFunc == nil {
		return dst
	}
	return f.AgentsFunc(campaign, dst)
}

// Inbound calls InboundFunc (nil when nil).
func (f OperatorsFunc) Inbound(campaign string) *Inbound {
	if f.InboundFunc == nil {
		return nil
	}
	return f.InboundFunc(campaign)
}

// Handoff is the dialer's side of connecting a live answer: it offers the
// answered call of an attempt to a ready operator of the campaign and
// returns the operator's login once the call is on their session leg, or
// an error when nobody took it within grace (the call is then abandoned:
// the safe-harbor message plays and the attempt ends as abandoned).
type Handoff interface {
	Connect(ctx context.Context, campaign, attempt string, grace time.Duration) (agent string, err error)
}
