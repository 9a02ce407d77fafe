package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ACD configures operators' work independent of any one queue.
type ACD struct {
	// PauseReasons are the reasons an operator may give for a pause.
	PauseReasons []string `toml:"pause_reasons"`
	// SessionRingTimeout is how long "start work" rings the operator's
	// phone for the session leg before giving up.
	SessionRingTimeout Duration `toml:"session_ring_timeout"`
	// RingTimeout is how long a customer call rings an operator's phone
	// in ring mode before it goes back to the queue and the operator to
	// the pause "не отвечает".
	RingTimeout Duration `toml:"ring_timeout"`
	// AgentRTPTimeout logs an operator out when its session leg sends no
	// RTP for this long (a phone gone without BYE). 0 turns it off.
	AgentRTPTimeout Duration `toml:"agent_rtp_timeout"`
	// TransferPatterns are the external numbers operators may transfer a
	// caller to (patterns as in routes: 8XXXXXXXXXX, +7*); a dial route
	// matching the number places the call. Empty: no external transfers.
	TransferPatterns []string `toml:"transfer_patterns"`
	// TransferCallerID is the caller ID shown on external transfers
	// (never the caller's own number: it is not ours to present).
	TransferCallerID string `toml:"transfer_caller_id"`
}

// Queue is one inbound queue (a `[[queue]]` table). Routes with action
// "queue" send callers to it by name.
type Queue struct {
	// Name identifies the queue (routes, accounts' queues, metrics).
	Name string `toml:"name"`
	// Strategy picks among ready operators: longest_idle (default),
	// round_robin, fewest_calls, random.
	Strategy string `toml:"strategy"`
	// Greeting is played once on entry (a prompt name; empty: none).
	Greeting string `toml:"greeting"`
	// Music is played while the caller waits, looped (default "moh").
	Music string `toml:"music"`
	// AnnouncePosition and AnnounceWait announce the caller's position and
	// the estimated wait every AnnounceEvery (0: only once, after the
	// greeting).
	AnnouncePosition bool     `toml:"announce_position"`
	AnnounceWait     bool     `toml:"announce_wait"`
	AnnounceEvery    Duration `toml:"announce_every"`
	// MaxWait sends a caller to the overflow after this long (0: never).
	MaxWait Duration `toml:"max_wait"`
	// MaxLen is the most callers that may wait (0: no limit); the next
	// goes to the overflow at once.
	MaxLen int `toml:"max_len"`
	// Overflow is where callers go after MaxWait or when the queue is
	// full: "queue:NAME" (another queue), "callback" (a deferred appeal
	// for the queue's level-2 operators to call back, then goodbye) or
	// "message" (OverflowPrompt, then hang up; the default).
	Overflow string `toml:"overflow"`
	// OverflowPrompt is played by the "message" and "callback" overflows
	// (defaults queue-overflow and queue-callback).
	OverflowPrompt string `toml:"overflow_prompt"`
	// WrapUp is the operator's wrap-up time after a call of this queue.
	WrapUp Duration `toml:"wrap_up"`
	// Level2After offers a caller to level-2 operators of the queue only
	// after this wait (tiers: level 1 first). 0: all at once.
	Level2After Duration `toml:"level2_after"`
	// ServiceLevel is "TARGET/SECONDS", e.g. "80/20": 80 % of calls
	// answered within 20 s (the threshold is used for the service-level
	// figures; the target for alerts and the wallboard).
	ServiceLevel string `toml:"service_level"`
	// Priority orders queues for operators who serve several (higher
	// first; default 100, campaigns 0: inbound first).
	Priority int `toml:"priority"`
	// OpenAppealPriority is added to the priority of a caller whose number
	// has an appeal in work (they jump ahead of first-time callers).
	OpenAppealPriority int `toml:"open_appeal_priority"`
	// Record records calls of the queue (default true).
	Record *bool `toml:"record"`
}

// Records reports whether calls of the queue are recorded.
func (q Queue) Records() bool { return q.Record == nil || *q.Record }

