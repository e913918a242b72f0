package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"crawler/config"
	"crawler/frontier"
	"crawler/internal/testsite"
	"crawler/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a config for crawling loopback test servers.
func testConfig(t *testing.T, seeds ...string) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Seeds = seeds
	cfg.Fetch.AllowPrivateAddresses = true
	cfg.Fetch.PerHostDelay = 0
	cfg.Fetch.Concurrency = 8
	cfg.Fetch.Timeout = 5 * time.Second
	cfg.Fetch.RetryBaseDelay = 10 * time.Millisecond
	cfg.Fetch.RetryMaxDelay = 50 * time.Millisecond
	cfg.ShutdownTimeout = 2 * time.Second
	return cfg
}

// crawlOpts varies a test crawl.
type crawlOpts struct {
	allowed []netip.Prefix                 // Options.AllowedPrefixes
	during  func(context.Context, *Engine) // runs beside the crawl, stopped when it ends
	parent  context.Context                // cancel it to stop the crawl early; nil = background
	now     func() time.Time               // Options.Now; nil = time.Now
}

// newEngine validates cfg and returns an engine on a fresh store in
// cfg.DataDir, checked and closed when the test ends (see openChecked);
// the caller runs or closes the engine.
func newEngine(t *testing.T, cfg *config.Config) (*store.DB, *Engine) {
	t.Helper()
	db := openChecked(t, cfg)
	e, err := New(Options{Config: cfg, DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return db, e
}

// openChecked validates cfg and opens a store in cfg.DataDir; at cleanup
// it checks the bbolt and frontier invariants and closes it.
func openChecked(t *testing.T, cfg *config.Config) *store.DB {
	t.Helper()
	db := openStore(t, cfg)
	t.Cleanup(func() { closeChecked(t, db) })
	return db
}

// openStore validates cfg and opens the store in cfg.DataDir; the caller
// closes it with closeChecked.
func openStore(t *testing.T, cfg *config.Config) *store.DB {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(cfg.DataDir, "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// closeChecked checks db's bbolt and frontier invariants and closes it.
func closeChecked(t *testing.T, db *store.DB) {
	t.Helper()
	for _, err := range db.Check() {
		t.Errorf("bbolt check: %v", err)
	}
	if err := db.View(func(tx *store.Tx) error { return frontier.Check(tx) }); err != nil {
		t.Errorf("frontier check: %v", err)
	}
	db.Close()
}

// crawlToIdle runs a crawl with ExitWhenIdle and returns its open store.
func crawlToIdle(t *testing.T, cfg *config.Config) *store.DB {
	t.Helper()
	return crawlIdle(t, cfg, crawlOpts{})
}

// crawlIdle runs a crawl with ExitWhenIdle and returns its open store,
// checked (bbolt and frontier invariants) and closed at cleanup.
func crawlIdle(t *testing.T, cfg *config.Config, o crawlOpts) *store.DB {
	t.Helper()
	db := openChecked(t, cfg)
	runIdle(t, cfg, db, o)
	return db
}

// runIdle runs a crawl of db with ExitWhenIdle and returns its engine,
// stopped.
func runIdle(t *testing.T, cfg *config.Config, db *store.DB, o crawlOpts) *Engine {
	t.Helper()
	e, err := New(Options{Config: cfg, DB: db, ExitWhenIdle: true, AllowedPrefixes: o.allowed, Now: o.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	parent := o.parent
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	if o.during != nil {
		dctx, stop := context.WithCancel(ctx)
		defer func() { stop(); wg.Wait() }()
		wg.Add(1)
		go func() { defer wg.Done(); o.during(dctx, e) }()
	}
	if err := e.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ctx.Err() != nil && parent.Err() == nil {
		t.Fatal("crawl did not go idle within 60s")
	}
	return e
}

func page(t *testing.T, db *store.DB, url string) *store.Page {
	t.Helper()
	var p *store.Page
	err := db.View(func(tx *store.Tx) (err error) {
		p, err = tx.Page(url)
		return err
	})
	if err != nil {
		t.Fatalf("page %s: %v", url, err)
	}
	return p
}

func TestCrawlGeneratedSite(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 4, Pages: 40, Links: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	cfg := testConfig(t, site.Seeds()...)
	db := crawlToIdle(t, cfg)

	r := site.Report()
	if len(r.Repeats) > 0 {
		t.Errorf("fetched more than once: %v", r.Repeats)
	}
	if len(r.RobotsViolations) > 0 {
		t.Errorf("disallowed paths requested: %v", r.RobotsViolations)
	}
	want := site.PageURLs()
	for _, u := range want {
		if p := page(t, db, u); p.Status != 200 || p.Title == "" || p.BodyBytes == 0 {
			t.Errorf("%s stored as %+v", u, p)
		}
	}
	// robots.txt once per host, every page once.
	if r.Requests != len(want)+len(site.Hosts()) {
		t.Errorf("requests = %d; want %d pages + %d robots.txt", r.Requests, len(want), len(site.Hosts()))
	}
	var counts frontier.Counts
	db.View(func(tx *store.Tx) error { counts = frontier.ReadCounts(tx); return nil })
	if counts.Done != int64(len(want)) || counts.Queued != 0 || counts.Disallowed == 0 {
		t.Errorf("counts = %+v; want done %d, none queued, some disallowed", counts, len(want))
	}
}

// politeSite starts a generated site, closed at cleanup, and returns it
// with a test config crawling it one request at a time per host, delay
// apart.
func politeSite(t *testing.T, opts testsite.Options, delay time.Duration) (*testsite.Site, *config.Config) {
	t.Helper()
	site, err := testsite.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.Close)
	cfg := testConfig(t, site.Seeds()...)
	cfg.Fetch.PerHostDelay = delay
	cfg.Fetch.PerHostConcurrency = 1
	return site, cfg
}

func TestCrawlPolitenessDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	const delay = 200 * time.Millisecond
	site, cfg := politeSite(t, testsite.Options{Hosts: 3, Pages: 8, Links: 4, FirstIP: "127.0.1.20"}, delay)
	crawlToIdle(t, cfg)
	r := site.Report()
	if r.MinGap < delay {
		t.Errorf("smallest gap between two requests on one host = %v; want >= %v", r.MinGap, delay)
	}
	if r.PeakInFlight > 1 {
		t.Errorf("peak in-flight per host = %d; want 1", r.PeakInFlight)
	}
	if want := len(site.PageURLs()) + 3; r.Requests != want {
		t.Errorf("requests = %d; want %d", r.Requests, want)
	}
}

// Links that differ only by fragment, default port, host case or relative
// form are one URL, fetched once.
func TestEquivalentLinksFetchedOnce(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.RequestURI()]++
		mu.Unlock()
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		port := srv.Listener.Addr().(*net.TCPAddr).Port
		fmt.Fprintf(w, `<html><head><title>t</title></head><body>
			<a href="/a">1</a><a href="/a#top">2</a><a href="./a">3</a><a href="http://LOCALHOST:%d/a">4</a>
			<a href="http://localhost:%d/b/../a#x">5</a><a href="/%%61">6</a><a href="a?">7</a></body></html>`, port, port)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	cfg := testConfig(t, fmt.Sprintf("http://localhost:%d/", port))
	db := crawlToIdle(t, cfg)
	mu.Lock()
	defer mu.Unlock()
	if hits["/a"] != 1 || hits["/"] != 1 {
		t.Errorf("hits = %v; want / and /a once each", hits)
	}
	if len(hits) != 3 { // /, /a, /robots.txt
		t.Errorf("hits = %v; want exactly /, /a and /robots.txt", hits)
	}
	page(t, db, fmt.Sprintf("http://localhost:%d/a", port))
}

// Robots.txt that answers 5xx: nothing else on the host is fetched, and
// once its retries are spent the queued URLs fail.
func TestRobotsUnreachableFailsHost(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/robots.txt" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "<html><a href=/x>x</a></html>")
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL+"/")
	cfg.Fetch.Retries = 2
	db := crawlToIdle(t, cfg)
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		if p != "/robots.txt" {
			t.Errorf("requested %s although robots.txt was unreachable", p)
		}
	}
	if len(paths) != 3 {
		t.Errorf("robots.txt requested %d times; want 1 + 2 retries", len(paths))
	}
	if p := page(t, db, srv.URL+"/"); !strings.Contains(p.Error, "robots.txt unavailable") {
		t.Errorf("record error = %q", p.Error)
	}
}

// Run closes the HTTP client in force when it returns, one a Reload swapped in included: no keep-alive connection outlives Run.
func TestRunClosesReloadedClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			time.Sleep(100 * time.Millisecond) // the reload lands while this is fetched
			fmt.Fprint(w, `<html><a href="/a">a</a><a href="/b">b</a></html>`)
			return
		}
		fmt.Fprint(w, "<html>leaf</html>")
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL+"/")
	cfg.Fetch.RespectRobots = false
	crawlIdle(t, cfg, crawlOpts{during: func(ctx context.Context, e *Engine) {
		time.Sleep(30 * time.Millisecond)
		next := *e.Config()
		next.Fetch.UserAgent += " reloaded"
		if err := e.Reload(ctx, &next); err != nil {
			t.Errorf("reload: %v", err)
		}
	}})
	// Run has returned; the server is still up.
	time.Sleep(50 * time.Millisecond)
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	if c := strings.Count(string(buf[:n]), "net/http.(*persistConn).readLoop"); c > 0 {
		t.Errorf("%d keep-alive connections still open after Run returned", c)
	}
}
