package crawl

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"crawler/frontier"
	"crawler/robots"
)

// Ensure a robots.txt refresh (every 24 h, RFC 9309 §2.4) that no longer
// has a Crawl-delay, or that became a 404 (allow all), stops slowing the
// host down, while one that finds robots.txt unreachable keeps it.
func TestRobotsRefreshClearsCrawlDelay(t *testing.T) {
	cfg := testConfig(t, "http://a.test/")
	cfg.Fetch.MaxCrawlDelay = time.Minute
	_, e := newEngine(t, cfg)
	defer e.Close()

	origin, key := "http://a.test", e.HostKey("a.test")
	base, _, _ := e.adapt.state(key)

	withDelay := robots.Parse([]byte("User-agent: *\nCrawl-delay: 20\nDisallow: /x\n"), "crawler")
	e.applyRobots(key, origin, robotsState{rules: withDelay}, true)
	if d, _, _ := e.adapt.state(key); d != 20*time.Second {
		t.Fatalf("delay with Crawl-delay 20 = %v; want 20s", d)
	}

	// The next day's robots.txt has no Crawl-delay any more.
	for name, refreshed := range map[string]*robots.Rules{
		"no Crawl-delay line": robots.Parse([]byte("User-agent: *\nDisallow: /x\n"), "crawler"),
		"404 (allow all)":     robots.FromStatus(404, nil, "crawler"),
	} {
		e.applyRobots(key, origin, robotsState{rules: withDelay}, true)
		e.applyRobots(key, origin, robotsState{rules: refreshed}, true)
		if d, _, _ := e.adapt.state(key); d != base {
			t.Errorf("%s: delay after the refresh = %v; want the base delay %v (the old Crawl-delay still applies)", name, d, base)
		}
	}
	e.applyRobots(key, origin, robotsState{rules: withDelay}, true)
	e.applyRobots(key, origin, robotsState{rules: robots.FromStatus(503, nil, "crawler"), retry: time.Now().Add(time.Minute)}, true)
	if d, _, _ := e.adapt.state(key); d != 20*time.Second {
		t.Errorf("delay after an unreachable refresh = %v; want the Crawl-delay kept (20s)", d)
	}
}

// Ensure a 4xx robots.txt whose body breaks off is still "unavailable"
// (RFC 9309 §2.3.1.3: allow all; only a 2xx body is read), not
// unreachable (disallow all, retries, and every URL of the host failed).
func TestRobots404WithBrokenBodyAllowsAll(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/robots.txt" {
			// Promise 1000 bytes of error page, send 9: the client sees
			// the 404 status, then an unexpected EOF in the body.
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "not found")
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>ok</body></html>")
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL+"/")
	cfg.Fetch.Retries = 1
	db := crawlToIdle(t, cfg)
	if p := page(t, db, srv.URL+"/"); p.Error != "" || p.Status != http.StatusOK {
		mu.Lock()
		defer mu.Unlock()
		t.Errorf("page / status %d, error %q; want it fetched (robots.txt 404 = allow all); requests %q", p.Status, p.Error, paths)
	}
}

// Ensure the robots check before a fetch hands the frontier the host's
// Crawl-delay again even when the throttle knew it already: the frontier
// forgets idle hosts and starts them afresh at the default delay "until
// the engine sets its own again", so with per_host_concurrency 2 the next
// URL would start per_host_delay after the first instead of Crawl-delay.
func TestRobotsCheckSetsCrawlDelayOfForgottenHost(t *testing.T) {
	cfg := testConfig(t, "http://a.test/")
	cfg.Fetch.MaxCrawlDelay = time.Minute
	cfg.Fetch.PerHostConcurrency = 2
	_, e := newEngine(t, cfg)
	defer e.Close()
	origin, key := "http://a.test", e.HostKey("a.test")
	rules := robots.Parse([]byte("User-agent: *\nCrawl-delay: 5\n"), "crawler")

	// Learnt while the frontier holds nothing for the host (as after it
	// forgot the idle host).
	e.applyRobots(key, origin, robotsState{rules: rules}, true)

	// The host gets work again; its URL is handed out, checked against
	// robots.txt (fetchItem) and sent.
	links := []frontier.Link{{URL: origin + "/1", Host: key}}
	if _, err := e.Queue().Add(context.Background(), links); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first, err := e.Queue().Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Queue().Requeue(first, time.Time{})
	e.applyRobots(key, origin, robotsState{rules: rules}, false)
	e.Queue().Started(first, time.Now())
	if d := e.Queue().Live()[key].Delay; d != (5 * time.Second).String() {
		t.Errorf("frontier delay of the host after the robots check = %s; want the Crawl-delay 5s", d)
	}
}
