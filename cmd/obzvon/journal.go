package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

// defaultJournalDir is where the CLI looks for the journal when --dir is
// not given: ./var/journal (what `make run` uses) when it exists here,
// else /var/lib/obzvon/journal (the systemd service's) when that exists,
// else ./var/journal. The daemon's admin socket is looked for beside it.
var defaultJournalDir = func() string {
	for _, d := range []string{"./var/journal", "/var/lib/obzvon/journal"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return "./var/journal"
}()

// journalDirFlag is the --dir flag shared by the commands that use the
// journal. While a daemon runs they go through its admin socket (beside
// the directory, see socketFlag); otherwise they open the directory
// themselves (read-write, see openJournal).
var journalDirFlag = &cli.StringFlag{Name: "dir", Value: defaultJournalDir, Usage: "journal directory", EnvVars: []string{"OBZVON_JOURNAL_DIR"}}

var journalKeyFlag = &cli.StringFlag{Name: "key-file", Usage: "encryption key file of an encrypted journal", EnvVars: []string{"OBZVON_JOURNAL_KEY_FILE"}}

func journalCommand() *cli.Command {
	return &cli.Command{
		Name:  "journal",
		Usage: "inspect, export, back up and restore the journal",
		Subcommands: []*cli.Command{
			journalCallsCommand(),
			journalEventsCommand(),
			journalSearchCommand(),
			journalExportCommand(),
			journalAuditCommand(),
			journalCheckCommand(),
			journalBackupCommand(),
			journalRestoreCommand(),
			journalRotateKeyCommand(),
		},
	}
}

// openJournal opens the journal named by the command's flags, for a
// command run while no daemon holds it. query says the command only reads;
// the journal is opened read-write all the same, for two reasons: reads
// of personal data are audited in the journal itself, durably, before
// the data is shown (a read-only journal refuses them), and a journal
// left by a crash or power loss must replay its log first, which Badger
// refuses to do read-only ("Log truncate required").
func openJournal(c *cli.Context, query bool) (*journal.Journal, error) {
	o := journal.DefaultOptions(c.String("dir"))
	_ = query
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
			journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			from, to, err := fromTo(c)
			if err != nil {
				return err
			}
			// A running daemon holds the journal: ask it over its admin
			// socket; otherwise read the directory.
			calls, viaDaemon, err := callsFromDaemon(c, from, to)
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			if !viaDaemon {
				j, err := openJournal(c, true)
				if err != nil {
					return err
				}
				defer j.Close()
				calls, err = j.ReadCalls(context.Background(), cliActor(), from, to)
				if err != nil {
					return cli.Exit(err.Error(), exitFailure)
				}
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

func journalBackupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a consistent full backup of the journal to FILE (- for stdout)",
		ArgsUsage: "FILE",
		Flags:     []cli.Flag{journalDirFlag, journalKeyFlag, socketFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("journal backup needs exactly one FILE\nTry: obzvon journal backup obzvon-journal.bak", exitUsage)
			}
			// A running daemon holds the journal: it streams the backup over
			// its admin socket; otherwise read the directory.
			backup := func(w io.Writer) error {
				viaDaemon, err := backupFromDaemon(c, w)
				if viaDaemon || err != nil {
					return err
				}
				j, err := openJournal(c, true)
				if err != nil {
					return err
				}
				defer j.Close()
				return j.Backup(context.Background(), cliActor(), w)
			}
			name := c.Args().First()
			if name == "-" {
				if err := backup(c.App.Writer); err != nil {
					var ec cli.ExitCoder
					if errors.As(err, &ec) {
						return err
					}
					return cli.Exit(err.Error(), exitFailure)
				}
				return nil
			}
			// Write next to the target and rename, so a failed backup never
			// leaves a truncated file under the final name.
			if err := writeFileAtomic(name, 0o600, backup); err != nil {
				return exitOf(err)
			}
			fmt.Fprintln(c.App.ErrWriter, "backup written to", name, "(not encrypted: keep it as safe as the journal)")
			return nil
		},
	}
}

func journalRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a backup FILE into DIR, which must be empty or not exist",
		ArgsUsage: "FILE DIR",
		Flags:     []cli.Flag{journalKeyFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return cli.Exit("journal restore needs FILE and DIR\nTry: obzvon journal restore obzvon-journal.bak journal.new", exitUsage)
			}
			f, err := os.Open(c.Args().Get(0))
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			defer f.Close()
			o := journal.DefaultOptions("")
			o.EncryptionKeyFile = c.String("key-file")
			if err := journal.Restore(context.Background(), f, c.Args().Get(1), o); err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			fmt.Fprintln(c.App.ErrWriter, "restored into", c.Args().Get(1))
			return nil
		},
	}
}

func journalRotateKeyCommand() *cli.Command {
	return &cli.Command{
		Name:  "rotate-key",
		Usage: "re-encrypt the journal's key registry from --old-key-file to --new-key-file (stop the daemon first)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "old-key-file", Usage: "the key in use (empty: the journal is not encrypted yet)"},
			&cli.StringFlag{Name: "new-key-file", Usage: "the new key (empty: stop encrypting)"},
			journalDirFlag,
		},
		Action: func(c *cli.Context) error {
			if c.String("old-key-file") == "" && c.String("new-key-file") == "" {
				return cli.Exit("give --old-key-file, --new-key-file or both\nTry: obzvon journal rotate-key --old-key-file /etc/obzvon/journal.key --new-key-file /etc/obzvon/journal.key.new", exitUsage)
			}
			if err := journal.RotateKey(c.String("dir"), c.String("old-key-file"), c.String("new-key-file")); err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			fmt.Fprintln(c.App.ErrWriter, "key rotated; start the daemon with the new key file")
			return nil
		},
	}
}

func journalSearchCommand() *cli.Command {
	return &cli.Command{
		Name:  "search",
		Usage: "find appeals by number, phone or policy number (ЕНП), newest first",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "number", Usage: "appeal number, 2026-000123"},
			&cli.StringFlag{Name: "phone", Usage: "caller phone in any Russian format"},
			&cli.StringFlag{Name: "enp", Usage: "policy number (16 digits)"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}, journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			if c.String("number") == "" && c.String("phone") == "" && c.String("enp") == "" {
				return cli.Exit("give --number, --phone or --enp\nTry: obzvon journal search --phone 89123456789", exitUsage)
			}
			if enp := c.String("enp"); enp != "" && !lists.ValidENP(enp) {
				return cli.Exit(fmt.Sprintf("--enp %q: a policy number has 16 digits\nTry: obzvon journal search --enp 2600000000000001", enp), exitUsage)
			}
			refs, err := searchAppeals(c, c.String("number"), c.String("phone"), c.String("enp"))
			if err != nil {
				return exitOf(err)
			}
			if c.Bool("json") {
				if refs == nil {
					refs = []journal.AppealRef{}
				}
				return json.NewEncoder(c.App.Writer).Encode(refs)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NUMBER\tCREATED\tKIND\tTOPIC\tSTATUS\tASSIGNEE")
			for _, r := range refs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Created.Local().Format("2006-01-02 15:04"), r.Kind.Russian(), r.Topic, r.Status.Russian(), r.Assignee)
			}
			return tw.Flush()
		},
	}
}

func journalExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "export appeals created in [--from, --to) as CSV (for Excel: UTF-8 with BOM, ';') or JSON",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "start of the period (2026-03-01, RFC 3339)"},
			&cli.StringFlag{Name: "to", Usage: "end of the period, exclusive"},
			&cli.StringFlag{Name: "format", Value: "csv", Usage: "csv or json"},
			journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			from, to, err := fromTo(c)
			if err != nil {
				return err
			}
			format := c.String("format")
			if format != "csv" && format != "json" {
				return cli.Exit(fmt.Sprintf("--format %q: want csv or json\nTry: obzvon journal export --from 2026-03-01 --format csv", format), exitUsage)
			}
			as, err := exportAppeals(c, from, to)
			if err != nil {
				return exitOf(err)
			}
			if format == "json" {
				if as == nil {
					as = []journal.Appeal{}
				}
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(as)
			}
			return writeAppealsCSV(c.App.Writer, as)
		},
	}
}

