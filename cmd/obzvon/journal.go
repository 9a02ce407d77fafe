package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/journal"
)

// defaultJournalDir is where the CLI looks for the journal when --dir is
// not given (make run keeps its data under ./var).
const defaultJournalDir = "./var/journal"

// journalDirFlag is the --dir flag shared by the commands that open the
// journal directly. Until the daemon's HTTP API exists they open the
// directory themselves: read-only for queries, so they fail with a clear
// message while a daemon holds it.
var journalDirFlag = &cli.StringFlag{Name: "dir", Value: defaultJournalDir, Usage: "journal directory", EnvVars: []string{"OBZVON_JOURNAL_DIR"}}

var journalKeyFlag = &cli.StringFlag{Name: "key-file", Usage: "encryption key file of an encrypted journal", EnvVars: []string{"OBZVON_JOURNAL_KEY_FILE"}}

func journalCommand() *cli.Command {
	return &cli.Command{
		Name:  "journal",
		Usage: "inspect, export, back up and restore the journal",
		Subcommands: []*cli.Command{
			journalCallsCommand(),
		},
	}
}

// openJournal opens the journal named by the command's flags.
func openJournal(c *cli.Context, readOnly bool) (*journal.Journal, error) {
	o := journal.DefaultOptions(c.String("dir"))
	o.ReadOnly = readOnly
	o.EncryptionKeyFile = c.String("key-file")
	j, err := journal.Open(o)
	if err != nil {
		if strings.Contains(err.Error(), "acquire") || strings.Contains(err.Error(), "lock") {
			return nil, cli.Exit(fmt.Sprintf("%v\nThe journal is in use (is the daemon running?); stop it or use its API.", err), exitFailure)
		}
		return nil, cli.Exit(err.Error(), exitFailure)
	}
	return j, nil
}

// parseWhen reads a --from/--to value: RFC 3339, "YYYY-MM-DD HH:MM" or
// "YYYY-MM-DD" (local time). Empty means open-ended.
func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, cli.Exit(fmt.Sprintf("--%s %q: want a date like 2026-03-01, 2026-03-01 14:30 or RFC 3339\nTry: obzvon journal calls --from 2026-03-01 --to 2026-03-02", flag, s), exitUsage)
}

func fromTo(c *cli.Context) (time.Time, time.Time, error) {
	from, err := parseWhen("from", c.String("from"))
	if err != nil {
		return from, from, err
	}
	to, err := parseWhen("to", c.String("to"))
	if err != nil {
		return from, to, err
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, cli.Exit(fmt.Sprintf("--to %s is not after --from %s", c.String("to"), c.String("from")), exitUsage)
	}
	return from, to, nil
}

func journalCallsCommand() *cli.Command {
	return &cli.Command{
		Name:  "calls",
		Usage: "list call detail records that arrived in [--from, --to)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "start of the period (2026-03-01, 2026-03-01 14:30, RFC 3339)"},
			&cli.StringFlag{Name: "to", Usage: "end of the period, exclusive"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array"},
			journalDirFlag, journalKeyFlag,
		},
		Action: func(c *cli.Context) error {
			from, to, err := fromTo(c)
			if err != nil {
				return err
			}
			j, err := openJournal(c, true)
			if err != nil {
				return err
			}
			defer j.Close()
			calls, err := j.Calls(context.Background(), from, to)
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			if c.Bool("json") {
				if calls == nil {
					calls = []journal.CallRecord{}
				}
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(calls)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tARRIVED\tDIR\tROUTE\tFROM\tTO\tTALK\tHANGUP\tSIP\tCODEC")
			for _, r := range calls {
				talk := "-"
				if !r.Answered.IsZero() && !r.Ended.IsZero() {
					talk = r.Ended.Sub(r.Answered).Round(time.Second).String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.Arrived.Local().Format("2006-01-02 15:04:05"),
					r.Direction, dash(r.Route), dash(r.From), dash(r.To), talk, dash(r.HangupBy), r.SIPCode, dash(r.Codec))
			}
			return tw.Flush()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
