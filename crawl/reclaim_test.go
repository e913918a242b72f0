package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crawler/config"
	"crawler/store"
)

func TestReclaimDue(t *testing.T) {
	on := config.Store{ReclaimGarbagePercent: 50, ReclaimMinGarbageBytes: 64 << 20}
	for _, tc := range []struct {
		garbage, values int64
		s               config.Store
		want            bool
	}{
		{100 << 20, 200 << 20, on, true},                                       // half, over the floor
		{99 << 20, 200 << 20, on, false},                                       // under half
		{60 << 20, 100 << 20, on, false},                                       // over half, under the floor
		{1, 2, config.Store{ReclaimGarbagePercent: 50}, true},                  // no floor
		{0, 2, config.Store{ReclaimGarbagePercent: 50}, false},                 // nothing to reclaim
		{100 << 20, 100 << 20, config.Store{ReclaimMinGarbageBytes: 1}, false}, // off
	} {
		if got := reclaimDue(store.Counts{GarbageBytes: tc.garbage, ValueBytes: tc.values}, tc.s); got != tc.want {
			t.Errorf("reclaimDue(%d of %d, %+v) = %v; want %v", tc.garbage, tc.values, tc.s, got, tc.want)
		}
	}
}

// reclaimEngine is an engine on a fresh store in cfg.DataDir that checks
// the value log's garbage every 20ms; the store is checked and closed at
// cleanup.
func reclaimEngine(t *testing.T, cfg *config.Config, db *store.DB) *Engine {
	t.Helper()
	e, err := New(Options{Config: cfg, DB: db, ReclaimEvery: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// runUntilReclaims runs e until it has finished n reclaims, failing the
// test if that takes longer than within, and stops it.
func runUntilReclaims(t *testing.T, e *Engine, n int64, within time.Duration) {
	t.Helper()
	stop := startRun(e)
	deadline := time.Now().Add(within)
	for e.stats.Reclaims.Load() < n {
		if time.Now().After(deadline) {
			_ = stop()
			t.Fatalf("%d value log reclaims in %s; want %d", e.stats.Reclaims.Load(), within, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// valueLogs lists the value log files in dir.
func valueLogs(t *testing.T, dir string) []string {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "crawl.db.values.*"))
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// A daemon that recrawls changing pages reclaims its value log by itself
// while it crawls: the replaced records and bodies go, the log keeps
// about what is live, one log file is left, and every page reads back.
func TestRecrawlReclaimsValueLog(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("reclaim")
	const pages = 10
	var fetches atomic.Int64
	links := make([]string, pages)
	for i := range links {
		links[i] = fmt.Sprintf("/p%d", i)
	}
	filler := strings.Repeat("x", 4000)
	serve := func(path string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n := fetches.Add(1)
			w.Header().Set("Content-Type", "text/html")
			// A new body every fetch: each recrawl replaces record and body.
			fmt.Fprintf(w, "<html><title>%s</title><body>%s fetch %d %s %d", path, path, n, filler, n*7919)
			for _, l := range links {
				fmt.Fprintf(w, `<a href="%s">x</a>`, l)
			}
			fmt.Fprint(w, "</body></html>")
		}
	}
	h.handle("/", serve("/"))
	for _, l := range links {
		h.handle(l, serve(l))
	}
	cfg := hostileConfig(t, []string{h.url("/")}, site.addrs())
	cfg.Fetch.RespectRobots = false
	cfg.Fetch.PerHostDelay = 0
	cfg.Fetch.PerHostConcurrency = 4
	cfg.Recrawl.Interval = 20 * time.Millisecond
	cfg.Store.ReclaimGarbagePercent = 50
	cfg.Store.ReclaimMinGarbageBytes = 32 << 10
	db := openChecked(t, cfg)
	e := reclaimEngine(t, cfg, db)
	runUntilReclaims(t, e, 3, 20*time.Second)
	if e.Reclaiming() {
		t.Error("a reclaim still runs after Run returned")
	}
	var c store.Counts
	_ = db.View(func(tx *store.Tx) error { c = tx.Counts(); return nil })
	written := fetches.Load() * 4000 // at least what every fetch appended, before compression
	if live := c.ValueBytes - c.GarbageBytes; c.ValueBytes > written/4 || live <= 0 {
		t.Errorf("value log %d bytes (%d garbage) after %d fetches; want far less than the %d bytes they wrote",
			c.ValueBytes, c.GarbageBytes, fetches.Load(), written)
	}
	if e.stats.ReclaimFreed.Load() <= 0 || e.stats.ReclaimMoved.Load() <= 0 {
		t.Errorf("reclaim stats: freed %d, moved %d; want both > 0", e.stats.ReclaimFreed.Load(), e.stats.ReclaimMoved.Load())
	}
	if logs := valueLogs(t, cfg.DataDir); len(logs) != 1 {
		t.Errorf("value logs left: %v; want one", logs)
	}
	for _, l := range append([]string{"/"}, links...) {
		var body []byte
		if err := db.View(func(tx *store.Tx) (err error) { body, err = tx.Body(h.url(l)); return err }); err != nil {
			t.Fatalf("body of %s: %v", l, err)
		}
		if !strings.Contains(string(body), "<title>"+l+"</title>") {
			t.Errorf("body of %s is not its page: %.60q", l, body)
		}
	}
}

// A reclaim left unfinished (the daemon stopped or crashed in the middle)
// is finished at the next start, whether or not the garbage still calls
// for one.
func TestUnfinishedReclaimFinishedAtStart(t *testing.T) {
	cfg := testConfig(t)
	cfg.Store.ReclaimMinGarbageBytes = 1 << 40 // never due by itself
	db := openChecked(t, cfg)
	for i := range 50 {
		err := db.Update(func(tx *store.Tx) error {
			return tx.PutPage(&store.Page{URL: fmt.Sprintf("http://example.com/%d", i), Status: 200})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // starts the drain, moves nothing
	if _, err := db.Reclaim(ctx); err == nil || !db.ReclaimUnfinished() {
		t.Fatalf("cancelled Reclaim: %v, reclaiming %v; want it cancelled with a log left to drain", err, db.ReclaimUnfinished())
	}
	if logs := valueLogs(t, cfg.DataDir); len(logs) != 2 {
		t.Fatalf("value logs mid-reclaim: %v; want two", logs)
	}
	e := reclaimEngine(t, cfg, db)
	runUntilReclaims(t, e, 1, 10*time.Second)
	if db.ReclaimUnfinished() {
		t.Error("still reclaiming after the reclaim finished")
	}
	if logs := valueLogs(t, cfg.DataDir); len(logs) != 1 {
		t.Errorf("value logs left: %v; want one", logs)
	}
}
