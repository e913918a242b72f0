package crawl

import (
	"context"
	"testing"
	"time"

	"crawler/internal/testsite"
)

// A crawl stopped right after a request and started again at once keeps
// the per-host delay between the two processes' requests: the restarted
// frontier holds each host's first request for its delay.
func TestRestartKeepsPerHostDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	const delay = 250 * time.Millisecond
	site, cfg := politeSite(t, testsite.Options{Hosts: 2, Pages: 12, Links: 3, FirstIP: "127.0.1.24"}, delay)
	db := openChecked(t, cfg)

	parent, stop := context.WithCancel(context.Background())
	runIdle(t, cfg, db, crawlOpts{parent: parent, during: func(ctx context.Context, _ *Engine) {
		for site.Report().Requests < 6 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		stop() // just after a request: the next one is due a delay later
	}})
	before := site.Report().Requests
	if before >= len(site.PageURLs())+2 {
		t.Fatalf("the first run crawled everything (%d requests) before it was stopped", before)
	}
	runIdle(t, cfg, db, crawlOpts{})
	r := site.Report()
	if r.MinGap < delay {
		t.Errorf("smallest gap between two requests on one host = %v over a restart; want >= %v", r.MinGap, delay)
	}
	if r.Pages != len(site.PageURLs()) || len(r.Repeats) > 0 {
		t.Errorf("after the restart: %d of %d pages, repeats %v", r.Pages, len(site.PageURLs()), r.Repeats)
	}
}
