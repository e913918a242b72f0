package crawl

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"crawler/config"
	"crawler/frontier"
	"crawler/internal/testsite"
	"crawler/store"
)

// A crawl stopped right after a request and started again at once keeps
// the gap between the two processes' requests on a host: the restarted
// frontier holds each host's first request for its delay, per_host_delay
// or, when longer, the Crawl-delay of the host's stored robots.txt (read
// by the restarted engine before the host's first request).
func TestRestartKeepsDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	for _, tc := range []struct {
		name                    string
		firstIP                 string
		perHostDelay, robotsSay time.Duration
		want                    time.Duration
	}{
		{"per_host_delay", "127.0.1.24", 250 * time.Millisecond, 0, 250 * time.Millisecond},
		{"crawl-delay", "127.0.1.28", 20 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site, cfg := politeSite(t, testsite.Options{Hosts: 2, Pages: 10, Links: 3, FirstIP: tc.firstIP, CrawlDelay: tc.robotsSay}, tc.perHostDelay)
			db := openChecked(t, cfg)
			if before := stopAfterRequests(t, cfg, db, site, 5); before.MinGap < tc.want {
				t.Fatalf("before the restart: smallest gap %v; want >= %v", before.MinGap, tc.want)
			}
			runIdle(t, cfg, db, crawlOpts{})
			r := site.Report()
			if r.MinGap < tc.want {
				t.Errorf("smallest gap between two requests on one host = %v over a restart; want >= %v", r.MinGap, tc.want)
			}
			if r.Pages != len(site.PageURLs()) || len(r.Repeats) > 0 {
				t.Errorf("after the restart: %d of %d pages, repeats %v", r.Pages, len(site.PageURLs()), r.Repeats)
			}
		})
	}
}

// A restarted engine gives a host with nothing queued the Crawl-delay of
// its stored robots.txt too: when the host's first URL of this process
// comes later (here a link; in a crawl, a retry or recrawl coming due),
// its first start is still not before the restart plus that delay.
func TestRestartCrawlDelayOfHostWithNothingQueued(t *testing.T) {
	const crawlDelay = 7 * time.Second
	site, cfg := politeSite(t, testsite.Options{Hosts: 1, Pages: 2, Links: 1, FirstIP: "127.0.1.29", CrawlDelay: 50 * time.Millisecond}, 0)
	cfg.Fetch.MaxCrawlDelay = time.Minute
	db := openChecked(t, cfg)
	runIdle(t, cfg, db, crawlOpts{}) // stores its robots.txt
	host := site.Hosts()[0]
	origin := "http://" + host
	err := db.Update(func(tx *store.Tx) error { // as if robots.txt now asked for more
		return tx.PutRobots(origin, &store.RobotsFile{Fetched: time.Now(), Status: 200,
			Body: []byte("User-agent: *\nCRAWL-DELAY: 7\n")})
	})
	if err != nil {
		t.Fatal(err)
	}

	opened := time.Now()
	e := restarted(t, cfg, db)
	if n := len(e.Queue().Live()); n != 0 {
		t.Fatalf("%d hosts active after the restart; want none (everything was crawled)", n)
	}
	key := cfg.Fetch.HostKey(host)
	if _, err := e.Queue().Add(context.Background(), []frontier.Link{{URL: origin + "/new", Host: key}}); err != nil {
		t.Fatal(err)
	}
	live, ok := e.Queue().Live()[key]
	if !ok {
		t.Fatalf("host %s not active after a link was added", key)
	}
	if live.Delay != crawlDelay.String() || live.NextAt.Before(opened.Add(crawlDelay)) {
		t.Errorf("host first seen after the restart: delay %s, next start %v after the restart; want %v and at least %v",
			live.Delay, live.NextAt.Sub(opened), crawlDelay, crawlDelay)
	}
}

// restarted returns a new engine on db, as a restart makes it, not run;
// it is closed when the test ends.
func restarted(t *testing.T, cfg *config.Config, db *store.DB) *Engine {
	t.Helper()
	e, err := New(Options{Config: cfg, DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// stopAfterRequests crawls site until it has answered n requests, then
// stops the crawl at once (so the next request is due a delay later), and
// returns the site's report. It fails the test if that crawl finished.
func stopAfterRequests(t *testing.T, cfg *config.Config, db *store.DB, site *testsite.Site, n int) testsite.Report {
	t.Helper()
	parent, stop := context.WithCancel(context.Background())
	defer stop()
	runIdle(t, cfg, db, crawlOpts{parent: parent, during: func(ctx context.Context, _ *Engine) {
		for site.Report().Requests < n && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		stop()
	}})
	r := site.Report()
	if r.Requests >= len(site.PageURLs())+2 {
		t.Fatalf("the first run crawled everything (%d requests) before it was stopped", r.Requests)
	}
	return r
}

// With respect_robots off, robots.txt is not read, its Crawl-delay
// included: a restarted engine gives a host no Crawl-delay from a
// robots.txt an earlier run stored.
func TestRestartWithoutRobotsIgnoresStoredCrawlDelay(t *testing.T) {
	const origin = "http://127.0.1.30:8080"
	cfg := testConfig(t, origin+"/")
	cfg.Fetch.MaxCrawlDelay = time.Minute
	cfg.Fetch.RespectRobots = false
	db := openChecked(t, cfg)
	err := db.Update(func(tx *store.Tx) error {
		return tx.PutRobots(origin, &store.RobotsFile{Fetched: time.Now(), Status: 200,
			Body: []byte("User-agent: *\nCrawl-delay: 7\n")})
	})
	if err != nil {
		t.Fatal(err)
	}
	e := restarted(t, cfg, db)
	if d, _, _ := e.adapt.state(cfg.Fetch.HostKey("127.0.1.30:8080")); d != 0 {
		t.Errorf("host's delay after a restart with respect_robots off = %v; want 0 (per_host_delay): robots.txt is not read", d)
	}
}
