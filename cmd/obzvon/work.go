package main

// Operators' work from the command line, for scripting and tests: start
// and finish work, pause and ready, and the state of operators and
// queues. These act on the running daemon (its ACD lives in it) through
// the admin socket.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

// workFlags are the flags every work command takes.
func workFlags(extra ...cli.Flag) []cli.Flag {
	return append(extra, journalDirFlag, socketFlag)
}

// daemonAPI returns the running daemon's API or an error saying one is
// needed.
func daemonAPI(c *cli.Context) (*adminAPI, error) {
	a, err := dialAdmin(c)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, cli.Exit("no running daemon: operators work only while `obzvon serve` runs (start it, or give --socket)", exitFailure)
	}
	return a, nil
}

func agentWorkCommands() []*cli.Command {
	one := func(name, usage, args string, flags []cli.Flag, run func(c *cli.Context, a *adminAPI, login string) (string, any, error)) *cli.Command {
		return &cli.Command{
			Name: name, Usage: usage, ArgsUsage: args, Flags: workFlags(flags...),
			Action: func(c *cli.Context) error {
				if c.NArg() < 1 {
					return cli.Exit(fmt.Sprintf("agent %s needs the operator's LOGIN\nTry: obzvon agent %s ivanova", name, name), exitUsage)
				}
				a, err := daemonAPI(c)
				if err != nil {
					return err
				}
				login := c.Args().First()
				path, body, err := run(c, a, login)
				if err != nil {
					return err
				}
				var st agentStatusView
				if err := a.do(c.Context, http.MethodPost, "/api/v1/agents/"+url.PathEscape(login)+"/"+path, body, "", &st); err != nil {
					return exitOf(err)
				}
				return printAgent(c, st)
			},
		}
	}
	return []*cli.Command{
		one("start", "start an operator's work: call the phone for the session leg (or --ring: ring it per call)", "LOGIN",
			[]cli.Flag{&cli.BoolFlag{Name: "ring", Usage: "ring the phone for each call instead of keeping a session leg"}, jsonFlag()},
			func(c *cli.Context, _ *adminAPI, _ string) (string, any, error) {
				d := "session"
				if c.Bool("ring") {
					d = "ring"
				}
				return "session", map[string]string{"action": "start", "delivery": d}, nil
			}),
		one("finish", "finish an operator's work (after the call in progress)", "LOGIN", []cli.Flag{jsonFlag()},
			func(*cli.Context, *adminAPI, string) (string, any, error) {
				return "session", map[string]string{"action": "finish"}, nil
			}),
		one("pause", "pause an operator with a reason (see `obzvon agent status`)", "LOGIN REASON", []cli.Flag{jsonFlag()},
			func(c *cli.Context, _ *adminAPI, login string) (string, any, error) {
				reason := strings.TrimSpace(strings.Join(c.Args().Tail(), " "))
				if reason == "" {
					return "", nil, cli.Exit("agent pause needs a REASON\nTry: obzvon agent pause "+login+" обед", exitUsage)
				}
				return "state", map[string]string{"state": "paused", "reason": reason}, nil
			}),
		one("ready", "make a paused operator ready (or end the wrap-up)", "LOGIN", []cli.Flag{jsonFlag()},
			func(*cli.Context, *adminAPI, string) (string, any, error) {
				return "state", map[string]string{"state": "ready"}, nil
			}),
		{
			Name: "status", Usage: "operators' states (one operator with LOGIN)", ArgsUsage: "[LOGIN]",
			Flags: workFlags(jsonFlag()),
			Action: func(c *cli.Context) error {
				a, err := daemonAPI(c)
				if err != nil {
					return err
				}
				if c.NArg() > 0 {
					var st agentStatusView
					if err := a.get(c.Context, "/api/v1/agents/"+url.PathEscape(c.Args().First()), nil, &st); err != nil {
						return exitOf(err)
					}
					return printAgent(c, st)
				}
				var all []agentStatusView
				if err := a.get(c.Context, "/api/v1/agents", nil, &all); err != nil {
					return exitOf(err)
				}
				if c.Bool("json") {
					return json.NewEncoder(c.App.Writer).Encode(all)
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LOGIN\tEXT\tSTATE\tSINCE\tDELIVERY\tSESSION\tCALL")
				for _, s := range all {
					fmt.Fprintln(tw, agentLine(s))
				}
				return tw.Flush()
			},
		},
	}
}

func jsonFlag() cli.Flag { return &cli.BoolFlag{Name: "json", Usage: "print JSON"} }

// agentStatusView is what the daemon says of an operator.
type agentStatusView struct {
	Login     string    `json:"login"`
	Extension string    `json:"extension"`
	State     string    `json:"state"`
	Since     time.Time `json:"state_since"`
	Reason    string    `json:"pause_reason"`
	Delivery  string    `json:"delivery"`
	Session   string    `json:"session"`
	SessionEr string    `json:"session_error"`
	Pending   string    `json:"pending"`
	Call      *struct {
		CallID string `json:"call_id"`
		Queue  string `json:"queue"`
	} `json:"call"`
}

func agentLine(s agentStatusView) string {
	state := s.State
	if s.Reason != "" {
		state += " (" + s.Reason + ")"
	}
	if s.Pending != "" {
		state += ", then " + s.Pending
	}
	call := "-"
	if s.Call != nil {
		call = s.Call.CallID + " " + s.Call.Queue
	}
	since := "-"
	if !s.Since.IsZero() {
		since = s.Since.Local().Format("15:04:05")
	}
	session := s.Session
	if s.SessionEr != "" {
		session += " (" + s.SessionEr + ")"
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", s.Login, s.Extension, state, since, s.Delivery, session, call)
}

func printAgent(c *cli.Context, s agentStatusView) error {
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(s)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tEXT\tSTATE\tSINCE\tDELIVERY\tSESSION\tCALL")
	fmt.Fprintln(tw, agentLine(s))
	return tw.Flush()
}

// queueStatusView is a queue on the daemon's wallboard.
type queueStatusView struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Waiting      int      `json:"waiting"`
	LongestWait  float64  `json:"longest_wait_seconds"`
	Ready        int      `json:"ready_agents"`
	Working      int      `json:"working_agents"`
	ServiceLevel *float64 `json:"service_level"`
	Today        struct {
		Offered   int `json:"offered"`
		Answered  int `json:"answered"`
		Abandoned int `json:"abandoned"`
		Timeouts  int `json:"timeouts"`
	} `json:"today"`
}

func queueCommand() *cli.Command {
	return &cli.Command{
		Name:  "queue",
		Usage: "inbound queues and campaigns of the running daemon",
		Subcommands: []*cli.Command{{
			Name: "status", Usage: "callers waiting, operators, today's figures and service level per queue",
			Flags: workFlags(jsonFlag()),
			Action: func(c *cli.Context) error {
				a, err := daemonAPI(c)
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
				defer cancel()
				var qs []queueStatusView
				if err := a.get(ctx, "/api/v1/queues", nil, &qs); err != nil {
					return exitOf(err)
				}
				if c.Bool("json") {
					return json.NewEncoder(c.App.Writer).Encode(qs)
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "QUEUE\tKIND\tWAITING\tLONGEST\tREADY/WORKING\tOFFERED\tANSWERED\tABANDONED\tTIMEOUTS\tSL")
				for _, q := range qs {
					sl := "-"
					if q.ServiceLevel != nil {
						sl = fmt.Sprintf("%.1f%%", *q.ServiceLevel*100)
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%.0fs\t%d/%d\t%d\t%d\t%d\t%d\t%s\n", q.Name, q.Kind, q.Waiting, q.LongestWait,
						q.Ready, q.Working, q.Today.Offered, q.Today.Answered, q.Today.Abandoned, q.Today.Timeouts, sl)
				}
				return tw.Flush()
			},
		}},
	}
}
