package crawl

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crawler/config"
	"crawler/frontier"
	"crawler/store"
)

// A recrawl that fails through every retry (the host answers 503 for a
// while) keeps the stored copy: the record, its body and state done, with
// the failure noted, and the page stays in the recrawl cycle, so once the
// host is back the next recrawl stores a fresh copy.
func TestFailedRecrawlKeepsStoredCopy(t *testing.T) {
	h, cfg, down, n := pageOutageHost(t, "recrawl-outage")
	db, e, stop := startStored(t, cfg, h.url("/"))
	defer stop()
	down.Store(true)
	before := n.Load()
	waitFor(t, "a recrawl failed", func() bool {
		p := stored(db, h.url("/"))
		return n.Load() >= before+2 && p != nil && p.Extra["recrawl_error"] != ""
	})
	p := stored(db, h.url("/"))
	var body []byte
	if err := db.View(func(tx *store.Tx) (err error) { body, err = tx.Body(h.url("/")); return err }); err != nil {
		t.Fatal(err)
	}
	if p.Status != 200 || p.Title != "good" || p.Error != "" || string(body) != "<html><title>good</title>the body</html>" {
		t.Errorf("after a failed recrawl: status %d title %q error %q body %q; want the stored copy", p.Status, p.Title, p.Error, body)
	}
	if c := e.Queue().Counts(); c.Failed != 0 || c.Done != 1 {
		t.Errorf("counts after a failed recrawl: %+v; want the URL done, none failed", c)
	}
	// Still in the recrawl cycle: once the host is back, a recrawl
	// stores a fresh record without the failure note.
	down.Store(false)
	waitFor(t, "a recrawl after the outage", func() bool {
		p := stored(db, h.url("/"))
		return p != nil && p.Extra["recrawl_error"] == ""
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// pageOutageHost returns a host named name, of a hostile site of its
// own, whose page / answers 503 while down is set (n counts its
// requests), and the outage config crawling it, robots.txt not respected.
func pageOutageHost(t *testing.T, name string) (h *hostileHost, cfg *config.Config, down *atomic.Bool, n *atomic.Int32) {
	down, n = new(atomic.Bool), new(atomic.Int32)
	site := newHostileSite(t)
	h = site.host(name)
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><title>good</title>the body</html>"))
	})
	cfg = outageConfig(t, h.url("/"), site)
	cfg.Fetch.RespectRobots = false
	return h, cfg, down, n
}

// outageConfig is the config of the outage tests: one seed, one retry
// 10ms apart, a recrawl every 150ms.
func outageConfig(t *testing.T, seed string, site *hostileSite) *config.Config {
	cfg := hostileConfig(t, []string{seed}, site.addrs())
	cfg.Fetch.Retries = 1
	cfg.Fetch.RetryBaseDelay = 10 * time.Millisecond
	cfg.Fetch.RetryMaxDelay = 10 * time.Millisecond
	cfg.Recrawl.Interval = 150 * time.Millisecond
	return cfg
}

// startStored starts a crawl on cfg and waits until url is stored; stop
// ends it (at cleanup at the latest).
func startStored(t *testing.T, cfg *config.Config, url string) (*store.DB, *Engine, func() error) {
	t.Helper()
	db, e := newEngine(t, cfg)
	stop := startRun(e)
	t.Cleanup(func() { _ = stop() }) // also when waitFor fails
	waitFor(t, "first fetch stored", func() bool { return stored(db, url) != nil })
	return db, e, stop
}

// robotsOutageHost adds a host to site whose robots.txt disallows
// /private/, or answers 503 while down is set; asked counts its requests.
func robotsOutageHost(site *hostileSite, name string) (h *hostileHost, down *atomic.Bool, asked *atomic.Int32) {
	return robotsOutageHostWith(site, name, "User-agent: *\nDisallow: /private/\n")
}

// robotsOutageHostWith is robotsOutageHost serving robots as robots.txt.
func robotsOutageHostWith(site *hostileSite, name, robots string) (h *hostileHost, down *atomic.Bool, asked *atomic.Int32) {
	h, down, asked = site.host(name), new(atomic.Bool), new(atomic.Int32)
	h.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(robots))
	})
	return h, down, asked
}

