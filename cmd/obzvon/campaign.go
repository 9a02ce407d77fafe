package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// campaignCommand is `obzvon campaign …`: every command goes through the
// running daemon's admin socket, or opens the journal directory when no
// daemon runs.
func campaignCommand() *cli.Command {
	common := []cli.Flag{journalDirFlag, journalKeyFlag, socketFlag}
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}
	return &cli.Command{
		Name:  "campaign",
		Usage: "outbound campaigns: create, load lists, start, pause, stop, status, export, dnc, callbacks, why",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a campaign from a survey script (built-in: screening, followup, informing; or --script-file)",
				ArgsUsage: "ID",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "title", Usage: "the campaign's title", Required: true},
					&cli.StringFlag{Name: "script", Usage: "built-in script name"},
					&cli.StringFlag{Name: "script-file", Usage: "a survey script TOML file"},
					&cli.StringFlag{Name: "mode", Usage: "preview, progressive, ratio, predictive or agentless"},
					&cli.StringFlag{Name: "settings", Usage: `a JSON file of campaign settings (window, holidays, attempts, retries, trunk…), e.g. {"weekdays": "09:00-20:00", "weekend": "10:00-16:00", "max_attempts": 3, "retry_delays": {"busy": "30m"}}`},
					jsonFlag,
				}, common...),
				Action: campaignCreate,
			},
			{
				Name:      "load",
				Usage:     "load a survey list (CSV in UTF-8 or Windows-1251, ';' or ','; or XLSX) into a campaign",
				ArgsUsage: "CAMPAIGN FILE",
				Flags:     append([]cli.Flag{jsonFlag}, common...),
				Action:    campaignLoad,
			},
			campaignMoveCommand("start", journal.CampaignRunning, common),
			campaignMoveCommand("pause", journal.CampaignPaused, common),
			campaignMoveCommand("stop", journal.CampaignStopped, common),
			{
				Name:      "status",
				Usage:     "a campaign's counts (total, with phone, notified, dialed, reached, refused, pending retry, exhausted) per MO; without CAMPAIGN, the list",
				ArgsUsage: "[CAMPAIGN]",
				Flags:     append([]cli.Flag{jsonFlag}, common...),
				Action:    campaignStatus,
			},
			{
				Name:      "export",
				Usage:     "export a campaign's results (counts per MO and every person) as CSV or XLSX",
				ArgsUsage: "CAMPAIGN FILE",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "format", Usage: "csv or xlsx (default: from FILE's extension)"},
					&cli.BoolFlag{Name: "cp1251", Usage: "CSV in Windows-1251 for Excel"},
					&cli.StringFlag{Name: "mo", Usage: "only this medical organization's code"},
				}, common...),
				Action: campaignExport,
			},
			campaignDNCCommand(jsonFlag, common),
			{
				Name:      "callbacks",
				Usage:     "make every deferred appeal a callback of the campaign for the appeal's operator",
				ArgsUsage: "CAMPAIGN",
				Flags:     append([]cli.Flag{jsonFlag}, common...),
				Action:    campaignCallbacks,
			},
			{
				Name:      "why",
				Usage:     "why was this person (not) called: attempts, decisions not to dial and what the rules say now",
				ArgsUsage: "CAMPAIGN ENP|PHONE",
				Flags:     append([]cli.Flag{jsonFlag}, common...),
				Action:    campaignWhy,
			},
		},
	}
}

