package crawl

import (
	"context"
	"testing"
	"time"

	"crawler/config"
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
