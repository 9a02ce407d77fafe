// Package acd is the automatic call distributor as pure logic on an
// injected clock, with no sockets: agents (operators) and their states,
// the queues of waiting calls (inbound queues, and campaigns as queues of
// kind outbound), the routing that offers calls to agents, and the
// reports and Erlang models built on them. The dialer connects the calls
// it offers and reports back.
//
// # Agents
//
// State is the one definition of an agent's state in obzvon (the
// campaign pacer reads it too): logged_out, ready, reserved, talking,
// wrap_up, paused. ACD.Login starts an agent's work, Logout and AgentGone
// end it (AgentGone puts a call the agent had back at the head of its
// queue), Pause and Ready take an agent out and back, ExtendWrapUp gives
// more time after a call. An offer reserves the agent with a lease (5 s on
// a session leg, the ring timeout and a margin in ring mode): Tick makes a
// lapsed lease fail as unanswered, so no state stays stuck after a lost
// message.
//
// # Calls and routing
//
// Enqueue puts a call (Entry) in its queue and returns a Ticket whose
// Notices bring offers and revocations. Calls are considered in order of
// queue priority (inbound before campaigns), call priority and place; for
// each, the eligible ready agents are members of its queue (or the one
// agent a transfer names), level-2 members only after the queue's
// Level2After, no ring-mode agent for a campaign's live answer; among
// those of the lowest penalty the queue's Strategy picks one: longest
// idle, round robin, fewest calls, random. Connected, OfferFailed,
// Hangup, Leave, TransferOut and CompleteTransfer report what happened to
// an offered or connected call.
//
// # Events, figures and reports
//
// Every change is an Event given to the EventSink in order (the dialer
// writes them to the journal's append-only stream "acd"). Snapshot gives
// the agents and the queues' figures of the day (QueueCounters, service
// level, wait estimate from EstimateWait); BuildReport computes the queue
// reports per interval from the events alone, and WriteQueueLog exports
// them in Asterisk's queue_log format.
//
// # Staffing
//
// ErlangC, EvaluateA and AgentsForTarget… are the Erlang C and A models
// used by `obzvon plan` and by the pacer's blending (Queue describes a
// queue's traffic for them).
package acd
