package parser

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"crawler/internal/urlnorm"
)

const sitemapURL = "https://example.com/sitemap.xml"

func parseSitemap(t testing.TB, body string, opts SitemapOptions) *Sitemap {
	t.Helper()
	return ParseSitemap([]byte(body), mustURL(t, sitemapURL), opts)
}

// gzipped compresses data as one gzip member.
func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// urlset returns a urlset listing locs, one <url> each.
func urlset(locs ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	for _, l := range locs {
		fmt.Fprintf(&b, "  <url><loc>%s</loc></url>\n", l)
	}
	b.WriteString("</urlset>\n")
	return b.String()
}

func checkSitemap(t *testing.T, sm *Sitemap, kind string, dropped int, locs ...string) {
	t.Helper()
	if sm.Kind != kind {
		t.Errorf("Kind = %q, want %q", sm.Kind, kind)
	}
	if len(locs) == 0 {
		locs = nil
	}
	if !slices.Equal(sm.Locs, locs) {
		t.Errorf("Locs =\n  %q\nwant\n  %q", sm.Locs, locs)
	}
	if sm.Dropped != dropped {
		t.Errorf("Dropped = %d, want %d", sm.Dropped, dropped)
	}
}

func TestParseSitemapURLSet(t *testing.T) {
	body := "\uFEFF" + `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated -->
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
        xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <url>
    <loc>
      https://example.com/a
    </loc>
    <lastmod>2024-01-01</lastmod>
    <image:image><image:loc>https://example.com/img.png</image:loc></image:image>
    <xhtml:link rel="alternate" hreflang="de" href="https://example.com/de/a"/>
    <xhtml:link rel="alternate" hreflang="en" href="https://example.com/a"/>
    <xhtml:link href="https://example.com/no-rel"/>
    <xhtml:link rel="canonical" href="https://example.com/canonical"/>
  </url>
  <url><loc><![CDATA[https://example.com/b?x=1&y=2]]></loc></url>
  <url><loc>https://example.com/c?x=1&amp;y=2</loc></url>
  <url><loc>https://EXAMPLE.com:443/a</loc></url>
  <url><loc>https://example.com/d<!-- split -->e</loc></url>
  <url><loc>ftp://example.com/f</loc></url>
  <url><loc>mailto:someone@example.com</loc></url>
  <url><loc>/relative</loc></url>
  <url><loc>http://[bad</loc></url>
  <url><loc></loc></url>
  <url><priority>0.5</priority></url>
  <loc>https://example.com/not-in-a-url</loc>
  <url><url><loc>https://example.com/too-deep</loc></url></url>
</urlset>
`
	sm := parseSitemap(t, body, SitemapOptions{})
	if sm.Err != nil {
		t.Errorf("Err = %v", sm.Err)
	}
	if sm.Gzip {
		t.Error("Gzip = true for a plain body")
	}
	// hreflang alternates are locs; other links of a <url> are not.
	checkSitemap(t, sm, SitemapURLSet, 1,
		"https://example.com/a",
		"https://example.com/de/a",
		"https://example.com/b?x=1&y=2",
		"https://example.com/c?x=1&y=2",
		"https://example.com/de",
		"https://example.com/relative")
}

func TestParseSitemapIndex(t *testing.T) {
	body := `<?xml version="1.0" encoding="UTF-8"?>
<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sm:sitemap><sm:loc>https://example.com/s1.xml</sm:loc><sm:lastmod>2024-01-01</sm:lastmod></sm:sitemap>
  <sm:sitemap>
    <sm:loc>https://example.com/s2.xml.gz</sm:loc>
  </sm:sitemap>
  <sm:url><sm:loc>https://example.com/a-page-in-an-index</sm:loc></sm:url>
</sm:sitemapindex>`
	sm := parseSitemap(t, body, SitemapOptions{})
	if sm.Err != nil {
		t.Errorf("Err = %v", sm.Err)
	}
	checkSitemap(t, sm, SitemapIndex, 0, "https://example.com/s1.xml", "https://example.com/s2.xml.gz")
}

