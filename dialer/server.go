package dialer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// Log attribute keys (STYLE.md: constants, never personal data).
const (
	attrCallID = "call_id"
	attrRoute  = "route"
	attrCode   = "code"
	// attrHint says, on every warning and error, what to do about it.
	attrHint = "hint"
)

// CallStore keeps call detail records. *journal.Journal implements it.
type CallStore interface {
	PutCall(ctx context.Context, c *journal.CallRecord) error
}

// Options configure a Server.
type Options struct {
	// Config is the validated configuration (SIP, calls, routes).
	Config *config.Config
	// Engine carries all media.
	Engine *media.Engine
	// Prompts are the loaded prompts by name; every prompt a route names
	// must be here.
	Prompts map[string]*media.Prompt
	// Calls receives a record of every call when it ends; nil keeps none.
	Calls CallStore
	// Credentials authenticates softphones that REGISTER; nil refuses
	// REGISTER with 405 (no registrar).
	Credentials Credentials
	// Metrics counts calls and SIP traffic; nil counts nothing.
	Metrics *metrics.Metrics
	// Desk runs the inbound ACD (operators' sessions and queue routes);
	// nil: queue routes answer with the busy prompt.
	Desk *DeskOptions
	// Logger; nil discards.
	Logger *slog.Logger
}

// Server is the SIP side of the appliance: it answers inbound calls,
// runs their routes and places outbound legs.
type Server struct {
	cfg     *config.Config
	engine  *media.Engine
	prompts map[string]*media.Prompt
	store   CallStore
	metrics *metrics.Metrics
	log     *slog.Logger

	ua   *sipgo.UserAgent
	dg   *diago.Diago
	reg  *Registrar
	desk *Desk

	tlsServer, tlsClient *tls.Config // SIP over TLS (tls.go); nil without TLS

	invites *inviteLimiter
	setups  *setupLimiter // calls.max_setup_rate, or nil
	tcp     *tcpLimits    // caps and timeouts of SIP over TCP
	tcpLn   net.Listener  // the real SIP TCP listener, served through tcp
	tlsLn   net.Listener  // the real SIP TLS listener (TCP), likewise
	trusted sync.Map      // inviteKey → time admitted: INVITEs admitInvite trusted

	draining atomic.Bool
	closed   atomic.Bool
	stop     context.CancelFunc
	handlers sync.WaitGroup

	probe atomic.Pointer[chan struct{}] // Ping's lock probe still waiting (heartbeat.go)

	mu    sync.Mutex
	calls map[string]*call        // by inbound dialog ID
	legs  map[string]*OutboundLeg // by outbound dialog ID
	seq   atomic.Uint64
}

