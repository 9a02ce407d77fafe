package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// The operator phones role: N softphones that register to the appliance
// with digest authentication (RFC 3261 §10, §22.4; RFC 7616 MD5 with
// qop=auth, done by sipgo/icholy-digest), refresh their registrations,
// answer INVITEs (at once, after a ring delay, or never), keep the
// answered call up until the far end ends it, stream their own tone
// (operatorFreq of their index) and watch the customer audio that the
// appliance switches onto them. All phones share one SIP socket (each has
// its own Contact user) and one RTP engine.

// phoneAccount is one phone's credentials.
type phoneAccount struct {
	User     string // SIP user: To/From/Contact user, and reg:USER on the appliance
	Secret   string
	AuthUser string // digest username (default User)
}

// loadAccounts reads a phones file: one phone a line, either
// "USER SECRET [AUTHUSER]" or the JSON that `obzvon agent add --json`
// prints ({"login":…,"sip_secret":…}). Blank lines and # comments are
// skipped.
func loadAccounts(path string) ([]phoneAccount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []phoneAccount
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		var a phoneAccount
		if line[0] == '{' {
			var j struct {
				Login     string `json:"login"`
				SIPSecret string `json:"sip_secret"`
			}
			if err := json.Unmarshal([]byte(line), &j); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, n, err)
			}
			a = phoneAccount{User: j.Login, Secret: j.SIPSecret}
		} else {
			f := strings.Fields(line)
			if len(f) < 2 || len(f) > 3 {
				return nil, fmt.Errorf("%s:%d: want USER SECRET [AUTHUSER], got %d fields", path, n, len(f))
			}
			a = phoneAccount{User: f[0], Secret: f[1]}
			if len(f) == 3 {
				a.AuthUser = f[2]
			}
		}
		if a.User == "" || a.Secret == "" || strings.ContainsAny(a.User+a.AuthUser, "@:;<> \"") {
			return nil, fmt.Errorf("%s:%d: user %q: want a plain SIP user and a secret", path, n, a.User)
		}
		if a.AuthUser == "" {
			a.AuthUser = a.User
		}
		if prev, dup := seen[a.User]; dup {
			return nil, fmt.Errorf("%s:%d: user %q already on line %d", path, n, a.User, prev)
		}
		seen[a.User] = n
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no phones in it", path)
	}
	return out, nil
}

// answerMode is how a phone treats an INVITE.
type answerMode struct {
	never bool
	delay time.Duration // ring this long first
	auto  bool          // answer-after from Call-Info overrides delay
}

// parseAnswerMode parses --phone-answer: auto, ring:DURATION or never.
func parseAnswerMode(s string) (answerMode, error) {
	switch {
	case s == "auto":
		return answerMode{auto: true}, nil
	case s == "never":
		return answerMode{never: true}, nil
	case strings.HasPrefix(s, "ring:"):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "ring:"))
		if err == nil && d >= 0 {
			return answerMode{delay: d}, nil
		}
	}
	return answerMode{}, fmt.Errorf("%q: want auto (answer at once, or after Call-Info answer-after), ring:DURATION (ring:3s) or never", s)
}

func (m answerMode) String() string {
	switch {
	case m.never:
		return "never"
	case m.auto:
		return "auto"
	}
	return "ring:" + m.delay.String()
}

// phonesConfig says what the phones do.
type phonesConfig struct {
	Registrar  netip.AddrPort
	Accounts   []phoneAccount
	Expires    time.Duration // asked for in REGISTER; refreshed at half
	Answer     answerMode
	RegSpread  time.Duration // first REGISTERs spread over this
	SegmentGap time.Duration
}

