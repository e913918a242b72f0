package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crawler/fetcher"
	"crawler/frontier"
)

// While fetch.body_memory stays spent longer than fetch.timeout (bodies
// waiting on a slow writer), a fetch fails for want of memory although the
// host answered at once. That used to be a timeout: a failure of the host,
// which lengthened its delay, opened its breaker and spent the URL's
// retries, or robots.txt's until the host's URLs failed. Now the URL goes
// back to its queue as it was, and the host's record stays clean.
func TestBodyMemoryWaitRequeues(t *testing.T) {
	for _, robots := range []bool{false, true} {
		t.Run(fmt.Sprintf("respect_robots=%v", robots), func(t *testing.T) {
			const budget, waits = 1 << 20, 4
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if r.URL.Path == "/robots.txt" {
					io.WriteString(w, "User-agent: *\nAllow: /\n")
					return
				}
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<html><title>fast</title></html>")
			}))
			t.Cleanup(srv.Close)
			// hog's body takes the whole budget until it is released.
			hogSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(budget-1))
				io.WriteString(w, strings.Repeat("x", budget-1))
			}))
			t.Cleanup(hogSrv.Close)

			cfg := testConfig(t, srv.URL+"/")
			cfg.Fetch.RespectRobots = robots
			cfg.Fetch.Retries = 1
			cfg.Fetch.HostFailureThreshold = 1
			db := openChecked(t, cfg)
			e, err := New(Options{Config: cfg, DB: db, ExitWhenIdle: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			client := fetcher.New(fetcher.Options{AllowPrivateAddresses: true, Timeout: 200 * time.Millisecond,
				MaxBodyBytes: budget, BodyMemory: budget})
			e.clientp.Swap(client).Close()
			hogURL, _ := url.Parse(hogSrv.URL)
			hog, err := client.Fetch(context.Background(), &fetcher.Request{URL: hogURL})
			if err != nil {
				t.Fatal(err)
			}
			defer hog.Release()

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ended := make(chan struct{})
			go func() { // memory comes back once the host has been asked waits times
				defer hog.Release()
				for requests.Load() < waits {
					select {
					case <-ended:
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
				hog.Release()
			}()
			err = e.Run(ctx)
			close(ended)
			if err != nil || ctx.Err() != nil {
				t.Fatalf("Run: %v, %v", err, ctx.Err())
			}

			if n := requests.Load(); n < waits {
				t.Errorf("the host was asked %d times; want the fetches to go on waiting for memory (>= %d)", n, waits)
			}
			if o := lookup(t, db, srv.URL+"/"); o.state != frontier.StateDone || o.page == nil || o.page.Error != "" || o.page.Attempts != 1 {
				t.Errorf("page: %v %+v; want done at the first attempt, without error", o.state, o.page)
			}
			if r, b := e.Stats().Retries.Load(), e.Stats().BreakerTrips.Load(); r != 0 || b != 0 {
				t.Errorf("%d retries, %d breaker trips; want none: waiting for memory is no failure", r, b)
			}
			u, _ := url.Parse(srv.URL)
			if _, failures, trips := e.adapt.state(e.HostKey(u.Host)); failures != 0 || trips != 0 {
				t.Errorf("host: %d failures, %d breaker trips; want none", failures, trips)
			}
		})
	}
}