// New checks the options and prepares a server; Start binds it.
func New(opts Options) (*Server, error) {
	if opts.Config == nil || opts.Engine == nil {
		return nil, errors.New("dialer: Config and Engine are required")
	}
	for _, name := range opts.Config.PromptNames() {
		if opts.Prompts[name] == nil {
			return nil, fmt.Errorf("dialer: prompt %q used by a route is not loaded", name)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tcp := newTCPLimits(opts.Config, log, opts.Metrics)
	var reg *Registrar
	if opts.Credentials != nil {
		store, _ := opts.Credentials.(BindingStore)
		reg = NewRegistrar(opts.Credentials, RegistrarOptions{
			Store:      store,
			Realm:      opts.Config.SIP.Realm,
			MinExpires: opts.Config.SIP.RegisterMinExpires.Duration,
			MaxExpires: opts.Config.SIP.RegisterMaxExpires.Duration,
			Algorithms: opts.Config.SIP.DigestAlgorithms,
			Metrics:    opts.Metrics,
			Logger:     log,
			OnBind: func(source, transport string, until time.Time) {
				if strings.EqualFold(transport, "tcp") {
					tcp.keepUntil(source, until.Add(30*time.Second))
				}
			},
		})
	}
	s := &Server{
		invites: newInviteLimiter(opts.Config, time.Now),
		setups:  newSetupLimiter(opts.Config.Calls.MaxSetupRate, time.Now),
		tcp:     tcp,
		reg:     reg,
		cfg:     opts.Config,
		engine:  opts.Engine,
		prompts: opts.Prompts,
		store:   opts.Calls,
		metrics: opts.Metrics,
		log:     log,
		calls:   map[string]*call{},
		legs:    map[string]*OutboundLeg{},
	}
	if opts.Desk != nil {
		if opts.Desk.Directory == nil {
			return nil, errors.New("dialer: Desk needs a Directory")
		}
		d, err := newDesk(s, *opts.Desk)
		if err != nil {
			return nil, fmt.Errorf("dialer: %w", err)
		}
		s.desk = d
	}
	return s, nil
}

// Desk is the operators' desk, nil without an ACD.
func (s *Server) Desk() *Desk { return s.desk }

// Start binds the SIP listeners and serves until Close. It returns once
// every transport is listening.
func (s *Server) Start(ctx context.Context) error {
	sc := s.cfg.SIP
	var err error
	if s.tlsServer, s.tlsClient, err = tlsConfigs(sc, s.log); err != nil {
		return fmt.Errorf("sip tls: %w", err)
	}
	// Before NewUA: sipgo's transports take the package's default logger
	// when they are made.
	sipLog := sipLibraryLogger(s.log)
	ua, err := sipgo.NewUA(append([]sipgo.UserAgentOption{sipgo.WithUserAgent(sc.UserAgent)}, s.uaOptions()...)...)
	if err != nil {
		return fmt.Errorf("sip user agent: %w", err)
	}
	s.ua = ua
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		ua.Close()
		return fmt.Errorf("sip server: %w", err)
	}
	if s.reg != nil {
		srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
			s.metrics.SIPRequest(req.Method.String())
			s.reg.Handle(req, &countingTx{ServerTransaction: tx, m: s.metrics})
		})
	}
	opts := []diago.DiagoOption{
		diago.WithServer(srv),
		diago.WithLogger(sipLog),
		diago.WithServerRequestMiddleware(s.middleware),
	}
	ext := sc.ExternalHost
	if ext == "" {
		ext = sc.Host
	}
	for _, t := range sc.Transports {
		tr := s.transportFor(t, ext)
		if t == "tcp" {
			// See tcplimit.go: we serve the real port through the caps;
			// diago's own TCP listener is on a loopback port nobody is told.
			ln, internal, err := listenTCPLimited(sc.Host, sc.Port)
			if err != nil {
				ua.Close()
				return fmt.Errorf("sip listen on tcp %s:%d: %w", sc.Host, sc.Port, err)
			}
			s.tcpLn = ln
			tr.BindHost, tr.BindPort = "127.0.0.1", internal
		}
		if t == "tls" {
			if err := s.listenTLSLimited(&tr); err != nil {
				ua.Close()
				return err
			}
		}
		opts = append(opts, diago.WithTransport(tr))
	}
	s.dg = diago.NewDiago(ua, opts...)
	if s.reg != nil {
		if n, err := s.reg.Restore(ctx); err != nil {
			s.log.Warn("stored registrations not restored", "error", err, attrHint, "phones are reachable again once they re-register (within their expiry); check the journal if it repeats")
		} else if n > 0 {
			s.log.Info("registrations restored", "bindings", n)
		}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	if err := s.dg.ServeBackground(sctx, s.serveInvite); err != nil {
		cancel()
		if s.tcpLn != nil {
			s.tcpLn.Close()
		}
		if s.tlsLn != nil {
			s.tlsLn.Close()
		}
		ua.Close()
		return fmt.Errorf("sip listen on %s:%d: %w", sc.Host, sc.Port, err)
	}
	if s.tcpLn != nil {
		go func() { _ = srv.ServeTCP(&limitedListener{Listener: s.tcpLn, l: s.tcp}) }()
		s.log.Info("sip tcp limits", "per_source", s.tcp.perSource, "max", s.tcp.global,
			"idle_timeout", s.tcp.idle.String(), "message_timeout", s.tcp.message.String())
	}
	if s.tlsLn != nil {
		go func() { _ = srv.ServeTLS(s.limitedTLS()) }()
	}
	s.waitUDPListener(sc)
	s.log.Info("sip listening", "host", sc.Host, "port", sc.Port, "transports", sc.Transports)
	if s.desk != nil {
		s.desk.start()
	}
	if s.reg != nil {
		go func() {
			t := time.NewTicker(30 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-sctx.Done():
					return
				case <-t.C:
					s.reg.Reap()
				}
			}
		}()
	}
	return nil
}