// expireRobots makes every robots.txt e has cached due for a refresh;
// tooOld also dates its fetch robotsStaleMax ago, too old to stay in use
// while robots.txt is unreachable.
func expireRobots(e *Engine, tooOld bool) {
	e.robots.mu.Lock()
	defer e.robots.mu.Unlock()
	for _, en := range e.robots.entries {
		en.expires = time.Now()
		if tooOld {
			en.fetched = time.Now().Add(-robotsStaleMax)
		}
	}
}

// waitFor polls cond until it holds, failing the test after 20s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stored returns url's page record, or nil.
func stored(db *store.DB, url string) *store.Page {
	var p *store.Page
	_ = db.View(func(tx *store.Tx) error {
		p, _ = tx.Page(url)
		return nil
	})
	return p
}

// The same holds when robots.txt, refreshed for a recrawl, cannot be
// fetched through every retry and the cached copy is too old to use
// (robotsStaleMax): the page is not requested (RFC 9309 reads an
// unreachable robots.txt as a complete disallow), and the stored copy
// stays.
func TestRecrawlWithRobotsDownKeepsStoredCopy(t *testing.T) {
	site := newHostileSite(t)
	h, robotsDown, robotsAsked := robotsOutageHost(site, "recrawl-robots-outage")
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><title>good</title>the body</html>"))
	})
	db, e, stop := startStored(t, outageConfig(t, h.url("/"), site), h.url("/"))
	defer stop()
	robotsDown.Store(true)
	asked := robotsAsked.Load()
	expireRobots(e, true)
	waitFor(t, "a recrawl with robots.txt down noted", func() bool {
		p := stored(db, h.url("/"))
		return robotsAsked.Load() > asked && p != nil && p.Extra["recrawl_error"] != ""
	})
	checkCopyKept(t, db, e, h.url("/"), "after a recrawl with robots.txt down", stop)
}

