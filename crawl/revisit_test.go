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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawler/frontier"
)

// Recrawl queues finished URLs again, with recrawl off: a failed one is
// fetched afresh and stored, a disallowed one is checked against
// robots.txt fetched again (not its stored copy, which is under a day
// old), and a done one whose new fetch fails keeps its stored copy, the
// failure noted. A queued URL is waiting, an unseen one unknown and not
// added, and an invalid one queues nothing. It holds for the running
// crawl and for a stopped one, whose next run fetches the disallowed
// URL's robots.txt again: the recrawl marked the stored copy.
func TestRecrawlFinishedURLs(t *testing.T) {
	t.Run("running", func(t *testing.T) { testRecrawlFinishedURLs(t, false) })
	t.Run("stopped", func(t *testing.T) { testRecrawlFinishedURLs(t, true) })
}

func testRecrawlFinishedURLs(t *testing.T, stopped bool) {
	var fixed atomic.Bool // the site after the operator mended it
	var robotsGets atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		robotsGets.Add(1)
		if fixed.Load() {
			fmt.Fprint(w, "User-agent: *\nAllow: /\n")
			return
		}
		fmt.Fprint(w, "User-agent: *\nDisallow: /c\n")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><a href="/a">a</a> <a href="/b">b</a> <a href="/c">c</a></html>`)
	})
	page := func(title string, okBefore, okAfter bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ok := okBefore; fixed.Load() {
				ok = okAfter
				if !ok {
					http.Error(w, "down", http.StatusInternalServerError)
					return
				}
			} else if !ok {
				http.Error(w, "down", http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "<html><title>%s</title></html>", title)
		}
	}
	mux.Handle("/a", page("A", true, false))
	mux.Handle("/b", page("B", false, true))
	mux.Handle("/c", page("C", true, true))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	a, b, c := srv.URL+"/a", srv.URL+"/b", srv.URL+"/c"

	cfg := testConfig(t, srv.URL+"/")
	cfg.Fetch.Retries = 1
	db := crawlToIdle(t, cfg)
	for url, want := range map[string]frontier.State{a: frontier.StateDone, b: frontier.StateFailed, c: frontier.StateDisallowed} {
		if o := lookup(t, db, url); o.state != want {
			t.Fatalf("first crawl: %s is %v; want %v", url, o.state, want)
		}
	}

	fixed.Store(true)
	robotsBefore := robotsGets.Load()
	e, err := New(Options{Config: cfg, DB: db, ExitWhenIdle: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := e.Recrawl(ctx, []string{a, "http://"}); err == nil {
		t.Error("Recrawl with an invalid URL: no error")
	}
	if o := lookup(t, db, a); o.state != frontier.StateDone {
		t.Fatalf("after a refused recrawl %s is %v; want done, not queued", a, o.state)
	}
	res, err := e.Recrawl(ctx, []string{a, b, c, b + "#again", srv.URL + "/never"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (RecrawlResult{Queued: 3, Unknown: 1}); res != want {
		t.Errorf("Recrawl = %+v; want %+v", res, want)
	}
	if res, err := e.Recrawl(ctx, []string{b}); err != nil || res != (RecrawlResult{Waiting: 1}) {
		t.Errorf("Recrawl of a queued URL = %+v, %v; want it waiting", res, err)
	}
	if stopped { // the next run, with its robots cache empty
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if e, err = New(Options{Config: cfg, DB: db, ExitWhenIdle: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}

	if got := robotsGets.Load() - robotsBefore; got != 1 {
		t.Errorf("robots.txt fetched %d times by the recrawl; want once (the disallowed URL's origin expired)", got)
	}
	for url, title := range map[string]string{b: "B", c: "C"} {
		o := lookup(t, db, url)
		if o.state != frontier.StateDone || o.page == nil || o.page.Status != 200 || o.page.Title != title || o.page.Error != "" {
			t.Errorf("%s after the recrawl: %v %+v; want done, 200, title %s", url, o.state, o.page, title)
		}
	}
	o := lookup(t, db, a)
	if o.state != frontier.StateDone || o.page == nil || o.page.Status != 200 || o.page.Title != "A" || o.page.Extra["recrawl_error"] == "" {
		t.Errorf("%s, whose recrawl failed: %v %+v; want its stored copy kept, the failure in extra.recrawl_error", a, o.state, o.page)
	}
	if c := e.Queue().Counts(); c.Failed != 0 || c.Disallowed != 0 || c.Done != 4 {
		t.Errorf("counts after the recrawl: %+v; want 4 done", c)
	}
}

// A URL queued before scope.strip_query_params named one of its
// parameters is not requested: the URL without it is crawled in its place,
// and the queued one fails saying so.
func TestStripQueryParamsAppliesToQueuedURLs(t *testing.T) {
	var asked sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.RequestURI(), true)
		fmt.Fprint(w, "<html><title>p</title></html>")
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL+"/")
	db := openChecked(t, cfg)
	e, err := New(Options{Config: cfg, DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	tracked := srv.URL + "/p?utm_source=mail"
	if _, err := e.Queue().Add(context.Background(), []frontier.Link{{URL: tracked, Host: u.Host, Parent: srv.URL + "/", Depth: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Scope.StripQueryParams = []string{"utm_*"}
	runIdle(t, cfg, db, crawlOpts{})
	if _, ok := asked.Load("/p?utm_source=mail"); ok {
		t.Error("the queued URL was requested with the parameter now stripped")
	}
	if o := lookup(t, db, srv.URL+"/p"); o.state != frontier.StateDone || o.page == nil || o.page.Status != 200 {
		t.Errorf("%s/p: %v %+v; want it crawled in the queued URL's place", srv.URL, o.state, o.page)
	}
	if o := lookup(t, db, tracked); o.state != frontier.StateFailed || o.page == nil || !strings.Contains(o.page.Error, "crawled as "+srv.URL+"/p") {
		t.Errorf("%s: %v %+v; want failed, naming the URL crawled instead", tracked, o.state, o.page)
	}
}
