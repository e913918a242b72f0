package crawl

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"crawler/fetcher"
	"crawler/frontier"
	"crawler/parser"
	"crawler/store"
)

// sitemapBody is a sitemap of kind (parser.SitemapURLSet or
// parser.SitemapIndex) listing locs.
func sitemapBody(kind string, locs ...string) []byte {
	entry := "url"
	if kind == parser.SitemapIndex {
		entry = "sitemap"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n", kind)
	for _, l := range locs {
		fmt.Fprintf(&b, "  <%s><loc>%s</loc></%s>\n", entry, l, entry)
	}
	fmt.Fprintf(&b, "</%s>\n", kind)
	return b.Bytes()
}

// gzipOf is data compressed as one gzip member.
func gzipOf(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// serve serves body at path as contentType.
func (h *hostileHost) serve(path, contentType string, body []byte) {
	h.handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})
}

// sitemapSite is a host whose pages /p/1 to /p/5 no page links to: only
// its sitemaps list them. Its robots.txt lists the index /index.xml
// (twice, once relative), a sitemap under its Disallow, one on a second
// host, out, which is out of scope, and /moved.xml, which redirects to
// the urlset /c.xml. The index lists the urlset
// /a.xml, the gzip-compressed urlset /b.xml.gz (application/gzip) and
// the index /nested.xml, which the protocol forbids there. Each page
// links to a child page.
func sitemapSite(t *testing.T) (h, out *hostileHost) {
	site := newHostileSite(t)
	h, out = site.host("sitemaps"), site.host("out-of-scope")
	h.robots("User-agent: *\nDisallow: /private/\n" +
		"Sitemap: " + h.url("/index.xml") + "\n" +
		"Sitemap: /index.xml\n" +
		"Sitemap: " + h.url("/private/sitemap.xml") + "\n" +
		"Sitemap: " + out.url("/sitemap.xml") + "\n" +
		"Sitemap: /moved.xml\n")
	h.handle("/moved.xml", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/c.xml", http.StatusMovedPermanently)
	})
	h.serve("/c.xml", "application/xml", sitemapBody(parser.SitemapURLSet, h.url("/p/5")))
	h.html("/", "home")
	h.serve("/index.xml", "application/xml", sitemapBody(parser.SitemapIndex, h.url("/a.xml"), h.url("/b.xml.gz"), h.url("/nested.xml")))
	h.serve("/a.xml", "text/xml; charset=utf-8", sitemapBody(parser.SitemapURLSet, h.url("/p/1"), h.url("/p/2"), out.url("/p/out")))
	h.serve("/b.xml.gz", "application/gzip", gzipOf(t, sitemapBody(parser.SitemapURLSet, h.url("/p/3"), h.url("/p/4"))))
	h.serve("/nested.xml", "application/xml", sitemapBody(parser.SitemapIndex, h.url("/deep.xml")))
	h.serve("/deep.xml", "application/xml", sitemapBody(parser.SitemapURLSet, h.url("/p/deep")))
	h.serve("/private/sitemap.xml", "application/xml", sitemapBody(parser.SitemapURLSet, h.url("/p/private")))
	for i := 1; i <= 5; i++ {
		h.html(fmt.Sprintf("/p/%d", i), fmt.Sprintf("page %d", i), fmt.Sprintf("/p/%d/child", i))
	}
	out.robots("User-agent: *\nAllow: /\n")
	out.serve("/sitemap.xml", "application/xml", sitemapBody(parser.SitemapURLSet, out.url("/p/out")))
	return h, out
}