// Without the protocol's namespace, or in another case of the XML
// declaration, a sitemap is still read: servers get these wrong.
func TestParseSitemapLenient(t *testing.T) {
	for _, body := range []string{
		`<urlset><url><loc>https://example.com/a</loc></url></urlset>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><urlset><url><loc>https://example.com/a</loc></url></urlset>`,
		`<?xml version="1.0" encoding="us-ascii"?><urlset><url><loc>https://example.com/a</loc></url></urlset>`,
		"<urlset>\n\t<url>\n\t\t<loc>\n\t\t\thttps://example.com/a\n\t\t</loc>\n\t</url>\n</urlset>",
		// Unescaped '&' and an unknown entity: lenient parsing keeps them.
		`<urlset><url><loc>https://example.com/a</loc></url><url><loc>https://example.com/b?x&y=&nbsp;</loc></url></urlset>`,
		// An end tag that closes the wrong element.
		`<urlset><url><loc>https://example.com/a</loc></lastmod></url></urlset>`,
	} {
		sm := parseSitemap(t, body, SitemapOptions{})
		if sm.Kind != SitemapURLSet || len(sm.Locs) == 0 || sm.Locs[0] != "https://example.com/a" {
			t.Errorf("ParseSitemap(%q) = %+v; want a urlset starting with https://example.com/a", body, sm)
		}
	}
}

func TestParseSitemapNotASitemap(t *testing.T) {
	for _, body := range []string{
		``,
		`<?xml version="1.0"?><rdf version="2.0"><channel><item><link>https://example.com/a</link></item></channel></rdf>`,
		`<!doctype html><html><body><a href="/x">x</a></body></html>`,
		`<html><urlset><url><loc>https://example.com/a</loc></url></urlset></html>`,
		"\x1f\x8b\x08\x00garbage that is not deflate",
		"\x00\x01\x02 binary",
		`not xml at all`,
	} {
		sm := parseSitemap(t, body, SitemapOptions{})
		if sm.Kind != "" || len(sm.Locs) != 0 {
			t.Errorf("ParseSitemap(%q) = %+v; want no kind and no locs", body, sm)
		}
	}
}

// Malformed XML yields the locs before the error and the error.
func TestParseSitemapMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		locs       int
	}{
		{"truncated", strings.TrimSuffix(urlset("https://example.com/1", "https://example.com/2"), "</urlset>\n"), 2},
		{"garbage after locs", `<urlset><url><loc>https://example.com/1</loc></url><url><loc>https://example.com/2</loc></url><<<>>>`, 2},
		{"unterminated loc", `<urlset><url><loc>https://example.com/1</loc></url><url><loc>https://example.com/2`, 1},
		{"invalid UTF-8", "<urlset><url><loc>https://example.com/1</loc></url><url><loc>https://example.com/\xff</loc></url></urlset>", 1},
		{"bad CDATA", `<urlset><url><loc>https://example.com/1</loc></url><url><loc><![CDATA[https://example.com/2</loc></url></urlset>`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sm := parseSitemap(t, tc.body, SitemapOptions{})
			if sm.Kind != SitemapURLSet || len(sm.Locs) != tc.locs || sm.Err == nil {
				t.Errorf("ParseSitemap(%q) = %d locs %q, err %v; want %d locs and an error", tc.body, len(sm.Locs), sm.Locs, sm.Err, tc.locs)
			}
		})
	}
}

// A urlset past MaxLocs keeps the first MaxLocs distinct locs and counts
// every further one as dropped (duplicates included: they are not kept
// in memory to be told apart).
func TestParseSitemapLocCap(t *testing.T) {
	sm := parseSitemap(t, urlset("https://example.com/1", "https://example.com/1", "https://example.com/2",
		"https://example.com/3", "https://example.com/4", "https://example.com/4"), SitemapOptions{MaxLocs: 2})
	checkSitemap(t, sm, SitemapURLSet, 3, "https://example.com/1", "https://example.com/2")
	if sm.Err != nil {
		t.Errorf("Err = %v; the cap is no error", sm.Err)
	}
}

// The protocol's limit: 50,000 locs per file, the 50,001st dropped.
func TestParseSitemapProtocolLocCap(t *testing.T) {
	locs := make([]string, MaxSitemapLocs+1)
	for i := range locs {
		locs[i] = fmt.Sprintf("https://example.com/p/%d", i)
	}
	sm := parseSitemap(t, urlset(locs...), SitemapOptions{})
	if len(sm.Locs) != MaxSitemapLocs || sm.Dropped != 1 || sm.Locs[MaxSitemapLocs-1] != locs[MaxSitemapLocs-1] {
		t.Errorf("%d locs: kept %d, dropped %d; want %d and 1", len(locs), len(sm.Locs), sm.Dropped, MaxSitemapLocs)
	}
}