func campaignCreate(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("campaign create needs the campaign ID\nTry: obzvon campaign create --title \"Диспансеризация 2026\" --script screening disp-2026", exitUsage)
	}
	req := campaigns.CreateRequest{ID: c.Args().First(), Title: c.String("title"), Script: c.String("script")}
	if f := c.String("script-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return cli.Exit(plainPathError(err).Error(), exitFailure)
		}
		req.ScriptSource = string(b)
		if req.Script == "" {
			req.Script = strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		}
	}
	if req.Script == "" {
		return cli.Exit("campaign create needs --script or --script-file\nTry: obzvon campaign create --title T --script screening ID", exitUsage)
	}
	if f := c.String("settings"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return cli.Exit(plainPathError(err).Error(), exitFailure)
		}
		if err := json.Unmarshal(b, &req.Settings); err != nil {
			return cli.Exit(fmt.Sprintf("%s: %v", f, err), exitFailure)
		}
	}
	if m := c.String("mode"); m != "" {
		req.Settings.Mode = m
	}
	ctx := context.Background()
	var out *journal.Campaign
	err := viaDaemonOr(c, false, func(d *adminAPI) error {
		return d.do(ctx, http.MethodPost, "/api/v1/campaigns", req, "", &out)
	}, func(j *journal.Journal) (err error) {
		out, err = campaigns.Create(ctx, j, cliActor(), req)
		return err
	})
	if err != nil {
		return exitOf(err)
	}
	if c.Bool("json") {
		out.ScriptSource = ""
		return json.NewEncoder(c.App.Writer).Encode(out)
	}
	fmt.Fprintf(c.App.Writer, "campaign %s created (%s, script %s); load a list: obzvon campaign load %s FILE\n", out.ID, out.Kind, out.Script, out.ID)
	return nil
}

func campaignLoad(c *cli.Context) error {
	if c.NArg() != 2 {
		return cli.Exit("campaign load needs CAMPAIGN and FILE\nTry: obzvon campaign load disp-2026 survey-list.csv", exitUsage)
	}
	id, name := c.Args().Get(0), c.Args().Get(1)
	f, err := os.Open(name)
	if err != nil {
		return cli.Exit(plainPathError(err).Error(), exitFailure)
	}
	defer f.Close()
	ctx := context.Background()
	shown := false // a progress line, to end before the result
	progress := func(stage string, done int) {
		fmt.Fprintf(c.App.ErrWriter, "\r%s: %d", stage, done)
		shown = true
	}
	var res *campaigns.LoadResult
	err = viaDaemonOr(c, false, func(d *adminAPI) error {
		q := url.Values{"name": {filepath.Base(name)}, "progress": {"1"}}
		return d.stream(ctx, "/api/v1/campaigns/"+url.PathEscape(id)+"/load?"+q.Encode(), f, progress, &res)
	}, func(j *journal.Journal) (err error) {
		res, err = campaigns.Load(ctx, j, cliActor(), id, f, lists.FormatOf(name), filepath.Base(name), progress)
		return err
	})
	if shown {
		fmt.Fprintln(c.App.ErrWriter)
	}
	if err != nil {
		return exitOf(err)
	}
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(res)
	}
	fmt.Fprintf(c.App.Writer, "%s (%s): %s, %d merged, %d rejected; contacts: %d inserted, %d updated, %d unchanged, %d without phone; %.0f rows/s\n",
		name, res.Encoding, plural(res.Rows, "row", "rows"), res.Merged, len(res.Errors), res.Inserted, res.Updated, res.Unchanged, res.NoPhone,
		float64(res.Rows)/max(res.Took.Seconds(), 1e-9))
	if len(res.Errors)+len(res.Warnings) > 0 {
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LINE\tCOLUMN\tPROBLEM")
		for _, e := range res.Errors {
			fmt.Fprintf(tw, "%d\t%s\t%s (row rejected)\n", e.Line, dash(e.Column), e.Reason)
		}
		for _, e := range res.Warnings {
			fmt.Fprintf(tw, "%d\t%s\t%s (phone skipped)\n", e.Line, dash(e.Column), e.Reason)
		}
		return tw.Flush()
	}
	return nil
}

