package parser

import (
	"strings"
	"testing"
	"time"
)

// RSS 2.0 and 1.0 feeds list their items' links, Atom feeds their
// entries' alternate links; the feed's own links are not locs.
func TestParseSitemapFeeds(t *testing.T) {
	rss2 := `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://example.com/</link>
<item><title>a</title><link>https://example.com/a</link><guid>https://example.com/a#guid</guid></item>
<item><link> /b </link></item>
<item><title>no link</title></item>
<item><link>https://example.com/a</link></item>
</channel></rss>`
	checkSitemap(t, parseSitemap(t, rss2, SitemapOptions{}), SitemapRSS, 0, "https://example.com/a", "https://example.com/b")

	rss1 := `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel><link>https://example.com/</link></channel>
<item rdf:about="https://example.com/x"><link>https://example.com/x</link></item></rdf:RDF>`
	checkSitemap(t, parseSitemap(t, rss1, SitemapOptions{}), SitemapRSS, 0, "https://example.com/x")

	atom := `<feed xmlns="http://www.w3.org/2005/Atom"><link rel="self" href="/feed"/><link href="/"/>
<entry><link href="https://example.com/e1"/><link rel="edit" href="/edit/1"/><link rel="enclosure" href="/e1.mp3"/></entry>
<entry><link rel=" alternate " href="/e2"/></entry>
<entry><title>none</title></entry></feed>`
	checkSitemap(t, parseSitemap(t, atom, SitemapOptions{}), SitemapAtom, 0, "https://example.com/e1", "https://example.com/e2")

	for _, tc := range []struct{ ct, body string }{
		{"application/rss+xml", "x"}, {"application/atom+xml", "x"}, {"", "<rss version='2.0'>"}, {"text/html", "<atom:feed>"},
	} {
		if !SitemapCandidate(tc.ct, []byte(tc.body)) {
			t.Errorf("SitemapCandidate(%q, %q) = false; want a feed to be a candidate", tc.ct, tc.body)
		}
	}
}

// A text sitemap is read only when the file was listed as a sitemap
// (Text): each line an absolute http(s) URL, anything else dropped.
func TestParseSitemapText(t *testing.T) {
	body := "\uFEFFhttps://example.com/a\r\n\n   https://example.com/b  \nSitemap of example.com\n/relative\nftp://example.com/f\n" +
		"HTTPS://EXAMPLE.COM/c\nhttps://example.com/\xff\nhttps://example.com/a\nhttps://example.com/" + strings.Repeat("x", 5000) + "\nhttps://example.com/last"
	want := []string{"https://example.com/a", "https://example.com/b", "https://example.com/c", "https://example.com/last"}
	// Dropped: the prose, the relative URL, the ftp one, the non-UTF-8
	// one, the too long one.
	checkSitemap(t, parseSitemap(t, body, SitemapOptions{Text: true}), SitemapText, 5, want...)

	gz := ParseSitemap(gzipped(t, []byte(body)), mustURL(t, sitemapURL), SitemapOptions{Text: true})
	checkSitemap(t, gz, SitemapText, 5, want...)
	if !gz.Gzip {
		t.Error("a gzipped text sitemap: Gzip = false")
	}

	// Not listed as a sitemap: a text file is none.
	checkSitemap(t, parseSitemap(t, body, SitemapOptions{}), "", 0)
	// Listed, but XML (or HTML): read as XML.
	checkSitemap(t, parseSitemap(t, "  \n"+urlset("https://example.com/x"), SitemapOptions{Text: true}), SitemapURLSet, 0, "https://example.com/x")
	checkSitemap(t, parseSitemap(t, "<!doctype html><p>https://example.com/x</p>", SitemapOptions{Text: true}), "", 0)
	checkSitemap(t, parseSitemap(t, " \n\t", SitemapOptions{Text: true}), "", 0)

	// Its caps are the XML ones: MaxLocs, and MaxBytes, where a cut line
	// is not taken.
	checkSitemap(t, parseSitemap(t, "https://example.com/1\nhttps://example.com/2\nhttps://example.com/3\n", SitemapOptions{Text: true, MaxLocs: 2}),
		SitemapText, 1, "https://example.com/1", "https://example.com/2")
	cut := parseSitemap(t, "https://example.com/1\nhttps://example.com/22222", SitemapOptions{Text: true, MaxBytes: 40})
	checkSitemap(t, cut, SitemapText, 0, "https://example.com/1")
	if cut.Err == nil {
		t.Error("a text sitemap over MaxBytes: no error")
	}

	for _, tc := range []struct {
		ct, body string
		want     bool
	}{
		{"text/plain; charset=utf-8", "https://example.com/", true},
		{"application/octet-stream", "\x1f\x8b\x08", true},
		{"text/html", "https://example.com/", false},
	} {
		if got := TextSitemapCandidate(tc.ct, []byte(tc.body)); got != tc.want {
			t.Errorf("TextSitemapCandidate(%q, %q) = %v; want %v", tc.ct, tc.body, got, tc.want)
		}
	}
}

