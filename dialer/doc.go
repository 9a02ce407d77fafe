// Package dialer owns SIP signalling: listeners, the registrar for agents'
// softphones, inbound routing, outbound legs, and the life cycle of every
// call leg. It uses diago/sipgo for transactions and dialogs and hands all
// media to package media.
//
// # Who does what
//
// diago (over sipgo) runs the UDP and TCP listeners, transactions, dialogs,
// OPTIONS, CANCEL and BYE. It can only negotiate media for RTP sockets it
// creates itself, so the dialer does SDP offer/answer on its own (sdp.go:
// pion/sdp to parse, a fixed golden-tested form to write) and starts
// media legs from the engine's port allocator on the negotiated address.
// A request middleware (Server.middleware) sees every request before
// diago: it counts SIP traffic, refuses new INVITEs with 503 while
// draining or at capacity, answers re-INVITEs for our legs (hold, unhold,
// a new address or codec; RFC 3264 §8), and hands the SDP of an ACK that
// completes a delayed offer to the waiting call.
//
// # Inbound calls
//
// serveInvite runs one call from INVITE to its record: the called number
// picks a route (config.Route): echo, playback, menu (DTMF with barge-in)
// or dial. A dial route answers the caller only when the far end answers
// (or sends early media, which is bridged and answered with 183) and
// passes the far end's failure code back. The handler sends BYE itself
// before it returns, so Drain and Close, which wait for handlers, never
// cut a BYE off. Calls are hung up after calls.max_duration, when the
// caller's RTP stops for calls.rtp_timeout (not on hold), or by Drain.
// Every call that reaches serveInvite leaves a journal.CallRecord, the
// ones it refuses included (404, 400, 488, 503 for lack of media ports
// with Retry-After 1–5 s, a failed far leg). INVITEs turned away before a
// call exists leave none: 503 while draining (Retry-After 30), at
// calls.max_concurrent (1–5), over calls.max_setup_rate new calls a second
// in all (1–5) or over calls.invite_rate (5), and the other
// per-source limits; they are counted in obzvon_sip_responses_total,
// so a flood of INVITEs costs no journal writes.
//
// # Outbound legs
//
// Server.Dial places an INVITE to a SIP URI or to "reg:USER" (the newest
// registered contact of USER, sent to the address its REGISTER came
// from), follows 180/183 (early media starts the leg), keeps waiting past
// sipgo's 11-response limit, CANCELs at the ring timeout, and returns a
// *DialError with the final SIP code when the attempt fails.
//
// # Encrypted transport
//
// SIP over TLS (tls.go) is a third listener on sip.tls_port with a
// certificate from files (re-read when they change); client certificates
// may be required of trunks. A phone registered over TLS is called back
// over its own TLS connection; after a restart, at its Contact if that
// listens, else 480 (restored.go). SRTP keyed by SDES (srtp.go): RTP/SAVP
// offers are answered with our own key when rtp.srtp allows it for the
// transport the INVITE came over, and refused with 488 otherwise; dial
// routes and trunks with srtp = true offer it, and legs to phones
// registered over TLS prefer it (Dial). Both are off by default.
//
// # Registrar
//
// Registrar authenticates REGISTER with digest (RFC 3261 §22, RFC 7616,
// RFC 8760: qop=auth, MD5 and optionally SHA-256, stateless HMAC nonces
// with expiry and nonce-count replay protection) against the accounts'
// HA1s, and keeps bindings with expiry (RFC 3261 §10.3).
package dialer