// With scope.follow_sitemaps, pages reachable only through robots.txt →
// sitemap index → sitemap are crawled, at the depth of the seed's links,
// so max_depth 1 takes them and not their own links; the sitemaps'
// records say what they are. Robots.txt, scope, dedup and the nesting
// bound apply.
func TestSitemapIndexLeadsToPages(t *testing.T) {
	h, out := sitemapSite(t)
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Scope.MaxDepth = 1
	cfg.Scope.FollowSitemaps = true
	db := crawlToIdle(t, cfg)

	for i := 1; i <= 5; i++ {
		u := h.url(fmt.Sprintf("/p/%d", i))
		o := lookup(t, db, u)
		if o.state != frontier.StateDone || o.page == nil || o.page.Status != 200 || o.page.Depth != 1 {
			t.Errorf("%s: state %v, record %+v; want done, 200, depth 1", u, o.state, o.page)
		}
		if n := h.count(fmt.Sprintf("/p/%d/child", i)); n != 0 {
			t.Errorf("/p/%d/child requested %d times; it is 2 hops deep, max_depth is 1", i, n)
		}
	}
	for _, tc := range []struct {
		path, kind, listedBy, contentType, parent string
		outlinks                                  int
	}{
		{"/index.xml", parser.SitemapIndex, listedByRobots, "application/xml", h.url("/robots.txt"), 3},
		{"/a.xml", parser.SitemapURLSet, listedByIndex, "text/xml", h.url("/index.xml"), 3},
		{"/b.xml.gz", parser.SitemapURLSet, listedByIndex, "application/gzip", h.url("/index.xml"), 2},
		{"/nested.xml", parser.SitemapIndex, listedByIndex, "application/xml", h.url("/index.xml"), 1},
		// A redirect target is listed by what listed its chain's first URL.
		{"/c.xml", parser.SitemapURLSet, listedByRobots, "application/xml", h.url("/moved.xml"), 1},
	} {
		o := lookup(t, db, h.url(tc.path))
		p := o.page
		if o.state != frontier.StateDone || p == nil {
			t.Errorf("%s: state %v, record %+v; want done", tc.path, o.state, p)
			continue
		}
		if p.Extra["sitemap"] != tc.kind || p.Extra["sitemap_listed_by"] != tc.listedBy || p.ContentType != tc.contentType ||
			p.Parent != tc.parent || p.Depth != 1 || p.Outlinks != tc.outlinks || p.Error != "" {
			t.Errorf("%s: sitemap %q listed by %q, content type %q, parent %q, depth %d, outlinks %d, error %q;"+
				" want %q, %q, %q, %q, 1, %d, none", tc.path, p.Extra["sitemap"], p.Extra["sitemap_listed_by"], p.ContentType,
				p.Parent, p.Depth, p.Outlinks, p.Error, tc.kind, tc.listedBy, tc.contentType, tc.parent, tc.outlinks)
		}
		if n := h.count(tc.path); n != 1 {
			t.Errorf("%s requested %d times, want once", tc.path, n)
		}
	}
	if p := page(t, db, h.url("/p/1")); p.Parent != h.url("/a.xml") {
		t.Errorf("/p/1 parent %q, want the sitemap that listed it", p.Parent)
	}
	// An index listed by an index has its locs one hop further: /deep.xml
	// would be depth 2.
	if n := h.count("/deep.xml"); n != 0 {
		t.Errorf("/deep.xml, listed by a nested index, requested %d times; want none under max_depth 1", n)
	}
	if o := lookup(t, db, h.url("/private/sitemap.xml")); o.state != frontier.StateDisallowed || h.count("/private/sitemap.xml") != 0 {
		t.Errorf("sitemap under Disallow: state %v, requested %d times; want disallowed, never", o.state, h.count("/private/sitemap.xml"))
	}
	if rs := out.requests(); len(rs) != 0 {
		t.Errorf("the out-of-scope host got %d requests (first %s); want none", len(rs), rs[0].uri)
	}
}

// With scope.follow_sitemaps off (the default), robots.txt's sitemaps are
// not queued, and a sitemap given as a seed is stored as a file without
// links, as before the option existed.
func TestSitemapsOff(t *testing.T) {
	h, out := sitemapSite(t)
	cfg := hostileConfig(t, []string{h.url("/"), h.url("/a.xml")}, []string{h.addr})
	db := crawlToIdle(t, cfg)
	if n := h.count("/robots.txt"); n != 1 {
		t.Errorf("robots.txt requested %d times, want once", n)
	}
	for _, path := range []string{"/index.xml", "/b.xml.gz", "/p/1", "/p/3"} {
		if n := h.count(path); n != 0 {
			t.Errorf("%s requested %d times with follow_sitemaps off", path, n)
		}
	}
	p := page(t, db, h.url("/a.xml"))
	if p.Status != 200 || p.Outlinks != 0 || p.Extra["sitemap"] != "" {
		t.Errorf("/a.xml as a seed: status %d, outlinks %d, extra %v; want 200, 0, no sitemap note", p.Status, p.Outlinks, p.Extra)
	}
	if len(out.requests()) != 0 {
		t.Error("the out-of-scope host was requested")
	}
}

