package crawl

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"crawler/config"
)

// fetch.host_limits reach the crawl: a host limited to one request at a
// time never has two in flight, while a host on the defaults (two) does,
// on the same slow pages.
func TestHostLimitsReachTheCrawl(t *testing.T) {
	site := newHostileSite(t)
	one, two := site.host("limited"), site.host("default")
	for _, h := range []*hostileHost{one, two} {
		h.robots("User-agent: *\nAllow: /\n")
		var links []string
		for i := range 8 {
			links = append(links, fmt.Sprintf("/p/%d", i))
			h.handle(fmt.Sprintf("/p/%d", i), func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(40 * time.Millisecond) // long enough for requests to overlap
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<title>slow</title>")
			})
		}
		h.html("/", "home", links...)
	}
	cfg := hostileConfig(t, []string{one.url("/"), two.url("/")}, []string{one.addr, two.addr})
	cfg.Fetch.PerHostConcurrency = 2
	cfg.Fetch.PerHostDelay = 0
	cfg.Fetch.MaxCrawlDelay = 0 // no adaptive delay to keep requests apart
	cfg.Fetch.HostLimits = []config.HostLimit{{Host: one.addr, Concurrency: 1}}
	crawlToIdle(t, cfg)

	if got := one.peakInFlight(); got != 1 {
		t.Errorf("host limited to 1: %d requests at once", got)
	}
	if got := two.peakInFlight(); got != 2 {
		t.Errorf("host on the default 2: %d requests at once at most; want 2 (the pages are slow enough to overlap)", got)
	}
	for _, h := range []*hostileHost{one, two} {
		if n := h.count("/p/7"); n != 1 {
			t.Errorf("%s /p/7 requested %d times; want once", h.addr, n)
		}
	}
}
