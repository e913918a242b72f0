package crawl

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crawler/config"
	"crawler/frontier"
	"crawler/store"
)

func TestTrapTable(t *testing.T) {
	cfg := config.Default()
	cfg.Scope.MaxURLLength = 300
	cfg.Scope.MaxQueryParams = 3
	cfg.Scope.MaxRepeatedSegments = 3
	e := &Engine{}
	e.cfgp.Store(cfg)
	long := "http://h/" + strings.Repeat("x", 400)
	deep := "http://h/" + strings.Repeat("d/", 70)
	for _, tc := range []struct {
		url, want string
	}{
		{"http://h/a/b/c", ""},
		{"http://h/a/b/a/b/a/b", ""},                           // three repeats: allowed
		{"http://h/a/b/a/b/a/b/a/b", "repeated path segments"}, // four
		{"http://h/x/x/x/x/y", "repeated path segments"},
		{"http://h/cal/2026/11/21?view=day", ""},
		{"http://h/?a=1&b=2&c=3", ""},
		{"http://h/?a=1&b=2&c=3&d=4", "too many query parameters"},
		// Empty pieces are no parameters (URLSearchParams skips them).
		{"http://h/?a=1&&b=2&&&c=3&", ""},
		{"http://h/?&&&&&&", ""},
		{"http://h/?a&b&c&d", "too many query parameters"},
		{long, "url too long"},
		{deep, "too many path segments"},
		{"http://h", ""},
	} {
		if got := e.trap(tc.url); got != tc.want {
			t.Errorf("trap(%.60s) = %q; want %q", tc.url, got, tc.want)
		}
	}
}

// A calendar with a "next day" link on every page never ends; the
// per-host budget ends the crawl and the dropped links are counted.
func TestCalendarTrapEndsAtBudget(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		day, _ := time.Parse("2006-01-02", r.URL.Query().Get("d"))
		if day.IsZero() {
			day = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<title>%s</title><a href="/cal?d=%s">next</a><a href="/cal?d=%s">prev</a>
			<a href="/a/b/a/b/a/b/a/b/">loop</a>`,
			day.Format("2006-01-02"), day.AddDate(0, 0, 1).Format("2006-01-02"), day.AddDate(0, 0, -1).Format("2006-01-02"))
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL+"/cal")
	cfg.Fetch.Concurrency = 2
	cfg.Scope.MaxPagesPerHost = 30
	db := crawlToIdle(t, cfg)
	var c frontier.Counts
	db.View(func(tx *store.Tx) error { c = frontier.ReadCounts(tx); return nil })
	if c.Done != 30 { // the seed counts against the budget
		t.Errorf("done = %d; want the budget, 30", c.Done)
	}
	if c.Trapped == 0 {
		t.Errorf("trapped = 0; want the dropped calendar and loop links counted")
	}
	t.Logf("calendar: %d pages, %d trap drops", c.Done, c.Trapped)
}

// A host that sends every page through a chain of redirects gets no more
// requests than its budget: redirect targets count against it. (When
// they were exempt, each link queued before the budget ran out brought
// its whole chain after it: here 11 links of the seed's page, 4 redirects
// each.)
func TestRedirectChainsCountAgainstBudget(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		requests.Add(1)
		if hops := strings.Count(r.URL.Path, "/r"); hops < 4 {
			http.Redirect(w, r, r.URL.Path+"/r", http.StatusFound)
			return
		}
		n := requests.Load()
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<title>p</title>`)
		for i := range 10 {
			fmt.Fprintf(w, `<a href="/p%d-%d">%d</a>`, n, i, i)
		}
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL+"/p")
	cfg.Fetch.Concurrency = 2
	cfg.Fetch.MaxRedirects = 5
	cfg.Scope.MaxPagesPerHost = 12
	db := crawlToIdle(t, cfg)
	var c frontier.Counts
	db.View(func(tx *store.Tx) error { c = frontier.ReadCounts(tx); return nil })
	t.Logf("%d requests, counts %+v", requests.Load(), c)
	// The seed's chain (5 requests) is exempt; after it, 12 URLs of budget.
	if got, most := requests.Load(), int64(5+12); got > most {
		t.Errorf("%d requests; want at most %d (the seed's chain and the budget)", got, most)
	}
	if c.Trapped == 0 {
		t.Errorf("trapped = 0; want the links and redirect targets over budget counted")
	}
}