// A sitemap with 50,001 locs keeps the protocol's 50,000 and notes the
// one dropped; max_pages_per_host bounds what the crawl then fetches.
func TestSitemapLocCap(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("big-sitemap")
	h.robots("User-agent: *\nAllow: /\nSitemap: /big.xml\n")
	h.html("/", "home")
	locs := make([]string, parser.MaxSitemapLocs+1)
	for i := range locs {
		locs[i] = h.url(fmt.Sprintf("/p/%d", i))
	}
	h.serve("/big.xml", "application/xml", sitemapBody(parser.SitemapURLSet, locs...))
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Scope.FollowSitemaps = true
	cfg.Scope.MaxPagesPerHost = 10
	cfg.Fetch.MaxBodyBytes = 4 << 20
	db := crawlToIdle(t, cfg)

	p := page(t, db, h.url("/big.xml"))
	if p.Outlinks != parser.MaxSitemapLocs || p.Extra["links_dropped"] != "1" || p.Extra["sitemap_error"] != "" {
		t.Errorf("/big.xml: outlinks %d, extra %v; want %d and links_dropped 1", p.Outlinks, p.Extra, parser.MaxSitemapLocs)
	}
	fetched := 0
	for _, r := range h.requests() {
		if strings.HasPrefix(r.uri, "/p/") {
			fetched++
		}
	}
	if fetched == 0 || fetched > cfg.Scope.MaxPagesPerHost {
		t.Errorf("%d listed pages fetched; want 1 to %d (the budget)", fetched, cfg.Scope.MaxPagesPerHost)
	}
	var counts frontier.Counts
	_ = db.View(func(tx *store.Tx) error { counts = frontier.ReadCounts(tx); return nil })
	if want := int64(parser.MaxSitemapLocs - cfg.Scope.MaxPagesPerHost); counts.Trapped < want {
		t.Errorf("trapped %d; want the locs over the page budget, at least %d", counts.Trapped, want)
	}
}

