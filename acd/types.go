package acd

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of the ACD. Callers test them with errors.Is.
var (
	// ErrUnknownAgent: no agent with that login is known (never logged in).
	ErrUnknownAgent = errors.New("unknown agent")
	// ErrNotWorking: the agent is logged out.
	ErrNotWorking = errors.New("agent is not working")
	// ErrAlreadyWorking: Login for an agent already logged in.
	ErrAlreadyWorking = errors.New("agent is already working")
	// ErrBadMove: the agent's state does not allow the change asked for.
	ErrBadMove = errors.New("agent state does not allow this")
	// ErrBadReason: a pause reason not in the configured list.
	ErrBadReason = errors.New("unknown pause reason")
	// ErrUnknownQueue: no queue with that name is configured.
	ErrUnknownQueue = errors.New("unknown queue")
	// ErrQueueFull: the queue holds its maximum number of callers.
	ErrQueueFull = errors.New("queue is full")
	// ErrUnknownEntry: no waiting or connected call with that id.
	ErrUnknownEntry = errors.New("unknown call")
	// ErrDuplicateEntry: a call with that id is already in the ACD.
	ErrDuplicateEntry = errors.New("call is already queued")
	// ErrStaleOffer: the offer was withdrawn (lease expired, agent gone or
	// the caller left) before it was answered.
	ErrStaleOffer = errors.New("offer is no longer valid")
)

// Delivery is how calls reach an agent's phone.
type Delivery int

// Deliveries.
const (
	// DeliveryUnknown is the zero value; Login refuses it.
	DeliveryUnknown Delivery = iota
	// DeliverySession: "start work" calls the phone once and keeps that
	// leg up; each customer is switched onto it in the media engine (no
	// ringing, connect in milliseconds).
	DeliverySession
	// DeliveryRing: each customer call rings the phone; no answer within
	// the ring timeout puts the agent in a "не отвечает" pause.
	DeliveryRing
)

var deliveryNames = [...]string{"unknown", "session", "ring"}

// String returns "session", "ring" or "unknown".
func (d Delivery) String() string {
	if d < 0 || int(d) >= len(deliveryNames) {
		return "unknown"
	}
	return deliveryNames[d]
}

// ParseDelivery parses a delivery name.
func ParseDelivery(s string) (Delivery, error) {
	for i, n := range deliveryNames {
		if i > 0 && n == s {
			return Delivery(i), nil
		}
	}
	return DeliveryUnknown, fmt.Errorf("delivery %q: want session or ring", s)
}

// MarshalText writes the delivery's name.
func (d Delivery) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a delivery name.
func (d *Delivery) UnmarshalText(b []byte) error {
	v, err := ParseDelivery(string(b))
	*d = v
	return err
}

// Strategy picks one of several ready agents for a call.
type Strategy int

// Strategies (the administrator sets one per queue).
const (
	// StrategyUnknown is the zero value; a queue config without a
	// strategy gets StrategyLongestIdle.
	StrategyUnknown Strategy = iota
	// StrategyLongestIdle: the agent idle (ready) the longest since the
	// end of its last call or the start of work.
	StrategyLongestIdle
	// StrategyRoundRobin: agents in turn by login, remembering per queue
	// who took the last call.
	StrategyRoundRobin
	// StrategyFewestCalls: the agent with the fewest calls taken today;
	// ties go to the longest idle.
	StrategyFewestCalls
	// StrategyRandom: any ready agent, uniformly.
	StrategyRandom
)

var strategyNames = [...]string{"unknown", "longest_idle", "round_robin", "fewest_calls", "random"}

// Strategies lists the strategies but StrategyUnknown.
var Strategies = []Strategy{StrategyLongestIdle, StrategyRoundRobin, StrategyFewestCalls, StrategyRandom}

// String returns the strategy's configuration name.
func (s Strategy) String() string {
	if s < 0 || int(s) >= len(strategyNames) {
		return "unknown"
	}
	return strategyNames[s]
}

// ParseStrategy parses a strategy's configuration name.
func ParseStrategy(s string) (Strategy, error) {
	for i, n := range strategyNames {
		if i > 0 && n == s {
			return Strategy(i), nil
		}
	}
	return StrategyUnknown, fmt.Errorf("strategy %q: want longest_idle, round_robin, fewest_calls or random", s)
}

// QueueKind tells inbound queues from outbound campaigns: both are queues
// of the ACD, so that operators in both take either kind of call
// (blending).
type QueueKind int

// Queue kinds.
const (
	// KindInbound: callers who dialed in and wait.
	KindInbound QueueKind = iota
	// KindOutbound: a campaign's answered calls, which wait at most the
	// abandon grace (2 s) before the safe-harbor message.
	KindOutbound
)

// String returns "inbound" or "outbound".
func (k QueueKind) String() string {
	if k == KindOutbound {
		return "outbound"
	}
	return "inbound"
}