func TestParseSitemapLongLoc(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", 3000)
	// Many CDATA sections add up to one loc: it is cut while read, never
	// held whole.
	cdata := "<![CDATA[https://example.com/]]>" + strings.Repeat("<![CDATA[aaaaaaaaaa]]>", 1<<16)
	sm := parseSitemap(t, urlset("https://example.com/ok", long, cdata, "https://example.com/after"), SitemapOptions{MaxURLLength: 2048})
	checkSitemap(t, sm, SitemapURLSet, 2, "https://example.com/ok", "https://example.com/after")

	kind := SitemapURLSet
	r := &locReader{kind: &kind, layout: sitemapRoots[kind], depth: 2, entry: true, maxLocs: 10, maxLoc: 100}
	r.token(xml.StartElement{Name: xml.Name{Local: "loc"}})
	for range 1000 {
		r.token(xml.CharData("aaaaaaaaaa"))
	}
	if len(r.loc) > 100+locSpace || !r.long {
		t.Errorf("a loc of 10000 bytes, at most %d wanted: %d held, long = %v", 100+locSpace, len(r.loc), r.long)
	}
}

func TestParseSitemapGzip(t *testing.T) {
	body := gzipped(t, []byte(urlset("https://example.com/a", "https://example.com/b")))
	sm := ParseSitemap(body, mustURL(t, sitemapURL+".gz"), SitemapOptions{})
	checkSitemap(t, sm, SitemapURLSet, 0, "https://example.com/a", "https://example.com/b")
	if !sm.Gzip || sm.Err != nil {
		t.Errorf("Gzip = %v, Err = %v; want true, nil", sm.Gzip, sm.Err)
	}

	// Cut short: the locs before the cut, and the error.
	cut := body[:len(body)-12]
	sm = ParseSitemap(cut, mustURL(t, sitemapURL+".gz"), SitemapOptions{})
	if sm.Kind != SitemapURLSet || sm.Err == nil {
		t.Errorf("truncated gzip: %+v; want a urlset with an error", sm)
	}
}

// A gzip bomb is read up to MaxBytes uncompressed, never further: the
// locs up to there are kept and the error says why the rest is not.
func TestParseSitemapGzipBomb(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`<urlset><url><loc>https://example.com/first</loc></url>`)
	entry := []byte(`<url><loc>https://example.com/same</loc></url>`)
	for b.Len() < 4<<20 {
		b.Write(entry)
	}
	b.WriteString(`<url><loc>https://example.com/past-the-cap</loc></url></urlset>`)
	bomb := gzipped(t, b.Bytes())
	sm := ParseSitemap(bomb, mustURL(t, sitemapURL), SitemapOptions{MaxBytes: 1 << 20})
	checkSitemap(t, sm, SitemapURLSet, 0, "https://example.com/first", "https://example.com/same")
	if !errors.Is(sm.Err, ErrSitemapTooLarge) {
		t.Errorf("Err = %v, want ErrSitemapTooLarge", sm.Err)
	}
	// The same cap holds for a plain body.
	sm = ParseSitemap(b.Bytes(), mustURL(t, sitemapURL), SitemapOptions{MaxBytes: 1 << 20})
	if !errors.Is(sm.Err, ErrSitemapTooLarge) || len(sm.Locs) != 2 {
		t.Errorf("plain body over the cap: %d locs, Err = %v", len(sm.Locs), sm.Err)
	}
}

// The zero options are the protocol's limits: a gzip bomb is cut at
// 50 MiB uncompressed (TestParseSitemapGzipBomb reads one with a lower cap,
// which is faster), and 50,000 locs are kept.
func TestSitemapOptionsDefaults(t *testing.T) {
	o := SitemapOptions{}.withDefaults()
	if o.MaxBytes != 50<<20 || o.MaxLocs != 50000 || o.MaxURLLength != DefaultMaxURLLength {
		t.Errorf("defaults %+v", o)
	}
	o = SitemapOptions{MaxBytes: -1, MaxLocs: -1, MaxURLLength: 300}.withDefaults()
	if o.MaxBytes != MaxSitemapBytes || o.MaxLocs != MaxSitemapLocs || o.MaxURLLength != 300 {
		t.Errorf("negative limits: %+v", o)
	}
}

