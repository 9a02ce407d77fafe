// Package acd holds agents, their states, queues and routing strategies,
// and the Erlang C/A models used to plan staffing. It is pure Go with an
// injected clock and no sockets.
package acd
