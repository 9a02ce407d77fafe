// Package campaigns holds outbound campaigns: contacts, calling rules,
// retries, callbacks and the pacing algorithms. It is pure Go with an
// injected clock and no sockets: every function takes the time it decides
// at, so the same code runs in the dialer and in the simulator.
//
// # Pacing
//
// A Pacer answers, several times a second, how many calls a campaign starts
// now (Pacer.Decide) from a State: the agents it may use with their time in
// state, the calls in flight with their ring time, live answers waiting for
// an agent, the campaign's Estimates (live-answer probability, ring time to
// answer, talk and wrap-up times, learned online from priors), its
// abandonment today and over 30 days (AbandonLedger), trunk limits and, when
// it blends, the inbound queue. Estimates save and restore as JSON so that
// a restarted campaign does not start cold. Modes: preview, progressive, ratio,
// predictive and agentless. The predictive mode adds calls while the next
// one, if answered live, would find an agent within the grace period with
// probability at least 1-alpha; alpha follows the measured abandonment
// around a setpoint below the target, and the mode runs progressive on
// cold start and once the day's or the 30 days' budget is spent.
//
// # Calling rules
//
// Rules.Check says whether a contact may be dialed now, and if not why
// (Block) and from when: calling windows per weekday in the contact's zone
// (Russian fixed zones, any IANA zone), holidays, attempt caps, retry delays
// by result, the no-redial period after an abandoned call, scheduled
// callbacks (owned or for anyone, with a deadline) and DNC.
//
// # Simulator
//
// Simulate runs a discrete-event campaign day on a virtual clock that calls
// the production Pacer with a State built as the dialer builds it.
// SimulateSeeds runs several days; `obzvon simulate` and `make bench-pacing`
// print the benchmark grid.
package campaigns
