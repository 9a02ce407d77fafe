package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/api"
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
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "default", Usage: "load the catalog shipped with obzvon"}, journalDirFlag, journalKeyFlag, socketFlag},
				Action: func(c *cli.Context) error {
					var topics []journal.Topic
					var scripts []journal.Script
					var err error
					switch {
					case c.Bool("default") && c.NArg() == 0:
						topics, scripts, err = journal.DefaultCatalog()
					case !c.Bool("default") && c.NArg() == 1:
						dir := c.Args().First()
						if topics, scripts, err = journal.ReadCatalog(os.DirFS(dir)); err != nil {
							return cli.Exit(fmt.Sprintf("cannot load the catalog from %s: %v\nIt needs topics.json and scripts.json in that directory; obzvon catalog load --default loads the built-in one.",
								dir, catalogFileError(dir, err)), exitFailure)
						}
					default:
						return cli.Exit("catalog load needs a DIR or --default\nTry: obzvon catalog load --default", exitUsage)
					}
					if err != nil {
						return cli.Exit(err.Error(), exitFailure)
					}
					if err := loadCatalog(c, topics, scripts); err != nil {
						return exitOf(err)
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
					&cli.BoolFlag{Name: "json", Usage: "print JSON"}, journalDirFlag, journalKeyFlag, socketFlag,
				},
				Action: func(c *cli.Context) error {
					kind := journal.KindUnknown
					if k := c.String("kind"); k != "" {
						var err error
						if kind, err = journal.ParseKind(k); err != nil {
							return cli.Exit(fmt.Sprintf("--kind %q: %v\nTry: --kind complaint", k, err), exitUsage)
						}
					}
					if c.NArg() == 0 {
						return cli.Exit("catalog search needs WORDS to search\nTry: obzvon catalog search замена полиса", exitUsage)
					}
					hits, err := searchCatalog(c, strings.Join(c.Args().Slice(), " "), kind)
					var ec cli.ExitCoder
					if errors.As(err, &ec) {
						return err
					}
					if err != nil {
						return cli.Exit(err.Error()+"\nTry: obzvon catalog search замена полиса", exitFailure)
					}
					// Arrays, never null, whichever path answered.
					if hits.Topics == nil {
						hits.Topics = []journal.Topic{}
					}
					if hits.Scripts == nil {
						hits.Scripts = []journal.Script{}
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

// catalogFileError names the file of dir that ReadCatalog could not use:
// its errors name files relative to the directory ("topics.json: …").
func catalogFileError(dir string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return inDir(dir, err).Error()
	}
	return filepath.Join(dir, strings.TrimPrefix(err.Error(), "catalog: "))
}

// loadCatalog stores the catalog read on this side (validated already)
// through a running daemon, which validates it again, or in the journal
// directory when no daemon answers.
func loadCatalog(c *cli.Context, topics []journal.Topic, scripts []journal.Script) error {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return err
	}
	if d != nil {
		var req api.CatalogLoadRequest
		if req.Topics, err = json.Marshal(topics); err != nil {
			return err
		}
		if req.Scripts, err = json.Marshal(scripts); err != nil {
			return err
		}
		return d.do(ctx, http.MethodPost, "/api/v1/catalog/load", req, "", nil)
	}
	j, err := openJournal(c, false)
	if err != nil {
		return err
	}
	defer j.Close()
	return j.LoadCatalog(ctx, cliActor(), topics, scripts)
}

// searchCatalog searches topics and scripts through a running daemon, or
// in the journal directory when no daemon answers.
func searchCatalog(c *cli.Context, query string, kind journal.Kind) (journal.CatalogHits, error) {
	ctx := context.Background()
	d, err := dialAdmin(c)
	if err != nil {
		return journal.CatalogHits{}, err
	}
	if d != nil {
		// The daemon adds recommended_operators to each script; the CLI
		// shows the scripts themselves, as the direct path does.
		var hits journal.CatalogHits
		q := url.Values{"q": {query}}
		if kind != journal.KindUnknown {
			q.Set("kind", kind.String())
		}
		return hits, d.get(ctx, "/api/v1/catalog/search", q, &hits)
	}
	j, err := openJournal(c, true)
	if err != nil {
		return journal.CatalogHits{}, err
	}
	defer j.Close()
	return j.SearchCatalog(ctx, query, kind)
}
