// Package campaigns holds outbound campaigns: contacts, calling rules,
// retries, callbacks and the pacing algorithms. It is pure Go with an
// injected clock and no sockets.
package campaigns