// waitUDPListener waits (at most 2 s) until sipgo has put the UDP
// listener's socket in its connection pool. sipgo reports a listener
// ready before it does that, and a request sent in between makes sipgo
// bind a second socket to the same address, which fails (EADDRINUSE) and
// loses the request: a call placed right after Start.
func (s *Server) waitUDPListener(sc config.SIP) {
	if !slices.Contains(sc.Transports, "udp") {
		return
	}
	addr := net.JoinHostPort(sc.Host, strconv.Itoa(sc.Port))
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := s.ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
	s.log.Warn("the SIP UDP listener did not show up in sipgo's connection pool", "addr", addr, attrHint, "the first SIP requests may be lost; restart if calls fail with 500")
}

// Registrar is the softphone registrar, nil when Options.Credentials
// was nil.
func (s *Server) Registrar() *Registrar { return s.reg }

// Active returns the number of calls in progress.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Draining reports whether Drain has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// Drain refuses new calls with 503 and waits for the active ones to end.
// When ctx is done first, it hangs up the rest with BYE and waits for
// their records to be written. It returns the number of calls it had to
// cut off.
func (s *Server) Drain(ctx context.Context) int {
	// Under s.mu so that no call handler can register after Wait starts.
	s.mu.Lock()
	s.draining.Store(true)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return 0
	case <-ctx.Done():
	}
	s.mu.Lock()
	cut := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		cut = append(cut, c)
	}
	s.mu.Unlock()
	for _, c := range cut {
		c.hangup(hangupSystem)
	}
	<-done
	return len(cut)
}

// Close stops the listeners and the user agent. Calls still up are cut
// off without waiting; use Drain first for a graceful stop. Close is
// idempotent and safe after a failed Start.
func (s *Server) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.mu.Lock()
	s.draining.Store(true)
	for _, c := range s.calls {
		c.hangup(hangupSystem)
	}
	s.mu.Unlock()
	s.handlers.Wait()
	if s.desk != nil {
		s.desk.close() // BYE to the session legs while the UA still runs
	}
	if s.stop != nil {
		s.stop()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	if s.tcpLn != nil {
		s.tcpLn.Close()
	}
	if s.ua != nil {
		return s.ua.Close()
	}
	return nil
}

// middleware sees every request before diago: it counts SIP traffic,
// refuses new INVITEs while draining, and handles re-INVITEs for our
// own media legs (diago can only renegotiate media it created itself).
func (s *Server) middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		s.metrics.SIPRequest(req.Method.String())
		tx = &countingTx{ServerTransaction: tx, m: s.metrics}
		if refuseInsecureSIPS(req, tx) {
			return
		}
		if req.IsAck() && len(req.Body()) > 0 {
			if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
				s.mu.Lock()
				c := s.calls[id]
				s.mu.Unlock()
				if c != nil {
					c.takeACK(req.Body())
				}
			}
		}
		if req.Method == sip.REFER && s.handleRefer(req, tx) {
			return
		}
		if req.IsInvite() {
			if to := req.To(); to != nil && to.Params != nil && to.Params.Has("tag") {
				s.reInvite(req, tx)
				return
			}
			if s.draining.Load() {
				s.metrics.CallRejected(metrics.RejectDraining)
				res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable (shutting down)", nil)
				res.AppendHeader(sip.NewHeader("Retry-After", "30"))
				_ = tx.Respond(res)
				return
			}
			if !s.admitInvite(req, tx) {
				return
			}
			if !s.setups.allow() {
				s.metrics.CallRejected(metrics.RejectSetupRate)
				res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable (setup rate)", nil)
				res.AppendHeader(retryAfterBusy())
				_ = tx.Respond(res)
				return
			}
			if max := s.cfg.MaxCalls(); s.Active() >= max {
				s.metrics.CallRejected(metrics.RejectCapacity)
				res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable (at capacity)", nil)
				res.AppendHeader(retryAfterBusy())
				_ = tx.Respond(res)
				return
			}
		}
		next(req, tx)
	}
}

