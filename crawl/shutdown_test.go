package crawl

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawler/config"
	"crawler/frontier"
	"crawler/store"
)

// Page fetches cancelled by the shutdown timeout stay queued on disk; they are never committed as finished.
func TestShutdownTimeoutKeepsCancelledURLsQueued(t *testing.T) {
	const slow = 6
	var hanging atomic.Int32
	srv := linkSite(t, "/slow/", slow, func(w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		<-r.Context().Done() // never answers; the client cancels
	})
	cfg := siteConfig(t, srv, slow)
	cfg.ShutdownTimeout = 50 * time.Millisecond
	db, e := newEngine(t, cfg)
	stop := startRun(e)
	deadline := time.Now().Add(20 * time.Second)
	for hanging.Load() < slow {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("only %d slow requests started", hanging.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if err := stop(); err != nil { // SIGTERM: the shutdown timeout then cancels the hanging fetches
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
	srv := linkSite(t, "/p/", 20, func(w http.ResponseWriter, r *http.Request) {
		if n := pages.Add(1); int(n) <= len(gates) {
			<-gates[n-1]
		}
		fmt.Fprint(w, "ok")
	})
	_, e := newEngine(t, siteConfig(t, srv, 2))
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

// linkSite serves "/" as a page linking to prefix0 … prefix(n-1), hands
// every request under prefix to page, and answers 404 to the rest. It is
// closed at cleanup.
func linkSite(t *testing.T, prefix string, n int, page http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, linkPage(prefix, n))
		case strings.HasPrefix(r.URL.Path, prefix):
			page(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// siteConfig is a test config crawling srv from "/" with robots.txt off
// and concurrency fetch workers, all of them allowed on srv's host.
func siteConfig(t *testing.T, srv *httptest.Server, concurrency int) *config.Config {
	cfg := testConfig(t, srv.URL+"/")
	cfg.Fetch.RespectRobots = false
	cfg.Fetch.Concurrency = concurrency
	cfg.Fetch.PerHostConcurrency = concurrency
	return cfg
}

// startRun runs e in the background; stop cancels Run's context and
// returns what Run returned (every call, the same).
func startRun(e *Engine) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	return sync.OnceValue(func() error {
		cancel()
		return <-done
	})
}

// linkPage is an HTML page linking to prefix0 … prefix(n-1).
func linkPage(prefix string, n int) string {
	links := make([]string, n)
	for i := range links {
		links[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return htmlPage("index", links...)
}
