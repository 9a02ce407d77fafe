package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/journal"
)

func catalogCommand() *cli.Command {
	return &cli.Command{
		Name:  "catalog",
		Usage: "load and search appeal topics and answer scripts",
		Subcommands: []*cli.Command{
			{
				Name:      "load",
				Usage:     "load topics.json and scripts.json from DIR (or the built-in CMI catalog with --default)",
				ArgsUsage: "DIR",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "default", Usage: "load the catalog shipped with obzvon"}, journalDirFlag, journalKeyFlag},
				Action: func(c *cli.Context) error {
					var topics []journal.Topic
					var scripts []journal.Script
					var err error
					switch {
					case c.Bool("default") && c.NArg() == 0:
						topics, scripts, err = journal.DefaultCatalog()
					case !c.Bool("default") && c.NArg() == 1:
						topics, scripts, err = journal.ReadCatalog(os.DirFS(c.Args().First()))
					default:
						return cli.Exit("catalog load needs a DIR or --default\nTry: obzvon catalog load /etc/obzvon/catalog", exitUsage)
					}
					if err != nil {
						return cli.Exit(err.Error(), exitFailure)
					}
					j, err := openJournal(c, false)
					if err != nil {
						return err
					}
					defer j.Close()
					if err := j.LoadCatalog(context.Background(), cliActor(), topics, scripts); err != nil {
						return cli.Exit(err.Error(), exitFailure)
					}
					fmt.Fprintf(c.App.Writer, "loaded %d topics, %d answer scripts\n", len(topics), len(scripts))
					return nil
				},
			},
			{
				Name:      "search",
				Usage:     "find topics and answer scripts by keywords",
				ArgsUsage: "WORDS…",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "kind", Usage: "complaint, consultation, statement, proposal or gratitude"},
					&cli.BoolFlag{Name: "json", Usage: "print JSON"}, journalDirFlag, journalKeyFlag,
				},
				Action: func(c *cli.Context) error {
					kind := journal.KindUnknown
					if k := c.String("kind"); k != "" {
						var err error
						if kind, err = journal.ParseKind(k); err != nil {
							return cli.Exit(fmt.Sprintf("--kind %q: %v\nTry: --kind complaint", k, err), exitUsage)
						}
					}
					j, err := openJournal(c, true)
					if err != nil {
						return err
					}
					defer j.Close()
					hits, err := j.SearchCatalog(context.Background(), strings.Join(c.Args().Slice(), " "), kind)
					if err != nil {
						return cli.Exit(err.Error()+"\nTry: obzvon catalog search замена полиса", exitFailure)
					}
					if c.Bool("json") {
						return json.NewEncoder(c.App.Writer).Encode(hits)
					}
					tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "TYPE\tID\tTITLE")
					for _, t := range hits.Topics {
						fmt.Fprintf(tw, "topic\t%s\t%s (%s)\n", t.ID, t.Title, t.Kind.Russian())
					}
					for _, s := range hits.Scripts {
						fmt.Fprintf(tw, "script\t%s\t%s\n", s.ID, s.Title)
					}
					return tw.Flush()
				},
			},
		},
	}
}