// phones is the operator phones role.
type phones struct {
	cfg    phonesConfig
	sip    *sipEndpoint
	rtp    *engine
	ds     *sipgo.DialogServerCache
	byUser map[string]*phone
	list   []*phone
	events *eventLog
	// stop is closed when the phones hang up and unregister.
	stop     chan struct{}
	stopOnce sync.Once

	regOK, regFail, regRefresh, unreg atomic.Uint64
	invites, answered, busy           atomic.Uint64
	notFound, cancelled, neverAns     atomic.Uint64
	reinvites, reinviteFail           atomic.Uint64
	minExpires                        atomic.Uint64 // 423 answered with a longer Expires
	farBye, localBye, noAck           atomic.Uint64
	active                            atomic.Int64
	registered                        atomic.Int64

	mu               sync.Mutex
	regLat           []time.Duration
	regCodes         map[int]uint64
	errSample        []string
	answerToCustomer []time.Duration // answer (ACK) → first customer packet, per call
	segDur           []time.Duration
	segN             uint64
	segDrop          uint64
	maxGap           time.Duration
}

// phone is one softphone.
type phone struct {
	p       *phones
	idx     int
	acct    phoneAccount
	callID  string
	cseq    uint32
	expires time.Duration // asked for; raised by a 423's Min-Expires
	inCall  atomic.Bool

	segs       int
	customerMs int64
}

func newPhones(cfg phonesConfig, ep *sipEndpoint, e *engine, ev *eventLog) *phones {
	p := &phones{cfg: cfg, sip: ep, rtp: e, byUser: map[string]*phone{}, regCodes: map[int]uint64{}, events: ev, stop: make(chan struct{})}
	p.ds = sipgo.NewDialogServerCache(ep.client, ep.contact)
	for i, a := range cfg.Accounts {
		ph := &phone{p: p, idx: i, acct: a, callID: fmt.Sprintf("obzvon-load-reg-%s-%d@%s", a.User, time.Now().UnixNano(), ep.addr.Addr()), cseq: 1, expires: cfg.Expires}
		p.byUser[a.User] = ph
		p.list = append(p.list, ph)
	}
	ep.srv.OnInvite(p.onInvite)
	ep.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.ds.ReadAck(req, tx) })
	ep.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.ds.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		}
	})
	ep.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	return p
}

func (p *phones) noteErr(s string) {
	p.mu.Lock()
	if len(p.errSample) < 5 {
		p.errSample = append(p.errSample, s)
	}
	p.mu.Unlock()
}

// run registers every phone, keeps the registrations fresh until ctx ends
// or until stopAt, then unregisters (bounded by 5 s) and returns.
func (p *phones) run(ctx context.Context, stopAt time.Time) {
	var wg sync.WaitGroup
	for i, ph := range p.list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			delay := time.Duration(0)
			if n := len(p.list); n > 1 {
				delay = p.cfg.RegSpread * time.Duration(i) / time.Duration(n)
			}
			ph.keepRegistered(ctx, delay, stopAt)
		}()
	}
	wg.Wait()
}

// waitRegistered waits until every phone registered once (or failed), or
// ctx ends.
func (p *phones) waitRegistered(ctx context.Context) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if int(p.regOK.Load()+p.regFail.Load()) >= len(p.list) {
			return p.registered.Load() == int64(len(p.list))
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

func (ph *phone) keepRegistered(ctx context.Context, delay time.Duration, stopAt time.Time) {
	p := ph.p
	t := time.NewTimer(delay)
	defer t.Stop()
	first, ok := true, false
	for {
		select {
		case <-ctx.Done():
		case <-t.C:
			if time.Now().Before(stopAt) {
				ok = ph.register(ctx, ph.expires)
				switch {
				case first && ok:
					p.regOK.Add(1)
					p.registered.Add(1)
				case first:
					p.regFail.Add(1)
				case ok:
					p.regRefresh.Add(1)
				default:
					p.regFail.Add(1)
				}
				first = false
				next := ph.expires / 2
				if !ok {
					next = 2 * time.Second // retry soon
				}
				t.Reset(min(next, max(time.Until(stopAt), 0)))
				continue
			}
		}
		break
	}
	p.stopOnce.Do(func() { close(p.stop) })
	if ok {
		// Unregister (Expires: 0); the parent context may be gone.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if ph.register(uctx, 0) {
			p.unreg.Add(1)
		}
		p.registered.Add(-1)
	}
}