func campaignMoveCommand(verb string, to journal.CampaignStatus, common []cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      verb,
		Usage:     verb + " a campaign",
		ArgsUsage: "CAMPAIGN",
		Flags:     append([]cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (kept in the campaign's history)"}}, common...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit(fmt.Sprintf("campaign %s needs the campaign ID\nTry: obzvon campaign %s disp-2026", verb, verb), exitUsage)
			}
			id := c.Args().First()
			ctx := context.Background()
			var out *journal.Campaign
			err := viaDaemonOr(c, false, func(d *adminAPI) error {
				return d.do(ctx, http.MethodPost, "/api/v1/campaigns/"+url.PathEscape(id)+"/"+verb, map[string]string{"reason": c.String("reason")}, "", &out)
			}, func(j *journal.Journal) (err error) {
				out, err = campaigns.SetStatus(ctx, j, cliActor(), id, to, c.String("reason"))
				return err
			})
			if err != nil {
				return exitOf(err)
			}
			fmt.Fprintf(c.App.Writer, "campaign %s: %s\n", out.ID, out.Status)
			return nil
		},
	}
}

func campaignStatus(c *cli.Context) error {
	ctx := context.Background()
	if c.NArg() == 0 {
		var list []journal.Campaign
		err := viaDaemonOr(c, true, func(d *adminAPI) error { return d.get(ctx, "/api/v1/campaigns", nil, &list) },
			func(j *journal.Journal) (err error) { list, err = j.Campaigns(ctx); return err })
		if err != nil {
			return exitOf(err)
		}
		if c.Bool("json") {
			if list == nil {
				list = []journal.Campaign{}
			}
			return json.NewEncoder(c.App.Writer).Encode(list)
		}
		tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tKIND\tSCRIPT\tTITLE")
		for _, cp := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cp.ID, cp.Status, cp.Kind, cp.Script, cp.Title)
		}
		return tw.Flush()
	}
	id := c.Args().First()
	var st *campaigns.Status
	err := viaDaemonOr(c, true, func(d *adminAPI) error { return d.get(ctx, "/api/v1/campaigns/"+url.PathEscape(id), nil, &st) },
		func(j *journal.Journal) (err error) { st, err = campaigns.StatusOf(ctx, j, id); return err })
	if err != nil {
		return exitOf(err)
	}
	if c.Bool("json") {
		st.Campaign.ScriptSource = ""
		return json.NewEncoder(c.App.Writer).Encode(st)
	}
	cp := st.Campaign
	fmt.Fprintf(c.App.Writer, "campaign %s «%s»: %s", cp.ID, cp.Title, cp.Status)
	if cp.Reason != "" {
		fmt.Fprintf(c.App.Writer, " (%s)", cp.Reason)
	}
	fmt.Fprintln(c.App.Writer)
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MO\tTOTAL\tWITH PHONE\tNOTIFIED\tDIALED\tREACHED\tREFUSED\tPENDING RETRY\tWAITING\tEXHAUSTED\tNO PHONE\t")
	row := func(n campaigns.Counts) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", dash(n.MOCode), n.Total, n.WithPhone, n.Notified,
			n.Dialed, n.Reached, n.Refused, n.PendingRetry, n.Waiting, n.Exhausted, n.NoPhone)
	}
	for _, m := range st.Report.ByMO {
		row(m)
	}
	t := st.Report.Total
	t.MOCode = "total"
	row(t)
	return tw.Flush()
}

