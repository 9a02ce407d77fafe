package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/metrics"
)

// checkPorts binds and releases every listening port of cfg — HTTP, SIP on
// each transport, the first RTP pair — so that a port in use is reported
// before serve creates any directory or opens the journal. A port taken
// between this check and the real bind still fails there, as before.
func checkPorts(cfg *config.Config) error {
	var errs []error
	try := func(key, network, addr string) {
		var c interface{ Close() error }
		var err error
		if network == "udp" {
			c, err = net.ListenPacket("udp", addr)
		} else {
			c, err = net.Listen("tcp", addr)
		}
		if err == nil {
			c.Close()
			return
		}
		msg := err.Error()
		var se *os.SyscallError
		if errors.As(err, &se) {
			msg = se.Err.Error()
		}
		hint := ""
		if errors.Is(err, syscall.EADDRINUSE) {
			_, port, _ := net.SplitHostPort(addr)
			hint = fmt.Sprintf(": another obzvon or another program listens there (ss -lnp 'sport = :%s' names it); stop it or change %s", port, key)
		} else if errors.Is(err, syscall.EADDRNOTAVAIL) {
			hint = fmt.Sprintf(": no interface of this machine has that address; change %s", key)
		} else if errors.Is(err, syscall.EACCES) {
			hint = ": ports below 1024 need CAP_NET_BIND_SERVICE (see the unit file)"
		}
		errs = append(errs, fmt.Errorf("%s %s/%s: %s%s", key, addr, network, msg, hint))
	}
	try("http.listen", "tcp", cfg.HTTP.Listen)
	sip := net.JoinHostPort(cfg.SIP.Host, strconv.Itoa(cfg.SIP.Port))
	for _, t := range cfg.SIP.Transports {
		switch t {
		case "udp":
			try("sip.port", "udp", sip)
		case "tcp":
			try("sip.port", "tcp", sip)
		}
	}
	// Only the first pair: the engine skips ports it cannot bind, so a
	// few taken ports in the range are normal.
	try("rtp.port_min", "udp", net.JoinHostPort(cfg.RTP.IP, strconv.Itoa(cfg.RTP.PortMin)))
	return errors.Join(errs...)
}

// runMarker is the file serve keeps in the data directory while it runs:
// found at start, it means the previous run did not stop cleanly.
func runMarker(dataDir string) string { return filepath.Join(dataDir, "obzvon.running") }

// markRunning records that the daemon runs and reports whether the
// previous run ended without removing its mark (a crash, kill -9, the
// watchdog). done removes the mark; serve calls it after a clean stop.
func markRunning(dataDir string) (unclean bool, done func(), err error) {
	path := runMarker(dataDir)
	_, statErr := os.Stat(path)
	unclean = statErr == nil
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o640); err != nil {
		return unclean, func() {}, fmt.Errorf("run marker %s: %w", path, err)
	}
	return unclean, func() { _ = os.Remove(path) }, nil
}

// wireOpsMetrics registers the daemon-level metrics and the journal's
// sizes and write errors on reg and m, and returns the daemon metrics.
func wireOpsMetrics(reg prometheus.Registerer, m *metrics.Metrics, jr *journal.Journal, cfg *config.Config, unclean bool) *metrics.Daemon {
	m.RegisterJournal(func() metrics.JournalStats {
		u := jr.DiskUsage()
		return metrics.JournalStats{LSMBytes: u.LSM, ValueLogBytes: u.ValueLog, WALBytes: u.WAL, OtherBytes: u.Other,
			WriteErrors: jr.WriteErrors()}
	})
	d := metrics.NewDaemon(reg, version)
	d.WatchFilesystem(cfg.Data.Dir)
	d.SetStartUnclean(unclean)
	return d
}

// loadBuiltinCatalog loads the built-in catalog of topics and answer
// scripts into a journal that has none (the first start), so operators
// can search scripts without an administrator running catalog load first.
// A journal with any topic is left alone: an administrator's catalog is
// never overwritten.
func loadBuiltinCatalog(ctx context.Context, jr *journal.Journal, log *slog.Logger) error {
	have, err := jr.Topics(ctx, journal.KindUnknown)
	if err != nil {
		return fmt.Errorf("read the catalog: %w", err)
	}
	if len(have) > 0 {
		return nil
	}
	topics, scripts, err := journal.DefaultCatalog()
	if err != nil {
		return err
	}
	if err := jr.LoadCatalog(ctx, journal.Actor{Login: "system:first-start", Role: journal.RoleAdmin}, topics, scripts); err != nil {
		return err
	}
	log.Info("loaded the built-in catalog into the empty journal", "topics", len(topics), "scripts", len(scripts))
	return nil
}
