package acd

// Export of the ACD's events in the format of Asterisk's queue_log, for
// the reporting tools that read it. The formats follow Asterisk's
// documentation (docs.asterisk.org, Operation › Logging › Queue Logs):
//
//	epoch|callid|queue|agent|event|data1|data2|…
//
// with, as Asterisk writes them, a "|" after the event even when it has
// no data. Times are in whole seconds (rounded), ring times of
// RINGNOANSWER in milliseconds. callid is the call record's id; agent is
// "Agent/LOGIN", or NONE. No caller number is written (the events carry
// none): ENTERQUEUE's callerid is left empty.
//
//	ENTERQUEUE(url|callerid|origposition)      a call entered the queue
//	CONNECT(holdtime|bridgedchanneluniqueid|ringtime)
//	                                           an operator took it (no member channel id: empty)
//	COMPLETECALLER / COMPLETEAGENT(holdtime|calltime|origposition)
//	                                           the caller / the operator (or the system) ended it
//	ABANDON(position|origposition|waittime)    the caller hung up while waiting
//	EXITWITHTIMEOUT(position|origposition|waittime)
//	                                           the maximum wait passed (overflow)
//	FULL                                       refused by a full queue (overflow)
//	RINGNOANSWER(ringtime)                     an offer to an operator failed
//	TRANSFER(extension|context|holdtime|calltime|origposition)
//	                                           transferred (context "obzvon"; an external
//	                                           number longer than 6 digits is written "external")
//	AGENTLOGIN(channel), AGENTLOGOFF(channel|logintime)
//	                                           start and end of work (channel "SIP/LOGIN")
//	PAUSE(reason), UNPAUSE                     one line per queue of the operator (NONE if unknown)
//
// Events without an Asterisk counterpart are left out: offers (their ring
// time is in CONNECT and RINGNOANSWER), requeues after an operator's phone
// went (the call's next CONNECT follows), consultations between operators.
// After an attended transfer the consulted operator's CONNECT and
// COMPLETE… follow the TRANSFER line in the same queue.

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// queueLogContext is the context written in TRANSFER lines.
const queueLogContext = "obzvon"

// WriteQueueLog writes the events that happened in [from, to) to w as
// queue_log lines, in time order. Earlier events (ReportLookback before
// from) give what the lines refer back to: a call's original position,
// an offer's start, an operator's start of work and queues.
func WriteQueueLog(w io.Writer, events []Event, from, to time.Time) error {
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	bw := bufio.NewWriter(w)
	origPos := map[[2]string]int{}       // call, queue → position on entry
	offered := map[[2]string]time.Time{} // call, agent → offer time
	loginAt := map[string]time.Time{}    // agent → start of work
	queuesOf := map[string][]string{}    // agent → its queues
	for _, e := range events {
		if e.Consult {
			continue
		}
		cq := [2]string{e.Call, e.Queue}
		ca := [2]string{e.Call, e.Agent}
		var lines [][]string // queue, callid, agent, event, data…
		line := func(queue, call, agent, event string, data ...string) {
			lines = append(lines, append([]string{queue, call, agent, event}, data...))
		}
		agent := "NONE"
		if e.Agent != "" {
			agent = "Agent/" + e.Agent
		}
		secs := func(d time.Duration) string { return strconv.FormatInt(int64(math.Round(d.Seconds())), 10) }
		since := func(t time.Time) time.Duration {
			if t.IsZero() || e.Time.Before(t) {
				return 0
			}
			return e.Time.Sub(t)
		}
		pos := func(p int) string { return strconv.Itoa(max(p, 1)) }
		switch e.Kind {
		case EventEnter:
			if _, ok := origPos[cq]; !ok || !e.Again {
				origPos[cq] = e.Position
			}
			line(e.Queue, e.Call, "NONE", "ENTERQUEUE", "", "", pos(e.Position))
		case EventOffer:
			offered[ca] = e.Time
		case EventConnect:
			line(e.Queue, e.Call, agent, "CONNECT", secs(e.Wait), "", secs(since(offered[ca])))
			delete(offered, ca)
		case EventNoAnswer:
			line(e.Queue, e.Call, agent, "RINGNOANSWER", strconv.FormatInt(since(offered[ca]).Milliseconds(), 10))
			delete(offered, ca)
		case EventComplete:
			ev := "COMPLETEAGENT"
			if e.Reason == "caller" {
				ev = "COMPLETECALLER"
			}
			line(e.Queue, e.Call, agent, ev, secs(e.Wait), secs(e.Talk), pos(origPos[cq]))
		case EventAbandon:
			line(e.Queue, e.Call, "NONE", "ABANDON", pos(e.Position), pos(origPos[cq]), secs(e.Wait))
		case EventTimeout:
			line(e.Queue, e.Call, "NONE", "EXITWITHTIMEOUT", pos(e.Position), pos(origPos[cq]), secs(e.Wait))
		case EventFull:
			line(e.Queue, e.Call, "NONE", "FULL", "")
		case EventTransfer:
			line(e.Queue, e.Call, agent, "TRANSFER", transferTarget(e.Reason), queueLogContext, secs(e.Wait), secs(e.Talk), pos(origPos[cq]))
		case EventAgentState:
			channel := "SIP/" + e.Agent
			queues := queuesOf[e.Agent]
			if len(queues) == 0 {
				queues = []string{"NONE"}
			}
			switch {
			case e.State.Working() && !e.Prev.Working():
				loginAt[e.Agent] = e.Time
				if len(e.Queues) > 0 {
					queuesOf[e.Agent] = e.Queues
				}
				line("NONE", "NONE", agent, "AGENTLOGIN", channel)
			case e.State == StateLoggedOut && e.Prev.Working():
				line("NONE", "NONE", agent, "AGENTLOGOFF", channel, secs(since(loginAt[e.Agent])))
				delete(loginAt, e.Agent)
			case e.State == StatePaused:
				for _, q := range queues {
					line(q, "NONE", agent, "PAUSE", e.Reason)
				}
			case e.Prev == StatePaused && e.State.Working():
				for _, q := range queues {
					line(q, "NONE", agent, "UNPAUSE", "")
				}
			}
		}
		if e.Time.Before(from) || !e.Time.Before(to) {
			continue
		}
		for _, l := range lines {
			fields := []string{strconv.FormatInt(e.Time.Unix(), 10), clean(l[1]), clean(l[0]), clean(l[2]), l[3]}
			for _, d := range l[4:] {
				fields = append(fields, clean(d))
			}
			if _, err := bw.WriteString(strings.Join(fields, "|") + "\n"); err != nil {
				return fmt.Errorf("queue log: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("queue log: %w", err)
	}
	return nil
}

// transferTarget is a transfer's target as written: an extension, a
// login or queue:NAME as is, a number longer than 6 digits as "external".
func transferTarget(t string) string {
	digits := strings.TrimPrefix(t, "+")
	if len(digits) > 6 && strings.Trim(digits, "0123456789") == "" {
		return "external"
	}
	return t
}

// clean keeps a field from breaking the line format.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '|':
			return '/'
		case '\n', '\r', '\t':
			return ' '
		}
		return r
	}, s)
}
