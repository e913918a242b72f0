package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"crawler/api"
	"crawler/config"
	"crawler/crawl"
	"crawler/internal/heaplimit"
	"crawler/store"
)

func newRunCmd(g *globals) *cobra.Command {
	var exitWhenIdle bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the crawler daemon in the foreground",
		Long: `Run crawls from the config's seeds and keeps every page in data_dir/crawl.db.
It logs to stderr. SIGINT or SIGTERM stops it gracefully: no new URLs, in-flight
fetches get shutdown_timeout to finish, everything fetched is committed, exit 0;
a second signal cancels in-flight fetches at once (nothing committed is lost).
SIGHUP (or "crawler reload") re-reads the config: a file that fails to parse or
validate is logged and the old config stays in force. A second "crawler run" on
the same data_dir fails at once: the database is locked.`,
		Example: `  crawler run --config crawler.yaml
  crawler run --config site.yaml --exit-when-idle`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			return runDaemon(cmd.Context(), g, exitWhenIdle)
		},
	}
	cmd.Flags().BoolVar(&exitWhenIdle, "exit-when-idle", false, "exit 0 once nothing is queued or in flight")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	return cmd
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--cpuprofile: %w", err))
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// runDaemon starts and stops the daemon in this order:
//
//	start: config → data_dir → bbolt (fails fast if locked) → engine
//	       (frontier) → control socket and metrics listener → pidfile → crawl
//	stop:  signal → engine stops taking URLs, finishes or cancels in-flight
//	       fetches, commits what was fetched, closes the frontier → pidfile
//	       removed → listeners closed → bbolt closed last.
func runDaemon(ctx context.Context, g *globals, exitWhenIdle bool) error {
	// Signals are caught before anything else: a SIGTERM that arrives
	// while the file opens or once the socket answers stops the daemon
	// cleanly, where the default action would kill it (the socket used to
	// answer before the handler was installed).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	// A log line written to a stderr whose reader is gone (crawler run
	// 2>&1 | tee log, and tee dies) would kill the daemon with SIGPIPE,
	// without a graceful stop; ignored, the write fails instead. Left
	// ignored to the end: the process exits after runDaemon returns. The
	// query verbs keep the default, so `crawler pages list | head` ends.
	signal.Ignore(syscall.SIGPIPE)

	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, g)
	warnExposedCredentials(g.configPath, cfg, log)
	defer tuneGC(cfg.MemoryLimit, log)()
	if err := api.CheckSocketPath(cfg.SocketPath()); err != nil {
		return settingError{fmt.Errorf("api.socket: %w", err)}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return dataError{fmt.Errorf("data_dir: %w", err)}
	}
	db, err := store.Open(cfg.DBPath(), store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("another crawler is running on data_dir %s: %w", cfg.DataDir, err)
		}
		return dataError{err}
	}
	defer db.Close()

	eng, err := crawl.New(crawl.Options{Config: cfg, DB: db, ExitWhenIdle: exitWhenIdle, Logger: log})
	if err != nil {
		return err
	}
	apiSrv, err := startAPI(ctx, cfg, db, eng, log)
	if err != nil {
		_ = eng.Close()
		return err
	}
	defer apiSrv.Close()
	metricsSrv, err := startMetrics(cfg, eng, log)
	if err != nil {
		_ = eng.Close()
		return err
	}
	defer metricsSrv.Close()
	releasePidfile, err := writePidfile(filepath.Join(cfg.DataDir, pidfileName))
	if err != nil {
		log.Warn("cannot write pidfile; crawler reload will not find this daemon", "err", err)
	}
	defer releasePidfile()

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	// Before the engine, the socket and the file close (the defers
	// above): a reload a late SIGHUP began ends first.
	defer watchSignals(sigs, stop, eng, func() { reloadConfig(ctx, eng, g.configPath, log) }, log)()

	log.Info("crawler started", "data_dir", cfg.DataDir, "seeds", len(cfg.Seeds),
		"concurrency", cfg.Fetch.Concurrency, "per_host_delay", cfg.Fetch.PerHostDelay, "pid", os.Getpid())
	if cfg.Store.ReclaimGarbagePercent == 0 { // otherwise the daemon reclaims by itself
		suggestCompact(db, log)
	}
	if err := eng.Run(ctx); err != nil {
		return err
	}
	c := eng.Queue().Counts()
	log.Info("crawler stopped", "queued", c.Queued, "done", c.Done, "failed", c.Failed, "disallowed", c.Disallowed)
	return nil
}

