package dialer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
)

// legSRTP waits for the server's answered outbound leg to target and
// reports whether its media is keyed with SRTP, with the SDP answer.
func (a *testAppliance) legSRTP(t *testing.T, target string) (bool, string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		a.srv.mu.Lock()
		for _, l := range a.srv.legs {
			if l.target == target && l.d.InviteResponse != nil {
				l.mu.Lock()
				keyed := l.sess.srtp.params() != nil
				l.mu.Unlock()
				body := string(l.d.InviteResponse.Body())
				a.srv.mu.Unlock()
				return keyed, body
			}
		}
		a.srv.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no answered leg to %s", target)
	return false, ""
}

// Operators' phones registered over TLS with rtp.srtp = tls: the session
// leg to a phone that insists on SRTP (baresip, srtp-mand) is offered
// SDES and keyed; a phone without SRTP gets its session leg on plain RTP
// (it refuses the SRTP offer, and is called again at once). A queue
// caller then reaches the SRTP operator.
func TestACDSessionLegsOfferSRTPOverTLS(t *testing.T) {
	pki, tlsOn := withTLS(t)
	operators := ops(2, "main")
	e := startACD(t, operators, func(c *config.Config) { tlsOn(c); srtpOn(c) })
	mand := peertest.StartBaresip(t, peertest.BaresipOptions{User: operators[0].ext, Password: operators[0].secret,
		Registrar: e.tlsTarget(), Transport: "tls", CAFile: pki.CA, MediaEnc: "srtp-mand", MicSeconds: 60})
	plain := peertest.StartBaresip(t, peertest.BaresipOptions{User: operators[1].ext, Password: operators[1].secret,
		Registrar: e.tlsTarget(), Transport: "tls", CAFile: pki.CA, MicSeconds: 60})
	for i, o := range operators {
		log := []func() string{mand.Output, plain.Output}[i]
		e.waitFor(t, 20*time.Second, o.login+" registered over TLS", func() bool {
			b := e.srv.Registrar().Lookup(o.ext)
			return len(b) > 0 && b[0].Transport == "TLS"
		})
		if err := e.desk.StartWork(context.Background(), o.login, acd.DeliverySession); err != nil {
			t.Fatalf("StartWork(%s) = %v; phone log:\n%s", o.login, err, log())
		}
	}
	for i, o := range operators {
		log := []func() string{mand.Output, plain.Output}[i]
		deadline := time.Now().Add(20 * time.Second)
		for e.state(o.login) != acd.StateReady {
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready (state %v): its session leg failed; phone log:\n%s", o.login, e.state(o.login), log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if keyed, sdp := e.legSRTP(t, "reg:op1"); !keyed || !strings.Contains(sdp, "RTP/SAVP") || !strings.Contains(sdp, "a=crypto:") {
		t.Errorf("op1's session leg (srtp-mand phone): SRTP keyed %v, answer:\n%s", keyed, sdp)
	}
	if keyed, sdp := e.legSRTP(t, "reg:op2"); keyed || strings.Contains(sdp, "RTP/SAVP") {
		t.Errorf("op2's session leg (phone without SRTP): SRTP keyed %v, want plain RTP; answer:\n%s", keyed, sdp)
	}
	if !strings.Contains(mand.Output(), "SRTP is Enabled") {
		t.Errorf("the srtp-mand phone did not report SRTP on its session leg; its log:\n%s", mand.Output())
	}

	// A caller reaches an operator over the session legs.
	phoneSrv, phoneEngine := newPhoneServer(t)
	c := e.call(t, phoneSrv, phoneEngine, "8800", "79003330001", 700)
	e.waitFor(t, 10*time.Second, "caller connected", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	c.hangup()
}

// A trunk with srtp = true over TLS is offered RTP/SAVP with SDES keys:
// our own dialer as the carrier (an echo route, rtp.srtp = tls) answers
// with SRTP, and the campaign's leg is keyed.
func TestTrunkOffersSRTP(t *testing.T) {
	_, tlsB := withTLS(t)
	carrier := startApplianceWith(t, []config.Route{{Name: "echo", Match: "79*", Action: config.ActionEcho}}, nil,
		tlsB, srtpOn, rtpHalf(1))
	_, tlsA := withTLS(t)
	a := startAppliance(t, nil, tlsA, srtpOn, rtpHalf(0), func(c *config.Config) {
		c.SIP.TLSCAFile = carrier.cfg.SIP.TLSCAFile
		c.Trunks = []config.Trunk{{Name: "carrier", Address: carrier.tlsTarget(), Transport: "tls", SRTP: true, StripPrefix: "+"}}
	})
	tr, err := NewTrunks(a.srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	call, err := tr.Dial(ctx, TrunkDial{Number: "+79123456780"})
	if err != nil {
		t.Fatalf("trunk Dial = %v, want answered", err)
	}
	defer call.Hangup(ctx)
	call.mu.Lock()
	keyed := call.sess.srtp.params() != nil
	call.mu.Unlock()
	sdp := string(call.d.InviteResponse.Body())
	if !keyed || !strings.Contains(sdp, "RTP/SAVP") || !strings.Contains(sdp, "a=crypto:") {
		t.Errorf("the trunk call: SRTP keyed %v, answer:\n%s", keyed, sdp)
	}
	if !strings.Contains(string(call.d.InviteRequest.Body()), "RTP/SAVP") {
		t.Errorf("the INVITE to the trunk offered:\n%s", call.d.InviteRequest.Body())
	}
}
