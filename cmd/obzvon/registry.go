package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/lists"
)

func registryCommand() *cli.Command {
	return &cli.Command{
		Name:  "registry",
		Usage: "load and search the insured registry",
		Subcommands: []*cli.Command{
			registryLoadCommand(), registrySearchCommand(), registryGenerateCommand(),
		},
	}
}

func registryLoadCommand() *cli.Command {
	return &cli.Command{
		Name: "load",
		Usage: "load persons from a CSV (UTF-8 or Windows-1251, ';' or ',') or XLSX file; known policy numbers are updated; " +
			"bad rows go to stderr (the first --show-errors) and all of them to a report file",
		ArgsUsage: "FILE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON (with the first --show-errors row errors)"},
			&cli.StringFlag{Name: "report", Usage: "write every rejected row to this CSV `FILE` (default: FILE.errors.csv beside the list)"},
			&cli.IntFlag{Name: "show-errors", Value: 20, Usage: "row errors shown on stderr (or in --json)"},
			&cli.Float64Flag{Name: "max-rejected", Value: 10, Usage: "exit 1 when more than this `PERCENT` of the rows are rejected (the good rows are loaded anyway)"},
			journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("registry load needs exactly one FILE\nTry: obzvon registry load registry.csv", exitUsage)
			}
			name := c.Args().First()
			f, err := os.Open(name)
			if err != nil {
				return cli.Exit(fmt.Sprintf("cannot read the list: %v", plainPathError(err)), exitFailure)
			}
			defer f.Close()
			res, err := loadRegistry(c, f, name)
			if err != nil {
				return exitOf(err)
			}
			return reportLoad(c, name, res)
		},
	}
}

// registryLoadOutput is the --json form of registry load.
type registryLoadOutput struct {
	api.RegistryLoadResult
	// ErrorsTotal is how many rows were rejected; Errors holds the first
	// --show-errors of them, Report names the file with all of them.
	ErrorsTotal int    `json:"errors_total"`
	Report      string `json:"report,omitempty"`
}

// reportLoad prints what a registry load did — counts on stdout, warnings
// and the first row errors on stderr, every row error in the report file
// — and turns a load that loaded nothing, or rejected more rows than
// --max-rejected allows, into exit code 1.
func reportLoad(c *cli.Context, name string, res api.RegistryLoadResult) error {
	st, rowErrs := res.LoadStats, res.Errors
	show := max(c.Int("show-errors"), 0)
	report := ""
	if len(rowErrs) > 0 {
		report = c.String("report")
		if report == "" {
			report = strings.TrimSuffix(name, filepath.Ext(name)) + ".errors.csv"
		}
		if err := writeRowErrors(report, rowErrs); err != nil {
			return cli.Exit(fmt.Sprintf("the list was loaded, but the error report could not be written: %v\nTry: obzvon registry load %s --report /tmp/registry-errors.csv", plainPathError(err), name), exitFailure)
		}
	}
	w, ew := c.App.Writer, c.App.ErrWriter
	if c.Bool("json") {
		out := registryLoadOutput{RegistryLoadResult: res, ErrorsTotal: len(rowErrs), Report: report}
		out.Errors = rowErrs[:min(show, len(rowErrs))]
		if out.Errors == nil {
			out.Errors = []*lists.RowError{}
		}
		if err := json.NewEncoder(w).Encode(out); err != nil {
			return err
		}
	} else {
		if st.Encoding == "" {
			st.Encoding = "xlsx"
		}
		fmt.Fprintf(w, "%s (%s): %s loaded: %d inserted, %d updated, %d unchanged; %d with a phone\n",
			name, st.Encoding, plural(st.Rows, "row", "rows"), st.Inserted, st.Updated, st.Unchanged, st.WithPhone)
		fmt.Fprintf(w, "%d rejected, %d empty skipped; %.1f s, %.0f rows/s\n",
			st.Rejected, st.Blank, st.Took.Seconds(), float64(st.Rows)/max(st.Took.Seconds(), 1e-9))
	}
	if len(st.Ignored) > 0 {
		fmt.Fprintf(ew, "warning: columns not kept in the registry, ignored: %s\n", strings.Join(st.Ignored, ", "))
	}
	if st.Blank > 0 {
		lines := make([]string, len(st.BlankLines))
		for i, l := range st.BlankLines {
			lines[i] = strconv.Itoa(l)
		}
		more := ""
		if st.Blank > len(st.BlankLines) {
			more = fmt.Sprintf(" and %d more", st.Blank-len(st.BlankLines))
		}
		fmt.Fprintf(ew, "warning: %d empty row(s) skipped: line %s%s\n", st.Blank, strings.Join(lines, ", "), more)
	}
	if len(rowErrs) > 0 && !c.Bool("json") {
		fmt.Fprintf(ew, "%d row(s) rejected", len(rowErrs))
		if show < len(rowErrs) {
			fmt.Fprintf(ew, "; the first %d", show)
		}
		fmt.Fprintln(ew, ":")
		for _, e := range rowErrs[:min(show, len(rowErrs))] {
			fmt.Fprintf(ew, "  line %d: %s: %s\n", e.Line, dash(e.Column), e.Reason)
		}
	}
	if report != "" {
		fmt.Fprintf(ew, "every rejected row is listed in %s\n", report)
	}
	total := st.Rows + st.Rejected
	switch {
	case st.Rows == 0:
		return cli.Exit(fmt.Sprintf("nothing was loaded from %s: %d row(s) rejected, %d empty; fix the file (see above) and load it again", name, st.Rejected, st.Blank), exitFailure)
	case total > 0 && 100*float64(st.Rejected)/float64(total) > c.Float64("max-rejected"):
		return cli.Exit(fmt.Sprintf("%d of %d rows rejected (%.1f %%), more than --max-rejected %g %%: the good rows were loaded; fix the file and load it again (loads are idempotent)",
			st.Rejected, total, 100*float64(st.Rejected)/float64(total), c.Float64("max-rejected")), exitFailure)
	}
	return nil
}