// QueueConfig is one queue's routing rules.
type QueueConfig struct {
	// Name identifies the queue (route targets, account skills, metrics).
	Name string
	// Kind is inbound (default) or outbound (a campaign).
	Kind QueueKind
	// Strategy picks among ready agents (default longest idle).
	Strategy Strategy
	// Priority orders queues for an agent who serves several: a higher
	// priority's callers are offered first. Inbound queues come before
	// campaigns by default (see DefaultPriority).
	Priority int
	// WrapUp is the agent's wrap-up time after a call of this queue.
	WrapUp time.Duration
	// Level2After makes level-2 members eligible only for callers who
	// have waited this long (tiers: level 1 first). Zero: no tiers.
	Level2After time.Duration
	// MaxLen caps waiting callers (0: no cap); Enqueue then returns
	// ErrQueueFull and the caller goes to the queue's overflow.
	MaxLen int
	// SLThreshold is the service-level answer time (e.g. 20 s of 80/20).
	SLThreshold time.Duration
	// SLTarget is the service-level objective (e.g. 0.8 of 80/20), for
	// blending: the campaign pacer keeps enough operators for it.
	SLTarget float64
}

// DefaultPriority is the priority of queues whose config leaves it 0:
// inbound 100, outbound 0, so inbound goes first when blending.
func DefaultPriority(k QueueKind) int {
	if k == KindInbound {
		return 100
	}
	return 0
}

// Member is an agent's membership of a queue (a skill) with a penalty:
// among ready agents, those of the lowest penalty are chosen first.
type Member struct {
	Queue   string
	Penalty int
}

// AgentConfig is who an agent is, as the ACD needs it.
type AgentConfig struct {
	// Login is the account's login (the agent's identity).
	Login string
	// Extension is the account's internal number.
	Extension string
	// Level is 1 or 2 (level-2 operators and senior insurance
	// representatives); see QueueConfig.Level2After.
	Level int
	// Queues are the queues and campaigns the agent serves.
	Queues []Member
	// Delivery is how calls reach the agent's phone.
	Delivery Delivery
}

// Entry is a call to be connected to an agent: an inbound caller in a
// queue or an answered campaign call.
type Entry struct {
	// ID identifies the call (unique while it is in the ACD).
	ID string
	// Queue is the queue (or campaign) it waits in.
	Queue string
	// Priority orders callers within a queue: higher first (e.g. callers
	// with an open appeal).
	Priority int
	// Agent, when set, restricts the call to that agent (a transfer to an
	// extension).
	Agent string
	// Caller is the caller's number, passed on in offers and events.
	Caller string
	// Consult marks an operator's consultation call with another operator
	// (the first half of an attended transfer): it occupies the agent like
	// a call but does not count in the queue's figures.
	Consult bool
	// Answered marks a call an operator of this queue answered already
	// (a blind transfer to another operator of the same queue): it counts
	// once in the queue's figures, so it is not offered or answered again.
	Answered bool
	// OnOffer, if set, is the ticket's OnOffer from the start (an offer
	// made by Enqueue itself included).
	OnOffer func(Notice) `json:"-"`
}

// NoticeKind says what a Notice on a Ticket means.
type NoticeKind int

// Notices.
const (
	// NoticeOffer: an agent is reserved for the call; connect it, then
	// call Connected (or OfferFailed) before the lease deadline.
	NoticeOffer NoticeKind = iota + 1
	// NoticeRevoked: the offer or the connected agent is gone (lease
	// expired, the agent's phone dropped, the agent logged out); the call
	// is back in its queue at its place, or at the head when it was
	// connected. Keep waiting.
	NoticeRevoked
)

// Notice is what a waiting call hears from the ACD.
type Notice struct {
	Kind NoticeKind
	// Agent is the agent offered (or revoked).
	Agent string
	// Extension and Delivery describe the agent's phone.
	Extension string
	Delivery  Delivery
	// Deadline is the offer's lease: connect before it.
	Deadline time.Time
	// At is when the offer was decided.
	At time.Time
}

// FailCause says why an offer was not connected.
type FailCause int

// Offer failures.
const (
	// FailError: the connect failed on our side; the agent stays ready.
	FailError FailCause = iota + 1
	// FailNoAnswer: the agent's phone rang out or was busy; the agent
	// goes to the "не отвечает" pause.
	FailNoAnswer
	// FailAgentGone: the agent's phone is gone; the agent is logged out.
	FailAgentGone
)

// Outcome is how a call left its queue without being connected, or how
// a connected call ended.
type Outcome int

// Outcomes.
const (
	OutcomeUnknown Outcome = iota
	// OutcomeAbandoned: the caller hung up while waiting.
	OutcomeAbandoned
	// OutcomeTimeout: the queue's maximum wait passed (overflow).
	OutcomeTimeout
	// OutcomeFull: the queue was full on entry (overflow).
	OutcomeFull
	// OutcomeCompleted: a connected call ended normally.
	OutcomeCompleted
	// OutcomeTransferred: the call was transferred away.
	OutcomeTransferred
)

var outcomeNames = [...]string{"unknown", "abandoned", "timeout", "full", "completed", "transferred"}

// String returns the outcome's name (metrics' result label).
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "unknown"
	}
	return outcomeNames[o]
}

// PauseNoAnswer is the pause reason given to an agent whose phone did not
// answer an offered call.
const PauseNoAnswer = "не отвечает"