// suggestCompact logs, at start-up, when compact is worth running
// (worthCompacting).
func suggestCompact(db *store.DB, log *slog.Logger) {
	var c store.Counts
	_ = db.View(func(tx *store.Tx) error { c = tx.Counts(); return nil })
	if worthCompacting(c) {
		log.Info("most of the value log is replaced records and bodies; crawler compact (with the daemon stopped), or store.reclaim_garbage_percent, would reclaim them",
			"value_log_bytes", c.ValueBytes, "reclaimable_bytes", c.GarbageBytes)
	}
}

// worthCompacting reports whether replaced records and bodies (recrawls)
// are at least half of the value log and at least compactWorthBytes.
func worthCompacting(c store.Counts) bool {
	return c.GarbageBytes >= compactWorthBytes && 2*c.GarbageBytes >= c.ValueBytes
}

// compactWorthBytes is the least garbage worthCompacting calls worth it.
const compactWorthBytes = 64 << 20

// watchSignals turns the signals on sigs into actions until the func it
// returns is called (the daemon is returning), which waits for the action
// in progress, a reload, to end: the first SIGINT/SIGTERM stops the
// crawl (stop cancels the crawl's context), a second aborts in-flight
// fetches, and SIGHUP calls reload. It must outlive the crawl's context:
// the second signal comes while the crawl is stopping, after it was
// cancelled.
func watchSignals(sigs <-chan os.Signal, stop context.CancelFunc, eng *crawl.Engine, reload func(), log *slog.Logger) (finish func()) {
	done, handled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(handled)
		handleSignals(done, sigs, stop, eng, reload, log)
	}()
	return func() { close(done); <-handled }
}

// handleSignals is watchSignals' loop; it returns once done is closed.
func handleSignals(done <-chan struct{}, sigs <-chan os.Signal, stop context.CancelFunc, eng *crawl.Engine, reload func(), log *slog.Logger) {
	stopping := false
	for {
		select {
		case <-done:
			return
		case sig := <-sigs:
			switch {
			case sig == syscall.SIGHUP:
				reload()
			case !stopping:
				stopping = true
				log.Info("stopping: finishing in-flight fetches (signal again to cancel them)", "signal", sig.String())
				stop()
			default:
				log.Warn("second signal: cancelling in-flight fetches", "signal", sig.String())
				eng.Abort()
			}
		}
	}
}

// reloadConfig parses and validates the whole file before anything
// changes; the engine keeps the old config when either step fails.
func reloadConfig(ctx context.Context, eng *crawl.Engine, path string, log *slog.Logger) {
	log.Info("SIGHUP: reloading config", "path", path)
	next, err := config.Load(path)
	if err != nil {
		eng.RecordReloadFailure(err) // logs it
		return
	}
	warnExposedCredentials(path, next, log)
	_ = eng.Reload(ctx, next)
}

// warnExposedCredentials logs a warning when cfg, read from path, sends
// credentials (fetch.proxy's password, fetch.host_limits headers) and the
// file is readable by others than its owner.
func warnExposedCredentials(path string, cfg *config.Config, log *slog.Logger) {
	if !cfg.Fetch.SendsCredentials() {
		return
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the config holds credentials (a proxy password, Authorization or Cookie headers) and others may read it: chmod 600 it",
			"path", path, "mode", fmt.Sprintf("%04o", st.Mode().Perm()))
	}
}

// tuneGC trades memory for CPU the way the config asks: with a soft heap
// limit, the collector may let the heap grow to five times the live data
// (GOGC=400) and tightens only near the limit. Measured on the throughput
// benchmark: about a third more pages per second than GOGC=100. The limit
// follows the live heap above the configured floor (heaplimit). GOGC and
// GOMEMLIMIT in the environment win. The returned func undoes it all.
func tuneGC(limit int64, log *slog.Logger) (undo func()) {
	if limit <= 0 {
		return func() {}
	}
	undo = func() {}
	if os.Getenv("GOMEMLIMIT") == "" {
		undo = heaplimit.Start(limit, time.Second).Stop
	}
	if os.Getenv("GOGC") == "" {
		prev, stopLimit := debug.SetGCPercent(400), undo
		undo = func() {
			stopLimit()
			debug.SetGCPercent(prev)
		}
	}
	log.Debug("garbage collector tuned", "memory_limit", limit)
	return undo
}

// newLogger builds the slog logger the config asks for.
func newLogger(lc config.Log, g *globals) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}
