package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
		Name:      "load",
		Usage:     "load persons from a CSV (UTF-8 or Windows-1251, ';' or ',') or XLSX file; known policy numbers are updated",
		ArgsUsage: "FILE",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}, journalDirFlag, journalKeyFlag, socketFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("registry load needs exactly one FILE\nTry: obzvon registry load registry.csv", exitUsage)
			}
			name := c.Args().First()
			f, err := os.Open(name)
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			defer f.Close()
			res, err := loadRegistry(c, f, name)
			if err != nil {
				return exitOf(err)
			}
			st, rowErrs := res.LoadStats, res.Errors
			if c.Bool("json") {
				if rowErrs == nil {
					rowErrs = []*lists.RowError{}
				}
				return json.NewEncoder(c.App.Writer).Encode(api.RegistryLoadResult{LoadStats: st, Errors: rowErrs})
			}
			fmt.Fprintf(c.App.Writer, "%s (%s): %d rows: %d inserted, %d updated, %d unchanged; %d rejected; %.0f rows/s\n",
				name, st.Encoding, st.Rows, st.Inserted, st.Updated, st.Unchanged, st.Rejected, float64(st.Rows)/st.Took.Seconds())
			if len(rowErrs) > 0 {
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LINE\tCOLUMN\tREASON")
				for _, e := range rowErrs {
					fmt.Fprintf(tw, "%d\t%s\t%s\n", e.Line, dash(e.Column), e.Reason)
				}
				return tw.Flush()
			}
			return nil
		},
	}
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
				return cli.Exit("registry generate needs FILE and a positive --rows\nTry: obzvon registry generate --rows 3000000 registry-3m.csv", exitUsage)
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
