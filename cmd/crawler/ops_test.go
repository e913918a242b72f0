package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"crawler/internal/testsite"
	"crawler/store"
)

// stamps records when each path of a test server was requested, and with
// which conditional headers.
type stamps struct {
	mu    sync.Mutex
	times []time.Time
	paths []string
	inm   map[string]int // If-None-Match requests per path
	n304  int
}

func (s *stamps) add(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.times = append(s.times, time.Now())
	s.paths = append(s.paths, r.URL.Path)
	if r.Header.Get("If-None-Match") != "" {
		if s.inm == nil {
			s.inm = map[string]int{}
		}
		s.inm[r.URL.Path]++
	}
}

// chainSite serves /p/0 → /p/1 → … → /p/n-1, one link per page, so a
// crawl of one host proceeds one request at a time.
func chainSite(t *testing.T, n int, st *stamps) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.add(r)
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		var i int
		fmt.Sscanf(r.URL.Path, "/p/%d", &i)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<title>p%d</title>", i)
		if i+1 < n {
			fmt.Fprintf(w, `<a href="/p/%d">next</a>`, i+1)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// statsMap runs `crawler stats --format json` in-process; nil when it
// fails (e.g. the daemon is starting: file locked, socket not up yet).
func statsMap(t *testing.T, cfgPath string) map[string]any {
	t.Helper()
	code, out, _ := run(t, "stats", "--config", cfgPath, "--format", "json")
	if code != 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("stats output %q: %v", out, err)
	}
	return m
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	pollFor(t, what, limit, 20*time.Millisecond, cond)
}

// pollFor is waitFor checking cond every interval.
func pollFor(t *testing.T, what string, limit, interval time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(interval)
	}
}

// SIGTERM mid-crawl: exit 0 within the shutdown timeout, and a restart
// finishes the crawl with nothing lost and nothing fetched twice.
func TestSIGTERMThenResume(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 2, Pages: 80, Latency: 5 * time.Millisecond, FirstIP: "127.0.1.70"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	dir := t.TempDir()
	path := writeConfig(t, dir, site.Seeds(), "shutdown_timeout: 5s\n")
	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", path)
	waitFor(t, "some requests", 10*time.Second, func() bool { return site.Report().Requests >= 30 })
	stopDaemon(t, cmd, &stderr, 10*time.Second)
	cmd = daemon(t, &stderr, "run", "--config", path, "--exit-when-idle")
	if code := waitExit(t, cmd, 60*time.Second); code != 0 {
		t.Fatalf("restart: exit %d; stderr:\n%s", code, stderr.String())
	}
	for _, p := range site.Report().Repeats {
		if !strings.HasSuffix(p, "/robots.txt") {
			t.Errorf("fetched twice across a graceful stop: %s", p)
		}
	}
	m := statsMap(t, path)
	if m == nil {
		t.Fatal("stats failed after the crawl")
	}
	if want := float64(len(site.PageURLs())); m["done"] != want || m["queued"] != 0.0 {
		t.Errorf("stats after resume: done %v queued %v; want done %v, none queued", m["done"], m["queued"], want)
	}
}

// A SIGTERM sent the moment the socket appears (an operator's script
// that waits for the daemon, then stops it) stops it cleanly: the handler
// is in place before the socket exists. Before, the socket came first and
// such a signal killed the daemon (exit -1) now and then.
func TestSIGTERMAsSoonAsSocketExists(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 1, Pages: 20, FirstIP: "127.0.1.170"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	for i := range 3 {
		dir := t.TempDir()
		path := writeConfig(t, dir, site.Seeds(), "")
		sock := filepath.Join(dir, "data", "crawler.sock")
		var stderr bytes.Buffer
		cmd := daemon(t, &stderr, "run", "--config", path)
		// Polled tightly: the window this guards was well under a millisecond.
		pollFor(t, fmt.Sprintf("the socket of start %d", i), 10*time.Second, 50*time.Microsecond, func() bool {
			_, err := os.Lstat(sock)
			return err == nil
		})
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if code := waitExit(t, cmd, 10*time.Second); code != 0 {
			t.Fatalf("start %d: SIGTERM once the socket exists: exit %d; stderr:\n%s", i, code, stderr.String())
		}
	}
}