// register sends one REGISTER (answering a digest challenge) and reports
// whether the registrar accepted it.
func (ph *phone) register(ctx context.Context, expires time.Duration) bool {
	p := ph.p
	reg := p.cfg.Registrar
	host := reg.Addr().String()
	uri := sip.Uri{Scheme: "sip", Host: host, Port: int(reg.Port())}
	req := sip.NewRequest(sip.REGISTER, uri)
	aor := sip.Uri{Scheme: "sip", User: ph.acct.User, Host: host}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	cid := sip.CallIDHeader(ph.callID)
	req.AppendHeader(&cid)
	ph.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: ph.cseq, MethodName: sip.REGISTER})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: ph.acct.User, Host: p.sip.addr.Addr().String(), Port: int(p.sip.addr.Port())}})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(sip.NewHeader("User-Agent", "obzvon-load phone"))
	req.SetDestination(reg.String())

	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	t0 := time.Now()
	res, err := p.sip.client.Do(rctx, req)
	if err == nil && (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) {
		res, err = p.sip.client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: ph.acct.AuthUser, Password: ph.acct.Secret})
		if cs := req.CSeq(); cs != nil {
			ph.cseq = cs.SeqNo
		}
	}
	if err != nil {
		p.noteErr(fmt.Sprintf("REGISTER %s: %v", ph.acct.User, err))
		p.mu.Lock()
		p.regCodes[0]++
		p.mu.Unlock()
		return false
	}
	lat := time.Since(t0)
	if res.StatusCode == 423 && expires > 0 {
		// Interval Too Brief (RFC 3261 §10.3 step 7): ask again with the
		// registrar's Min-Expires.
		if h := res.GetHeader("Min-Expires"); h != nil {
			if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && time.Duration(n)*time.Second > expires {
				ph.expires = time.Duration(n) * time.Second
				p.minExpires.Add(1)
				return ph.register(ctx, ph.expires)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if res.StatusCode != sip.StatusOK {
		p.regCodes[res.StatusCode]++
		if len(p.errSample) < 5 {
			p.errSample = append(p.errSample, fmt.Sprintf("REGISTER %s: %d %s", ph.acct.User, res.StatusCode, res.Reason))
		}
		return false
	}
	if expires > 0 {
		p.regLat = append(p.regLat, lat)
	}
	return true
}

// answerAfter reads Call-Info's answer-after parameter (RFC 3261 §20.9
// Call-Info with the answer-after parameter of draft-ietf-sip-answer-mode
// practice, as Asterisk and the appliance send it).
func answerAfter(req *sip.Request) (time.Duration, bool) {
	for _, h := range req.GetHeaders("Call-Info") {
		for _, part := range strings.Split(h.Value(), ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(k, "answer-after") {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
					return time.Duration(n) * time.Second, true
				}
			}
		}
	}
	return 0, false
}

func (p *phones) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		p.onReInvite(req, tx)
		return
	}
	p.invites.Add(1)
	ph := p.byUser[req.Recipient.User]
	if ph == nil {
		p.notFound.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotFound, "Not Found", nil))
		return
	}
	md, err := parseSDP(req.Body())
	pt, ok := pickG711(md.pts)
	if err != nil || !ok {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
		return
	}
	if !ph.inCall.CompareAndSwap(false, true) {
		p.busy.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBusyHere, "Busy Here", nil))
		return
	}
	defer ph.inCall.Store(false)
	d, err := p.ds.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	defer d.Close()
	_ = d.Respond(sip.StatusRinging, "Ringing", nil)
	mode := p.cfg.Answer
	delay := mode.delay
	if mode.auto {
		delay = 0
		if aa, ok := answerAfter(req); ok {
			delay = aa
		}
	}
	if mode.never {
		// Ring until the caller gives up (CANCEL) or the run ends.
		<-d.Context().Done()
		p.neverAns.Add(1)
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-d.Context().Done():
			t.Stop()
			p.cancelled.Add(1)
			return
		}
	}
	l := p.rtp.newLeg(true)
	l.src = toneSrc(clsOperator + audioClass(ph.idx))
	w := newAudioWatch(audioClass.isCustomer)
	if p.cfg.SegmentGap > 0 {
		w.segGap = int64(p.cfg.SegmentGap)
	}
	l.watch = w
	l.callID = req.CallID().Value()
	defer l.stop()
	if err := l.start(md.addr, pt); err != nil {
		_ = d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		return
	}
	answer := buildSDP(p.rtp.ip, l.port(), uint64(time.Now().UnixNano()), []byte{pt})
	if err := d.RespondSDP(answer); err != nil { // returns once ACKed
		if d.Context().Err() != nil {
			p.cancelled.Add(1)
		} else {
			p.noAck.Add(1)
		}
		return
	}
	acked := time.Now()
	p.answered.Add(1)
	p.active.Add(1)
	defer p.active.Add(-1)
	p.events.write(event{Role: "phone", ID: ph.acct.User, Event: "answered", CallID: req.CallID().Value()})
	var farEnd bool
	select {
	case <-d.Context().Done():
		farEnd = true
	case <-p.stop:
	}
	l.stop()
	if farEnd {
		p.farBye.Add(1)
	} else {
		bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := d.Bye(bctx); err == nil {
			p.localBye.Add(1)
		} else if d.Context().Err() != nil {
			p.farBye.Add(1)
		}
		cancel()
	}
	segs := w.segments()
	p.mu.Lock()
	defer p.mu.Unlock()
	if at := w.firstAt.Load(); at > 0 {
		p.answerToCustomer = append(p.answerToCustomer, time.Duration(at-acked.UnixNano()))
	}
	for _, s := range segs {
		dur := time.Duration(s.End - s.Start)
		p.segDur = append(p.segDur, dur)
		p.segN++
		p.segDrop += s.Dropouts
		p.maxGap = max(p.maxGap, time.Duration(s.MaxGapNs))
		ph.segs++
		ph.customerMs += dur.Milliseconds()
		p.events.write(event{Role: "phone", ID: ph.acct.User, Event: "customer_audio", CallID: req.CallID().Value(), Peer: s.Class.String(),
			Start: s.Start, End: s.End, Packets: s.Packets, Dropouts: s.Dropouts, MaxGapMs: float64(s.MaxGapNs) / 1e6})
	}
}

