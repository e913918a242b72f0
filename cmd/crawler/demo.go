package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"crawler/api"
	"crawler/config"
	"crawler/crawl"
	"crawler/internal/testsite"
	"crawler/store"
)

// The demo's generated site.
const (
	demoFirstIP = "127.0.1.200"
	demoHosts   = 3
	demoPages   = 30
)

func newDemoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Crawl a generated site on loopback and query it, in seconds",
		Long: `Demo shows the whole loop without a network: it serves a small generated
site (3 hosts × 31 pages: "/" and 30 more, with robots.txt) on
127.0.1.200-202, crawls it politely (50ms between requests per host) into a
temporary data_dir, prints progress, then runs a few queries (stats, hosts,
the first pages, a search) and removes everything it created. It ignores
--config.`,
		Example: `  crawler demo`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g)
		},
	}
}

func runDemo(ctx context.Context, g *globals) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := bufio.NewWriter(g.stdout)
	defer out.Flush()

	site, err := testsite.Start(testsite.Options{Hosts: demoHosts, Pages: demoPages, FirstIP: demoFirstIP})
	if err != nil {
		return dataError{fmt.Errorf("demo: %w", err)}
	}
	defer site.Close()
	dir, err := os.MkdirTemp("", "crawler-demo-")
	if err != nil {
		return dataError{fmt.Errorf("demo: %w", err)}
	}
	defer os.RemoveAll(dir)

	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Seeds = site.Seeds()
	cfg.Fetch.AllowPrivateAddresses = true
	cfg.Fetch.PerHostDelay = 50 * time.Millisecond
	cfg.Fetch.Concurrency = 8
	cfg.Fetch.Timeout = 5 * time.Second
	cfg.ShutdownTimeout = 2 * time.Second
	if err := cfg.Validate(); err != nil {
		return err
	}
	db, err := store.Open(cfg.DBPath(), store.Options{NoSync: true}) // throwaway
	if err != nil {
		return dataError{err}
	}
	defer db.Close()
	eng, err := crawl.New(crawl.Options{Config: cfg, DB: db, ExitWhenIdle: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	d := api.NewDaemon(db, eng, api.DaemonOptions{})
	defer d.Close()

	fmt.Fprintf(out, "demo: serving a generated site: %d hosts × %d pages, on %v\n", demoHosts, demoPages+1, site.Hosts())
	fmt.Fprintf(out, "demo: crawling it into %s (50ms between requests per host, robots.txt obeyed)\n", dir)
	out.Flush()
	start := time.Now()
	ran := make(chan error, 1)
	go func() { ran <- eng.Run(ctx) }()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case err := <-ran:
			if err != nil {
				return err
			}
			break wait
		case <-tick.C:
			if s, err := d.Stats(ctx); err == nil {
				fmt.Fprintf(out, "  %5.2fs  %3d pages stored, %3d queued, %d in flight\n",
					time.Since(start).Seconds(), s.PagesStored, s.Queued, s.InFlight)
				out.Flush()
			}
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(out, "demo: interrupted")
		return nil
	}
	fmt.Fprintf(out, "demo: crawl finished in %.1fs; now the same queries the CLI runs:\n", time.Since(start).Seconds())
	if err := demoQueries(ctx, out, d, site.Hosts()[1]); err != nil {
		return err
	}
	fmt.Fprintf(out, "\ndemo: done; removed %s. Next: edit crawler.yaml (seeds, data_dir) and run `crawler run`.\n", dir)
	return nil
}

// demoQueries prints a few answers the way the verbs print them.
func demoQueries(ctx context.Context, out *bufio.Writer, q api.Querier, host string) error {
	fmt.Fprintln(out, "\n$ crawler stats")
	s, err := q.Stats(ctx)
	if err != nil {
		return err
	}
	if err := writeStats(out, s, "demo crawl"); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n$ crawler hosts")
	hw := newHostWriter(out, "table")
	if err := q.Hosts(ctx, hw.write); err != nil {
		return err
	}
	if err := hw.flush(); err != nil {
		return err
	}

	fmt.Fprintf(out, "\n$ crawler pages list --host %s --limit 5\n", host)
	if err := demoTable(out, func(pw *pageWriter) error {
		return q.ListPages(ctx, api.PageFilter{Host: host, Limit: 5}, pw.write)
	}); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n$ crawler search \"host 2 page 7\"")
	return demoTable(out, func(pw *pageWriter) error {
		return q.Search(ctx, "host 2 page 7", 0, pw.write)
	})
}

func demoTable(out io.Writer, list func(*pageWriter) error) error {
	pw := newPageWriter(out, "table")
	if err := list(pw); err != nil {
		return err
	}
	return pw.flush()
}
