package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
)

// campaignDNCCommand is `obzvon campaign dnc`: put phones on the
// do-not-call list, list it, export it, or take a phone off it.
func campaignDNCCommand(jsonFlag cli.Flag, common []cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "dnc",
		Usage: "the do-not-call list: add phones (every campaign stops dialing them within seconds), --list or --export it, --remove a phone (dialable again)",
		Description: "Without --list, --export or --remove, the phones given (or --file) are added.\n" +
			"--remove takes one phone off the list; --reason is required and kept in the audit log.\n" +
			"A contact whose \"do not call\" result put the phone there is called again if its attempts allow.",
		ArgsUsage: "PHONE... | --file FILE | --list [--phone P] | --export FILE | --remove PHONE --reason TEXT",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "file", Usage: "add: a file of one phone a line (optionally ';' and a reason), UTF-8 or Windows-1251"},
			&cli.StringFlag{Name: "reason", Usage: "add: why (kept with each phone); --remove: why the phone may be called again (required)"},
			&cli.StringFlag{Name: "campaign", Usage: "add: the campaign the request came from"},
			&cli.BoolFlag{Name: "list", Usage: "list the phones on the list: when, by whom, from where, why"},
			&cli.StringFlag{Name: "phone", Usage: "--list, --export: only this phone"},
			&cli.StringFlag{Name: "export", Usage: "write the list as CSV to `FILE`"},
			&cli.BoolFlag{Name: "cp1251", Usage: "--export: CSV in Windows-1251 for Excel"},
			&cli.StringFlag{Name: "remove", Usage: "take `PHONE` off the list (with --reason)"},
			jsonFlag,
		}, common...),
		Action: campaignDNC,
	}
}

const dncTry = "\nTry: obzvon campaign dnc --help"

func campaignDNC(c *cli.Context) error {
	list, export, remove := c.Bool("list"), c.String("export"), c.String("remove")
	modes := 0
	for _, on := range []bool{list, export != "", remove != ""} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		return cli.Exit("campaign dnc: give one of --list, --export and --remove"+dncTry, exitUsage)
	case modes == 1 && (c.NArg() > 0 || c.String("file") != "" || c.String("campaign") != ""):
		return cli.Exit("campaign dnc: phones, --file and --campaign add to the list; not with --list, --export or --remove"+dncTry, exitUsage)
	case c.String("phone") != "" && !list && export == "":
		return cli.Exit("campaign dnc: --phone selects what --list or --export show"+dncTry, exitUsage)
	case c.Bool("cp1251") && export == "":
		return cli.Exit("campaign dnc: --cp1251 is for --export"+dncTry, exitUsage)
	case c.Bool("json") && export != "":
		return cli.Exit("campaign dnc: --export writes CSV; --json is for the others"+dncTry, exitUsage)
	case (list || export != "") && c.String("reason") != "":
		return cli.Exit("campaign dnc: --reason is for adding and --remove"+dncTry, exitUsage)
	case list:
		return campaignDNCList(c)
	case export != "":
		return campaignDNCExport(c, export)
	case remove != "":
		return campaignDNCRemove(c, remove)
	}
	return campaignDNCAdd(c)
}

func campaignDNCAdd(c *cli.Context) error {
	file := c.String("file")
	if (file == "") == (c.NArg() == 0) {
		return cli.Exit("campaign dnc needs phones or --file FILE (not both)\nTry: obzvon campaign dnc --reason \"просил не звонить\" 89123456789", exitUsage)
	}
	req := campaigns.DNCRequest{Reason: c.String("reason"), Campaign: c.String("campaign"), Source: "api"}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return cli.Exit(plainPathError(err).Error(), exitFailure)
		}
		lines, err := campaigns.ReadDNC(f)
		f.Close()
		if err != nil {
			return cli.Exit(fmt.Sprintf("%s: %v", file, err), exitFailure)
		}
		req.Phones, req.Source = lines, "file"
	} else {
		for _, a := range c.Args().Slice() {
			req.Phones = append(req.Phones, campaigns.DNCLine{Phone: a})
		}
	}
	ctx := context.Background()
	var res *campaigns.DNCResult
	err := viaDaemonOr(c, false, func(d *adminAPI) error {
		if file != "" {
			q := url.Values{"reason": {req.Reason}, "campaign": {req.Campaign}}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			return d.do(ctx, http.MethodPost, "/api/v1/dnc?"+q.Encode(), f, "text/plain", &res)
		}
		return d.do(ctx, http.MethodPost, "/api/v1/dnc", req, "", &res)
	}, func(j *journal.Journal) (err error) {
		res, err = campaigns.AddDNC(ctx, j, cliActor(), req)
		return err
	})
	if err != nil {
		return exitOf(err)
	}
	if c.Bool("json") {
		return json.NewEncoder(c.App.Writer).Encode(res)
	}
	fmt.Fprintf(c.App.Writer, "do-not-call: %s, %d new on the list\n", plural(res.Phones, "phone", "phones"), res.Added)
	return nil
}

