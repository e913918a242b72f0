package crawl

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"crawler/config"
	"crawler/frontier"
	"crawler/store"
)

// restartRobotsDown crawls a host whose robots.txt disallows /private/
// (/ links to /private/x and /b), takes robots.txt down (503), and
// restarts the daemon with the seed /c added (it links to /private/y and
// /d) and a clock later than the real one by later. It returns the
// restarted engine, stopped, its config, the host, and how many times
// robots.txt was requested in all.
func restartRobotsDown(t *testing.T, later time.Duration) (e *Engine, cfg *config.Config, h *hostileHost, asked int32) {
	t.Helper()
	site := newHostileSite(t)
	h, down, robotsAsked := robotsOutageHost(site, "robots-restart")
	h.html("/", "home", "/private/x", "/b")
	h.html("/c", "c", "/private/y", "/d")
	for _, p := range []string{"/b", "/d", "/private/x", "/private/y"} {
		h.html(p, p)
	}
	cfg = outageConfig(t, h.url("/"), site)
	cfg.Recrawl.Interval = 0
	life(t, cfg, nil)
	if n := robotsAsked.Load(); n != 1 {
		t.Fatalf("first life: robots.txt requested %d times; want once", n)
	}
	down.Store(true)
	restarted := *cfg
	restarted.Seeds = append(slices.Clone(cfg.Seeds), h.url("/c"))
	e = life(t, &restarted, func() time.Time { return time.Now().Add(later) })
	return e, &restarted, h, robotsAsked.Load()
}

// life runs one life of the daemon on cfg's data dir until the frontier is
// idle, under clock now (nil: the real one), and checks and closes the
// store as a restart leaves it. It returns the stopped engine.
func life(t *testing.T, cfg *config.Config, now func() time.Time) *Engine {
	t.Helper()
	db := openStore(t, cfg)
	defer closeChecked(t, db)
	return runIdle(t, cfg, db, crawlOpts{now: now})
}

// pageIn returns url's stored record in cfg's data dir, or nil.
func pageIn(t *testing.T, cfg *config.Config, url string) *store.Page {
	t.Helper()
	db := openStore(t, cfg)
	defer db.Close()
	return stored(db, url)
}

// A restart within robotsTTL of the robots.txt fetch uses the rules the
// daemon had stored instead of fetching robots.txt again: robots.txt is
// not requested (it is down: a fetch would pause the host and fail its
// URLs), the new seed and the page it links to are fetched, and the path
// the stored rules disallow is not.
func TestRestartUsesStoredRobots(t *testing.T) {
	_, cfg, h, asked := restartRobotsDown(t, 0)
	if asked != 1 {
		t.Errorf("robots.txt requested %d times over a restart within %v of its fetch; want once", asked, robotsTTL)
	}
	checkRestartUnderStoredRules(t, cfg, h)
}

// checkRestartUnderStoredRules checks that the restart crawled the new
// seed /c and /d under the stored rules, which keep it out of /private/.
func checkRestartUnderStoredRules(t *testing.T, cfg *config.Config, h *hostileHost) {
	t.Helper()
	for _, p := range []string{"/c", "/d"} {
		if rec := pageIn(t, cfg, h.url(p)); rec == nil || rec.Status != 200 {
			t.Errorf("%s after the restart: %+v; want fetched (200)", p, rec)
		}
	}
	for _, p := range []string{"/private/x", "/private/y"} {
		if n := h.count(p); n != 0 {
			t.Errorf("%s requested %d times; the stored rules disallow it", p, n)
		}
	}
}

// A restart more than robotsTTL after the robots.txt fetch fetches it
// again; when robots.txt is unreachable then, the stored rules stay in use
// (stale, RFC 9309 §2.4) as a cached copy would without the restart: the
// host neither pauses nor fails its URLs.
func TestRestartWithRobotsDownUsesStoredRobots(t *testing.T) {
	e, cfg, h, asked := restartRobotsDown(t, robotsTTL+time.Hour)
	if asked < 2 {
		t.Errorf("robots.txt requested %d times; want a refresh after %v", asked, robotsTTL)
	}
	if st := e.RobotsStatus(h.addr); !strings.HasPrefix(st, "stale") {
		t.Errorf("robots.txt status = %q; want stale", st)
	}
	checkRestartUnderStoredRules(t, cfg, h)
}

// A stored robots.txt fetched robotsStaleMax ago or earlier is not used
// when robots.txt is unreachable at a restart: unreachable then means
// complete disallow, and the host's URLs fail once the retries are spent.
func TestRestartDoesNotUseRobotsPastStaleMax(t *testing.T) {
	_, cfg, h, _ := restartRobotsDown(t, robotsStaleMax+time.Hour)
	if rec := pageIn(t, cfg, h.url("/c")); rec == nil || !strings.HasPrefix(rec.Error, "robots.txt unavailable") {
		t.Errorf("/c after a restart with robots.txt down and the stored copy too old: %+v; want it failed", rec)
	}
	for _, p := range []string{"/c", "/d", "/private/y"} {
		if n := h.count(p); n != 0 {
			t.Errorf("%s requested %d times; want none", p, n)
		}
	}
}

// A reload that changes the robots token drops the rules parsed for the
// old one but not the robots.txt they came from: the stored body is parsed
// again for the new token, without fetching robots.txt (down meanwhile).
func TestReloadRobotsTokenReparsesStoredRobots(t *testing.T) {
	site := newHostileSite(t)
	h, down, asked := robotsOutageHostWith(site, "robots-token",
		"User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /other/\n")
	for _, p := range []string{"/", "/private/a", "/other/b", "/c"} {
		h.html(p, p)
	}
	cfg := outageConfig(t, h.url("/"), site)
	cfg.Recrawl.Interval = 0
	db, e, stop := startStored(t, cfg, h.url("/"))
	defer stop()
	down.Store(true)
	before := asked.Load()

	next := *e.Config()
	next.Fetch.RobotsToken = "otherbot"
	next.Seeds = append(slices.Clone(next.Seeds), h.url("/private/a"), h.url("/other/b"), h.url("/c"))
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new seeds finished", func() bool {
		c := e.Queue().Counts()
		return c.Done+c.Failed+c.Disallowed == 4
	})
	if n := asked.Load(); n != before {
		t.Errorf("robots.txt requested %d times after the reload; want none (the stored copy is fresh)", n-before)
	}
	for _, p := range []string{"/private/a", "/c"} {
		if rec := stored(db, h.url(p)); rec == nil || rec.Status != 200 {
			t.Errorf("%s after the reload: %+v; want fetched (200): otherbot's group allows it", p, rec)
		}
	}
	if n := h.count("/other/b"); n != 0 {
		t.Errorf("/other/b requested %d times; otherbot's group disallows it", n)
	}
	var st frontier.State
	_ = db.View(func(tx *store.Tx) (err error) { st, err = frontier.URLState(tx, h.url("/other/b")); return err })
	if st != frontier.StateDisallowed {
		t.Errorf("/other/b state %v; want disallowed", st)
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}
