package api

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/journal"
)

// fakeCaller records the calls asked for and answers with err.
type fakeCaller struct {
	mu  sync.Mutex
	got []dialer.AgentCall
	err error
}

func (f *fakeCaller) CallFor(_ context.Context, req dialer.AgentCall) (string, <-chan dialer.AgentCallResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", nil, f.err
	}
	f.got = append(f.got, req)
	ch := make(chan dialer.AgentCallResult, 1)
	ch <- dialer.AgentCallResult{CallID: "01CALLBACK", Result: "busy", SIPCode: 486}
	close(ch)
	return "01CALLBACK", ch, nil
}

// «Перезвонить»: only the appeal's operator calls back, only the appeal's
// phone, only an open appeal; the call is linked to the appeal; an
// operator without a phone line gets 409 and nothing is dialed.
func TestAgentCallBackOnAppeal(t *testing.T) {
	e := newEnv(t)
	tok1 := e.account("op1", journal.RoleOperatorL2)
	tok2 := e.account("op2", journal.RoleOperatorL2)
	caller, links := &fakeCaller{}, &fakeLinks{}
	e.h = NewHandler(Options{Health: fakeHealth{}, Journal: e.j, Now: e.clock.Now,
		Desk: fakeDesk{}, CallLinks: links, AgentCalls: caller})
	appeal := func(tok, phone string) journal.Appeal {
		var a journal.Appeal
		body := map[string]any{"channel": "phone", "kind": "consultation", "topic": e.topic, "text": "Вопрос", "phone": phone}
		e.ok(req{method: "POST", path: "/api/v1/appeals", token: tok, body: body}, 201, &a)
		return a
	}
	a := appeal(tok1, "+79123456780")
	var out map[string]string
	e.ok(req{method: "POST", path: "/api/v1/agent/call", token: tok1, body: map[string]any{"appeal": a.Number}}, 202, &out)
	if out["call_id"] != "01CALLBACK" || out["appeal"] != a.ID {
		t.Errorf("answer %v", out)
	}
	if len(caller.got) != 1 || caller.got[0] != (dialer.AgentCall{Agent: "op1", Number: "+79123456780", Appeal: a.ID}) {
		t.Errorf("calls asked %+v, want op1 → the appeal's phone", caller.got)
	}
	if len(links.got) != 1 || links.got[0] != "01CALLBACK→"+a.ID+" by op1" {
		t.Errorf("links %v, want the call linked to the appeal", links.got)
	}

	for _, c := range []struct {
		name string
		r    req
		code int
		says string
	}{
		{"another operator's appeal", req{method: "POST", path: "/api/v1/agent/call", token: tok2, body: map[string]any{"appeal": a.ID}}, 403, "not assigned to you"},
		{"an appeal without a phone", req{method: "POST", path: "/api/v1/agent/call", token: tok1, body: map[string]any{"appeal": appeal(tok1, "").ID}}, 422, "no phone"},
		{"no appeal", req{method: "POST", path: "/api/v1/agent/call", token: tok1, body: map[string]any{}}, 422, "appeal"},
		{"a number instead of an appeal", req{method: "POST", path: "/api/v1/agent/call", token: tok1, body: map[string]any{"appeal": a.ID, "phone": "+88001234567"}}, 400, "phone"},
		{"an unknown appeal", req{method: "POST", path: "/api/v1/agent/call", token: tok1, body: map[string]any{"appeal": "2026-999999"}}, 404, ""},
	} {
		w := e.do(c.r)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.says) {
			t.Errorf("%s: %d %s, want %d naming %q", c.name, w.Code, w.Body, c.code, c.says)
		}
	}
	if len(caller.got) != 1 {
		t.Errorf("refused requests dialed: %+v", caller.got)
	}
	caller.err = dialer.ErrNoSession
	w := e.do(req{method: "POST", path: "/api/v1/agent/call", token: tok1, body: map[string]any{"appeal": a.ID}})
	if w.Code != 409 || !strings.Contains(w.Body.String(), "start of work") {
		t.Errorf("without a session leg: %d %s, want 409", w.Code, w.Body)
	}
	if len(links.got) != 1 {
		t.Errorf("a refused call was linked: %v", links.got)
	}
}
