package journal

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSIPBindingsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	j, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	bs := []SIPBinding{
		{Contact: "sip:1001-x@127.0.0.1:5062", Source: "127.0.0.1:5062", Transport: "UDP", Expires: exp, CallID: "a", CSeq: 2},
		{Contact: "sip:1001-y@127.0.0.1:5064", Source: "127.0.0.1:5064", Transport: "TCP", Expires: exp},
	}
	if err := j.SetSIPBindings(ctx, "ivanova", bs); err != nil {
		t.Fatal(err)
	}
	if err := j.SetSIPBindings(ctx, "petrov", bs[:1]); err != nil {
		t.Fatal(err)
	}
	// Replacing drops the bindings not given again.
	if err := j.SetSIPBindings(ctx, "petrov", nil); err != nil {
		t.Fatal(err)
	}
	if err := j.SetSIPBindings(ctx, "Bad Login", bs); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad login: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	got, err := j.SIPBindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Login != "ivanova" || got[1].Login != "ivanova" {
		t.Fatalf("bindings after reopen = %+v", got)
	}
	byContact := map[string]SIPBinding{}
	for _, b := range got {
		byContact[b.Contact] = b
	}
	if b := byContact[bs[0].Contact]; b.Source != "127.0.0.1:5062" || !b.Expires.Equal(exp) || b.CSeq != 2 {
		t.Fatalf("binding = %+v", b)
	}
	if probs, err := j.CheckIndexes(ctx); err != nil || len(probs) > 0 {
		t.Fatalf("CheckIndexes = %v, %v", probs, err)
	}
}

func TestSIPCredentialsByExtension(t *testing.T) {
	ctx := context.Background()
	j := openMem(t)
	admin := Actor{Login: "root", Role: RoleAdmin}
	if _, err := j.AddAccount(ctx, admin, NewAccount{Login: "ivanova", DisplayName: "Иванова", Roles: []Role{RoleOperatorL1},
		Extension: "1001", SIPRealm: "obzvon", SIPSecret: "s3cret-s3cret"}); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"ivanova", "1001"} {
		realm, md5h, _, err := j.SIPCredentials(ctx, user)
		want, _ := DigestHA1(user, "obzvon", "s3cret-s3cret")
		if err != nil || realm != "obzvon" || md5h != want {
			t.Errorf("SIPCredentials(%q) = %q, %q, %v; want HA1 of %q", user, realm, md5h, err, user)
		}
		if login, err := j.SIPLogin(ctx, user); err != nil || login != "ivanova" {
			t.Errorf("SIPLogin(%q) = %q, %v", user, login, err)
		}
	}
	for _, user := range []string{"1002", "nobody", ""} {
		if _, _, _, err := j.SIPCredentials(ctx, user); !errors.Is(err, ErrNotFound) {
			t.Errorf("SIPCredentials(%q) = %v, want ErrNotFound", user, err)
		}
	}
}

func TestEventLog(t *testing.T) {
	ctx := context.Background()
	j := openMem(t)
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var evs []Event
	for i := range 10 {
		evs = append(evs, Event{Time: t0.Add(time.Duration(i) * time.Minute), Data: []byte{byte('0' + i)}})
	}
	// Two appends and another stream: a range reads one stream in order.
	if err := j.AppendEvents(ctx, "acd", evs[:5]); err != nil {
		t.Fatal(err)
	}
	if err := j.AppendEvents(ctx, "acd", evs[5:]); err != nil {
		t.Fatal(err)
	}
	if err := j.AppendEvents(ctx, "other", evs); err != nil {
		t.Fatal(err)
	}
	if err := j.AppendEvents(ctx, "acd", []Event{{Data: []byte("x")}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("event without time: %v", err)
	}
	var got string
	err := j.Events(ctx, "acd", t0.Add(2*time.Minute), t0.Add(7*time.Minute), func(e Event) error {
		got += string(e.Data)
		return nil
	})
	if err != nil || got != "23456" {
		t.Fatalf("Events = %q, %v; want 23456", got, err)
	}
}

func openMem(t *testing.T) *Journal {
	t.Helper()
	j, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// TestReadCallsIsAudited: reading call records (callers' numbers) leaves a
// durable audit entry; a role without the right gets ErrDenied and none.
func TestReadCallsIsAudited(t *testing.T) {
	ctx := context.Background()
	j := openMem(t)
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if err := j.PutCall(ctx, &CallRecord{Direction: "inbound", From: "79001112233", Arrived: t0}); err != nil {
		t.Fatal(err)
	}
	who := Actor{Login: "socket:root", Role: RoleAdmin}
	calls, err := j.ReadCalls(ctx, who, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || len(calls) != 1 {
		t.Fatalf("ReadCalls = %d, %v", len(calls), err)
	}
	if _, err := j.ReadCalls(ctx, Actor{Login: "staff", Role: RoleCampaignStaff}, t0, t0); !errors.Is(err, ErrDenied) {
		t.Fatalf("campaign staff reading calls: %v, want ErrDenied", err)
	}
	entries, err := j.Audit(ctx, who, AuditQuery{Account: "socket:root"})
	if err != nil {
		t.Fatal(err)
	}
	var reads int
	for _, e := range entries {
		if e.Op == "read" && e.Subject == "calls:" {
			reads++
		}
	}
	if reads != 1 {
		t.Fatalf("audit entries of the read: %d (%+v), want 1", reads, entries)
	}
}
