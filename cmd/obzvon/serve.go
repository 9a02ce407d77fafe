package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/obzvon/obzvon/api"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/dialer"
	"github.com/obzvon/obzvon/internal/sdnotify"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
	"github.com/obzvon/obzvon/prompts"
)

var configFlag = &cli.StringFlag{
	Name:    "config",
	Aliases: []string{"c"},
	Usage:   "TOML configuration `FILE` (built-in defaults when not given)",
	EnvVars: []string{"OBZVON_CONFIG"},
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the appliance: SIP, media, journal and the HTTP API",
		Flags: []cli.Flag{configFlag, logFormatFlag, logLevelFlag},
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c.String("config"))
			if err != nil {
				return cli.Exit(err.Error(), exitFailure)
			}
			if err := applyLogFlags(c, cfg); err != nil {
				return err
			}
			return serve(c.Context, cfg)
		},
	}
}

func checkConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "check-config",
		Usage:     "validate a configuration file and the prompts it names; print every problem",
		ArgsUsage: "FILE",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("check-config needs exactly one FILE\nTry: obzvon check-config /etc/obzvon/obzvon.toml", exitUsage)
			}
			path := c.Args().First()
			cfg, err := config.Load(path)
			var problems []error
			if err != nil {
				problems = append(problems, config.Errors(unwrapPath(err))...)
			} else if _, err := loadPrompts(cfg); err != nil {
				problems = append(problems, config.Errors(err)...)
			}
			var tlsSummary string
			if err == nil {
				var tlsProblems []error
				tlsSummary, tlsProblems = checkTLS(cfg, time.Now())
				problems = append(problems, tlsProblems...)
			}
			if len(problems) > 0 {
				for _, p := range problems {
					fmt.Fprintf(c.App.ErrWriter, "%s: %v\n", path, p)
				}
				return cli.Exit(fmt.Sprintf("%s: %d problem(s)", path, len(problems)), exitFailure)
			}
			for _, w := range cfg.Warnings() {
				fmt.Fprintf(c.App.ErrWriter, "%s: warning: %s\n", path, w)
			}
			fmt.Fprintf(c.App.Writer, "%s: OK (%d routes)\n", path, len(cfg.Routes))
			if tlsSummary != "" {
				fmt.Fprintf(c.App.Writer, "%s: %s\n", path, tlsSummary)
			}
			return nil
		},
	}
}

// unwrapPath strips the "FILE: " prefix Load adds, to get at the joined
// field errors.
func unwrapPath(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		c := config.Default()
		return c, c.Validate()
	}
	return config.Load(path)
}