// searchAppeals finds appeals by number, or else by phone or policy
// number, through a running daemon, or in the journal directory when no
// daemon answers.
func searchAppeals(c *cli.Context, number, phone, enp string) ([]journal.AppealRef, error) {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return nil, err
	}
	var j *journal.Journal
	if d == nil {
		if j, err = openJournal(c, true); err != nil {
			return nil, err
		}
		defer j.Close()
	}
	if number != "" {
		var a *journal.Appeal
		if d != nil {
			a = new(journal.Appeal)
			err = d.get(ctx, "/api/v1/appeals/"+url.PathEscape(number), nil, a)
		} else {
			a, err = j.Appeal(ctx, cliActor(), number)
		}
		if err != nil {
			return nil, err
		}
		return []journal.AppealRef{{ID: a.ID, Number: a.Number, Created: a.Created, Kind: a.Kind, Topic: a.Topic, Status: a.Status, Assignee: a.Assignee}}, nil
	}
	var refs []journal.AppealRef
	if d != nil {
		return refs, d.get(ctx, "/api/v1/history", url.Values{"phone": {phone}, "enp": {enp}}, &refs)
	}
	return j.History(ctx, cliActor(), journal.HistoryQuery{Phone: phone, Person: journal.PersonData{ENP: enp}})
}

// exportAppeals reads the full appeals created in [from, to) through a
// running daemon, or from the journal directory when no daemon answers.
func exportAppeals(c *cli.Context, from, to time.Time) ([]journal.Appeal, error) {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return nil, err
	}
	if d != nil {
		var as []journal.Appeal
		return as, d.get(ctx, "/api/v1/journal/appeals", url.Values{"from": {timeParam(from)}, "to": {timeParam(to)}}, &as)
	}
	j, err := openJournal(c, true)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	return j.AppealsCreated(ctx, cliActor(), from, to)
}

// writeAppealsCSV writes appeals the way Russian Excel opens them: UTF-8
// with a BOM, semicolons, Russian headers and names.
func writeAppealsCSV(w io.Writer, as []journal.Appeal) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := lists.NewCSVWriter(w, ';') // formula-looking cells escaped (OWASP CSV injection)
	_ = cw.Write([]string{"Номер", "Дата регистрации", "Канал", "Телефон", "Фамилия", "Имя", "Отчество", "Дата рождения", "ЕНП",
		"Тип", "Тематика", "Текст", "Статус", "Результат", "Комментарий", "Исполнитель", "Автор", "Срок", "Закрыто"})
	for _, a := range as {
		closed := ""
		if !a.ClosedAt.IsZero() {
			closed = a.ClosedAt.Local().Format("02.01.2006 15:04")
		}
		res := ""
		if a.Resolution != journal.ResolutionUnknown {
			res = a.Resolution.Russian()
		}
		birth := a.Person.Birth
		if t, err := time.Parse(time.DateOnly, birth); err == nil {
			birth = t.Format("02.01.2006")
		}
		_ = cw.Write([]string{a.Number, a.Created.Local().Format("02.01.2006 15:04"), a.Channel.Russian(), a.Phone,
			a.Person.Surname, a.Person.Name, a.Person.Patronymic, birth, a.Person.ENP, a.Kind.Russian(), a.Topic, a.Text,
			a.Status.Russian(), res, a.Comment, a.Assignee, a.CreatedBy, a.Due.Local().Format("02.01.2006"), closed})
	}
	cw.Flush()
	return cw.Error()
}

func journalAuditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "show the audit log: who read or changed what, by account, person (ЕНП) or subject",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "account", Usage: "login"},
			&cli.StringFlag{Name: "person", Usage: "policy number (ЕНП)"},
			&cli.StringFlag{Name: "subject", Usage: "appeal:<id>, account:<login>, person:<ЕНП>…"},
			&cli.StringFlag{Name: "from", Usage: "start of the period"},
			&cli.StringFlag{Name: "to", Usage: "end of the period, exclusive"},
			&cli.IntFlag{Name: "limit", Value: 1000, Usage: "at most this many entries"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}, journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			from, to, err := fromTo(c)
			if err != nil {
				return err
			}
			var es []journal.AuditEntry
			api, err := dialAdmin(c)
			if err != nil {
				return err
			}
			if api != nil {
				q := url.Values{"account": {c.String("account")}, "person": {c.String("person")},
					"subject": {c.String("subject")}, "limit": {strconv.Itoa(c.Int("limit"))}}
				if !from.IsZero() {
					q.Set("from", from.Format(time.RFC3339Nano))
				}
				if !to.IsZero() {
					q.Set("to", to.Format(time.RFC3339Nano))
				}
				if err := api.get(context.Background(), "/api/v1/audit", q, &es); err != nil {
					return exitOf(err)
				}
			} else {
				j, err := openJournal(c, true)
				if err != nil {
					return err
				}
				defer j.Close()
				es, err = j.Audit(context.Background(), cliActor(), journal.AuditQuery{Account: c.String("account"), Person: c.String("person"),
					Subject: c.String("subject"), From: from, To: to, Limit: c.Int("limit")})
				if err != nil {
					return cli.Exit(err.Error()+"\nTry: obzvon journal audit --account ivanova", exitFailure)
				}
			}
			if c.Bool("json") {
				if es == nil {
					es = []journal.AuditEntry{}
				}
				return json.NewEncoder(c.App.Writer).Encode(es)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACCOUNT\tROLE\tOP\tSUBJECT\tPERSON\tDETAIL")
			for _, e := range es {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Account, e.Role, e.Op,
					e.Subject, dash(e.Person), dash(e.Detail))
			}
			return tw.Flush()
		},
	}
}

func journalCheckCommand() *cli.Command {
	return &cli.Command{
		Name: "check",
		Usage: "verify that every index entry points at its record and every record is indexed; --repair fixes what it finds " +
			"(through the running daemon, or on the directory when none runs; holds all index keys in memory)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "repair", Usage: "rewrite missing or wrong index keys from the records and delete keys no record produces"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
			journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			ctx := context.Background()
			var res api.CheckResult
			d, err := dialAdmin(c)
			if err != nil {
				return err
			}
			switch {
			case d != nil && c.Bool("repair"):
				err = d.do(ctx, "POST", "/api/v1/journal/repair", nil, "", &res)
			case d != nil:
				err = d.get(ctx, "/api/v1/journal/check", nil, &res)
			default:
				res, err = checkJournalDir(ctx, c)
			}
			if err != nil {
				return exitOf(err)
			}
			if c.Bool("json") {
				if err := json.NewEncoder(c.App.Writer).Encode(res); err != nil {
					return err
				}
			} else {
				for _, p := range res.Problems {
					fmt.Fprintln(c.App.Writer, p)
				}
			}
			switch {
			case res.Repaired && len(res.Left) > 0:
				return cli.Exit(fmt.Sprintf("%d index problems found, %d records reindexed, %d keys removed; %d problems left (undecodable records?)",
					len(res.Problems), res.Reindexed, res.Removed, len(res.Left)), exitFailure)
			case res.Repaired:
				fmt.Fprintf(c.App.ErrWriter, "%d index problems found and repaired (%d records reindexed, %d keys removed); journal indexes agree with their records\n",
					len(res.Problems), res.Reindexed, res.Removed)
			case len(res.Problems) > 0:
				return cli.Exit(fmt.Sprintf("%d index problems\nTry: obzvon journal check --repair", len(res.Problems)), exitFailure)
			default:
				fmt.Fprintln(c.App.ErrWriter, "journal indexes agree with their records")
			}
			return nil
		},
	}
}

// checkJournalDir checks (and with --repair repairs) the journal
// directory when no daemon runs.
func checkJournalDir(ctx context.Context, c *cli.Context) (api.CheckResult, error) {
	var res api.CheckResult
	j, err := openJournal(c, !c.Bool("repair"))
	if err != nil {
		return res, err
	}
	defer j.Close()
	if c.Bool("repair") {
		rep, err := j.RepairIndexes(ctx, cliActor())
		if err != nil {
			return res, err
		}
		return api.CheckResult{Problems: rep.Found, Repaired: true, Reindexed: rep.Reindexed, Removed: rep.Removed, Left: rep.Left}, nil
	}
	probs, err := j.CheckIndexes(ctx)
	return api.CheckResult{Problems: probs, Left: probs}, err
}
