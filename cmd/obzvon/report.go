package main

// Queue reports from the command line: `obzvon report queues` (each
// queue's figures per interval) and `obzvon report queue-log` (the ACD's
// events as an Asterisk queue_log). Both are computed from the journal's
// ACD events alone: by the running daemon over its admin socket, or, when
// it is stopped, from the journal directory with the service-level
// thresholds of the configuration.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/dialer"
)

// reportConfigFlag names the configuration whose queues' service-level
// thresholds a report uses when no daemon runs (a running daemon uses its
// own).
var reportConfigFlag = &cli.StringFlag{
	Name:    "config",
	Aliases: []string{"c"},
	Usage:   "TOML configuration `FILE` for the queues' service-level thresholds when no daemon runs (default " + systemConfig + " if present)",
	EnvVars: []string{"OBZVON_CONFIG"},
}

// systemConfig is the installed service's configuration, read for the
// thresholds when no --config is given.
const systemConfig = "/etc/obzvon/obzvon.toml"

func reportCommand() *cli.Command {
	period := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "start of the period (2026-03-01, 2026-03-01 14:30, RFC 3339; default: today 00:00)"},
			&cli.StringFlag{Name: "to", Usage: "end of the period, exclusive (default: the end of the --from day)"},
			reportConfigFlag, journalDirFlag, journalKeyFlag, socketFlag,
		}, extra...)
	}
	return &cli.Command{
		Name:  "report",
		Usage: "queue reports computed from the journal's ACD events",
		Subcommands: []*cli.Command{
			{
				Name:  "queues",
				Usage: "per queue and interval: offered, answered, abandoned, overflows, service level, ASA, AHT, abandonment, occupancy",
				Flags: period(&cli.DurationFlag{Name: "interval", Value: api.DefaultReportInterval, Usage: "interval: 15m, 30m or 60m"},
					jsonFlag()),
				Action: reportQueues,
			},
			{
				Name:   "queue-log",
				Usage:  "the period's ACD events in Asterisk queue_log format (epoch|callid|queue|agent|event|data…), without caller numbers",
				Flags:  period(),
				Action: reportQueueLog,
			},
		},
	}
}

// reportPeriod reads --from and --to: by default today; --to defaults to
// the end of the --from day.
func reportPeriod(c *cli.Context) (time.Time, time.Time, error) {
	from, to, err := fromTo(c)
	if err != nil {
		return from, to, err
	}
	if from.IsZero() {
		y, m, d := time.Now().Date()
		from = time.Date(y, m, d, 0, 0, 0, 0, time.Local)
	}
	if to.IsZero() {
		y, m, d := from.Date()
		to = time.Date(y, m, d+1, 0, 0, 0, 0, from.Location())
	}
	if !to.After(from) {
		return from, to, cli.Exit(fmt.Sprintf("--to %s is not after --from %s\nTry: obzvon report queues --from 2026-03-02 --to 2026-03-03",
			to.Format(time.RFC3339), from.Format(time.RFC3339)), exitUsage)
	}
	return from, to, nil
}

func reportQuery(from, to time.Time) url.Values {
	return url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}
}

// reportEvents reads the period's events from the journal directory (no
// daemon runs).
func reportEvents(c *cli.Context, from, to time.Time) ([]acd.Event, time.Time, error) {
	j, err := openJournal(c, true)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer j.Close()
	evs, end, skipped, err := dialer.ReadReportEvents(c.Context, j, from, to, time.Now())
	if err != nil {
		return nil, end, cli.Exit(err.Error(), exitFailure)
	}
	if skipped > 0 {
		fmt.Fprintf(c.App.ErrWriter, "obzvon: %d ACD events could not be read and are left out\n", skipped)
	}
	return evs, end, nil
}

// reportThresholds reads the queues' service-level thresholds from
// --config, else the installed service's file, else the built-in
// defaults (saying so on stderr).
func reportThresholds(c *cli.Context) (map[string]time.Duration, error) {
	path := c.String("config")
	if path == "" {
		if _, err := os.Stat(systemConfig); err == nil {
			path = systemConfig
		}
	}
	var cfg *config.Config
	if path == "" {
		fmt.Fprintln(c.App.ErrWriter, "obzvon: no --config: the queues' service-level thresholds are the built-in defaults")
		cfg = config.Default()
	} else {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, cli.Exit(err.Error(), exitFailure)
		}
	}
	out := map[string]time.Duration{}
	for _, q := range cfg.Queues {
		_, th := q.SL()
		out[q.Name] = th
	}
	return out, nil
}

