package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"crawler/frontier"
	"crawler/robots"
	"crawler/store"
)

// A seed added while a Reload runs keeps its host in scope.
func TestAddSeedsVsReloadScope(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/")
	db, e := newEngine(t, cfg)
	defer e.Close()
	ctx := context.Background()
	// The race needs two goroutines running at once.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4)))
	const rounds = 30
	lost := 0
	for i := range rounds {
		host := fmt.Sprintf("seed-%d.example", i)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := e.AddSeeds(ctx, []string{"http://" + host + "/"}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			next := *e.Config()
			if err := e.Reload(ctx, &next); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if !e.inScope(host) {
			if a, _ := scopeHosts(e.Config(), db); a[host] { // recorded, yet out of scope
				lost++
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d/%d seeds added beside a reload are out of scope", lost, rounds)
	}
}

// store.max_mapped_bytes reaches the store at New and at every reload; 0
// means never unmap.
func TestMappedBudgetFollowsConfig(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/")
	cfg.Store.MaxMappedBytes = 0
	db, e := newEngine(t, cfg)
	defer e.Close()
	db.SetMappedBudget(5 << 20) // as if an earlier config had set it
	next := *e.Config()
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if got := db.MappedBudget(); got != 0 {
		t.Fatalf("max_mapped_bytes 0: store budget %d, want 0 (never unmap)", got)
	}
	next.Store.MaxMappedBytes = 1 << 20
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if got := db.MappedBudget(); got != 1<<20 {
		t.Fatalf("after reload to 1 MiB: store budget %d", got)
	}
}

// A reload whose seed the crawler cannot parse (port out of range) is
// rejected before anything changes: the scope and fetch settings of the old
// config stay in force, as the failed status says.
func TestReloadBadSeedChangesNothing(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/")
	_, e := newEngine(t, cfg)
	defer e.Close()
	next := *e.Config()
	next.Seeds = []string{"http://127.0.0.1:1/", "http://other.test:99999/"}
	next.Scope.AllowedHosts = []string{"new.test"}
	next.Fetch.PerHostDelay = 7 * time.Second
	if err := e.Reload(context.Background(), &next); err == nil {
		t.Fatal("Reload accepted a seed with port 99999")
	}
	if st := e.LastReload(); st.OK {
		t.Errorf("last reload = %+v, want failed", st)
	}
	if got := e.Config().Fetch.PerHostDelay; got != 0 {
		t.Errorf("per_host_delay after failed reload = %s, want the old 0s", got)
	}
	if e.inScope("new.test") || !e.inScope("127.0.0.1:1") {
		t.Errorf("scope after failed reload: new.test %v, 127.0.0.1:1 %v; want the old scope",
			e.inScope("new.test"), e.inScope("127.0.0.1:1"))
	}
}

// data_dir, api, log, memory_limit and fetch.politeness_key need a
// restart. A reload that changes
// them says so, naming each, and keeps them: the disk guard goes on
// measuring the data_dir the database is in.
func TestReloadKeepsRestartOnlyKeys(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/")
	cfg.Store.MinFreeBytes = 0
	db := openChecked(t, cfg)
	var logs strings.Builder
	var logMu sync.Mutex
	e, err := New(Options{Config: cfg, DB: db, Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	next := *e.Config()
	next.DataDir = filepath.Join(t.TempDir(), "elsewhere")
	next.API.Listen = "127.0.0.1:9"
	next.Log.Level = "debug"
	next.MemoryLimit = 1 << 30
	next.Fetch.PolitenessKey = "domain"
	next.Store.MinFreeBytes = 1 << 62 // more than any disk: the guard must pause
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if got := e.Config(); got.DataDir != cfg.DataDir || got.API != cfg.API || got.Log != cfg.Log || got.MemoryLimit != cfg.MemoryLimit ||
		got.Fetch.PolitenessKey != "host" || e.HostKey("www.example.com") != "www.example.com" {
		t.Errorf("after reload data_dir %q api %+v log %+v memory_limit %d politeness_key %q; want the old ones kept",
			got.DataDir, got.API, got.Log, got.MemoryLimit, got.Fetch.PolitenessKey)
	}
	if !e.Paused() {
		t.Error("disk guard did not pause: it measured the reloaded data_dir, not the one in use")
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	for _, key := range []string{"data_dir", "api", "log", "memory_limit", "fetch.politeness_key"} {
		if !strings.Contains(out, key) {
			t.Errorf("reload log does not name %s as needing a restart:\n%s", key, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Without recrawl.adaptive every page is due recrawl.interval after its
// fetch. A reload (or restart) that shortens the interval applies to pages
// fetched under the old one at their next recrawl; they kept the old
// interval from their record for ever.
func TestReloadRecrawlIntervalReachesFetchedPages(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/")
	cfg.Recrawl.Interval = 24 * time.Hour
	_, e := newEngine(t, cfg)
	defer e.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e.now = func() time.Time { return now }

	next := *e.Config()
	next.Recrawl.Interval = time.Hour
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	prior := &store.Page{URL: "http://127.0.0.1:1/", Status: 200, Hash: "h", RecrawlMS: (24 * time.Hour).Milliseconds()}
	c := &frontier.Completion{State: frontier.StateDone, Page: &store.Page{URL: prior.URL, Status: 200, Hash: "h"}}
	e.scheduleRecrawl(c, prior, true)
	if got := c.RecrawlAt.Sub(now); got != time.Hour {
		t.Errorf("page recrawled under a 24h interval, now 1h: due in %s, want 1h", got)
	}
}

// Turning fetch.respect_robots off by a reload lifts the robots.txt
// Crawl-delay the hosts had: with robots.txt no longer read, nothing else
// would, and a host stayed slowed by a file the crawl now ignores.
// Turning it back on applies the Crawl-delay again from the host's next
// URL, read from the stored robots.txt.
func TestReloadRespectRobotsTogglesCrawlDelay(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			io.WriteString(w, "User-agent: *\nCrawl-delay: 20\n")
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>ok</body></html>")
	}))
	defer srv.Close()
	cfg := testConfig(t)
	cfg.Fetch.MaxCrawlDelay = time.Minute
	_, e := newEngine(t, cfg)
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := e.HostKey(strings.TrimPrefix(srv.URL, "http://"))
	var links []frontier.Link
	for i := range 3 {
		links = append(links, frontier.Link{URL: fmt.Sprintf("%s/%d", srv.URL, i), Host: key})
	}
	if _, err := e.Queue().Add(ctx, links); err != nil {
		t.Fatal(err)
	}
	// delays returns the host's delay in the throttle and in the frontier.
	delays := func() (time.Duration, string) {
		d, _, _ := e.adapt.state(key)
		return d, e.Queue().Live()[key].Delay
	}
	// fetch hands out the host's next URL (at once: the host's delay must
	// be 0 by now) and fetches it as a worker does.
	fetch := func() {
		t.Helper()
		next, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		it, err := e.Queue().Next(next)
		if err != nil {
			t.Fatal(err)
		}
		if f := e.fetchItem(ctx, it); f != nil {
			f.resp.Release()
		}
	}

	fetch() // the first URL's slot reads robots.txt
	if d, live := delays(); d != 20*time.Second || live != "20s" {
		t.Fatalf("host's delay after reading robots.txt = %v (frontier %s); want the Crawl-delay 20s", d, live)
	}

	off := *e.Config()
	off.Fetch.RespectRobots = false
	if err := e.Reload(ctx, &off); err != nil {
		t.Fatal(err)
	}
	if d, live := delays(); d != 0 || live != "0s" {
		t.Fatalf("host's delay after a reload turned respect_robots off = %v (frontier %s); want 0 (per_host_delay): robots.txt is not read", d, live)
	}
	// A robots check that began before the reload ends after it.
	rules := robots.Parse([]byte("User-agent: *\nCrawl-delay: 20\n"), cfg.Fetch.RobotsToken)
	e.applyRobots(key, srv.URL, robotsState{rules: rules}, false)
	if d, live := delays(); d != 0 || live != "0s" {
		t.Fatalf("host's delay after a robots check begun before respect_robots was turned off = %v (frontier %s); want 0", d, live)
	}
	fetch()
	if d, _ := delays(); d >= 20*time.Second {
		t.Errorf("host's delay after a fetch with respect_robots off = %v; want the adaptive one, not the Crawl-delay", d)
	}

	on := off
	on.Fetch.RespectRobots = true
	if err := e.Reload(ctx, &on); err != nil {
		t.Fatal(err)
	}
	fetch()
	if d, live := delays(); d != 20*time.Second || live != "20s" {
		t.Errorf("host's delay after a reload turned respect_robots on again and a URL was fetched = %v (frontier %s); want the Crawl-delay 20s", d, live)
	}

	// Lowering max_crawl_delay caps the Crawl-delay at once, not at the
	// host's next robots check (which a 20 s delay would put off); 0
	// ignores it.
	for _, c := range []struct {
		max  time.Duration
		want string
	}{{5 * time.Second, "5s"}, {0, "0s"}} {
		lower := on
		lower.Fetch.MaxCrawlDelay = c.max
		if err := e.Reload(ctx, &lower); err != nil {
			t.Fatal(err)
		}
		if d, live := delays(); d.String() != c.want || live != c.want {
			t.Errorf("host's delay after a reload set max_crawl_delay %v = %v (frontier %s); want %s", c.max, d, live, c.want)
		}
	}
}
