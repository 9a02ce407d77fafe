package api

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// Someone guessing an administrator's password from many addresses gets
// 429 per address and slows the account down for new addresses, but the
// owner at a known address logs in at once, and from a new address after
// a delay, never a lockout.
func TestLoginGuessingCannotLockOutOwner(t *testing.T) {
	e := newEnv(t)
	e.account("boss", journal.RoleAdmin)
	login := func(pw, remote string) int {
		return e.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"login": "boss", "password": pw}, remote: remote}).Code
	}
	if code := login(testPassword, "192.0.2.10:4000"); code != 200 {
		t.Fatalf("owner's first login = %d, want 200", code)
	}
	for src := range 6 {
		for i := range loginBurstAccount {
			if code := login(fmt.Sprint("guess ", src, i), fmt.Sprintf("203.0.113.%d:1", src+1)); code != 401 {
				t.Fatalf("guess %d from source %d = %d, want 401", i, src, code)
			}
		}
		if code := login("one more", fmt.Sprintf("203.0.113.%d:1", src+1)); code != 429 {
			t.Fatalf("guess past the (account, source) limit = %d, want 429", code)
		}
	}
	e.slept.Store(0)
	if code := login(testPassword, "192.0.2.10:4001"); code != 200 {
		t.Errorf("owner from the known address after 30 guesses = %d, want 200 (no lockout)", code)
	}
	if d := time.Duration(e.slept.Load()); d != 0 {
		t.Errorf("owner from the known address waited %v, want no slowdown", d)
	}
	if code := login(testPassword, "198.51.100.20:4000"); code != 200 {
		t.Errorf("owner from a new address = %d, want 200 after a slowdown", code)
	}
	if d := time.Duration(e.slept.Load()); d <= 0 || d > slowMax {
		t.Errorf("login from a new address after 30 failures waited %v, want a slowdown of (0, %v]", d, slowMax)
	}
}

func TestHashPoolBoundsConcurrency(t *testing.T) {
	g := newLoginGuard(time.Now, nil)
	n := cap(g.slots)
	var held []func()
	for range n {
		rel, err := g.acquire(context.Background())
		if err != nil {
			t.Fatalf("acquire with free slots: %v", err)
		}
		held = append(held, rel)
	}
	// All slots taken: hashQueue waiters queue, the next is refused.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	started := make(chan struct{}, hashQueue)
	for range hashQueue {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			if rel, err := g.acquire(ctx); err == nil {
				rel()
			}
		}()
	}
	for range hashQueue {
		<-started
	}
	for g.waiting.Load() < hashQueue {
		time.Sleep(time.Millisecond)
	}
	if _, err := g.acquire(context.Background()); err != errHashBusy {
		t.Errorf("acquire with %d slots busy and %d waiting = %v, want errHashBusy", n, hashQueue, err)
	}
	cancel()
	wg.Wait()
	for _, rel := range held {
		rel()
	}
	if rel, err := g.acquire(context.Background()); err != nil {
		t.Errorf("acquire after release = %v", err)
	} else {
		rel()
	}
}
