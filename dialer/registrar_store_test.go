package dialer

import (
	"context"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// TestRegisterByExtensionPersists registers a phone with the account's
// extension as SIP user on a real journal: the binding is stored under
// the login, found by login and by extension, and a new registrar on the
// same journal (a restart) still finds it.
func TestRegisterByExtensionPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	j, err := journal.Open(journal.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	admin := journal.Actor{Login: "root", Role: journal.RoleAdmin}
	if _, err := j.AddAccount(ctx, admin, journal.NewAccount{Login: "ivanova", DisplayName: "Иванова", Extension: "1001",
		Roles: []journal.Role{journal.RoleOperatorL1}, SIPRealm: "obzvon", SIPSecret: "Jd4-plq9-Wm2x"}); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	newReg := func() *Registrar {
		return NewRegistrar(j, RegistrarOptions{Now: c.now, Store: j})
	}
	r := newReg()
	req := register(t, "1001", "<sip:1001-abc@127.0.0.1:5999>", "300")
	if res := r.respond(answer(t, req, r.respond(req), "1001", "Jd4-plq9-Wm2x", "MD5")); res.StatusCode != 200 {
		t.Fatalf("register as extension = %d\n%s", res.StatusCode, res)
	}
	for _, user := range []string{"ivanova", "1001"} {
		if b := r.Lookup(user); len(b) != 1 || b[0].User != "ivanova" || b[0].Contact != "sip:1001-abc@127.0.0.1:5999" {
			t.Fatalf("Lookup(%q) = %+v", user, b)
		}
	}
	// Registering with the login works too (its own HA1).
	req = register(t, "ivanova", "<sip:ivanova@127.0.0.1:6001>", "300")
	if res := r.respond(answer(t, req, r.respond(req), "ivanova", "Jd4-plq9-Wm2x", "MD5")); res.StatusCode != 200 {
		t.Fatalf("register as login = %d", res.StatusCode)
	}
	// A new registrar (the daemon restarted) restores both bindings.
	r2 := newReg()
	if n, err := r2.Restore(ctx); err != nil || n != 2 {
		t.Fatalf("Restore = %d, %v; want 2", n, err)
	}
	if b := r2.Lookup("1001"); len(b) != 2 {
		t.Fatalf("after restart Lookup(1001) = %+v", b)
	}
	// An expired binding is not restored.
	c.t = c.t.Add(301 * time.Second)
	if n, _ := newReg().Restore(ctx); n != 0 {
		t.Fatalf("restored %d expired bindings", n)
	}
	// Unregistering removes it from the store.
	c.t = c.t.Add(-301 * time.Second)
	req = register(t, "1001", "*", "0")
	if res := r2.respond(answer(t, req, r2.respond(req), "1001", "Jd4-plq9-Wm2x", "MD5")); res.StatusCode != 200 {
		t.Fatalf("unregister = %d", res.StatusCode)
	}
	if n, _ := newReg().Restore(ctx); n != 0 {
		t.Fatalf("%d bindings restored after unregister", n)
	}
}