// A urlset entry's <lastmod> is kept for its loc, in each W3C datetime
// form the protocol allows, before or after the <loc>; one that does not
// parse, or belongs to a loc not kept, is not.
func TestParseSitemapLastmod(t *testing.T) {
	body := `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://example.com/a</loc><lastmod>2026-11-20</lastmod></url>
<url><lastmod> 2026-11-21T10:30:00+01:00 </lastmod><loc>https://example.com/b</loc></url>
<url><loc>https://example.com/c</loc><lastmod>2026-11-21T10:30Z</lastmod></url>
<url><loc>https://example.com/d</loc><lastmod>yesterday</lastmod></url>
<url><loc>https://example.com/e</loc></url>
<url><loc>https://example.com/a</loc><lastmod>2030-01-01</lastmod></url>
<url><loc>ftp://example.com/f</loc><lastmod>2026-11-20</lastmod></url>
</urlset>`
	sm := parseSitemap(t, body, SitemapOptions{})
	want := map[string]time.Time{
		"https://example.com/a": time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"https://example.com/b": time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC),
		"https://example.com/c": time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC),
	}
	checkLastmod(t, sm, want)
	for _, s := range []string{"2026", "2026-11", "2026-11-21T10:30:00.5-05:00"} {
		if _, ok := parseW3CDatetime(s); !ok {
			t.Errorf("parseW3CDatetime(%q) failed", s)
		}
	}
	if sm := parseSitemap(t, `<sitemapindex><sitemap><loc>https://example.com/s.xml</loc><lastmod>2026-11-20</lastmod></sitemap></sitemapindex>`, SitemapOptions{}); sm.Lastmod != nil {
		t.Errorf("an index's lastmod kept: %v; only pages are refreshed", sm.Lastmod)
	}

	// Feeds: an RSS item's pubDate, an Atom entry's updated.
	rss := `<rss><channel><pubDate>Sat, 21 Nov 2026 08:00:00 GMT</pubDate>
<item><link>https://example.com/r1</link><pubDate>Sat, 21 Nov 2026 10:30:00 +0100</pubDate></item>
<item><pubDate>Fri, 20 Nov 2026 10:30:00 GMT</pubDate><link>https://example.com/r2</link></item>
<item><link>https://example.com/r3</link></item></channel></rss>`
	sm = parseSitemap(t, rss, SitemapOptions{})
	if len(sm.Lastmod) != 2 || !sm.Lastmod["https://example.com/r1"].Equal(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)) ||
		!sm.Lastmod["https://example.com/r2"].Equal(time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("RSS Lastmod = %v; want r1 and r2's pubDate", sm.Lastmod)
	}
	atom := `<feed><updated>2026-11-21T00:00:00Z</updated><entry><updated>2026-11-21T12:00:00Z</updated><link href="https://example.com/e1"/></entry></feed>`
	sm = parseSitemap(t, atom, SitemapOptions{})
	if len(sm.Lastmod) != 1 || !sm.Lastmod["https://example.com/e1"].Equal(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("Atom Lastmod = %v; want e1's updated", sm.Lastmod)
	}
}

// A urlset entry's <lastmod> dates its <loc> only, never its hreflang
// alternates, wherever they stand in the entry; and an alternate's own
// entry, later, dates it though it is already a loc. Each entry here
// lists every language's version, itself too, as Google asks.
func TestParseSitemapLastmodNotAlternate(t *testing.T) {
	body := `<urlset xmlns:xhtml="http://www.w3.org/1999/xhtml">
<url><loc>https://example.com/en/page</loc>
<xhtml:link rel="alternate" hreflang="en" href="https://example.com/en/page"/>
<xhtml:link rel="alternate" hreflang="de" href="https://example.com/de/page"/>
<lastmod>2026-11-20</lastmod></url>
<url><lastmod>2026-11-01</lastmod><loc>https://example.com/de/page</loc>
<xhtml:link rel="alternate" hreflang="en" href="https://example.com/en/page"/>
<xhtml:link rel="alternate" hreflang="fr" href="https://example.com/fr/page"/></url>
</urlset>`
	sm := parseSitemap(t, body, SitemapOptions{})
	want := map[string]time.Time{
		"https://example.com/en/page": time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"https://example.com/de/page": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	}
	checkLastmod(t, sm, want) // fr/page, only an alternate, has none
	if len(sm.Locs) != 3 {
		t.Errorf("Locs = %v; want en, de and fr", sm.Locs)
	}
}

// checkLastmod checks that sm dates exactly the locs of want, as want
// says.
func checkLastmod(t *testing.T, sm *Sitemap, want map[string]time.Time) {
	t.Helper()
	if len(sm.Lastmod) != len(want) {
		t.Errorf("Lastmod = %v; want %v", sm.Lastmod, want)
	}
	for u, w := range want {
		if got, ok := sm.Lastmod[u]; !ok || !got.Equal(w) {
			t.Errorf("Lastmod[%s] = %v, %v; want %v", u, got, ok, w)
		}
	}
}