// loadPrompts loads every prompt the routes name, plus the optional
// "invalid" and "busy" prompts, each from prompts.files, then prompts.dir,
// then the built-in set. Errors name the prompt and its file.
func loadPrompts(cfg *config.Config) (map[string]*media.Prompt, error) {
	out := map[string]*media.Prompt{}
	var errs []error
	names := cfg.PromptNames()
	names = append(names, "invalid", "busy")
	for _, name := range names {
		if out[name] != nil {
			continue
		}
		optional := false
		if name == "invalid" || name == "busy" {
			optional = true
			for _, n := range cfg.PromptNames() {
				if n == name {
					optional = false
				}
			}
		}
		p, found, err := loadPrompt(cfg, name)
		if !found && optional {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[name] = p
	}
	return out, errors.Join(errs...)
}

// loadPrompt loads the prompt called name from prompts.files, then
// prompts.dir, then the built-in set; found is false when it is in none.
func loadPrompt(cfg *config.Config, name string) (p *media.Prompt, found bool, err error) {
	switch {
	case cfg.Prompts.Files[name] != "":
		p, err := media.LoadPrompt(cfg.Prompts.Files[name])
		if err != nil {
			return nil, true, &config.FieldError{Key: "prompts.files." + name, Value: cfg.Prompts.Files[name], Msg: err.Error()}
		}
		return p, true, nil
	case cfg.Prompts.Dir != "" && fileExists(filepath.Join(cfg.Prompts.Dir, name+".wav")):
		path := filepath.Join(cfg.Prompts.Dir, name+".wav")
		p, err := media.LoadPrompt(path)
		if err != nil {
			return nil, true, &config.FieldError{Key: "prompts.dir", Value: cfg.Prompts.Dir, Msg: err.Error()}
		}
		return p, true, nil
	}
	data, err := fs.ReadFile(prompts.FS, "ru/"+name+".wav")
	if err != nil {
		return nil, false, &config.FieldError{Key: "prompts", Value: name, Msg: "no such prompt: not in prompts.files, prompts.dir or the built-in set"}
	}
	p, err = media.ParsePrompt("built-in ru/"+name+".wav", data)
	return p, true, err
}

// socketPeer names the local user on the other end of an admin-socket
// connection (SO_PEERCRED), for the audit log.
func socketPeer(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *syscall.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, _ = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if cred == nil {
		return ctx
	}
	name := "uid " + strconv.Itoa(int(cred.Uid))
	if u, err := user.LookupId(strconv.Itoa(int(cred.Uid))); err == nil {
		name = u.Username
	}
	return api.WithSocketPeer(ctx, name)
}

// adminSocketPath is where the daemon listens for the local CLI.
func adminSocketPath(dataDir string) string { return filepath.Join(dataDir, "obzvon.sock") }

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// daemon holds what serve started, for health checks and shutdown.
type daemon struct {
	draining atomic.Bool
}

func (d *daemon) Live() error { return nil }

func (d *daemon) Ready() error {
	if d.draining.Load() {
		return errors.New("draining: not accepting new calls")
	}
	return nil
}

// serve runs the appliance until SIGINT/SIGTERM, then drains.
func serve(parent context.Context, cfg *config.Config) error {
	log := newLogger(cfg.Log)
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	pr, err := loadPrompts(cfg)
	if err != nil {
		return cli.Exit(fmt.Sprintf("prompts: %v", err), exitFailure)
	}
	if err := checkPorts(cfg); err != nil {
		return cli.Exit(fmt.Sprintf("%v\nNothing was started and no directory created.", err), exitFailure)
	}
	if err := os.MkdirAll(cfg.Data.RecordingsDir(), 0o750); err != nil {
		return cli.Exit(fmt.Sprintf("recordings directory: %v", err), exitFailure)
	}
	jopts := journal.DefaultOptions(cfg.Data.JournalDir())
	jopts.Logger = log
	jopts.EncryptionKeyFile = os.ExpandEnv(cfg.Data.EncryptionKeyFile)
	jopts.GCInterval = cfg.Data.GCInterval.Duration
	jopts.MaxTokenTTL = cfg.HTTP.MaxTokenTTL.Duration
	jr, err := journal.Open(jopts)
	if err != nil {
		return cli.Exit(fmt.Sprintf("open journal %s: %v", cfg.Data.JournalDir(), err), exitFailure)
	}
	cleanStop := func() {} // set once the run is marked; called after a clean stop
	stoppedCleanly := false
	defer func() {
		if err := jr.Close(); err != nil {
			log.Error("journal close", "error", err, "hint", "run obzvon journal check before the next start")
			return
		}
		if stoppedCleanly {
			cleanStop()
		}
	}()
	unclean, cleanStop, err := markRunning(cfg.Data.Dir)
	if err != nil {
		return cli.Exit(err.Error(), exitFailure)
	}
	if unclean {
		log.Warn("the previous run did not stop cleanly (crash, kill or watchdog)",
			"hint", "see the end of the previous run's log: journalctl -u obzvon -b -n 200")
	}
	if err := loadBuiltinCatalog(ctx, jr, log); err != nil {
		log.Warn("built-in catalog not loaded", "error", err, "hint", "load it with: obzvon catalog load --default")
	}

	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	dm := wireOpsMetrics(reg, m, jr, cfg, unclean)
	rtpIP, _ := netip.ParseAddr(cfg.RTP.IP)
	engine, err := media.NewEngine(media.EngineConfig{
		IP: rtpIP, PortMin: cfg.RTP.PortMin, PortMax: cfg.RTP.PortMax,
		RecordDir: cfg.Data.RecordingsDir(), Logger: log,
	})
	if err != nil {
		return cli.Exit(fmt.Sprintf("media engine: %v", err), exitFailure)
	}
	defer engine.Close()
	m.RegisterForwardDelay(func(bounds []time.Duration) ([]uint64, uint64, time.Duration) {
		d := engine.ForwardDelay()
		cum, sum := d.Cumulative(bounds)
		return cum, d.Count(), sum
	})
	registerSRTPMetrics(reg, engine, log)
	m.RegisterMediaCounters(func() metrics.MediaCounters {
		c := engine.Counters()
		return metrics.MediaCounters{PacketsIn: c.PacketsIn, PacketsOut: c.PacketsOut, PacketsLost: c.PacketsLost, RecordingBytes: c.RecordingBytes}
	})

	events := api.NewEvents(log) // the desktop's live updates; the ACD and campaigns publish here
	glue := newDesktopGlue(events, jr, log)
	figures := newCampaignFigures(events) // campaigns' live figures for the desktop
	srv, err := dialer.New(dialer.Options{
		Config: cfg, Engine: engine, Prompts: pr, Calls: glue, Credentials: jr, Metrics: m, Logger: log,
		Desk: glue.deskOptions(deskOptions(cfg, jr, reg)),
	})
	if err != nil {
		return cli.Exit(err.Error(), exitFailure)
	}
	var desk api.Desk
	if dk := srv.Desk(); dk != nil {
		desk = dk
	}

	d := &daemon{}
	dialHook := &campaignDialHook{} // set once the campaign runners start
	ln, err := listenHTTP(cfg, log)
	if err != nil {
		return cli.Exit(err.Error(), exitFailure)
	}
	hs := &http.Server{
		Handler: plainHTTP(api.NewHandler(api.Options{Health: d, Gatherer: reg, OpenMetrics: cfg.HTTP.OpenMetrics, Journal: jr, Logger: log,
			TrustedProxies: cfg.HTTP.Proxies(), Desk: desk, Events: events, CallLinks: glue, CampaignFigures: figures, QueueHistory: &glue.history,
			Campaigns: dialHook, AgentCalls: dialHook}), cfg.HTTP.OpenMetrics),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout.Duration,
		WriteTimeout:      cfg.HTTP.WriteTimeout.Duration,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(events.Close) // open event streams would hold Shutdown
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "error", err, "hint", "the HTTP listener failed: the daemon stops; check http.listen and start it again")
			cancel()
		}
	}()

	// The admin socket serves the local CLI (journal calls) while the
	// daemon holds the journal's lock.
	sockPath := adminSocketPath(cfg.Data.Dir)
	_ = os.Remove(sockPath)
	sl, err := net.Listen("unix", sockPath)
	if err != nil {
		hs.Close()
		return cli.Exit(fmt.Sprintf("admin socket %s: %v", sockPath, err), exitFailure)
	}
	_ = os.Chmod(sockPath, 0o660)
	as := &http.Server{
		ConnContext:       socketPeer,
		Handler:           withPprof(api.NewHandler(api.Options{Health: d, Gatherer: reg, Admin: true, Calls: jr, Journal: jr, Logger: log, Desk: desk, CampaignFigures: figures})),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = as.Serve(sl) }()
	defer func() {
		as.Close()
		os.Remove(sockPath)
	}()

	if err := srv.Start(ctx); err != nil {
		hs.Close()
		return cli.Exit(err.Error(), exitFailure)
	}
	camp, err := startCampaigns(ctx, cfg, srv, jr, reg, log, figures.tee)
	if err != nil {
		srv.Close()
		hs.Close()
		return cli.Exit(fmt.Sprintf("campaigns: %v", err), exitFailure)
	}
	dialHook.set(camp.Manager, camp.Dialer)
	go glue.run(ctx, srv.Desk())
	go figures.run(ctx)
	log.Info("obzvon ready", "version", version, "http", ln.Addr().String(), "data", cfg.Data.Dir)
	_ = sdnotify.Ready()
	dm.SetReady(true)

	startWatchdog(ctx, log, srv, engine, jr) // WATCHDOG=1 only while every component answers

	select {
	case sig := <-sigs:
		log.Info("signal received; draining", "signal", sig.String(), "drain_timeout", cfg.Calls.DrainTimeout.String())
	case <-ctx.Done():
		log.Info("stopping")
	}
	d.draining.Store(true)
	dm.SetReady(false)
	_ = sdnotify.Stopping()
	go func() {
		sig := <-sigs
		log.Warn("second signal: exiting at once", "signal", sig.String(), "hint", "calls in progress were cut off; run obzvon journal check before the next start")
		os.Exit(exitSignaled)
	}()

	camp.Stop()
	dctx, dcancel := context.WithTimeout(context.Background(), cfg.Calls.DrainTimeout.Duration)
	cut := srv.Drain(dctx)
	dcancel()
	if cut > 0 {
		log.Info("drain timeout: hung up remaining calls", "calls", cut)
	}
	if err := srv.Close(); err != nil {
		log.Warn("sip close", "error", err, "hint", "harmless at stop; report it if it repeats")
	}
	shctx, shcancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := hs.Shutdown(shctx); err != nil {
		log.Warn("http shutdown: connections cut", "error", err, "hint", "clients in the middle of a request were cut at the deadline; they retry after the restart")
	}
	shcancel()
	stoppedCleanly = true // the run marker goes once the journal has closed
	log.Info("stopped")
	return nil
}
