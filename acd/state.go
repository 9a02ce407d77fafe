package acd

import (
	"errors"
	"fmt"
)

// State is what an operator (agent) is doing, as the ACD sees it. It is the
// one definition of agent state in obzvon: the campaign pacer reads it too.
//
// The transitions (agent.go) are:
//
//	logged_out → ready            start of work (the session leg is up)
//	ready      → reserved         a call is offered (a lease with a deadline)
//	reserved   → talking          the call is connected to the operator
//	reserved   → ready | paused   the offer failed or the lease expired
//	talking    → wrap_up          the call ended (wrap-up time of its queue)
//	wrap_up    → ready            wrap-up time over, or the operator is done
//	any        → paused           pause with a reason (a call in progress ends first)
//	paused     → ready
//	any        → logged_out       end of work, or the operator's phone went away
type State int

// Agent states.
const (
	// StateUnknown is the zero value; no agent is ever in it.
	StateUnknown State = iota
	// StateLoggedOut: not working; no call is offered.
	StateLoggedOut
	// StateReady: working and idle, waiting for a call.
	StateReady
	// StateReserved: a call has been offered and is being connected; the
	// reservation is a lease that ends by itself at its deadline.
	StateReserved
	// StateTalking: on a call.
	StateTalking
	// StateWrapUp: after a call, finishing its paperwork; no call is
	// offered until the wrap-up time is over or the operator is done.
	StateWrapUp
	// StatePaused: working but not taking calls, with a reason (обед,
	// обучение, техперерыв, "не отвечает" after an unanswered offer).
	StatePaused
)

var stateNames = [...]string{"unknown", "logged_out", "ready", "reserved", "talking", "wrap_up", "paused"}

// States lists every state but StateUnknown, in order.
var States = []State{StateLoggedOut, StateReady, StateReserved, StateTalking, StateWrapUp, StatePaused}

// ErrBadState reports an unknown state name.
var ErrBadState = errors.New("unknown agent state")

// String returns the state's name, as used in the API, the journal and
// metric labels.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}

// ParseState parses a state name as printed by String.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if i > 0 && n == name {
			return State(i), nil
		}
	}
	return StateUnknown, fmt.Errorf("agent state %q: %w", name, ErrBadState)
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state name.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Working reports whether the agent is logged in (any state but
// logged_out and unknown).
func (s State) Working() bool { return s > StateLoggedOut && s <= StatePaused }

// Busy reports whether the agent holds a call: reserved for one or
// talking.
func (s State) Busy() bool { return s == StateReserved || s == StateTalking }