// SL returns the service-level target (0..1) and threshold.
func (q Queue) SL() (target float64, threshold time.Duration) {
	t, th, _ := parseSL(q.ServiceLevel)
	return t, th
}

// MusicPrompt is the queue's hold music prompt.
func (q Queue) MusicPrompt() string {
	if q.Music == "" {
		return "moh"
	}
	return q.Music
}

// OverflowTarget splits Overflow into its kind ("queue", "callback",
// "message") and, for "queue", the queue's name.
func (q Queue) OverflowTarget() (kind, target string) {
	switch {
	case q.Overflow == "" || q.Overflow == "message":
		return "message", ""
	case q.Overflow == "callback":
		return "callback", ""
	case strings.HasPrefix(q.Overflow, "queue:"):
		return "queue", strings.TrimPrefix(q.Overflow, "queue:")
	}
	return q.Overflow, ""
}

// OverflowPromptName is the prompt of a message or callback overflow.
func (q Queue) OverflowPromptName() string {
	if q.OverflowPrompt != "" {
		return q.OverflowPrompt
	}
	if k, _ := q.OverflowTarget(); k == "callback" {
		return "queue-callback"
	}
	return "queue-overflow"
}

var slRE = regexp.MustCompile(`^([0-9]{1,3})/([0-9]{1,4})$`)

func parseSL(s string) (float64, time.Duration, error) {
	if s == "" {
		return 0.8, 20 * time.Second, nil
	}
	m := slRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("want TARGET/SECONDS, e.g. \"80/20\"")
	}
	pct, _ := strconv.Atoi(m[1])
	secs, _ := strconv.Atoi(m[2])
	if pct < 1 || pct > 100 || secs < 1 {
		return 0, 0, fmt.Errorf("target must be 1..100 %% and the threshold at least 1 s")
	}
	return float64(pct) / 100, time.Duration(secs) * time.Second, nil
}

// AnnouncementPrompts are the prompts that position and wait
// announcements are built from; they are loaded when a queue announces.
func AnnouncementPrompts() []string {
	names := []string{"queue-position", "queue-position-many", "queue-wait", "queue-wait-short", "queue-wait-long",
		"n1f", "n2f", "minute-1", "minute-2", "minute-5"}
	for i := 1; i <= 20; i++ {
		names = append(names, "n"+strconv.Itoa(i))
	}
	return names
}

