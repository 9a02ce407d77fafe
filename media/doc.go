// Package media is the in-process media engine: RTP legs, the switch that
// connects them, G.711 transcoding, prompt playback, DTMF, recording, RTP
// statistics, supervision (listen, whisper, barge) and answering-machine
// detection. It imports no other package of obzvon.
//
// # Legs and threads
//
// An Engine owns a port range. Engine.NewLeg takes the next even port from
// its own allocator (a cursor that wraps round the range, skipping pairs
// that fail to bind), binds RTP on it and reserves port+1 for RTCP (bound,
// never read, with a minimal receive buffer). Whoever reads a leg's socket
// does everything a packet needs right there: parse, statistics (RFC 3550
// A.1, A.3, A.8), DTMF, recording and the forward through the switch.
// There are no queues and no re-pacing on the forwarding path; the added
// delay is one read-to-write pass, measured in a histogram
// (Engine.ForwardDelay).
//
// Two readers exist (EngineConfig.Workers). By default on Linux, legs' raw
// non-blocking sockets are spread over GOMAXPROCS epoll sets, each drained
// by one goroutine that the runtime's poller wakes when any of its sockets
// has data: one wake-up per batch instead of one per packet, and sockets
// not armed for EPOLLOUT, so a send does not wake the poller either. With
// Workers = -1 (and off Linux) each leg has its own goroutine reading
// through the runtime's network poller. Either way sends go straight to
// sendto(2) (a raw syscall on the non-blocking socket), serialised with
// Close by the leg's send lock, and recordings are written by a goroutine
// per recorder, so no reader ever waits for the disk.
//
// # The switch
//
// Engine.Connect bridges two legs: audio payloads pass untouched when the
// codecs match and through a 256-entry table when one side is PCMU and the
// other PCMA; RFC 4733 events pass as events with the receiving leg's
// payload type (and are dropped when it negotiated none). Other payload
// types (comfort noise, say) are dropped. Every leg sends one RTP stream
// with its own SSRC whose sequence numbers and timestamps stay continuous
// when the source changes — a new SSRC from the peer, a prompt, a new
// bridge — with the marker bit set on the first packet of a new source.
// The 12-byte header is written in place in the receive buffer, so a
// forwarded packet is not copied.
//
// # Supervision: listen, whisper, barge
//
// Engine.Supervise joins a supervisor's leg to a bridge (customer a,
// operator b) in a SuperviseMode; Supervision.SetMode changes it, Stop
// ends it. A supervised leg's sink carries a route: besides (or instead
// of) the direct forward, its audio is decoded into the jitter buffers of
// the mixers of the outputs that carry it. An output that carries one
// party stays on the direct path (listen: a and b hear each other
// directly; whisper: the customer hears the operator directly); one that
// carries two is a mixer: every 20 ms, on the supervision's clock
// goroutine, it pops a frame from each input's jitter buffer, sums them
// with saturation, encodes the sum in the receiving leg's codec and sends
// it as a stream of its own. The jitter buffers add 10-20 ms on average
// (at most about 40 ms), adapt to the lateness of the last second, and a
// gap plays as silence (mix.go).
// RFC 4733 events from the customer or the operator reach the other on
// whichever stream it hears (remapped onto a mixer's stream and clock when
// it hears a mix); the supervisor's events are only reported on its own
// Leg.DTMF. The recording is the bridge's: a left, b right, the supervisor
// never. Stop, Bridge.Disconnect or the close of any of the three legs
// puts the bridge's own sinks back, so the two-party path is again the
// no-copy forward, at its cost (BenchmarkForwardAfterSupervision).
//
// # Answering-machine detection
//
// Engine.DetectMachine taps a leg's received audio (a pointer on the leg,
// nil unless a detection runs: one load per packet on the two-party path)
// and feeds 20 ms frames to a detector of energy, cadence and tones (the
// method is described in amd.go): a short greeting followed by silence
// is a person, a long or wordy greeting or a beep after speech is a
// machine, silence, noise and ringback are unknown. The tap copies what
// it needs before the switch converts the payload, so the leg's bridge,
// recording and prompts go on untouched. Frames are placed by RTP
// timestamp; time without packets counts as silence. The result carries
// the verdict, the decision time and the rule that decided, what the
// AMD metrics and the call record need. DetectMachineIn runs the same
// detector over samples (a recording); scripts/make-amd-set.sh makes the
// labelled Russian set that TestAMDAccuracy measures it on.
//
// # Remote address (symmetric RTP)
//
// A leg sends to the address negotiated in SDP. Within the first 10
// packets after Start or Update, the first packet from another address
// moves the remote there, once (a peer behind NAT whose SDP shows a private
// address). After that window the socket is connect(2)ed to the remote:
// the kernel then drops packets from anyone else and sends skip the
// per-packet route lookup. Update disconnects it when the remote changes.
//
// # Recording
//
// A Recorder writes one stereo WAV (8 kHz, 16-bit): left the first leg's
// received audio, right the other's. Each channel's RTP timestamps are
// anchored at its first packet's arrival, so the channels line up and lost
// packets become silence. Audio collects in a one-second ring and goes to
// the file in half-second chunks, each followed by a header patch, so the
// file always parses and a crash loses about the last second. The file
// writes are done by a goroutine per recorder: a slow disk never stalls
// forwarding; if it falls about four seconds behind, audio is dropped as
// silence and Close reports ErrRecordingIncomplete. Long silences (both
// sides on hold) extend the file without writing it (a sparse hole).
//
// # SRTP
//
// A leg started with LegParams.SRTP speaks SRTP (RFC 3711) with the SDES
// suites AES_CM_128_HMAC_SHA1_80 and _32 (srtp.go). Its reader checks
// each packet's tag and the replay window (64 packets per SSRC, up to 4
// SSRCs) and decrypts the payload in place before anything else sees it,
// so statistics, remote learning, DTMF, the recorder and the switch all
// work on authenticated plaintext; a failed packet is dropped and counted
// (Stats.SRTPAuthFailed, SRTPReplayed; Counters). Sends are encrypted
// into a per-leg buffer under the send lock, after the header rewrite, so
// the switch still forwards without copying on plain legs and a packet
// can go from an SRTP leg to a plain one and back. The keys, the AES and
// HMAC states and the buffers are made once per leg and direction at
// Start (or Update with new keys): no allocation per packet. The cost per
// packet is in BenchmarkForwardSRTP and BenchmarkSRTPTransform. RTCP is
// neither read nor sent, so SRTCP is not implemented.
//
// # Prompts and DTMF
//
// LoadPrompt decodes a WAV once into 20 ms frames for both codecs;
// Engine.Play paces them by the clock. Digits arrive on Leg.DTMF: from RFC
// 4733 events when telephone-event was negotiated, else from a Goertzel
// detector on the decoded audio (about 1 µs per 20 ms frame, so it runs
// only once DTMF has been called).
package media
