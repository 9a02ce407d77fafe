package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/config"
)

// logFormatFlag and logLevelFlag override [log] format and level.
var (
	logFormatFlag = &cli.StringFlag{
		Name:    "log-format",
		Usage:   "text (journald-friendly, the default) or json (one object per line)",
		EnvVars: []string{"OBZVON_LOG_FORMAT"},
	}
	logLevelFlag = &cli.StringFlag{
		Name:    "log-level",
		Usage:   "debug, info, warn or error",
		EnvVars: []string{"OBZVON_LOG_LEVEL"},
	}
)

// applyLogFlags puts --log-format and --log-level into cfg, refusing
// values config.Validate would refuse.
func applyLogFlags(c *cli.Context, cfg *config.Config) error {
	if f := c.String("log-format"); f != "" {
		if f != "text" && f != "json" {
			return cli.Exit(fmt.Sprintf("--log-format %q: want text or json\nTry: obzvon serve --log-format json", f), exitUsage)
		}
		cfg.Log.Format = f
	}
	if l := c.String("log-level"); l != "" {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(l)); err != nil {
			return cli.Exit(fmt.Sprintf("--log-level %q: want debug, info, warn or error\nTry: obzvon serve --log-level debug", l), exitUsage)
		}
		cfg.Log.Level = strings.ToLower(l)
	}
	return nil
}

// newLogger returns the daemon's logger on stderr. json writes one JSON
// object per line. text writes key=value lines; when stderr is the
// systemd journal's stream (JOURNAL_STREAM names it), the time is left
// out (journald stamps every line) and each line starts with its syslog
// priority, "<3>" for errors to "<7>" for debug, which journald turns into
// the entry's priority (journalctl -p warning).
func newLogger(cfg config.Log) *slog.Logger {
	return newLoggerTo(os.Stderr, cfg, stderrIsJournal())
}

func newLoggerTo(w io.Writer, cfg config.Log, journald bool) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	if !journald {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	h := &journaldHandler{mu: new(sync.Mutex), buf: new(bytes.Buffer), out: w}
	h.inner = slog.NewTextHandler(h.buf, opts)
	return slog.New(h)
}

// stderrIsJournal reports whether stderr is the stream systemd set up to
// the journal: JOURNAL_STREAM holds its device and inode ("DEV:INO"), so a
// child process whose stderr was redirected elsewhere is not fooled.
func stderrIsJournal() bool {
	dev, ino, ok := strings.Cut(os.Getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(2, &st); err != nil {
		return false
	}
	return dev == strconv.FormatUint(uint64(st.Dev), 10) && ino == strconv.FormatUint(st.Ino, 10)
}

// journaldHandler is a text handler whose lines start with a syslog
// priority prefix (sd-daemon(3)).
type journaldHandler struct {
	mu    *sync.Mutex // shared by the handlers derived with WithAttrs/WithGroup
	buf   *bytes.Buffer
	out   io.Writer
	inner slog.Handler // writes into buf
}

// syslogPriority maps a level to sd-daemon's prefix: err, warning,
// info, debug.
func syslogPriority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}

func (h *journaldHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *journaldHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	h.buf.WriteString(syslogPriority(r.Level))
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.out.Write(h.buf.Bytes())
	return err
}

func (h *journaldHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journaldHandler{mu: h.mu, buf: h.buf, out: h.out, inner: h.inner.WithAttrs(as)}
}

func (h *journaldHandler) WithGroup(name string) slog.Handler {
	return &journaldHandler{mu: h.mu, buf: h.buf, out: h.out, inner: h.inner.WithGroup(name)}
}