func reportQueues(c *cli.Context) error {
	from, to, err := reportPeriod(c)
	if err != nil {
		return err
	}
	interval := c.Duration("interval")
	a, err := dialAdmin(c)
	if err != nil {
		return err
	}
	var rep *acd.Report
	if a != nil {
		q := reportQuery(from, to)
		q.Set("interval", interval.String())
		rep = &acd.Report{}
		if err := a.get(c.Context, "/api/v1/reports/queues", q, rep); err != nil {
			return exitOf(err)
		}
	} else {
		th, err := reportThresholds(c)
		if err != nil {
			return err
		}
		evs, end, err := reportEvents(c, from, to)
		if err != nil {
			return err
		}
		rep, err = acd.BuildReport(evs, acd.ReportOptions{From: from, To: to, Interval: interval, Thresholds: th, Now: end})
		if err != nil {
			return cli.Exit(err.Error()+"\nTry: obzvon report queues --from 2026-03-02 --interval 30m", exitUsage)
		}
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printReport(c.App.Writer, rep)
}

func reportQueueLog(c *cli.Context) error {
	from, to, err := reportPeriod(c)
	if err != nil {
		return err
	}
	a, err := dialAdmin(c)
	if err != nil {
		return err
	}
	if a != nil {
		if _, err := a.download(c.Context, "/api/v1/reports/queue-log?"+reportQuery(from, to).Encode(), c.App.Writer); err != nil {
			return exitOf(err)
		}
		return nil
	}
	evs, _, err := reportEvents(c, from, to)
	if err != nil {
		return err
	}
	if err := acd.WriteQueueLog(c.App.Writer, evs, from, to); err != nil {
		return cli.Exit(err.Error(), exitFailure)
	}
	return nil
}

// printReport writes the report as a table: each queue's intervals, then
// its total.
func printReport(w io.Writer, rep *acd.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Queues from %s to %s\n", rep.From.Local().Format("2006-01-02 15:04"), rep.To.Local().Format("2006-01-02 15:04"))
	fmt.Fprintln(tw, "QUEUE\tINTERVAL\tOFFERED\tANSWERED\tIN SL\tABANDONED\tTIMEOUT\tFULL\tSL\tASA\tAHT\tABANDON\tOCCUPANCY\tLONGEST")
	for _, q := range rep.Queues {
		name := q.Queue
		if q.Outbound {
			name += " (campaign)"
		}
		for _, f := range q.Intervals {
			fmt.Fprintln(tw, figuresLine(name, intervalLabel(f), f))
		}
		fmt.Fprintln(tw, figuresLine(name, fmt.Sprintf("total (SL %gs)", q.SLThresholdSeconds), q.Total))
	}
	return tw.Flush()
}

func intervalLabel(f acd.Figures) string {
	s, e := f.Start.Local(), f.End.Local()
	end := e.Format("15:04")
	if e.Format("2006-01-02") != s.Format("2006-01-02") {
		end = e.Format("2006-01-02 15:04")
	}
	return s.Format("2006-01-02 15:04") + "–" + end
}

func figuresLine(queue, interval string, f acd.Figures) string {
	pct := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", *p*100)
	}
	dur := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return seconds(*p)
	}
	return strings.Join([]string{queue, interval, fmt.Sprint(f.Offered), fmt.Sprint(f.Answered), fmt.Sprint(f.AnsweredInSL),
		fmt.Sprint(f.Abandoned), fmt.Sprint(f.Timeouts), fmt.Sprint(f.Full), pct(f.ServiceLevel), dur(f.ASA), dur(f.AHT),
		pct(f.AbandonRate), pct(f.Occupancy), seconds(f.LongestWait)}, "\t")
}

// seconds prints a duration in seconds as 42s or 3m05s.
func seconds(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