// onReInvite answers an in-dialog INVITE (RFC 3261 §14.2): the same RTP
// port, the offer's payload type, and the mirror of its direction; the
// leg follows the new address.
func (p *phones) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	p.reinvites.Add(1)
	d, err := p.ds.MatchDialogRequest(req)
	if err != nil {
		p.reinviteFail.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = d
	md, err := parseSDP(req.Body())
	pt, ok := pickG711(md.pts)
	if err != nil || !ok {
		p.reinviteFail.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
		return
	}
	l := p.legOf(req.CallID().Value())
	if l == nil {
		p.reinviteFail.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	dir := sdpDirection(req.Body())
	send := dir == "sendrecv" || dir == "recvonly"
	if err := l.retarget(md.addr, pt, send); err != nil {
		p.reinviteFail.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
		return
	}
	body := buildSDPDir(p.rtp.ip, l.port(), uint64(time.Now().UnixNano()), []byte{pt}, mirrorDirection(dir))
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(&p.sip.contact)
	_ = tx.Respond(res)
}

// legOf finds the RTP leg of the call with this Call-ID.
func (p *phones) legOf(callID string) *leg {
	p.rtp.mu.RLock()
	defer p.rtp.mu.RUnlock()
	for _, ls := range p.rtp.byAddr {
		for _, l := range ls {
			if l.callID == callID {
				return l
			}
		}
	}
	return nil
}

// phoneSummary is one phone's line in the report.
type phoneSummary struct {
	User      string  `json:"user"`
	ToneHz    int     `json:"tone_hz"`
	Segments  int     `json:"customer_segments"`
	CustomerS float64 `json:"customer_audio_s"`
}

// phonesReport is the operator phones role's part of the report.
type phonesReport struct {
	Phones      int               `json:"phones"`
	Answer      string            `json:"answer"`
	Registered  uint64            `json:"registered"`
	RegFailures uint64            `json:"register_failures"`
	RegCodes    map[string]uint64 `json:"register_failed_by_code,omitempty"`
	Refreshes   uint64            `json:"refreshes"`
	// IntervalTooBrief counts 423 answers, retried with Min-Expires.
	IntervalTooBrief uint64         `json:"interval_too_brief"`
	Unregistered     uint64         `json:"unregistered"`
	RegLatency       latencySummary `json:"register"`
	Invites          uint64         `json:"invites"`
	Answered         uint64         `json:"answered"`
	Busy             uint64         `json:"busy"`
	NotFound         uint64         `json:"not_found"`
	Cancelled        uint64         `json:"cancelled"`
	NeverAnswered    uint64         `json:"rang_unanswered"`
	NoAck            uint64         `json:"no_ack"`
	ReInvites        uint64         `json:"reinvites"`
	ReInviteFail     uint64         `json:"reinvites_refused"`
	FarBye           uint64         `json:"ended_by_far_end"`
	LocalBye         uint64         `json:"ended_by_phone"`
	// AnswerToCustomer is, per answered call, the time from the phone's
	// answer being acknowledged to the first packet of customer audio:
	// the connect time of ring-mode calls (each customer rings the
	// phone). For session legs only the first customer counts here; the
	// connect of every customer is in the events file (--events), to be
	// joined with the appliance's connect events.
	AnswerToCustomer latencySummary `json:"answer_to_customer_audio"`
	// Segments are runs of customer audio with no gap of --segment-gap.
	Segments      uint64         `json:"customer_segments"`
	SegmentLength latencySummary `json:"customer_segment_length"`
	Dropouts      uint64         `json:"customer_audio_dropouts"`
	MaxGapMs      float64        `json:"customer_audio_max_gap_ms"`
	PerPhone      []phoneSummary `json:"per_phone,omitempty"`
	ErrorSample   []string       `json:"error_sample,omitempty"`
	RTP           rtpReport      `json:"rtp"`
}

func (p *phones) report() phonesReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := phonesReport{Phones: len(p.list), Answer: p.cfg.Answer.String(),
		Registered: p.regOK.Load(), RegFailures: p.regFail.Load(), Refreshes: p.regRefresh.Load(), IntervalTooBrief: p.minExpires.Load(), Unregistered: p.unreg.Load(),
		RegLatency: summarize(p.regLat), Invites: p.invites.Load(), Answered: p.answered.Load(), Busy: p.busy.Load(),
		NotFound: p.notFound.Load(), Cancelled: p.cancelled.Load(), NeverAnswered: p.neverAns.Load(), NoAck: p.noAck.Load(),
		ReInvites: p.reinvites.Load(), ReInviteFail: p.reinviteFail.Load(), FarBye: p.farBye.Load(), LocalBye: p.localBye.Load(),
		AnswerToCustomer: summarize(p.answerToCustomer), Segments: p.segN, SegmentLength: summarize(p.segDur),
		Dropouts: p.segDrop, MaxGapMs: round3(float64(p.maxGap) / 1e6), ErrorSample: p.errSample}
	if len(p.regCodes) > 0 {
		r.RegCodes = map[string]uint64{}
		for c, n := range p.regCodes {
			k := strconv.Itoa(c)
			if c == 0 {
				k = "no_response"
			}
			r.RegCodes[k] = n
		}
	}
	for _, ph := range p.list {
		r.PerPhone = append(r.PerPhone, phoneSummary{User: ph.acct.User, ToneHz: operatorFreq(ph.idx), Segments: ph.segs, CustomerS: round3(float64(ph.customerMs) / 1e3)})
	}
	return r
}
