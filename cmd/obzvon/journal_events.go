package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
)

// journalEventsCommand prints the events of a journal stream (the ACD's
// agent and queue events) as JSON lines, for reports and benchmarks.
func journalEventsCommand() *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "print the events of a stream (acd: operators' states, queue entries, offers, connects…) in [--from, --to), one JSON line each",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "stream", Value: "acd", Usage: "event stream"},
			&cli.StringFlag{Name: "from", Usage: "start of the period (2026-03-01, 2026-03-01 14:30, RFC 3339); default: the beginning"},
			&cli.StringFlag{Name: "to", Usage: "end of the period, exclusive; default: the end"},
			journalDirFlag, journalKeyFlag, socketFlag,
		},
		Action: func(c *cli.Context) error {
			from, to, err := fromTo(c)
			if err != nil {
				return err
			}
			stream := c.String("stream")
			fromS, toS := timeParam(from), timeParam(to)
			if _, _, err := api.ParseEventsQuery(stream, fromS, toS); err != nil {
				return cli.Exit("--"+err.Error()+"\nTry: obzvon journal events --stream acd --from 2026-03-01 --to 2026-03-02", exitUsage)
			}
			w := bufio.NewWriterSize(c.App.Writer, 64<<10)
			viaDaemon, err := eventsFromDaemon(c, stream, fromS, toS, w)
			if err != nil {
				return exitOf(err)
			}
			if !viaDaemon {
				j, err := openJournal(c, true)
				if err != nil {
					return err
				}
				defer j.Close()
				if to.IsZero() {
					to = api.EventsUntil
				}
				err = j.Events(context.Background(), stream, from, to, func(e journal.Event) error {
					if _, err := w.Write(e.Data); err != nil {
						return err
					}
					return w.WriteByte('\n')
				})
				if err != nil {
					return cli.Exit(err.Error(), exitFailure)
				}
			}
			if err := w.Flush(); err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			return nil
		},
	}
}

// eventsFromDaemon copies a stream's events from a running daemon to w;
// ok is false when no daemon answers on the socket.
func eventsFromDaemon(c *cli.Context, stream, from, to string, w io.Writer) (ok bool, err error) {
	hc, err := adminClient(c)
	if err != nil || hc == nil {
		return false, err
	}
	hc.Timeout = 0 // a long period takes longer than any fixed limit
	q := url.Values{"stream": {stream}}
	if from != "" {
		q.Set("from", from)
	}
	if to != "" {
		q.Set("to", to)
	}
	res, err := hc.Get("http://obzvon/api/v1/journal/events?" + q.Encode())
	if err != nil {
		return true, fmt.Errorf("daemon: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		return true, fmt.Errorf("daemon: %s: %s", res.Status, e.Error)
	}
	// The daemon aborts the response if its scan fails midway: a cut
	// stream is an error here, not a shorter answer.
	if _, err := io.Copy(w, res.Body); err != nil {
		return true, fmt.Errorf("daemon: events stream cut: %w", err)
	}
	return true, nil
}
