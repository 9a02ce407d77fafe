package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

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
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}, journalDirFlag, journalKeyFlag},
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
			j, err := openJournal(c, false)
			if err != nil {
				return err
			}
			defer j.Close()
			st, rowErrs, err := j.LoadRegistry(context.Background(), cliActor(), f, lists.FormatOf(name), filepath.Base(name))
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			if c.Bool("json") {
				if rowErrs == nil {
					rowErrs = []*lists.RowError{}
				}
				return json.NewEncoder(c.App.Writer).Encode(struct {
					journal.LoadStats
					Errors []*lists.RowError `json:"errors"`
				}{st, rowErrs})
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
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}, journalDirFlag, journalKeyFlag,
		},
		Action: func(c *cli.Context) error {
			j, err := openJournal(c, true)
			if err != nil {
				return err
			}
			defer j.Close()
			ps, err := j.SearchPersons(context.Background(), cliActor(), journal.PersonQuery{
				Surname: c.String("surname"), Name: c.String("name"), Patronymic: c.String("patronymic"), Birth: c.String("birth")})
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
