package main

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestRefusalsWithRetryAfter: the caller role counts, by code, the
// refusals that carry a valid Retry-After apart from those that do not —
// make overload's share of 503s that say when to come back rests on it.
func TestRefusalsWithRetryAfter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	// The refuser answers by the dialed number.
	answers := map[string]struct {
		code  int
		retry string // "" for none
	}{
		"1": {503, "4"},
		"2": {503, ""},
		"3": {503, "soon"}, // not delta-seconds: does not count
		"4": {486, "120 (in a meeting);duration=60"},
	}
	rep, err := newSIPEndpoint(netip.AddrPortFrom(loopback, 0), "refuser", log)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.close()
	rep.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		a := answers[req.Recipient.User]
		res := sip.NewResponseFromRequest(req, a.code, "Refused", nil)
		if a.retry != "" {
			res.AppendHeader(sip.NewHeader("Retry-After", a.retry))
		}
		_ = tx.Respond(res)
	})
	rep.srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	if err := rep.serve(ctx); err != nil {
		t.Fatal(err)
	}

	cep, err := newSIPEndpoint(netip.AddrPortFrom(loopback, 0), "caller", log)
	if err != nil {
		t.Fatal(err)
	}
	defer cep.close()
	ce, err := newEngine("caller", loopback, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	const calls = 8 // each number twice
	caller := newUAC(uacConfig{Target: rep.addr, Number: "1", Numbers: []string{"1", "2", "3", "4"}, Rate: 50, Concurrent: calls, Total: calls,
		Hold: time.Second, SetupTimeout: 5 * time.Second, PTs: []byte{ptPCMU}}, cep, ce)
	ce.run(ctx)
	if err := cep.serve(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	caller.run(ctx, start.Add(10*time.Second))
	t.Logf("calls placed and ended in %v", time.Since(start).Round(time.Millisecond))
	cancel() // the engine's ticker runs until ctx ends
	ce.close()
	r := caller.report(start)
	if r.Attempted != calls || r.Failed != calls || r.Timeouts != 0 || r.Errors != 0 {
		t.Fatalf("caller = %+v, want %d calls, all refused", r, calls)
	}
	if r.FailedCodes["503"] != 6 || r.FailedCodes["486"] != 2 {
		t.Errorf("refusals by code = %v, want 503: 6, 486: 2", r.FailedCodes)
	}
	if r.RetryAfter["503"] != 2 || r.RetryAfter["486"] != 2 || len(r.RetryAfter) != 2 {
		t.Errorf("refusals with Retry-After = %v, want 503: 2 (the valid one), 486: 2", r.RetryAfter)
	}
}
