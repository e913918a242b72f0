package crawl

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"crawler/config"
)

// fetch.headers go with every request of the crawl, robots.txt included;
// a host_limits entry's headers only with its host's requests.
func TestConfiguredRequestHeaders(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]http.Header{} // server -> headers of each request
	start := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name] = append(got[name], r.Header.Clone())
			mu.Unlock()
			if r.URL.Path == "/" {
				fmt.Fprint(w, `<html><a href="/next">next</a></html>`)
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := start("a"), start("b")
	ua, _ := url.Parse(a.URL)
	cfg := testConfig(t, a.URL+"/", b.URL+"/")
	cfg.Fetch.Headers = []string{"Accept-Language: de"}
	cfg.Fetch.HostLimits = []config.HostLimit{{Host: ua.Host, Headers: []string{"Cookie: session=1", "Accept-Language: fr"}}}
	crawlToIdle(t, cfg)

	mu.Lock()
	defer mu.Unlock()
	for name, want := range map[string][2]string{"a": {"session=1", "fr"}, "b": {"", "de"}} {
		if len(got[name]) != 3 { // robots.txt, "/", "/next"
			t.Errorf("server %s: %d requests; want 3", name, len(got[name]))
		}
		for _, h := range got[name] {
			if h.Get("Cookie") != want[0] || h.Get("Accept-Language") != want[1] {
				t.Errorf("server %s got Cookie %q, Accept-Language %q; want %q, %q", name, h.Get("Cookie"), h.Get("Accept-Language"), want[0], want[1])
			}
		}
	}
}

// With fetch.proxy, the crawl's requests, robots.txt included, go through
// the proxy, which here answers for a host that does not exist.
func TestCrawlThroughProxy(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.String())
		mu.Unlock()
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nDisallow: /private\n")
		case "/":
			fmt.Fprint(w, `<html><title>via proxy</title><a href="/next">n</a> <a href="/private">p</a></html>`)
		default:
			fmt.Fprint(w, `<html><title>next</title></html>`)
		}
	}))
	defer proxy.Close()
	cfg := testConfig(t, "http://site.invalid/")
	cfg.Fetch.Proxy = proxy.URL
	db := crawlToIdle(t, cfg)
	if p := page(t, db, "http://site.invalid/"); p.Status != 200 || p.Title != "via proxy" {
		t.Errorf("seed page: %+v; want it fetched through the proxy", p)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "http://site.invalid/robots.txt http://site.invalid/ http://site.invalid/next"
	if got := strings.Join(asked, " "); got != want {
		t.Errorf("the proxy was asked for %q; want %q", got, want)
	}
}
