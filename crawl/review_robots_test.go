package crawl

import (
	"net/http"
	"testing"
	"time"
)

// Workers that waited for another worker's robots.txt fetch must not all
// start their pages the instant it ends: with per_host_concurrency 3 and
// a slow robots.txt, two URLs released while it was fetched went to the
// host together.
func TestRobotsWaitersKeepPoliteness(t *testing.T) {
	const delay = 100 * time.Millisecond
	site := newHostileSite(t)
	h := site.host("slow-robots")
	h.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3*delay + delay/2) // longer than the gaps two releases need
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("User-agent: *\nDisallow: /private/\n"))
	})
	var seeds []string
	for _, p := range []string{"/a", "/b", "/c", "/d", "/e"} {
		h.html(p, p)
		seeds = append(seeds, h.url(p))
	}
	stalls := watchStalls(t)
	cfg := hostileConfig(t, seeds, site.addrs())
	cfg.Fetch.PerHostConcurrency = 3
	cfg.Fetch.PerHostDelay = delay
	runCrawl(t, cfg, nil)
	for _, p := range []string{"/a", "/b", "/c", "/d", "/e"} {
		if n := h.count(p); n != 1 {
			t.Errorf("%s requested %d times; want once", p, n)
		}
	}
	rs := h.requests()
	for i := 1; i < len(rs); i++ {
		gap := rs[i].start.Sub(rs[i-1].start)
		if gap >= delay {
			continue
		}
		where := rs[i-1].uri + " → " + rs[i].uri
		if why, ok := stalls.excuse(rs[i-1].start, delay-gap); ok {
			t.Logf("gap %v (%s) measured across a stall: %s", gap, where, why)
			continue
		}
		t.Errorf("gap between two request starts = %v (%s); want >= %v", gap, where, delay)
	}
	if t.Failed() {
		for _, r := range rs {
			t.Logf("%s started at %s", r.uri, r.start.Format("15:04:05.000000"))
		}
	}
}
