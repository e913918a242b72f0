package crawl

import (
	"bytes"
	"strings"
	"testing"

	"crawler/frontier"
	"crawler/parser"
)

// gzipFilled is a gzip body: head, then n MiB of fill bytes, then tail,
// each a member of its own (gzip readers decode concatenated members as
// one stream). A MiB of one byte is about 1 KiB on the wire.
func gzipFilled(t *testing.T, head string, fill byte, n int, tail string) []byte {
	t.Helper()
	mib := gzipOf(t, bytes.Repeat([]byte{fill}, 1<<20))
	out := gzipOf(t, []byte(head))
	out = append(out, bytes.Repeat(mib, n)...)
	return append(out, gzipOf(t, []byte(tail))...)
}

// Sitemaps that attack the parser: gzip bombs expanding far past the
// protocol's 50 MiB, malformed XML, a sitemap served as HTML, XML that is
// no sitemap. Each is read as far as it is sound and bounded; what
// stopped it is noted in its record, which is stored as done; the locs
// before it are crawled, and so is the rest of the site.
func TestHostileSitemaps(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("hostile-sitemaps")
	h.html("/", "home")
	h.robots("User-agent: *\nAllow: /\n" +
		"Sitemap: /spaces.xml.gz\nSitemap: /zeros.xml.gz\nSitemap: /broken.xml\n" +
		"Sitemap: /as-html.xml\nSitemap: /feed.xml\nSitemap: /fine.xml\n")
	entry := func(path string) string { return "<url><loc>" + h.url(path) + "</loc></url>" }

	// 64 MiB of whitespace between two entries: one XML text token, cut
	// at 1 MiB.
	spaces := gzipFilled(t, "<urlset>"+entry("/spaces/before"), ' ', 64, entry("/spaces/after")+"</urlset>")
	// The classic bomb, 64 MiB of NUL bytes: not XML, the read stops at
	// the first.
	zeros := gzipFilled(t, "<urlset>"+entry("/zeros/before"), 0, 64, entry("/zeros/after")+"</urlset>")
	if len(spaces) > 128<<10 || len(zeros) > 128<<10 {
		t.Fatalf("bombs of %d and %d bytes: not tiny", len(spaces), len(zeros))
	}
	h.serve("/spaces.xml.gz", "application/x-gzip", spaces)
	h.serve("/zeros.xml.gz", "application/gzip", zeros)
	h.serve("/broken.xml", "application/xml",
		[]byte("<urlset>"+entry("/broken/1")+entry("/broken/2")+"<url><loc>"+h.url("/broken/3")))
	h.serve("/as-html.xml", "text/html", sitemapBody(parser.SitemapURLSet, h.url("/html/1")))
	h.serve("/feed.xml", "application/xml",
		[]byte(`<?xml version="1.0"?><rss><channel><item><link>`+h.url("/feed/1")+`</link></item></channel></rss>`))
	h.serve("/fine.xml", "application/xml", sitemapBody(parser.SitemapURLSet, h.url("/fine/1")))
	for _, p := range []string{"/spaces/before", "/zeros/before", "/broken/1", "/broken/2", "/html/1", "/fine/1", "/feed/1"} {
		h.html(p, p)
	}
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Scope.FollowSitemaps = true
	db := crawlToIdle(t, cfg)

	for _, tc := range []struct {
		path     string
		outlinks int
		err      string // in extra.sitemap_error; "" for none
	}{
		{"/spaces.xml.gz", 1, "XML token over 1 MiB"},
		{"/zeros.xml.gz", 1, "illegal character"},
		{"/broken.xml", 2, "unexpected EOF"},
		{"/as-html.xml", 1, ""},
		{"/fine.xml", 1, ""},
	} {
		o := lookup(t, db, h.url(tc.path))
		p := o.page
		if o.state != frontier.StateDone || p == nil || p.Status != 200 || p.Error != "" {
			t.Errorf("%s: state %v, record %+v; want done, 200, no error", tc.path, o.state, p)
			continue
		}
		if p.Extra["sitemap"] != parser.SitemapURLSet || p.Outlinks != tc.outlinks ||
			(tc.err == "") != (p.Extra["sitemap_error"] == "") || !strings.Contains(p.Extra["sitemap_error"], tc.err) {
			t.Errorf("%s: sitemap %q, outlinks %d, sitemap_error %q; want urlset, %d, %q",
				tc.path, p.Extra["sitemap"], p.Outlinks, p.Extra["sitemap_error"], tc.outlinks, tc.err)
		}
	}
	for _, path := range []string{"/spaces/before", "/zeros/before", "/broken/1", "/broken/2", "/html/1", "/fine/1"} {
		if o := lookup(t, db, h.url(path)); o.state != frontier.StateDone || o.page == nil || o.page.Status != 200 {
			t.Errorf("%s, listed before what stopped its sitemap: state %v; want done, 200", path, o.state)
		}
	}
	for _, path := range []string{"/spaces/after", "/zeros/after", "/broken/3"} {
		if n := h.count(path); n != 0 {
			t.Errorf("%s requested %d times; its sitemap never got to it", path, n)
		}
	}
	// The protocol takes feeds as sitemaps (TestTextSitemapsAndFeeds).
	if p := page(t, db, h.url("/feed.xml")); p.Outlinks != 1 || p.Extra["sitemap"] != parser.SitemapRSS || h.count("/feed/1") != 1 {
		t.Errorf("an RSS feed: outlinks %d, extra %v, its item requested %d times; want an rss sitemap listing it",
			p.Outlinks, p.Extra, h.count("/feed/1"))
	}
}