func campaignExport(c *cli.Context) error {
	if c.NArg() != 2 {
		return cli.Exit("campaign export needs CAMPAIGN and FILE\nTry: obzvon campaign export disp-2026 results.xlsx", exitUsage)
	}
	id, name := c.Args().Get(0), c.Args().Get(1)
	o := campaigns.ExportOptions{Format: c.String("format"), CP1251: c.Bool("cp1251"), MO: c.String("mo")}
	if o.Format == "" {
		o.Format = strings.TrimPrefix(strings.ToLower(filepath.Ext(name)), ".")
	}
	// Written beside FILE and renamed over it: a failed export leaves
	// the file that was there (last week's results) as it was.
	ctx := context.Background()
	n := 0
	err := writeFileAtomic(name, 0o666, func(w io.Writer) error {
		return viaDaemonOr(c, true, func(d *adminAPI) error {
			q := url.Values{"format": {o.Format}, "mo": {o.MO}}
			if o.CP1251 {
				q.Set("encoding", "cp1251")
			}
			h, err := d.download(ctx, "/api/v1/campaigns/"+url.PathEscape(id)+"/export?"+q.Encode(), w)
			if err == nil {
				n, _ = strconv.Atoi(h.Get(api.RowsHeader))
			}
			return err
		}, func(j *journal.Journal) (err error) {
			n, err = campaigns.Export(ctx, j, cliActor(), id, o, w)
			return err
		})
	})
	if err != nil {
		return exitOf(err)
	}
	what := strings.ToUpper(o.Format)
	if o.Format == "csv" {
		what += ", UTF-8"
		if o.CP1251 {
			what = "CSV, Windows-1251"
		}
	}
	if o.MO != "" {
		what += ", MO " + o.MO
	}
	fmt.Fprintf(c.App.Writer, "%s: campaign %s, %s with their results (%s)\n", name, id, plural(n, "contact", "contacts"), what)
	return nil
}