// SIGHUP with a broken file keeps the old config (and says so in stats);
// with a good file the new per_host_delay shows in the request gaps.
func TestSIGHUPReload(t *testing.T) {
	st := &stamps{}
	srv := chainSite(t, 400, st)
	dir := t.TempDir()
	base := "fetch:\n  concurrency: 2\n  per_host_concurrency: 1\n  per_host_delay: %s\n  allow_private_addresses: true\n  timeout: 5s\nlog:\n  level: warn\n"
	cfgText := func(delay string) string {
		return fmt.Sprintf("data_dir: %s\nseeds: [%q]\n", filepath.Join(dir, "data"), srv.URL+"/p/0") + fmt.Sprintf(base, delay)
	}
	path := filepath.Join(dir, "crawler.yaml")
	if err := os.WriteFile(path, []byte(cfgText("10ms")), 0o644); err != nil {
		t.Fatal(err)
	}
	// The CLI reads its config too: query through a good copy while the
	// daemon's file is broken.
	query := filepath.Join(dir, "query.yaml")
	if err := os.WriteFile(query, []byte(cfgText("10ms")), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", path)
	waitFor(t, "the crawl to start", 10*time.Second, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return len(st.times) > 5 })

	// A broken file: rejected, the crawl goes on at the old pace.
	os.WriteFile(path, []byte(cfgText("10ms")+"fetch_typo: 1\n"), 0o644)
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the failed reload in stats", 10*time.Second, func() bool {
		r, _ := statsMap(t, query)["last_reload"].(map[string]any)
		return r != nil && r["ok"] == false
	})
	// The broken file itself still leads the CLI to the running crawler,
	// which tells why it refused it; warned, not refused.
	code, out, errOut := run(t, "stats", "--format", "json", "--config", path)
	if code != 0 || !strings.Contains(out, `"last_reload":{`) || !strings.Contains(out, "fetch_typo") ||
		!strings.Contains(errOut, "warning: config: ") || !strings.Contains(errOut, "fetch_typo") {
		t.Errorf("stats through the broken file: exit %d, stdout %s, stderr %s; want the daemon's stats and a warning", code, out, errOut)
	}

	// A good file with a longer delay: applied without a restart.
	goodSent := time.Now()
	os.WriteFile(path, []byte(cfgText("300ms")), 0o644)
	code, out, errOut = run(t, "reload", "--config", path)
	if code != 0 {
		t.Fatalf("crawler reload: exit %d: %s %s", code, out, errOut)
	}
	var reloadedAt time.Time
	waitFor(t, "the good reload in stats", 10*time.Second, func() bool {
		r, _ := statsMap(t, query)["last_reload"].(map[string]any)
		if r != nil && r["ok"] == true {
			reloadedAt = time.Now()
			return true
		}
		return false
	})
	time.Sleep(1500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd, 10*time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var before, after []time.Duration
	for i := 1; i < len(st.times); i++ {
		gap := st.times[i].Sub(st.times[i-1])
		switch {
		case st.times[i-1].After(reloadedAt):
			after = append(after, gap)
		case st.times[i].Before(goodSent):
			before = append(before, gap)
		}
	}
	if len(before) == 0 || len(after) < 2 {
		t.Fatalf("too few requests to compare: %d before, %d after", len(before), len(after))
	}
	for _, g := range after {
		if g < 300*time.Millisecond {
			t.Errorf("gap %v after the reload; want >= 300ms", g)
		}
	}
	fast := 0
	for _, g := range before {
		if g < 200*time.Millisecond {
			fast++
		}
	}
	if fast == 0 {
		t.Errorf("no gap under 200ms before the reload: the old delay (10ms) was not in force")
	}
}

// startInProcess runs the daemon with Main in this process until the
// returned stop is called; stop waits for exit 0.
func startInProcess(t *testing.T, path string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"run", "--config", path}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	return func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("daemon exit %d: %s", code, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatal("daemon did not stop")
		}
	}
}