// campaignDNCList prints the whole list (or one phone's entry), reading
// it a page at a time.
func campaignDNCList(c *cli.Context) error {
	ctx := context.Background()
	q := campaigns.DNCQuery{Phone: c.String("phone"), Limit: journal.MaxDNCPage}
	var entries []journal.DNCEntry
	total := 0
	page := func(get func(q campaigns.DNCQuery) (*journal.DNCPage, error)) error {
		for {
			p, err := get(q)
			if err != nil {
				return err
			}
			entries, total = append(entries, p.Entries...), p.Total
			if p.Next == "" {
				return nil
			}
			q.After = p.Next
		}
	}
	err := viaDaemonOr(c, false, func(d *adminAPI) error {
		return page(func(q campaigns.DNCQuery) (p *journal.DNCPage, err error) {
			v := url.Values{"phone": {q.Phone}, "after": {q.After}, "limit": {strconv.Itoa(q.Limit)}}
			return p, d.get(ctx, "/api/v1/dnc", v, &p)
		})
	}, func(j *journal.Journal) error {
		return page(func(q campaigns.DNCQuery) (*journal.DNCPage, error) { return campaigns.ListDNC(ctx, j, cliActor(), q) })
	})
	if err != nil {
		return exitOf(err)
	}
	out := c.App.Writer
	if c.Bool("json") {
		if entries == nil {
			entries = []journal.DNCEntry{}
		}
		return json.NewEncoder(out).Encode(entries)
	}
	if q.Phone != "" && len(entries) == 0 {
		fmt.Fprintf(out, "%s is not on the do-not-call list\n", strings.TrimSpace(q.Phone))
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHONE\tADDED\tBY\tSOURCE\tCAMPAIGN\tREASON")
	for _, d := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Phone, d.Added.Local().Format(timeZoned), dash(printable(d.By)), d.Source,
			dash(d.Campaign), dash(printable(d.Reason)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if q.Phone == "" {
		fmt.Fprintf(out, "%s on the do-not-call list\n", plural(total, "phone", "phones"))
	}
	return nil
}

// timeZoned is how the CLI shows a moment: with its zone's name, so that
// a time read on a server in another zone is not misread.
const timeZoned = "2006-01-02 15:04:05 MST"

func campaignDNCExport(c *cli.Context, name string) error {
	ctx := context.Background()
	phone, cp1251 := c.String("phone"), c.Bool("cp1251")
	n := 0
	err := writeFileAtomic(name, 0o666, func(w io.Writer) error {
		return viaDaemonOr(c, false, func(d *adminAPI) error {
			q := url.Values{"format": {"csv"}}
			if phone != "" {
				q.Set("phone", phone)
			}
			if cp1251 {
				q.Set("encoding", "cp1251")
			}
			h, err := d.download(ctx, "/api/v1/dnc?"+q.Encode(), w)
			if err == nil {
				n, _ = strconv.Atoi(h.Get(api.RowsHeader))
			}
			return err
		}, func(j *journal.Journal) (err error) {
			n, err = campaigns.ExportDNC(ctx, j, cliActor(), phone, cp1251, time.Local, w)
			return err
		})
	})
	if err != nil {
		return exitOf(err)
	}
	enc := "UTF-8"
	if cp1251 {
		enc = "Windows-1251"
	}
	fmt.Fprintf(c.App.Writer, "%s: %s of the do-not-call list (CSV, %s)\n", name, plural(n, "phone", "phones"), enc)
	return nil
}

func campaignDNCRemove(c *cli.Context, phone string) error {
	reason := strings.TrimSpace(c.String("reason"))
	if reason == "" {
		return cli.Exit("campaign dnc --remove needs --reason: why the phone may be called again (kept in the audit log)\n"+
			"Try: obzvon campaign dnc --remove 89609139099 --reason 'попросил звонить (обращение 2026-000123)'", exitUsage)
	}
	ctx := context.Background()
	var res *campaigns.DNCRemoval
	err := viaDaemonOr(c, false, func(d *adminAPI) error {
		return d.do(ctx, http.MethodDelete, "/api/v1/dnc/"+url.PathEscape(phone), api.DNCRemoveRequest{Reason: reason}, "", &res)
	}, func(j *journal.Journal) (err error) {
		res, err = campaigns.RemoveDNC(ctx, j, cliActor(), phone, reason, time.Now())
		return err
	})
	if err != nil {
		return exitOf(err)
	}
	out := c.App.Writer
	if c.Bool("json") {
		return json.NewEncoder(out).Encode(res)
	}
	d := res.Removed
	fmt.Fprintf(out, "do-not-call: %s removed (on the list since %s, by %s, source %s", d.Phone, d.Added.Local().Format(timeZoned), dash(d.By), d.Source)
	if d.Reason != "" {
		fmt.Fprintf(out, ", reason «%s»", printable(d.Reason))
	}
	fmt.Fprintln(out, ")")
	if len(res.Released) == 0 {
		fmt.Fprintln(out, "no contact was held back by it")
		return nil
	}
	fmt.Fprintf(out, "%s may be called on it again:\n", plural(len(res.Released), "contact", "contacts"))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CAMPAIGN\tCONTACT\tSTATUS\tNEXT")
	for _, r := range res.Released {
		next := "-"
		switch {
		case r.Status == journal.ContactPending && !r.Next.IsZero():
			next = r.Next.Local().Format(timeZoned)
		case r.Block != "":
			next = "not called: " + r.Block
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Campaign, r.Contact, r.Status, next)
	}
	return tw.Flush()
}

// plural is a count with its English noun: "1 phone", "2 phones".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
