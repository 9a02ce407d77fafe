package config

import (
	"strings"
	"testing"
	"time"
)

func TestQueueConfig(t *testing.T) {
	src := `
[acd]
pause_reasons = ["обед", "обучение"]
ring_timeout = "15s"

[[queue]]
name = "main"
strategy = "round_robin"
announce_position = true
announce_every = "30s"
max_wait = "5m"
overflow = "queue:l2"
wrap_up = "20s"
level2_after = "45s"
service_level = "90/15"

[[queue]]
name = "l2"
overflow = "callback"

[[route]]
name = "in"
match = "8800"
action = "queue"
queue = "main"
`
	c, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	q, ok := c.QueueByName("main")
	if !ok || q.Strategy != "round_robin" || q.WrapUp.Duration != 20*time.Second || q.Level2After.Duration != 45*time.Second {
		t.Fatalf("queue main = %+v", q)
	}
	if target, th := q.SL(); target != 0.9 || th != 15*time.Second {
		t.Errorf("SL = %v/%v", target, th)
	}
	if k, to := q.OverflowTarget(); k != "queue" || to != "l2" {
		t.Errorf("overflow = %s %s", k, to)
	}
	l2, _ := c.QueueByName("l2")
	if l2.OverflowPromptName() != "queue-callback" || l2.MusicPrompt() != "moh" {
		t.Errorf("l2 prompts = %s %s", l2.OverflowPromptName(), l2.MusicPrompt())
	}
	if len(c.Queues) != 2 {
		t.Errorf("queues in a file replace the default ones: %d", len(c.Queues))
	}
	if c.ACD.RingTimeout.Duration != 15*time.Second || c.ACD.SessionRingTimeout.Duration != 30*time.Second {
		t.Errorf("acd = %+v", c.ACD)
	}
}

func TestQueueConfigErrorsNameTheKey(t *testing.T) {
	src := `
[acd]
pause_reasons = [""]
ring_timeout = "0s"

[[queue]]
name = "Main"
strategy = "fastest"
announce_every = "2s"
overflow = "queue:nowhere"
service_level = "80"
max_len = -1

[[queue]]
name = "b"
overflow = "voicemail"
music = "Moh!"

[[route]]
name = "in"
match = "1"
action = "queue"
queue = "missing"

[[route]]
name = "echo"
match = "2"
action = "echo"
queue = "b"
`
	c, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	want := []string{
		`acd.pause_reasons[0] = ""`,
		`acd.ring_timeout = "0s"`,
		`queue[0].name = "Main"`,
		`queue[0].strategy = "fastest"`,
		`queue[0].announce_every = "2s"`,
		`queue[0].service_level = "80"`,
		`queue[0].max_len = -1`,
		`queue[0].overflow = "queue:nowhere": no queue has this name`,
		`queue[1].overflow = "voicemail"`,
		`queue[1].music = "Moh!"`,
		`route[0].queue = "missing": no [[queue]] has this name`,
		`route[1].queue = "b": only a queue route names a queue`,
	}
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q:\n%v", w, err)
		}
	}
}

func TestDefaultHasAQueueRoute(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r, ok := c.MatchRoute("8800")
	if !ok || r.Action != ActionQueue || r.Queue != "main" {
		t.Fatalf("MatchRoute(8800) = %+v, %v", r, ok)
	}
}
