package crawl

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crawler/frontier"
	"crawler/store"
)

// Page fetches cancelled by the shutdown timeout stay queued on disk; they are never committed as finished.
func TestShutdownTimeoutKeepsCancelledURLsQueued(t *testing.T) {
	const slow = 6
	var hanging atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, linkPage("/slow/", slow))
		case strings.HasPrefix(r.URL.Path, "/slow/"):
			hanging.Add(1)
			<-r.Context().Done() // never answers; the client cancels
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cfg := testConfig(t, srv.URL+"/")
	cfg.Fetch.RespectRobots = false
	cfg.Fetch.Concurrency = slow
	cfg.Fetch.PerHostConcurrency = slow
	cfg.ShutdownTimeout = 50 * time.Millisecond
	db, e := newEngine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for hanging.Load() < slow {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("only %d slow requests started", hanging.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel() // SIGTERM: the shutdown timeout then cancels the hanging fetches
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	var failed []string
	db.View(func(tx *store.Tx) error {
		if st, err := frontier.URLState(tx, srv.URL+"/"); err != nil || st != frontier.StateDone {
			t.Errorf("the seed, fetched before shutdown: state %v, %v; want done", st, err)
		}
		for i := range slow {
			u := fmt.Sprintf("%s/slow/%d", srv.URL, i)
			st, err := frontier.URLState(tx, u)
			if err != nil {
				t.Errorf("%s: %v", u, err)
				continue
			}
			if st != frontier.StateQueued {
				failed = append(failed, fmt.Sprintf("%s=%v", u[len(srv.URL):], st))
			}
		}
		return nil
	})
	if len(failed) > 0 {
		t.Errorf("URLs cancelled by the shutdown timeout were committed as final: %v", failed)
	}
}

// Once Run's context is cancelled no new fetch starts, even when the frontier is already offering a URL.
func TestNoNewFetchAfterStop(t *testing.T) {
	gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
	var pages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, linkPage("/p/", 20))
		case strings.HasPrefix(r.URL.Path, "/p/"):
			if n := pages.Add(1); int(n) <= len(gates) {
				<-gates[n-1]
			}
			fmt.Fprint(w, "ok")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL+"/")
	cfg.Fetch.RespectRobots = false
	cfg.Fetch.Concurrency = 2
	cfg.Fetch.PerHostConcurrency = 2
	_, e := newEngine(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for pages.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel() // SIGTERM while two pages are in flight
	time.Sleep(20 * time.Millisecond)
	close(gates[0]) // one answers; its commit frees a lease, and the
	// dispatcher picks the next URL and offers it on q.out
	time.Sleep(100 * time.Millisecond)
	close(gates[1]) // the other answers; its worker calls Next(runCtx)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := pages.Load(); n != 2 {
		t.Errorf("%d page requests; want 2 (only those in flight at SIGTERM): %d started after shutdown began", n, n-2)
	}
}

// linkPage is an HTML page linking to prefix0 … prefix(n-1).
func linkPage(prefix string, n int) string {
	links := make([]string, n)
	for i := range links {
		links[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return htmlPage("index", links...)
}
