// Package acd holds what the automatic call distribution has so far: the
// agent states (State) and the Erlang C/A models used to plan staffing
// (Queue describes a queue's traffic for them). Queues of waiting callers,
// routing strategies and the agents' life cycle come with the inbound ACD
// issue; until then the dialer routes inbound calls by number only. It is
// pure Go with an injected clock and no sockets.
package acd