// A single XML token (text, comment, CDATA, a tag) larger than
// maxSitemapToken ends the parse: the decoder would hold it whole.
func TestParseSitemapHugeToken(t *testing.T) {
	for name, filler := range map[string]string{
		"whitespace": strings.Repeat(" ", 2*maxSitemapToken),
		"comment":    "<!--" + strings.Repeat("<>", maxSitemapToken) + "-->",
		"cdata":      "<url><loc><![CDATA[" + strings.Repeat("<>", maxSitemapToken) + "]]></loc></url>",
		"attribute":  `<url a="` + strings.Repeat("x", 2*maxSitemapToken) + `"/>`,
	} {
		t.Run(name, func(t *testing.T) {
			body := `<urlset><url><loc>https://example.com/a</loc></url>` + filler +
				`<url><loc>https://example.com/b</loc></url></urlset>`
			sm := parseSitemap(t, body, SitemapOptions{})
			if !errors.Is(sm.Err, ErrSitemapTokenTooLarge) || !slices.Equal(sm.Locs, []string{"https://example.com/a"}) {
				t.Errorf("locs %q, Err %v; want the first loc and ErrSitemapTokenTooLarge", sm.Locs, sm.Err)
			}
		})
	}
}

func TestSitemapCandidate(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		want     bool
	}{
		{"application/xml", `<rss/>`, true},
		{"text/xml", ``, true},
		{"application/gzip", "\x1f\x8b", true},
		{"application/x-gzip", `<urlset/>`, true},
		{"application/octet-stream", "\x1f\x8b\x08", true},
		{"text/plain", `<?xml version="1.0"?>` + "\n<!-- c -->\n<!DOCTYPE x>\n<urlset xmlns='x'>", true},
		{"", "\uFEFF  <sitemapindex>", true},
		{"text/html", `<sm:urlset xmlns:sm="x">`, true},
		{"text/html", `<!doctype html><html>`, false},
		{"text/plain", `urlset`, false},
		{"text/plain", `<urlsetx>`, false},
		{"application/json", `{"urlset": 1}`, false},
		{"", ``, false},
		{"text/html", `<!-- <urlset> -->`, false},
	} {
		if got := SitemapCandidate(tc.ct, []byte(tc.body)); got != tc.want {
			t.Errorf("SitemapCandidate(%q, %q) = %v, want %v", tc.ct, tc.body, got, tc.want)
		}
	}
}

// checkSitemapResult checks the promises ParseSitemap makes on any input.
func checkSitemapResult(t *testing.T, sm *Sitemap, opts SitemapOptions) {
	t.Helper()
	switch sm.Kind {
	case "":
		if len(sm.Locs) != 0 || sm.Dropped != 0 {
			t.Fatalf("locs without a kind: %+v", sm)
		}
	case SitemapURLSet, SitemapIndex, SitemapRSS, SitemapAtom:
	case SitemapText:
		if !opts.Text {
			t.Fatalf("a text sitemap without SitemapOptions.Text")
		}
	default:
		t.Fatalf("kind %q", sm.Kind)
	}
	max := opts.MaxLocs
	if max <= 0 {
		max = MaxSitemapLocs
	}
	if len(sm.Locs) > max || sm.Dropped < 0 {
		t.Fatalf("%d locs, %d dropped", len(sm.Locs), sm.Dropped)
	}
	seen := map[string]bool{}
	for _, l := range sm.Locs {
		u, err := urlnorm.Parse(l)
		if err != nil || u.String() != l || (u.Scheme != "http" && u.Scheme != "https") || len(l) > DefaultMaxURLLength {
			t.Fatalf("loc %q is not a canonical http(s) URL: %v", l, err)
		}
		if seen[l] {
			t.Fatalf("loc %q twice", l)
		}
		seen[l] = true
	}
	for l := range sm.Lastmod {
		if !seen[l] || sm.Kind == SitemapIndex || sm.Kind == SitemapText {
			t.Fatalf("lastmod of %q, which is not a page loc of this sitemap (kind %q)", l, sm.Kind)
		}
	}
}