// checkCopyKept checks that url's stored copy, titled "good", stands after
// the failed recrawl what names, no URL failed, and stops the crawl.
func checkCopyKept(t *testing.T, db *store.DB, e *Engine, url, what string, stop func() error) {
	t.Helper()
	p := stored(db, url)
	if p.Status != 200 || p.Title != "good" || p.Error != "" {
		t.Errorf("%s: status %d title %q error %q; want the stored copy", what, p.Status, p.Title, p.Error)
	}
	if c := e.Queue().Counts(); c.Failed != 0 {
		t.Errorf("counts: %+v; want none failed", c)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A refresh of robots.txt that finds it down while the cached copy is
// recent (under robotsStaleMax) keeps the copy in use: the recrawl goes on
// under the cached rules, which still keep the crawler out of /private/.
func TestRecrawlWithRobotsDownUsesCachedCopy(t *testing.T) {
	var pageAsked atomic.Int32
	site := newHostileSite(t)
	h, robotsDown, robotsAsked := robotsOutageHost(site, "recrawl-robots-stale")
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		pageAsked.Add(1)
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<html><title>good</title><a href="/private/x">p</a><a href="/b">b</a></html>`))
	})
	h.html("/b", "b")
	h.html("/private/x", "secret")
	db, e, stop := startStored(t, outageConfig(t, h.url("/"), site), h.url("/"))
	defer stop()
	robotsDown.Store(true)
	asked, pages := robotsAsked.Load(), pageAsked.Load()
	expireRobots(e, false)
	waitFor(t, "recrawls with robots.txt down", func() bool {
		return robotsAsked.Load() > asked && pageAsked.Load() >= pages+2
	})
	if st := e.robots.status("http://" + h.addr); !strings.HasPrefix(st, "stale") {
		t.Errorf("robots.txt status = %q; want stale", st)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	p := stored(db, h.url("/"))
	if p == nil || p.Status != 200 || p.Extra["recrawl_error"] != "" {
		t.Errorf("record after recrawls under the cached rules: %+v; want a fresh 200", p)
	}
	if n := h.count("/private/x"); n != 0 {
		t.Errorf("/private/x requested %d times; the cached rules disallow it", n)
	}
}

// A recrawl that was pending when recrawl.interval was turned off (by a
// reload, or a restart with the new config) still comes due: it is a
// recrawl of a stored page all the same, so a failure through its
// retries keeps the stored copy, state done, as any recrawl's does. It
// used to be fetched as a first fetch, with no stored copy to keep, and
// the failure replaced the good page.
func TestRecrawlDueAfterIntervalOffKeepsStoredCopy(t *testing.T) {
	h, cfg, down, n := pageOutageHost(t, "recrawl-off")
	db, e, stop := startStored(t, cfg, h.url("/"))
	defer stop()
	next := *e.Config()
	next.Recrawl.Interval = 0
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	before := n.Load()
	waitFor(t, "the pending recrawl fetched through its retries", func() bool {
		c := e.Queue().Counts()
		return n.Load() >= before+2 && c.Queued == 0 && c.InFlight == 0
	})
	p := stored(db, h.url("/"))
	if p == nil || p.Status != 200 || p.Title != "good" || p.Error != "" || p.Extra["recrawl_error"] == "" {
		t.Errorf("after the pending recrawl failed: %+v; want the stored copy, the failure noted", p)
	}
	if c := e.Queue().Counts(); c.Failed != 0 || c.Done != 1 {
		t.Errorf("counts: %+v; want the URL done, none failed", c)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A recrawl whose robots.txt the address guard refuses (the host now
// resolves to a private address, or allow_private_addresses was turned
// off) fails as a recrawl, keeping the stored copy, as one whose page
// request the guard refuses does. The URL failed with no copy to keep.
func TestRecrawlWithRobotsBlockedKeepsStoredCopy(t *testing.T) {
	h, cfg, _, _ := pageOutageHost(t, "recrawl-robots-blocked")
	h.robots("User-agent: *\nDisallow: /private/\n")
	cfg.Fetch.RespectRobots = true
	db, e, stop := startStored(t, cfg, h.url("/"))
	defer stop()
	next := *e.Config()
	next.Fetch.AllowPrivateAddresses = false
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	e.robots.expire("http://" + h.addr) // its next URL fetches robots.txt
	waitFor(t, "a recrawl with robots.txt refused", func() bool {
		p := stored(db, h.url("/"))
		return e.Queue().Counts().Failed > 0 || p != nil && strings.HasPrefix(p.Extra["recrawl_error"], "robots.txt")
	})
	checkCopyKept(t, db, e, h.url("/"), "after a recrawl with robots.txt refused", stop)
}

// A stored page whose recrawl finds robots.txt now forbids it keeps its
// record, state done, and is not recrawled again, as one a scope pattern
// now leaves out does. It used to turn disallowed with its record still
// stored, which `crawler check` reports as damage.
func TestRecrawlNowDisallowedKeepsRecord(t *testing.T) {
	var forbid atomic.Bool
	site := newHostileSite(t)
	h := site.host("recrawl-now-disallowed")
	h.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		if forbid.Load() {
			_, _ = w.Write([]byte("User-agent: *\nDisallow: /\n"))
		}
	})
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<html><title>good</title><a href="/gone">gone</a></html>`))
	})
	h.handle("/gone", http.NotFound) // a record, but no copy a failed fetch keeps
	db, e, stop := startStored(t, outageConfig(t, h.url("/"), site), h.url("/"))
	defer stop()
	waitFor(t, "/gone stored", func() bool { return stored(db, h.url("/gone")) != nil })
	forbid.Store(true)
	expireRobots(e, false)
	asked := h.count("/")
	// Both pages come due every 150 ms: a few of those after robots.txt
	// was read again, each has been judged under it.
	flipped := time.Now()
	waitFor(t, "the recrawls judged under the new robots.txt", func() bool {
		c := e.Queue().Counts()
		return h.count("/robots.txt") >= 2 && time.Since(flipped) > time.Second && c.Queued == 0 && c.InFlight == 0
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := h.count("/"); n != asked {
		t.Errorf("/ requested %d more times; robots.txt forbids it", n-asked)
	}
	o := lookup(t, db, h.url("/"))
	if o.state != frontier.StateDone || o.page == nil || o.page.Title != "good" {
		t.Errorf("after the recrawl robots.txt forbids: state %v, record %+v; want done, the stored copy", o.state, o.page)
	}
	if o := lookup(t, db, h.url("/gone")); o.state != frontier.StateDone || o.page == nil || o.page.Status != http.StatusNotFound {
		t.Errorf("/gone after the recrawl robots.txt forbids: state %v, record %+v; want done, its 404 record", o.state, o.page)
	}
}
