package crawl

import (
	"net/http"
	"strings"
	"testing"

	"crawler/frontier"
)

// Ensure a redirect target meets the trap limits of scope
// (max_url_length, max_repeated_segments) as a discovered link does: a
// page redirecting to an over-long or self-repeating URL does not get it
// fetched.
func TestRedirectTargetMeetsTrapLimits(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("redirtrap")
	h.robots("User-agent: *\nAllow: /\n")
	long := "/" + strings.Repeat("l", 300)
	loop := "/x/x/x/x/x"
	h.html("/", "home", "/go-long", "/go-loop")
	h.redirect("/go-long", long)
	h.redirect("/go-loop", loop)
	h.html(long, "long")
	h.html(loop, "loop")
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Scope.MaxURLLength = 256
	cfg.Scope.MaxRepeatedSegments = 3
	crawlToIdle(t, cfg)
	if n := h.count(long); n != 0 {
		t.Errorf("redirect target longer than scope.max_url_length (%d > 256) requested %d times", len(h.url(long)), n)
	}
	if n := h.count(loop); n != 0 {
		t.Errorf("redirect target %s (over scope.max_repeated_segments) requested %d times", loop, n)
	}
}

// Ensure a Location header is resolved as browsers and the rest of the
// crawler resolve links (WHATWG), not by RFC 3986: "\docs\page" is
// "/docs/page" ('\' is '/' in special URLs), not /dir/%5Cdocs%5Cpage.
func TestRedirectLocationBackslash(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("redirbs")
	h.robots("User-agent: *\nAllow: /\n")
	h.html("/", "home", "/dir/go")
	h.handle("/dir/go", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", `\docs\page`)
		w.WriteHeader(http.StatusFound)
	})
	h.html("/docs/page", "target")
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	db := crawlToIdle(t, cfg)
	if p := page(t, db, h.url("/dir/go")); p.RedirectTo != h.url("/docs/page") {
		t.Errorf(`Location: \docs\page from /dir/go: RedirectTo %q; want %q (WHATWG)`, p.RedirectTo, h.url("/docs/page"))
	}
	if n := h.count("/docs/page"); n != 1 {
		t.Errorf("/docs/page requested %d times; want once", n)
	}
}

// Ensure a Location with a stray '%', a valid WHATWG URL ("%zz" is
// "%25zz", as for links), is followed; net/url refuses it.
func TestRedirectLocationStrayPercent(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("redirpct")
	h.robots("User-agent: *\nAllow: /\n")
	h.html("/", "home", "/go")
	h.handle("/go", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/100%zz")
		w.WriteHeader(http.StatusFound)
	})
	h.html("/100%25zz", "target")
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	db := crawlToIdle(t, cfg)
	if p := page(t, db, h.url("/go")); p.RedirectTo != h.url("/100%25zz") {
		t.Errorf("Location: /100%%zz: RedirectTo %q, error %q; want %q", p.RedirectTo, p.Error, h.url("/100%25zz"))
	}
}

// Ensure scope.max_url_length judges a link after strip_query_params, as
// the config says: a page linked only with a long tracking parameter is
// crawled, its URL being short.
func TestStripQueryBeforeMaxURLLength(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("striplen")
	h.robots("User-agent: *\nAllow: /\n")
	h.html("/", "home", "/a?id=1&utm_source="+strings.Repeat("t", 300))
	h.html("/a?id=1", "a")
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Scope.MaxURLLength = 256
	cfg.Scope.StripQueryParams = []string{"utm_*"}
	crawlToIdle(t, cfg)
	if n := h.count("/a?id=1"); n != 1 {
		t.Errorf("/a?id=1 (linked with a long utm_source) requested %d times; want once", n)
	}
}

// Ensure a redirect that leads nowhere crawlable ends its chain with a
// record saying why and requests nothing more: a Location of another
// scheme (ftp:, file:, javascript:, data:, mailto:) fails the URL, an
// empty or blank one is kept as a redirect without a target. The rest of
// the host is crawled.
func TestRedirectLocationNotCrawlable(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("redirschemes")
	h.robots("User-agent: *\nAllow: /\n")
	failed := map[string]string{
		"/ftp": "ftp://example.com/x", "/file": "file:///etc/passwd", "/js": "javascript:alert(1)",
		"/data": "data:text/html,<a href=/x>x</a>", "/mailto": "mailto:a@example.com",
	}
	kept := map[string]string{"/empty": "", "/blank": "  "}
	var links []string
	for _, m := range []map[string]string{failed, kept} {
		for path, to := range m {
			h.handle(path, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Location"] = []string{to}
				w.WriteHeader(http.StatusFound)
			})
			links = append(links, path)
		}
	}
	h.html("/", "home", append(links, "/ok")...)
	h.html("/ok", "ok")
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	db := crawlToIdle(t, cfg)

	for path := range failed {
		if p := failedRecord(t, db, h.url(path)); p.Status != http.StatusFound || p.RedirectTo != "" ||
			!strings.Contains(p.Error, "scheme is not http or https") {
			t.Errorf("%s: status %d redirect_to %q error %q; want 302, no target, an error naming the scheme",
				path, p.Status, p.RedirectTo, p.Error)
		}
	}
	for path := range kept {
		o := lookup(t, db, h.url(path))
		if p := o.page; o.state != frontier.StateDone || p == nil || p.Status != http.StatusFound ||
			p.RedirectTo != "" || p.Error != "HTTP 302 without a usable Location" {
			t.Errorf("%s: %v %+v; want done, 302, no target, \"HTTP 302 without a usable Location\"", path, o.state, p)
		}
	}
	if o := lookup(t, db, h.url("/ok")); o.state != frontier.StateDone {
		t.Errorf("/ok: %v; want done", o.state)
	}
	for _, r := range h.requests() {
		if n := h.count(r.uri); n != 1 {
			t.Errorf("%s requested %d times; want once", r.uri, n)
		}
	}
	if n := len(h.requests()); n != 2+len(failed)+len(kept)+1 {
		t.Errorf("%d requests; want robots.txt, /, each redirect and /ok, nothing else", n)
	}
}

// Ensure a redirect target robots.txt forbids, on an origin whose rules are
// known, is judged as a link to it is: recorded as disallowed, not queued,
// so it takes nothing of its host's page budget (scope.max_pages_per_host)
// and a page found later still gets it.
func TestDisallowedRedirectTargetSpendsNoBudget(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("redirrobots")
	h.robots("User-agent: *\nDisallow: /private/\n")
	h.html("/", "home", "/r")
	h.redirect("/r", "/private/x")
	h.html("/2", "second seed", "/b")
	h.html("/b", "b")
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Scope.MaxPagesPerHost = 4 // /, /r, then the seed /2 and /b
	db := openChecked(t, cfg)
	runIdle(t, cfg, db, crawlOpts{})
	if o := lookup(t, db, h.url("/private/x")); o.state != frontier.StateDisallowed {
		t.Fatalf("/private/x: state %v; want disallowed", o.state)
	}
	// Another run with a second seed: /b, its link, is the host's fourth URL.
	cfg.Seeds = append(cfg.Seeds, h.url("/2"))
	runIdle(t, cfg, db, crawlOpts{})
	if n := h.count("/b"); n != 1 {
		t.Errorf("/b requested %d times; want once (the disallowed redirect target took its place in the budget)", n)
	}
}
