package crawl

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"crawler/store"
)

// A fetch worker whose page waits for the writer fetches the next one, up
// to the lease cap and no further: with the writer held, one worker makes
// LeaseCap requests, then waits.
func TestWorkersFetchWhileWriterWaits(t *testing.T) {
	gate := make(chan struct{})
	var pages atomic.Int32
	srv := linkSite(t, "/p/", 20, func(w http.ResponseWriter, r *http.Request) {
		pages.Add(1)
		select {
		case <-gate:
			fmt.Fprint(w, "ok")
		case <-r.Context().Done(): // a failed test stopped the crawl
		}
	})
	cfg := siteConfig(t, srv, 1)
	want := int32(LeaseCap(cfg.Fetch.Concurrency))
	if want < 2 {
		t.Fatalf("lease cap %d: a worker's page waiting for the writer stops the worker", want)
	}
	db, e := newEngine(t, cfg)
	stop := startRun(e)
	defer stop()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	// A page request means the seed's links are committed. Hold the writer
	// off with a write transaction of our own, then let pages answer.
	waitFor("the first page request", func() bool { return pages.Load() >= 1 })
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Update(func(*store.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	close(gate)
	waitFor(fmt.Sprintf("%d page requests while the writer waits", want), func() bool { return pages.Load() >= want })
	time.Sleep(50 * time.Millisecond)
	if n := pages.Load(); n != want {
		t.Errorf("%d page requests while the writer waits; want %d (the lease cap)", n, want)
	}
	close(release)
	waitFor("every page", func() bool { return pages.Load() == 20 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