func campaignWhy(c *cli.Context) error {
	if c.NArg() != 2 {
		return cli.Exit("campaign why needs CAMPAIGN and a ЕНП or phone\nTry: obzvon campaign why disp-2026 2681590830166131", exitUsage)
	}
	id, ref := c.Args().Get(0), c.Args().Get(1)
	ctx := context.Background()
	var w *campaigns.Why
	err := viaDaemonOr(c, true, func(d *adminAPI) error {
		return d.get(ctx, "/api/v1/campaigns/"+url.PathEscape(id)+"/why", url.Values{"contact": {ref}}, &w)
	}, func(j *journal.Journal) (err error) {
		w, err = campaigns.Explain(ctx, j, cliActor(), id, ref, time.Now())
		return err
	})
	if err != nil {
		return exitOf(err)
	}
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(w)
	}
	ct := w.Contact
	out := c.App.Writer
	// Times in the zone the rules use for the person (their calling
	// hours), each with the zone's name.
	loc := time.Local
	if z, err := campaigns.LoadZone(w.Zone); err == nil {
		loc = z
	}
	zone := fmt.Sprintf("%s (from %s)", dash(ct.Zone), dash(ct.ZoneFrom))
	if ct.Zone == "" && w.Zone != "" {
		zone = w.Zone + " (the campaign's)"
	}
	at := func(t time.Time) string { return t.In(loc).Format(timeZoned) }
	fmt.Fprintf(out, "%s %s %s (%s), ЕНП %s, MO %s, zone %s\n", ct.Surname, ct.Name, ct.Patronymic, ct.Birth, ct.ID, dash(ct.MOCode), zone)
	fmt.Fprintf(out, "status: %s", ct.Status)
	if ct.Result != "" {
		fmt.Fprintf(out, ", last result %s", ct.Result)
	}
	fmt.Fprintln(out)
	for _, p := range ct.Phones {
		note := ""
		switch {
		case p.DNC:
			note = " (not called while on the do-not-call list)"
		case p.Wrong:
			note = " (not called again: wrong number)"
		}
		fmt.Fprintf(out, "  phone %s %s%s\n", p.Number, p.Type, note)
	}
	for _, d := range w.DNC {
		fmt.Fprintf(out, "  DNC: %s since %s (%s)\n", d.Phone, at(d.Added), d.Source)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHAT\tPHONE\tDETAIL")
	for _, a := range w.Attempts {
		res := a.Result
		if res == "" {
			res = "in progress"
		}
		fmt.Fprintf(tw, "%s\tcalled: %s\t%s\tSIP %d %s\n", at(a.Started), res, a.Phone, a.SIPCode, a.Note)
	}
	for _, s := range w.Skips {
		next := "never"
		if !s.Next.IsZero() {
			next = "until " + at(s.Next)
		}
		fmt.Fprintf(tw, "%s\tnot called: %s\t%s\t%s, %s\n", at(s.At), s.Reason, dash(s.Phone), s.Detail, next)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if w.Now.OK {
		fmt.Fprintf(out, "now: may be called on %s\n", w.Now.Phone)
	} else {
		fmt.Fprintf(out, "now: not called: %s (%s)", w.Now.Reason, w.Now.Why)
		if !w.Now.Next.IsZero() {
			fmt.Fprintf(out, " until %s", at(w.Now.Next))
		}
		fmt.Fprintln(out)
	}
	return nil
}

// viaDaemonOr runs daemon through the admin socket when a daemon answers,
// else local on the journal directory (read-only when readOnly).
func viaDaemonOr(c *cli.Context, readOnly bool, daemon func(d *adminAPI) error, local func(j *journal.Journal) error) error {
	d, err := dialAdmin(c)
	if err != nil {
		return err
	}
	if d != nil {
		return daemon(d)
	}
	j, err := openJournal(c, readOnly)
	if err != nil {
		return err
	}
	defer j.Close()
	return local(j)
}

// stream posts body to path and reads a JSON-lines answer: progress lines
// go to progress, the last line (the result or an error) into out.
func (a *adminAPI) stream(ctx context.Context, path string, body io.Reader, progress func(string, int), out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://obzvon"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		return &daemonError{Status: res.StatusCode, Msg: e.Error}
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var last []byte
	for sc.Scan() {
		line := sc.Bytes()
		var p struct {
			Stage string `json:"stage"`
			Done  int    `json:"done"`
		}
		if json.Unmarshal(line, &p) == nil && p.Stage != "" {
			progress(p.Stage, p.Done)
			continue
		}
		last = append(last[:0], line...)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	var e struct{ Error string }
	if json.Unmarshal(last, &e) == nil && e.Error != "" {
		return &daemonError{Status: http.StatusUnprocessableEntity, Msg: e.Error}
	}
	return json.Unmarshal(last, out)
}

// download copies the body of a GET of path into w and returns the
// answer's header.
func (a *adminAPI) download(ctx context.Context, path string, w io.Writer) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://obzvon"+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		return nil, &daemonError{Status: res.StatusCode, Msg: e.Error}
	}
	body := &readErr{r: res.Body}
	if _, err := io.Copy(w, body); err != nil {
		if body.err != nil {
			return nil, fmt.Errorf("the file from the daemon broke off: %v", daemonTransportError(body.err))
		}
		return nil, err
	}
	return res.Header, nil
}

// readErr is a reader that keeps its error, to tell a broken download
// from a failed write.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

func campaignCallbacks(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("campaign callbacks needs the campaign ID\nTry: obzvon campaign callbacks callbacks-2026", exitUsage)
	}
	id := c.Args().First()
	ctx := context.Background()
	var res *campaigns.AppealCallbacks
	err := viaDaemonOr(c, false, func(d *adminAPI) error {
		return d.do(ctx, http.MethodPost, "/api/v1/campaigns/"+url.PathEscape(id)+"/appeal-callbacks", nil, "", &res)
	}, func(j *journal.Journal) (err error) {
		res, err = campaigns.ImportAppealCallbacks(ctx, j, cliActor(), id, time.Now())
		return err
	})
	if err != nil {
		return exitOf(err)
	}
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(res)
	}
	fmt.Fprintf(c.App.Writer, "deferred appeals: %d; callbacks added %d, already there %d, skipped %d\n", res.Deferred, res.Added, res.Already, len(res.Skipped))
	for _, sk := range res.Skipped {
		fmt.Fprintf(c.App.Writer, "  appeal %s %s: %s\n", sk.Number, sk.Appeal, sk.Reason)
	}
	return nil
}
