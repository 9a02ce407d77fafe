package main

import (
	"bytes"
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
	"strings"
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
	// A daemon that listens but is slow to answer (a loaded machine, a
	// full backlog: EAGAIN) is retried for a while: falling back to the
	// directory then would only fail on the journal's lock, with an error
	// that hides the real one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("unix", path, 5*time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, nil // no daemon: the caller opens the journal itself
		}
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("admin socket %s: %w (run the command as root or as a member of the daemon's group)", path, err)
		}
		var ne net.Error
		busy := errors.Is(err, syscall.EAGAIN) || (errors.As(err, &ne) && ne.Timeout())
		if !busy {
			return nil, fmt.Errorf("admin socket %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("admin socket %s: %w (is the daemon overloaded or stuck? see journalctl -u obzvon)", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
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
		return nil, false, daemonTransportError(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		return nil, false, fmt.Errorf("daemon: %s: %s", res.Status, e.Error)
	}
	if err := json.NewDecoder(res.Body).Decode(&calls); err != nil {
		return nil, false, errors.New("the daemon's answer could not be read: is it the same obzvon version as this command? (obzvon version; systemctl restart obzvon)")
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
		return false, daemonTransportError(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(res.Body).Decode(&e)
		return true, fmt.Errorf("daemon: %s: %s", res.Status, e.Error)
	}
	if _, err := io.Copy(w, res.Body); err != nil {
		return true, fmt.Errorf("the backup stream from the daemon broke off: %v", daemonTransportError(err))
	}
	if t := res.Trailer.Get(api.BackupTrailer); t != "ok" {
		if t == "" {
			t = "stream ended without the completion mark"
		}
		return true, fmt.Errorf("daemon: backup incomplete: %s", t)
	}
	return true, nil
}

// adminAPI is the JSON API of a running daemon, reached over its admin
// socket, where every request acts as an administrator.
type adminAPI struct{ hc *http.Client }

// dialAdmin returns the API of the daemon on the admin socket, or nil when
// no daemon answers there (the caller then opens the journal itself). An
// error means --socket names a socket that cannot be used.
func dialAdmin(c *cli.Context) (*adminAPI, error) {
	hc, err := adminClient(c)
	if err != nil {
		return nil, cli.Exit(err.Error(), exitFailure)
	}
	if hc == nil {
		return nil, nil
	}
	// Loads and exports of a large journal take longer than any fixed
	// limit; the daemon ends the request if the client goes away.
	hc.Timeout = 0
	return &adminAPI{hc: hc}, nil
}

// daemonError is an error answer of the daemon: its HTTP status and the
// message of its JSON body.
type daemonError struct {
	Status int
	Msg    string
}

func (e *daemonError) Error() string {
	if e.Status >= 500 {
		return fmt.Sprintf("daemon: %d %s: %s (details in the daemon's log)", e.Status, http.StatusText(e.Status), e.Msg)
	}
	return e.Msg
}

// isStatus reports whether err is the daemon's answer with that status.
func isStatus(err error, status int) bool {
	var de *daemonError
	return errors.As(err, &de) && de.Status == status
}

// do sends one request; body is sent as is with contentType, or, when it
// is not an io.Reader, as JSON. A 2xx answer is decoded into out (unless
// out is nil); any other becomes a *daemonError.
func (a *adminAPI) do(ctx context.Context, method, path string, body any, contentType string, out any) error {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return err
		}
		r, contentType = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://obzvon"+path, r)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return daemonTransportError(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var e struct{ Error string }
		if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Error == "" {
			e.Error = "answer without an error message"
		}
		return &daemonError{Status: res.StatusCode, Msg: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("the daemon's answer to %s %s could not be read: is it the same obzvon version as this command? (obzvon version; systemctl restart obzvon)", method, strings.SplitN(path, "?", 2)[0])
	}
	return nil
}

// get is do for a GET of path with the non-empty values of q.
func (a *adminAPI) get(ctx context.Context, path string, q url.Values, out any) error {
	for k, v := range q {
		if len(v) == 0 || v[0] == "" {
			delete(q, k)
		}
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return a.do(ctx, http.MethodGet, path, nil, "", out)
}

// exitOf turns an error of the daemon or the journal into the CLI's exit:
// the message on stderr and exit code 1. Exit errors pass unchanged.
func exitOf(err error) error {
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return err
	}
	return cli.Exit(err.Error(), exitFailure)
}

// timeParam formats a --from/--to bound for the API; zero is absent.
func timeParam(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}