// A sitemap listed twice, in two spellings, and again when robots.txt is
// read once more (from the store, as a new seed forgets the host's rules),
// is fetched once.
func TestSitemapFetchedOnceAcrossRefreshes(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("refresh")
	h.robots("User-agent: *\nAllow: /\nSitemap: " + h.url("/s.xml") + "\nSitemap: /./s.xml#again\n")
	h.html("/", "home")
	h.html("/later", "later")
	h.serve("/s.xml", "application/xml", sitemapBody(parser.SitemapURLSet, h.url("/p")))
	h.html("/p", "listed")
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Scope.FollowSitemaps = true
	db, e, stop := startStored(t, cfg, h.url("/"))
	waitFor(t, "the listed page stored", func() bool { return stored(db, h.url("/p")) != nil })
	// A new seed on the host forgets its robots.txt: it is read again.
	if _, err := e.AddSeeds(context.Background(), []string{h.url("/later")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new seed stored", func() bool { return stored(db, h.url("/later")) != nil })
	// Queued again, /s.xml would be queued before /later is stored.
	waitFor(t, "the crawl idle", e.Queue().Idle)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := h.count("/robots.txt"); n != 1 {
		t.Errorf("robots.txt requested %d times, want once (then read from the store)", n)
	}
	if n := h.count("/s.xml"); n != 1 {
		t.Errorf("/s.xml requested %d times, want once", n)
	}
}

// Turning scope.follow_sitemaps on by a reload reads robots.txt again (the
// stored copy) on the next URL of each host, so the sitemaps of a crawl
// under way are queued without waiting a day for robots.txt's refresh. (A
// reload forgets the seeds' hosts' robots.txt anyway; h is not one.)
func TestReloadFollowSitemapsOn(t *testing.T) {
	site := newHostileSite(t)
	seed, h := site.host("reload-seed"), site.host("reload-sitemaps")
	h.robots("User-agent: *\nAllow: /\nSitemap: /s.xml\n")
	var links []string
	for i := range 40 {
		links = append(links, h.url(fmt.Sprintf("/l/%d", i)))
		h.html(fmt.Sprintf("/l/%d", i), "linked")
	}
	seed.html("/", "home", links...)
	h.serve("/s.xml", "application/xml", sitemapBody(parser.SitemapURLSet, h.url("/p")))
	h.html("/p", "listed")
	cfg := hostileConfig(t, []string{seed.url("/")}, site.addrs())
	cfg.Fetch.PerHostDelay = 50 * time.Millisecond
	db, e, stop := startStored(t, cfg, seed.url("/"))
	defer stop()
	waitFor(t, "a page of h stored", func() bool { return stored(db, h.url("/l/0")) != nil })
	if n := h.count("/s.xml"); n != 0 {
		t.Fatalf("/s.xml requested with follow_sitemaps off")
	}
	next := *e.Config()
	next.Scope.FollowSitemaps = true
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sitemap's page stored after the reload", func() bool { return stored(db, h.url("/p")) != nil })
	if n := h.count("/robots.txt"); n != 1 {
		t.Errorf("robots.txt requested %d times, want once (after the reload it is read from the store)", n)
	}
}

// The protocol's other formats: a text sitemap (plain and gzipped) and
// an RSS feed that robots.txt lists, and an Atom feed a sitemap index
// lists, bring their pages in at the seed's links' depth. A text file
// that only a page links to is a file, not a sitemap: its URLs are not
// followed.
func TestTextSitemapsAndFeeds(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("formats")
	h.robots("User-agent: *\nDisallow: /private/\n" +
		"Sitemap: /urls.txt\nSitemap: /urls.txt.gz\nSitemap: /feed.rss\nSitemap: /index.xml\n")
	h.html("/", "home", "/notes.txt")
	h.serve("/urls.txt", "text/plain; charset=utf-8", []byte(h.url("/t/1")+"\r\n\nnot a URL\n"+h.url("/t/2")+"\n"+h.url("/private/t")+"\n"))
	h.serve("/urls.txt.gz", "application/gzip", gzipOf(t, []byte(h.url("/t/3")+"\n")))
	h.serve("/feed.rss", "application/rss+xml", []byte(`<?xml version="1.0"?><rss version="2.0"><channel><link>`+h.url("/")+
		`</link><item><link>`+h.url("/r/1")+`</link></item></channel></rss>`))
	h.serve("/index.xml", "application/xml", sitemapBody(parser.SitemapIndex, h.url("/atom.xml")))
	h.serve("/atom.xml", "application/atom+xml", []byte(`<feed xmlns="http://www.w3.org/2005/Atom"><link rel="self" href="/atom.xml"/>`+
		`<entry><link href="/a/1"/><link rel="edit" href="/edit/1"/></entry></feed>`))
	h.serve("/notes.txt", "text/plain", []byte(h.url("/n/1")+"\n"))
	for _, p := range []string{"/t/1", "/t/2", "/t/3", "/r/1", "/a/1", "/n/1"} {
		h.html(p, p, p+"/child")
	}
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Scope.MaxDepth = 1
	cfg.Scope.FollowSitemaps = true
	db := crawlToIdle(t, cfg)

	for _, p := range []string{"/t/1", "/t/2", "/t/3", "/r/1", "/a/1"} {
		o := lookup(t, db, h.url(p))
		if o.state != frontier.StateDone || o.page == nil || o.page.Status != 200 || o.page.Depth != 1 {
			t.Errorf("%s: state %v, record %+v; want done, 200, depth 1", p, o.state, o.page)
		}
		if n := h.count(p + "/child"); n != 0 {
			t.Errorf("%s/child requested %d times; it is 2 hops deep", p, n)
		}
	}
	for _, tc := range []struct {
		path, kind string
		outlinks   int
	}{
		{"/urls.txt", parser.SitemapText, 3}, {"/urls.txt.gz", parser.SitemapText, 1},
		{"/feed.rss", parser.SitemapRSS, 1}, {"/atom.xml", parser.SitemapAtom, 1},
	} {
		p := page(t, db, h.url(tc.path))
		if p.Extra["sitemap"] != tc.kind || p.Outlinks != tc.outlinks || p.Error != "" {
			t.Errorf("%s: sitemap %q, outlinks %d, error %q; want %q, %d, none", tc.path, p.Extra["sitemap"], p.Outlinks, p.Error, tc.kind, tc.outlinks)
		}
	}
	if p := page(t, db, h.url("/urls.txt")); p.Extra["links_dropped"] != "1" {
		t.Errorf("/urls.txt: links_dropped %q; want the line that is not a URL", p.Extra["links_dropped"])
	}
	if n := h.count("/private/t"); n != 0 {
		t.Errorf("/private/t, under Disallow, requested %d times", n)
	}
	if p := page(t, db, h.url("/notes.txt")); p.Extra["sitemap"] != "" || h.count("/n/1") != 0 {
		t.Errorf("/notes.txt, linked from a page: sitemap %q, /n/1 requested %d times; want a plain file", p.Extra["sitemap"], h.count("/n/1"))
	}
}

// With recrawl on, a urlset's locs whose <lastmod> is after their stored
// page's fetch are marked for refresh, keeping the page's parent and
// depth, unless that fetch is under recrawl.min_interval old; the
// others, and every loc with recrawl off, are plain links.
func TestSitemapLastmodRefreshesChangedPages(t *testing.T) {
	cfg := testConfig(t, "http://a.test/")
	cfg.Scope.AllowedHosts = []string{"a.test"}
	cfg.Scope.FollowSitemaps = true
	cfg.Recrawl.Interval = time.Hour
	db, e := newEngine(t, cfg)
	defer e.Close()
	now := time.Now()
	putFetched(t, db, now.Add(-48*time.Hour), "http://a.test/changed", "http://a.test/same")
	putFetched(t, db, now.Add(-10*time.Minute), "http://a.test/recent") // under min_interval (1h)
	day := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	body := `<urlset>
<url><loc>http://a.test/changed</loc><lastmod>` + day(-24*time.Hour) + `</lastmod></url>
<url><loc>http://a.test/same</loc><lastmod>` + day(-72*time.Hour) + `</lastmod></url>
<url><loc>http://a.test/new</loc><lastmod>` + day(-24*time.Hour) + `</lastmod></url>
<url><loc>http://a.test/recent</loc><lastmod>` + day(-time.Minute) + `</lastmod></url>
</urlset>`
	sitemap := func() *frontier.Completion {
		return readSitemap(t, e, "http://a.test/sitemap.xml", "http://a.test/robots.txt", body)
	}
	c := sitemap()
	got := linksByURL(c)
	if l := got["http://a.test/changed"]; !l.Refresh || l.Depth != 2 || l.Parent != "http://a.test/" {
		t.Errorf("changed page: %+v; want a refresh at its stored depth and parent", l)
	}
	if got["http://a.test/same"].Refresh || got["http://a.test/new"].Refresh || got["http://a.test/recent"].Refresh || len(got) != 4 {
		t.Errorf("links %+v; want only the changed page refreshed", c.Links)
	}
	if c.Page.Extra["sitemap_changed"] != "1" {
		t.Errorf("extra.sitemap_changed = %q; want 1", c.Page.Extra["sitemap_changed"])
	}

	next := *cfg
	next.Recrawl.Interval = 0
	if err := e.Reload(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	for _, l := range sitemap().Links {
		if l.Refresh {
			t.Errorf("recrawl off: %s marked for refresh", l.URL)
		}
	}
}

// putFetched stores a done page record for each of urls: status 200,
// fetched at at, at depth 2 with http://a.test/ as its parent.
func putFetched(t *testing.T, db *store.DB, at time.Time, urls ...string) {
	t.Helper()
	var ps []*store.Page
	for _, u := range urls {
		ps = append(ps, &store.Page{URL: u, Status: 200, FetchedAt: at, Depth: 2, Parent: "http://a.test/"})
	}
	putPages(t, db, ps...)
}

// putPages stores ps.
func putPages(t *testing.T, db *store.DB, ps ...*store.Page) {
	t.Helper()
	err := db.Update(func(tx *store.Tx) error {
		for _, p := range ps {
			if err := tx.PutPage(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readSitemap runs processSitemap on body fetched as the XML sitemap
// sitemapURL, at depth 1 with parent as its lister ("": none), and
// returns the completion.
func readSitemap(t *testing.T, e *Engine, sitemapURL, parent, body string) *frontier.Completion {
	t.Helper()
	u, err := url.Parse(sitemapURL)
	if err != nil {
		t.Fatal(err)
	}
	it := &frontier.Item{URL: u.String(), Host: u.Host, Depth: 1, Parent: parent}
	c := &frontier.Completion{Item: it, Page: &store.Page{URL: it.URL}}
	f := &fetched{item: it, url: u, resp: &fetcher.Response{Status: 200, ContentType: "application/xml", Body: []byte(body)}}
	if !e.processSitemap(c, f) {
		t.Fatal("not read as a sitemap")
	}
	return c
}

// linksByURL maps c's links by URL.
func linksByURL(c *frontier.Completion) map[string]frontier.Link {
	got := map[string]frontier.Link{}
	for _, l := range c.Links {
		got[l.URL] = l
	}
	return got
}

// A urlset entry's <lastmod> dates its <loc>, not the hreflang
// alternate that follows it; the alternate's own entry, later, dates the
// alternate. So the changed English page is refreshed and the German
// one, unchanged since its fetch, is not.
func TestSitemapLastmodDatesLocNotAlternate(t *testing.T) {
	cfg := testConfig(t, "http://a.test/")
	cfg.Scope.AllowedHosts = []string{"a.test"}
	cfg.Scope.FollowSitemaps, cfg.Recrawl.Interval = true, time.Hour
	db, e := newEngine(t, cfg)
	defer e.Close()
	now := time.Now()
	putFetched(t, db, now.Add(-48*time.Hour), "http://a.test/en/page", "http://a.test/de/page")
	body := `<urlset xmlns:xhtml="http://www.w3.org/1999/xhtml">
<url><loc>http://a.test/en/page</loc>
<xhtml:link rel="alternate" hreflang="de" href="http://a.test/de/page"/>
<lastmod>` + now.Add(-24*time.Hour).UTC().Format(time.RFC3339) + `</lastmod></url>
<url><loc>http://a.test/de/page</loc><lastmod>` + now.Add(-72*time.Hour).UTC().Format(time.RFC3339) + `</lastmod></url>
</urlset>`
	c := readSitemap(t, e, "http://a.test/sitemap.xml", "http://a.test/robots.txt", body)
	got := linksByURL(c)
	if !got["http://a.test/en/page"].Refresh {
		t.Errorf("en/page, dated after its fetch: %+v; want a refresh", got["http://a.test/en/page"])
	}
	if got["http://a.test/de/page"].Refresh {
		t.Errorf("de/page, dated before its fetch: %+v; want a plain link", got["http://a.test/de/page"])
	}
	if c.Page.Extra["sitemap_changed"] != "1" {
		t.Errorf("extra.sitemap_changed = %q; want 1", c.Page.Extra["sitemap_changed"])
	}
}

// A sitemap's <lastmod> refreshes only pages on its own origin, or on
// the origin whose robots.txt listed it, itself or through an index
// (cross-submission, sitemaps.org): a sitemap on b.test that a link, a
// seed or b.test's robots.txt led to cannot bring a.test's pages back.
// Its locs on a.test are still plain links.
func TestSitemapLastmodOtherHost(t *testing.T) {
	cfg := testConfig(t, "http://a.test/")
	cfg.Scope.AllowedHosts = []string{"a.test", "b.test"}
	cfg.Scope.FollowSitemaps, cfg.Recrawl.Interval = true, time.Hour
	db, e := newEngine(t, cfg)
	defer e.Close()
	now := time.Now()
	putFetched(t, db, now.Add(-48*time.Hour), "http://a.test/page", "http://b.test/page")
	index := func(u, parent string) *store.Page {
		return &store.Page{URL: u, Status: 200, FetchedAt: now, Depth: 1, Parent: parent,
			Extra: map[string]string{"sitemap": parser.SitemapIndex, "sitemap_listed_by": listedByRobots}}
	}
	putPages(t, db, index("http://b.test/index-a.xml", "http://a.test/robots.txt"),
		index("http://b.test/index-b.xml", "http://b.test/robots.txt"),
		// An index that a.test's robots.txt listed through a redirect.
		index("http://b.test/index-moved.xml", "http://b.test/moved.xml"),
		&store.Page{URL: "http://b.test/moved.xml", Status: 301, FetchedAt: now, Depth: 1, Parent: "http://a.test/robots.txt",
			RedirectTo: "http://b.test/index-moved.xml"})
	stamp := now.UTC().Format(time.RFC3339)
	body := `<urlset>
<url><loc>http://a.test/page</loc><lastmod>` + stamp + `</lastmod></url>
<url><loc>http://b.test/page</loc><lastmod>` + stamp + `</lastmod></url>
</urlset>`
	for _, tc := range []struct {
		parent string // the sitemap's lister
		aToo   bool   // a.test's page may be refreshed
	}{
		{"http://b.test/robots.txt", false},
		{"http://b.test/", false},
		{"", false},
		{"http://b.test/index-b.xml", false},
		{"http://a.test/robots.txt", true},
		{"http://b.test/index-a.xml", true},
		{"http://b.test/index-moved.xml", true},
	} {
		got := linksByURL(readSitemap(t, e, "http://b.test/sitemap.xml", tc.parent, body))
		a, ok := got["http://a.test/page"]
		if !ok || a.Refresh != tc.aToo {
			t.Errorf("listed by %q: a.test/page %+v (listed %v); want a link, refresh %v", tc.parent, a, ok, tc.aToo)
		}
		if !got["http://b.test/page"].Refresh {
			t.Errorf("listed by %q: b.test/page %+v; want a refresh (the sitemap's own host)", tc.parent, got["http://b.test/page"])
		}
	}
}