// QueueByName returns the queue with that name.
func (c *Config) QueueByName(name string) (Queue, bool) {
	for _, q := range c.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

var strategies = []string{"longest_idle", "round_robin", "fewest_calls", "random"}

// validateACD checks [acd] and the [[queue]] tables.
func (c *Config) validateACD(bad func(key string, val any, format string, args ...any)) {
	for i, r := range c.ACD.PauseReasons {
		if strings.TrimSpace(r) == "" || len(r) > 64 {
			bad(fmt.Sprintf("acd.pause_reasons[%d]", i), r, "a reason is 1..64 characters")
		}
	}
	if d := c.ACD.SessionRingTimeout.Duration; d < time.Second || d > 2*time.Minute {
		bad("acd.session_ring_timeout", c.ACD.SessionRingTimeout.String(), "must be 1s..2m")
	}
	if d := c.ACD.RingTimeout.Duration; d < time.Second || d > 2*time.Minute {
		bad("acd.ring_timeout", c.ACD.RingTimeout.String(), "must be 1s..2m")
	}
	if d := c.ACD.AgentRTPTimeout.Duration; d != 0 && d < time.Second {
		bad("acd.agent_rtp_timeout", c.ACD.AgentRTPTimeout.String(), "must be 0 (off) or at least 1s")
	}
	for i, p := range c.ACD.TransferPatterns {
		if p == "" || !matchRE.MatchString(p) {
			bad(fmt.Sprintf("acd.transfer_patterns[%d]", i), p, "pattern is digits, +, X (any digit) and a trailing * (any rest)")
		}
	}
	if id := c.ACD.TransferCallerID; id != "" && strings.Trim(strings.TrimPrefix(id, "+"), "0123456789") != "" {
		bad("acd.transfer_caller_id", id, "digits only (optionally with a leading +)")
	}
	names := map[string]int{}
	for i, q := range c.Queues {
		key := fmt.Sprintf("queue[%d]", i)
		if !routeNameRE.MatchString(q.Name) {
			bad(key+".name", q.Name, "must be lowercase letters, digits, - and _")
		} else if j, dup := names[q.Name]; dup {
			bad(key+".name", q.Name, "same name as queue[%d]", j)
		} else {
			names[q.Name] = i
		}
		if q.Strategy != "" && !contains(strategies, q.Strategy) {
			bad(key+".strategy", q.Strategy, "must be one of %s", strings.Join(strategies, ", "))
		}
		for _, p := range []struct{ k, v string }{{"greeting", q.Greeting}, {"music", q.Music}, {"overflow_prompt", q.OverflowPrompt}} {
			if p.v != "" && !promptNameRE.MatchString(p.v) {
				bad(key+"."+p.k, p.v, "prompt names are lowercase letters, digits, - and _")
			}
		}
		if d := q.AnnounceEvery.Duration; d != 0 && d < 10*time.Second {
			bad(key+".announce_every", q.AnnounceEvery.String(), "must be 0 (once) or at least 10s")
		}
		if q.MaxWait.Duration < 0 {
			bad(key+".max_wait", q.MaxWait.String(), "must not be negative")
		}
		if q.MaxLen < 0 {
			bad(key+".max_len", q.MaxLen, "must not be negative")
		}
		if q.WrapUp.Duration < 0 || q.WrapUp.Duration > time.Hour {
			bad(key+".wrap_up", q.WrapUp.String(), "must be 0..1h")
		}
		if q.Level2After.Duration < 0 {
			bad(key+".level2_after", q.Level2After.String(), "must not be negative")
		}
		if _, _, err := parseSL(q.ServiceLevel); err != nil {
			bad(key+".service_level", q.ServiceLevel, "%v", err)
		}
		if q.Priority < 0 || q.Priority > 1000 {
			bad(key+".priority", q.Priority, "must be 0..1000")
		}
		if q.OpenAppealPriority < 0 || q.OpenAppealPriority > 1000 {
			bad(key+".open_appeal_priority", q.OpenAppealPriority, "must be 0..1000")
		}
		switch kind, _ := q.OverflowTarget(); kind {
		case "message", "callback", "queue":
		default:
			bad(key+".overflow", q.Overflow, "must be \"message\", \"callback\" or \"queue:NAME\"")
		}
	}
	for i, q := range c.Queues {
		if kind, target := q.OverflowTarget(); kind == "queue" {
			key := fmt.Sprintf("queue[%d].overflow", i)
			if _, ok := names[target]; !ok {
				bad(key, q.Overflow, "no queue has this name")
			} else if target == q.Name {
				bad(key, q.Overflow, "a queue cannot overflow to itself")
			}
		}
	}
	for i, r := range c.Routes {
		key := fmt.Sprintf("route[%d]", i)
		if r.Action == ActionQueue {
			if r.Queue == "" {
				bad(key+".queue", r.Queue, "a queue route names a [[queue]]")
			} else if _, ok := names[r.Queue]; !ok {
				bad(key+".queue", r.Queue, "no [[queue]] has this name")
			}
		} else if r.Queue != "" {
			bad(key+".queue", r.Queue, "only a queue route names a queue")
		}
	}
}

// queuePrompts returns the prompt names the queues use.
func (c *Config) queuePrompts() []string {
	var out []string
	announce := false
	for _, q := range c.Queues {
		if q.Greeting != "" {
			out = append(out, q.Greeting)
		}
		out = append(out, q.MusicPrompt(), q.OverflowPromptName())
		announce = announce || q.AnnouncePosition || q.AnnounceWait
	}
	if len(c.Queues) > 0 {
		out = append(out, "queue-connect")
	}
	if announce {
		out = append(out, AnnouncementPrompts()...)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