// writeRowErrors writes every row error to path as a CSV that Excel opens
// with the right encoding (UTF-8 with a BOM, ';' separated).
func writeRowErrors(path string, errs []*lists.RowError) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	bw.WriteString("\ufeff")
	cw := csv.NewWriter(bw)
	cw.Comma = ';'
	_ = cw.Write([]string{"строка", "столбец", "причина"})
	for _, e := range errs {
		_ = cw.Write([]string{strconv.Itoa(e.Line), e.Column, e.Reason})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func registrySearchCommand() *cli.Command {
	return &cli.Command{
		Name:  "search",
		Usage: "find at most 10 persons by name prefixes and date of birth",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "surname"}, &cli.StringFlag{Name: "name"}, &cli.StringFlag{Name: "patronymic"},
			&cli.StringFlag{Name: "birth", Usage: "date of birth, 01.02.1960 or 1960-02-01"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}, journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			ps, err := searchPersons(c, journal.PersonQuery{
				Surname: c.String("surname"), Name: c.String("name"), Patronymic: c.String("patronymic"), Birth: c.String("birth")})
			var ec cli.ExitCoder
			if errors.As(err, &ec) {
				return err
			}
			if err != nil {
				return cli.Exit(err.Error()+"\nTry: obzvon registry search --surname иван --birth 01.02.1960", exitFailure)
			}
			if c.Bool("json") {
				if ps == nil {
					ps = []journal.Person{}
				}
				return json.NewEncoder(c.App.Writer).Encode(ps)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ENP\tSURNAME\tNAME\tPATRONYMIC\tBIRTH\tPHONE\tMO")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ENP, p.Surname, p.Name, dash(p.Patronymic), p.Birth, dash(p.Phone), dash(p.MOCode))
			}
			return tw.Flush()
		},
	}
}

func registryGenerateCommand() *cli.Command {
	return &cli.Command{
		Name:      "generate",
		Usage:     "write a synthetic registry (made-up Russian names, no real people) for tests and benchmarks",
		ArgsUsage: "FILE",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "rows", Value: 100000, Usage: "number of persons"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed; the same seed gives the same file"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || c.Int("rows") <= 0 {
				return cli.Exit("registry generate needs FILE and a positive --rows\nTry: obzvon registry generate --rows 100000 registry.csv", exitUsage)
			}
			f, err := os.Create(c.Args().First())
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			if err := lists.WriteSyntheticRegistry(f, c.Int("rows"), c.Uint64("seed")); err != nil {
				f.Close()
				return cli.Exit(err.Error(), exitFailure)
			}
			if err := f.Close(); err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			return nil
		},
	}
}

// loadRegistry loads the list file f (named name) through a running
// daemon, which gets the file as the request body, or into the journal
// directory when no daemon answers.
func loadRegistry(c *cli.Context, f *os.File, name string) (api.RegistryLoadResult, error) {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return api.RegistryLoadResult{}, err
	}
	if d != nil {
		var res api.RegistryLoadResult
		q := url.Values{"name": {filepath.Base(name)}}
		err := d.do(ctx, http.MethodPost, "/api/v1/registry/load?"+q.Encode(), io.Reader(f), "application/octet-stream", &res)
		return res, err
	}
	j, err := openJournal(c, false)
	if err != nil {
		return api.RegistryLoadResult{}, err
	}
	defer j.Close()
	st, rowErrs, err := j.LoadRegistry(ctx, cliActor(), f, lists.FormatOf(name), filepath.Base(name))
	return api.RegistryLoadResult{LoadStats: st, Errors: rowErrs}, err
}

// searchPersons searches the registry through a running daemon, or in the
// journal directory when no daemon answers.
func searchPersons(c *cli.Context, pq journal.PersonQuery) ([]journal.Person, error) {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return nil, err
	}
	if d != nil {
		var ps []journal.Person
		q := url.Values{"surname": {pq.Surname}, "name": {pq.Name}, "patronymic": {pq.Patronymic}, "birth": {pq.Birth}}
		return ps, d.get(ctx, "/api/v1/registry/persons", q, &ps)
	}
	j, err := openJournal(c, true)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	return j.SearchPersons(ctx, cliActor(), pq)
}
