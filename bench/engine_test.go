package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crawler/config"
	"crawler/crawl"
	"crawler/internal/benchenv"
	"crawler/internal/testsite"
	"crawler/store"
)

// watchCounts logs the frontier's counts every half second when
// BENCH_COUNTS=1 (queued vs in flight shows whether the crawl is
// discovery-bound). It returns the function that stops it.
func watchCounts(b *testing.B, e *crawl.Engine) func() {
	if os.Getenv("BENCH_COUNTS") != "1" {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c := e.Queue().Counts()
				b.Logf("queued %d in-flight %d done %d disallowed %d hosts %d fetches %d",
					c.Queued, c.InFlight, c.Done, c.Disallowed, c.Hosts, c.Done+c.Failed)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// BenchmarkEngine runs our crawl engine in this process (the same engine
// `crawler run` runs) on a crawl scenario's site, so that it can be
// profiled:
//
//	go test -run '^$' -bench Engine -benchtime 1x -cpuprofile cpu.out
//	BENCH_SCENARIO=manyhosts BENCH_SCALE=0.2 go test -run '^$' -bench Engine ...
//
// The site shares the process, so the profile shows its cost too
// (net/http server frames and testsite). To find which stage bounds the
// crawl: BENCH_COUNTS=1 logs the frontier's counts as it goes,
// BENCH_NOSYNC=1 opens the store without fsync, BENCH_PARSE_WORKERS sets
// crawl.Options.ParseWorkers, BENCH_CONCURRENCY overrides
// fetch.concurrency (the frontier's lease cap is twice it) and
// BENCH_BODY_MEMORY fetch.body_memory (0 = no bound).
func BenchmarkEngine(b *testing.B) {
	name := os.Getenv("BENCH_SCENARIO")
	if name == "" {
		name = "throughput"
	}
	scale := benchenv.Scale(b)
	var sc *scenario
	for _, s := range crawlScenarios(scale) {
		if s.name == name {
			sc = s
		}
	}
	if sc == nil {
		b.Fatalf("BENCH_SCENARIO=%q: no such crawl scenario", name)
	}
	for range b.N {
		b.StopTimer()
		site, err := testsite.Start(sc.site)
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		cfg := config.Default()
		cfg.DataDir = dir
		cfg.Seeds = site.Seeds()
		cfg.Fetch.Concurrency = sc.limit.concurrency
		if v := os.Getenv("BENCH_BODY_MEMORY"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatalf("BENCH_BODY_MEMORY=%q", v)
			}
			cfg.Fetch.BodyMemory = n // 0: no bound
		}
		if n, _ := strconv.Atoi(os.Getenv("BENCH_CONCURRENCY")); n > 0 {
			cfg.Fetch.Concurrency = n // also the frontier's lease cap
		}
		cfg.Fetch.PerHostConcurrency = sc.limit.perHost
		cfg.Fetch.PerHostDelay = sc.limit.delay
		cfg.Fetch.AllowPrivateAddresses = true
		cfg.Fetch.RetryBaseDelay = 100 * time.Millisecond
		cfg.Fetch.RetryMaxDelay = time.Second
		cfg.Store.MinFreeBytes = 0
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(filepath.Join(dir, "crawl.db"), store.Options{NoSync: benchenv.NoSync()})
		if err != nil {
			b.Fatal(err)
		}
		pw, _ := strconv.Atoi(os.Getenv("BENCH_PARSE_WORKERS")) // 0: the engine's default
		reg := prometheus.NewRegistry()
		e, err := crawl.New(crawl.Options{Config: cfg, DB: db, ExitWhenIdle: true, ParseWorkers: pw, Registry: reg,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		stopWatch := watchCounts(b, e)
		b.StartTimer()
		start := time.Now()
		err = e.Run(ctx)
		stopWatch()
		el := time.Since(start)
		b.StopTimer()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		r := site.Report()
		site.Close()
		var pages, writes int64
		_ = db.View(func(tx *store.Tx) error {
			pages = tx.Counts().Pages
			// bbolt's count of pages written, by every transaction (the
			// value log's writes are not pages).
			st := tx.Bolt().DB().Stats()
			writes = st.TxStats.GetWrite()
			return nil
		})
		db.Close()
		if want := len(site.PageURLs()); pages != int64(want) {
			b.Errorf("stored %d pages; want %d", pages, want)
		}
		b.ReportMetric(float64(r.Pages)/el.Seconds(), "pages/s")
		if pages > 0 {
			b.ReportMetric(float64(writes)/float64(pages), "page-writes/page")
		}
		reportCommits(b, reg)
		b.StartTimer()
	}
}

// reportCommits reports the frontier's write transactions from the
// engine's metrics: operations per commit and milliseconds per commit.
func reportCommits(b *testing.B, reg *prometheus.Registry) {
	b.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var commits, sum, ops float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "crawler_store_commit_duration_seconds":
				commits, sum = float64(m.GetHistogram().GetSampleCount()), m.GetHistogram().GetSampleSum()
			case "crawler_store_operations_total":
				ops = m.GetCounter().GetValue()
			}
		}
	}
	if commits > 0 {
		b.ReportMetric(ops/commits, "ops/commit")
		b.ReportMetric(1000*sum/commits, "ms/commit")
		b.ReportMetric(commits, "commits")
	}
}
