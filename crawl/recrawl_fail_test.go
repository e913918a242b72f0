package crawl

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crawler/config"
	"crawler/store"
)

// A recrawl that fails through every retry (the host answers 503 for a
// while) keeps the stored copy: the record, its body and state done, with
// the failure noted, and the page stays in the recrawl cycle, so once the
// host is back the next recrawl stores a fresh copy.
func TestFailedRecrawlKeepsStoredCopy(t *testing.T) {
	var n atomic.Int32
	var down atomic.Bool
	site := newHostileSite(t)
	h := site.host("recrawl-outage")
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><title>good</title>the body</html>"))
	})
	cfg := outageConfig(t, h.url("/"), site)
	cfg.Fetch.RespectRobots = false
	db, e := newEngine(t, cfg)
	stop := startRun(e)
	defer stop()
	waitFor(t, "first fetch stored", func() bool { return stored(db, h.url("/")) != nil })
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
	var robotsDown atomic.Bool
	var robotsAsked atomic.Int32
	site := newHostileSite(t)
	h := site.host("recrawl-robots-outage")
	h.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		robotsAsked.Add(1)
		if robotsDown.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("User-agent: *\nDisallow: /private/\n"))
	})
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><title>good</title>the body</html>"))
	})
	db, e := newEngine(t, outageConfig(t, h.url("/"), site))
	stop := startRun(e)
	defer stop()
	waitFor(t, "first fetch stored", func() bool { return stored(db, h.url("/")) != nil })
	robotsDown.Store(true)
	asked := robotsAsked.Load()
	e.robots.mu.Lock() // the cached robots.txt expires, too old to use stale
	for _, en := range e.robots.entries {
		en.expires = time.Now()
		en.fetched = time.Now().Add(-robotsStaleMax)
	}
	e.robots.mu.Unlock()
	waitFor(t, "a recrawl with robots.txt down noted", func() bool {
		p := stored(db, h.url("/"))
		return robotsAsked.Load() > asked && p != nil && p.Extra["recrawl_error"] != ""
	})
	p := stored(db, h.url("/"))
	if p.Status != 200 || p.Title != "good" || p.Error != "" {
		t.Errorf("after a recrawl with robots.txt down: status %d title %q error %q; want the stored copy", p.Status, p.Title, p.Error)
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
	var robotsDown atomic.Bool
	var robotsAsked, pageAsked atomic.Int32
	site := newHostileSite(t)
	h := site.host("recrawl-robots-stale")
	h.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		robotsAsked.Add(1)
		if robotsDown.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("User-agent: *\nDisallow: /private/\n"))
	})
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		pageAsked.Add(1)
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<html><title>good</title><a href="/private/x">p</a><a href="/b">b</a></html>`))
	})
	h.html("/b", "b")
	h.html("/private/x", "secret")
	db, e := newEngine(t, outageConfig(t, h.url("/"), site))
	stop := startRun(e)
	defer stop()
	waitFor(t, "first fetch stored", func() bool { return stored(db, h.url("/")) != nil })
	robotsDown.Store(true)
	asked, pages := robotsAsked.Load(), pageAsked.Load()
	e.robots.mu.Lock() // the cached robots.txt expires
	for _, en := range e.robots.entries {
		en.expires = time.Now()
	}
	e.robots.mu.Unlock()
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