// With a short recrawl interval, stored pages are requested again with
// If-None-Match, and a 304 leaves the stored body intact.
func TestRecrawlConditional(t *testing.T) {
	st := &stamps{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.add(r)
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		etag := `"v1` + r.URL.Path + `"`
		if r.Header.Get("If-None-Match") == etag {
			st.mu.Lock()
			st.n304++
			st.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<title>page %s</title><a href="/a">a</a><a href="/b">b</a>`, r.URL.Path)
	}))
	defer srv.Close()
	dir := t.TempDir()
	path := writeConfig(t, dir, []string{srv.URL + "/"}, "recrawl:\n  interval: 300ms\n  min_interval: 100ms\n  max_interval: 1s\n")
	stop := startInProcess(t, path)
	waitFor(t, "conditional recrawls", 20*time.Second, func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.inm["/a"] >= 2 && st.inm["/"] >= 2
	})
	stop()
	st.mu.Lock()
	if st.n304 == 0 {
		t.Errorf("no 304 was answered")
	}
	st.mu.Unlock()
	code, out, stderr := run(t, "pages", "get", srv.URL+"/a", "--body", "--config", path)
	if code != 0 || !strings.Contains(out, "<title>page /a</title>") {
		t.Fatalf("pages get after 304s: exit %d, out %q, err %q; want the stored body intact", code, out, stderr)
	}
	// The record says when it was fetched last and that nothing changed.
	db, err := store.Open(filepath.Join(dir, "data", "crawl.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *store.Tx) error {
		p, err := tx.Page(srv.URL + "/a")
		if err != nil || p.Changes != 0 || p.Extra["last_status"] != "304" || p.RecrawlMS == 0 {
			t.Errorf("record after recrawl: %+v, %v; want unchanged, last_status 304", p, err)
		}
		// Each 304 replaced the record, each 200 record and body too.
		if c := tx.Counts(); c.GarbageBytes <= 0 || c.GarbageBytes >= c.ValueBytes {
			t.Errorf("after recrawls: %d of %d value log bytes counted as garbage; want some, not all", c.GarbageBytes, c.ValueBytes)
		}
		return nil
	})
	for _, err := range db.Check() {
		t.Errorf("check after recrawls: %v", err)
	}
}

// /metrics parses with the Prometheus text parser and its counters match
// what the test server saw; /healthz answers while the pipeline runs.
// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape reads and parses the /metrics of the daemon whose api.listen is
// addr.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

func TestMetricsMatchServer(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 2, Pages: 15, FirstIP: "127.0.1.75"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	addr := freeAddr(t)
	dir := t.TempDir()
	path := writeConfig(t, dir, site.Seeds(), fmt.Sprintf("api:\n  listen: %q\n", addr))
	stop := startInProcess(t, path)
	defer stop()
	waitFor(t, "the crawl to finish", 30*time.Second, func() bool {
		m := statsMap(t, path)
		return m["queued"] == 0.0 && m["in_flight"] == 0.0 && m["done"] == float64(len(site.PageURLs()))
	})
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	families := scrape(t, addr)
	sum := func(name string) float64 {
		f := families[name]
		if f == nil {
			t.Fatalf("metric %s missing", name)
		}
		var n float64
		for _, m := range f.Metric {
			if c := m.GetCounter(); c != nil {
				n += c.GetValue()
			} else if g := m.GetGauge(); g != nil {
				n += g.GetValue()
			}
		}
		return n
	}
	r := site.Report()
	if got, want := sum("crawler_fetches_total")+sum("crawler_robots_fetches_total"), float64(r.Requests); got != want {
		t.Errorf("fetches + robots fetches = %v; the server saw %v requests", got, want)
	}
	if got, want := sum("crawler_robots_fetches_total"), float64(len(site.Hosts())); got != want {
		t.Errorf("robots fetches = %v; want one per host, %v", got, want)
	}
	if got := sum("crawler_frontier_done"); got != float64(len(site.PageURLs())) {
		t.Errorf("crawler_frontier_done = %v; want %d", got, len(site.PageURLs()))
	}
	for _, name := range []string{"crawler_fetch_duration_seconds", "crawler_store_commit_duration_seconds", "crawler_store_size_bytes", "crawler_store_values_garbage_bytes",
		"crawler_hosts_active", "crawler_retries_total", "crawler_fetched_bytes_total", "crawler_config_last_reload_successful"} {
		if families[name] == nil {
			t.Errorf("metric %s missing", name)
		}
	}
}
