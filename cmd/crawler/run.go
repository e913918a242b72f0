package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"crawler/config"
	"crawler/crawl"
	"crawler/store"
)

func newRunCmd(g *globals) *cobra.Command {
	var exitWhenIdle bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the crawler daemon in the foreground",
		Long: `Run crawls from the config's seeds and keeps every page in data_dir/crawl.db.
It logs to stderr and stops gracefully on SIGINT or SIGTERM (a second signal
cancels in-flight fetches at once; nothing committed is ever lost). A second
"crawler run" on the same data_dir fails at once: the database is locked.`,
		Example: `  crawler run --config crawler.yaml
  crawler run --config site.yaml --exit-when-idle`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDaemon(cmd.Context(), g, exitWhenIdle)
		},
	}
	cmd.Flags().BoolVar(&exitWhenIdle, "exit-when-idle", false, "exit 0 once nothing is queued or in flight")
	return cmd
}

func runDaemon(ctx context.Context, g *globals, exitWhenIdle bool) error {
	cfg, err := config.Load(g.configPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, g)
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
	// The database closes last, after everything that writes to it.
	defer db.Close()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

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
	log.Info("crawler started", "data_dir", cfg.DataDir, "seeds", len(cfg.Seeds),
		"concurrency", cfg.Fetch.Concurrency, "per_host_delay", cfg.Fetch.PerHostDelay)
	if err := eng.Run(ctx); err != nil {
		return err
	}
	c := eng.Queue().Counts()
	log.Info("crawler stopped", "queued", c.Queued, "done", c.Done, "failed", c.Failed, "disallowed", c.Disallowed)
	return nil
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
