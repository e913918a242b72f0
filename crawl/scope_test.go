package crawl

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"crawler/config"
	"crawler/frontier"
	"crawler/store"
)

// scope.include and scope.exclude leave URLs out when found (links,
// redirect targets) and when a URL queued before them comes up; seeds are
// exempt.
func TestScopePatterns(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("patterns")
	h.robots("User-agent: *\nAllow: /\n")
	h.html("/", "home", "/docs/a", "/docs/calendar/2026", "/docs/b?sessionid=1", "/shop/x", "/docs/moved")
	h.handle("/docs/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/docs/calendar/moved", http.StatusFound)
	})
	for _, p := range []string{"/docs/a", "/docs/calendar/2026", "/docs/b", "/shop/x", "/docs/calendar/moved", "/docs/calendar/seed", "/docs/calendar/old"} {
		h.html(p, p)
	}
	cfg := hostileConfig(t, []string{h.url("/"), h.url("/docs/calendar/seed")}, []string{h.addr})
	cfg.Scope.Include = []string{`/docs/`}
	cfg.Scope.Exclude = []string{`/calendar/`, `[?&]sessionid=`}

	// A link queued before the patterns existed (an older config).
	db := openChecked(t, cfg)
	q, err := frontier.Open(db, frontier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := h.url("/docs/calendar/old")
	if _, err := q.Add(context.Background(), []frontier.Link{{URL: old, Host: h.addr, Parent: h.url("/"), Depth: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	runIdle(t, cfg, db, crawlOpts{})

	for _, p := range []string{"/", "/docs/a", "/docs/calendar/seed", "/docs/moved"} {
		if o := lookup(t, db, h.url(p)); o.state != frontier.StateDone || h.count(p) != 1 {
			t.Errorf("%s: state %v, requested %d times; want done, once", p, o.state, h.count(p))
		}
	}
	for _, p := range []string{"/docs/calendar/2026", "/docs/b?sessionid=1", "/shop/x", "/docs/calendar/moved", "/docs/calendar/old"} {
		if n := h.count(p); n != 0 {
			t.Errorf("%s requested %d times; the patterns leave it out", p, n)
		}
	}
	if p := page(t, db, h.url("/docs/moved")); !strings.Contains(p.Error, "redirect target out of scope: matches scope.exclude[0]") {
		t.Errorf("redirect to an excluded URL: record error %q", p.Error)
	}
	o := lookup(t, db, old)
	if o.state != frontier.StateFailed || o.page == nil || !strings.Contains(o.page.Error, `out of scope: matches scope.exclude[0] "/calendar/"`) {
		t.Errorf("URL queued before the pattern: state %v, record %+v; want failed, saying why", o.state, o.page)
	}
}

// A stored page due for recrawl that a pattern now leaves out keeps its
// record and is not recrawled again.
func TestExcludedRecrawlKeepsRecord(t *testing.T) {
	e := &Engine{now: time.Now}
	it := &frontier.Item{URL: "http://a.test/x", Depth: 1}
	c := e.processFetch(&fetched{item: it, excluded: "matches scope.exclude[0]", prior: &store.Page{URL: it.URL, Status: 200}})
	if c.State != frontier.StateDone || c.Page != nil || !c.RecrawlAt.IsZero() {
		t.Errorf("completion %+v; want done, no new record, no recrawl", c)
	}
}

// A reload swaps the patterns: links found from then on, and queued URLs
// whose turn comes, are judged by the new ones.
func TestReloadSwapsScopePatterns(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/")
	_, e := newEngine(t, cfg)
	defer e.Close()
	const u = "http://127.0.0.1:1/calendar/x"
	if why := e.excluded(u); why != "" {
		t.Fatalf("no patterns: excluded %q", why)
	}
	next := *cfg
	next.Scope.Exclude = []string{"/calendar/"}
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if why := e.excluded(u); why == "" {
		t.Error("after a reload adding scope.exclude: not excluded")
	}
	bad := next
	bad.Scope.Exclude = []string{"("}
	if err := e.Reload(context.Background(), &bad); err == nil || !strings.Contains(err.Error(), "scope.exclude[0]") {
		t.Errorf("reload with a bad pattern: %v; want it refused, naming it", err)
	}
	if why := e.excluded(u); why == "" {
		t.Error("a refused reload dropped the patterns in force")
	}
}

// scope.strip_query_params: one page linked with different tracking
// parameters is fetched once, under its URL without them; a redirect
// target loses them too; a seed keeps its own.
func TestStripQueryParams(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("strip")
	h.robots("User-agent: *\nAllow: /\n")
	h.html("/?utm_source=seed", "seed", "/a?utm_source=x", "/a?UTM_Medium=y", "/a?fbclid=1&id=2&utm_campaign=z", "/go")
	h.handle("/go", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/b?gclid=9", http.StatusFound)
	})
	for _, p := range []string{"/a", "/b"} {
		h.html(p, p)
	}
	cfg := hostileConfig(t, []string{h.url("/?utm_source=seed")}, []string{h.addr})
	cfg.Scope.StripQueryParams = []string{"utm_*", "fbclid", "gclid"}
	db := crawlToIdle(t, cfg)

	for _, uri := range []string{"/?utm_source=seed", "/a", "/a?id=2", "/go", "/b"} {
		if n := h.count(uri); n != 1 {
			t.Errorf("%s requested %d times; want once", uri, n)
		}
	}
	for _, r := range h.requests() {
		if r.uri != "/?utm_source=seed" && strings.ContainsAny(r.uri, "=") && !strings.HasSuffix(r.uri, "?id=2") {
			t.Errorf("requested %s: a stripped parameter got through", r.uri)
		}
	}
	if p := page(t, db, h.url("/go")); p.RedirectTo != h.url("/b") {
		t.Errorf("/go redirects to %q; want %q, stripped", p.RedirectTo, h.url("/b"))
	}
	if o := lookup(t, db, h.url("/a")); o.state != frontier.StateDone {
		t.Errorf("/a: state %v; want done", o.state)
	}
}

// A seed added (crawler seed) while scope.allowed_hosts names other hosts
// is a seed all the same: once allowed_hosts is emptied, by a reload or
// for the next run, its host is in scope as the seeds' hosts are.
func TestAddedSeedJoinsScopeWhenAllowedHostsEmptied(t *testing.T) {
	cfg := testConfig(t, "http://a.test/")
	cfg.Scope.AllowedHosts = []string{"a.test"}
	db, e := newEngine(t, cfg)
	if _, err := e.AddSeeds(context.Background(), []string{"http://b.test/"}); err != nil {
		t.Fatal(err)
	}
	next := *cfg
	next.Scope.AllowedHosts = nil
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	if !e.inScope("b.test") {
		t.Error("after a reload emptying allowed_hosts: the added seed's host is out of scope")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Config: &next, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !e.inScope("b.test") {
		t.Error("after a restart with allowed_hosts empty: the added seed's host is out of scope")
	}
}

// A fully qualified name with its root dot ("a.test.") is the same DNS
// name as "a.test": WHATWG keeps the two URLs apart, and so does dedup,
// but scope (seeds' hosts or allowed_hosts, written either way), the
// politeness key (so one schedule, not two, paces the server) and the
// host limits treat them as one host.
func TestRootDotIsSameHost(t *testing.T) {
	cfg := testConfig(t, "http://a.test/", "http://b.test.:8080/")
	cfg.Fetch.HostLimits = []config.HostLimit{{Host: "a.test.", Concurrency: 1}}
	_, e := newEngine(t, cfg)
	defer e.Close()
	for _, h := range []string{"a.test", "a.test.", "b.test:8080", "b.test.:8080"} {
		if !e.inScope(h) {
			t.Errorf("seeds a.test and b.test.:8080: %s out of scope", h)
		}
	}
	for _, h := range []string{"b.test", "a.test:8080", "a.test..", "c.test."} {
		if e.inScope(h) {
			t.Errorf("%s in scope", h)
		}
	}
	if a, b := e.HostKey("a.test."), e.HostKey("a.test"); a != b {
		t.Errorf("politeness keys %q and %q: one server paced twice", a, b)
	}
	if a, b := e.HostKey("b.test.:8080"), e.HostKey("b.test:8080"); a != b {
		t.Errorf("politeness keys %q and %q: one server paced twice", a, b)
	}
	links, trapped := e.discovered([]string{"http://a.test./x", "http://a.test/x", "http://b.test.:8080/y"}, "http://a.test/", 1)
	if trapped != 0 || len(links) != 3 {
		t.Fatalf("%d links, %d trapped; want the three", len(links), trapped)
	}
	if links[0].URL == links[1].URL || links[0].Host != links[1].Host || links[2].Host != e.HostKey("b.test:8080") {
		t.Errorf("links %+v", links)
	}
	if l := hostLimits(&e.config().Fetch)[e.HostKey("a.test")]; l.Concurrency != 1 {
		t.Errorf("host_limits a.test. does not reach a.test: %+v", hostLimits(&e.config().Fetch))
	}

	cfg = testConfig(t, "http://a.test/")
	cfg.Scope.AllowedHosts = []string{"c.test.", "d.test"}
	_, e2 := newEngine(t, cfg)
	defer e2.Close()
	for _, h := range []string{"c.test", "c.test.", "d.test", "d.test."} {
		if !e2.inScope(h) {
			t.Errorf("allowed_hosts c.test., d.test: %s out of scope", h)
		}
	}
}
