package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/journal"
)

// socketFlag names the daemon's admin socket. By default it sits beside
// the journal directory (DATA/obzvon.sock next to DATA/journal).
var socketFlag = &cli.StringFlag{
	Name:    "socket",
	Usage:   "admin socket of a running daemon (default: beside --dir)",
	EnvVars: []string{"OBZVON_SOCKET"},
}

// adminClient returns an HTTP client for the daemon's admin socket, or
// nil when no daemon listens there.
func adminClient(c *cli.Context) (*http.Client, error) {
	path := c.String("socket")
	if path == "" {
		path = adminSocketPath(filepath.Dir(filepath.Clean(c.String("dir"))))
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, nil // no daemon: the caller opens the journal itself
		}
		if c.IsSet("socket") {
			return nil, fmt.Errorf("admin socket %s: %w", path, err)
		}
		return nil, nil
	}
	conn.Close()
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}, nil
}

// callsFromDaemon asks a running daemon for the call records; ok is false
// when no daemon answers on the socket.
func callsFromDaemon(c *cli.Context, from, to time.Time) (calls []journal.CallRecord, ok bool, err error) {
	hc, err := adminClient(c)
	if err != nil || hc == nil {
		return nil, false, err
	}
	q := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}
	res, err := hc.Get("http://obzvon/api/v1/calls?" + q.Encode())
	if err != nil {
		return nil, false, fmt.Errorf("daemon: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		return nil, false, fmt.Errorf("daemon: %s: %s", res.Status, e.Error)
	}
	if err := json.NewDecoder(res.Body).Decode(&calls); err != nil {
		return nil, false, fmt.Errorf("daemon: decode calls: %w", err)
	}
	return calls, true, nil
}

// backupFromDaemon streams a journal backup from a running daemon into w;
// ok is false when no daemon answers on the socket. The daemon marks a
// complete backup with the api.BackupTrailer trailer; without "ok" there
// the copy is truncated and an error is returned.
func backupFromDaemon(c *cli.Context, w io.Writer) (ok bool, err error) {
	hc, err := adminClient(c)
	if err != nil || hc == nil {
		return false, err
	}
	hc.Timeout = 0 // a large journal takes longer than any fixed limit
	res, err := hc.Get("http://obzvon/api/v1/journal/backup")
	if err != nil {
		return false, fmt.Errorf("daemon: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		return true, fmt.Errorf("daemon: %s: %s", res.Status, e.Error)
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return true, fmt.Errorf("daemon: backup stream: %w", err)
	}
	if t := res.Trailer.Get(api.BackupTrailer); t != "ok" {
		if t == "" {
			t = "stream ended without the completion mark"
		}
		return true, fmt.Errorf("daemon: backup incomplete: %s", t)
	}
	return true, nil
}