// retryAfterBusy is the Retry-After of a 503 for want of capacity (calls
// or media ports): 1–5 s, spread so that refused callers do not all come
// back in the same second.
func retryAfterBusy() sip.Header {
	return sip.NewHeader("Retry-After", strconv.Itoa(1+rand.IntN(5)))
}

// countingTx counts the responses we send.
type countingTx struct {
	sip.ServerTransaction
	m *metrics.Metrics
}

func (t *countingTx) Respond(res *sip.Response) error {
	t.m.SIPResponse(res.StatusCode)
	return t.ServerTransaction.Respond(res)
}

// reInvite handles an in-dialog INVITE: hold, unhold, a new address or
// codec, or a session refresh (RFC 3261 §14.2, RFC 3264 §8).
func (s *Server) reInvite(req *sip.Request, tx sip.ServerTransaction) {
	s.mu.Lock()
	var target reinvitable
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if c, ok := s.calls[id]; ok {
			target = c
		}
	}
	if target == nil {
		if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
			if l, ok := s.legs[id]; ok {
				target = l
			}
		}
	}
	s.mu.Unlock()
	if target == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	target.handleReInvite(req, tx)
}

// reinvitable is a dialog whose media we renegotiate ourselves.
type reinvitable interface {
	handleReInvite(req *sip.Request, tx sip.ServerTransaction)
}

// renegotiate applies a re-INVITE's offer to a media leg and returns our
// answer. A body-less re-INVITE (RFC 3261 §14.1) gets our current
// description as an offer.
func renegotiate(req *sip.Request, leg *media.Leg, sess *sdpSession, cur *CodecPT, eventPT *uint8) (*sip.Response, error) {
	body := req.Body()
	if len(body) == 0 {
		dir := DirSendRecv
		b := sess.writeSDP(leg.LocalAddr(), []CodecPT{*cur}, *eventPT, dir)
		return sdpResponse(req, b), nil
	}
	off, err := ParseSDP(body)
	if err != nil {
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (malformed SDP)", nil), err
	}
	choice, err := off.Choose()
	if err != nil {
		return sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil), err
	}
	keys, err := reofferSRTP(sess.srtpMode, requestTransport(req), off, sess)
	if err != nil {
		return sip.NewResponseFromRequest(req, 488, reason488(err), nil), err
	}
	p := media.LegParams{Remote: off.Addr, Codec: choice.Codec, PayloadType: choice.PT, EventPT: off.EventPT, SRTP: keys}
	if !off.Addr.Addr().IsUnspecified() {
		if err := leg.Update(p); err != nil {
			return sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil), err
		}
	}
	leg.SetHold(!off.Direction.peerReceives())
	*cur, *eventPT = choice, off.EventPT
	b := sess.writeSDP(leg.LocalAddr(), []CodecPT{choice}, off.EventPT, off.Direction.answerTo())
	return sdpResponse(req, b), nil
}

func sdpResponse(req *sip.Request, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	return res
}

// newSession starts a fresh SDP session identity.
func (s *Server) newSession() *sdpSession {
	return &sdpSession{id: uint64(time.Now().Unix())<<16 | s.seq.Add(1)&0xffff, srtpMode: s.cfg.RTP.SRTP}
}

// release stops counting c as a call in progress (it is being refused);
// serveInvite forgets it again when it returns, which is harmless.
func (s *Server) release(c *call) {
	s.mu.Lock()
	if s.calls[c.id] == c {
		delete(s.calls, c.id)
	}
	s.mu.Unlock()
}

// registerLeg tracks an outbound dialog for re-INVITEs.
func (s *Server) registerLeg(id string, l *OutboundLeg) {
	s.mu.Lock()
	s.legs[id] = l
	s.mu.Unlock()
}

func (s *Server) unregisterLeg(id string) {
	s.mu.Lock()
	delete(s.legs, id)
	s.mu.Unlock()
}
