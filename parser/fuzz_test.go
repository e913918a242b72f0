package parser

import (
	"bytes"
	"strings"
	"testing"
)

// hostilePages are seeds of FuzzParse, FuzzNoDOM and FuzzSameAsReference
// that a hostile or broken server sends: nesting past the tree builder's
// 512 open elements (Parse's one error), NUL bytes, invalid UTF-8 in
// names and values, a huge attribute value, byte order marks and declared
// encodings that disagree with the body.
var hostilePages = []struct{ body, contentType string }{
	{strings.Repeat("<div>", 600) + `<title>deep</title><a href="/deep">x</a>`, "text/html"},
	{strings.Repeat("<b><i>", 300) + `<a href=/fmt>x</a>` + strings.Repeat("</p>", 20), ""},
	{strings.Repeat("<table><tr><td>", 100) + `<a href=/cell>c</a>`, ""},
	{strings.Repeat("<svg><g>", 150) + `<a xlink:href="/svg">s</a>`, ""},
	{"<ti\x00tle>t\x00</title><a h\x00ref=/n\x00ul href=/nul\x00>n</a>\x00text", "text/html"},
	{"<a\xff href=\"/\xfe\xff?q=\xc3(\">\xc3(\xed\xa0\x80</a\xff><title>\xf8\x88\x80\x80\x80</title>", "text/html; charset=utf-8"},
	{`<a title="` + strings.Repeat("x&amp;", 4000) + `" href="/after-huge">h</a>`, ""},
	{"\xfe\xff\x00<\x00a\x00 \x00h\x00r\x00e\x00f\x00=\x00/\x00b\x00e\x00>", ""},
	{"\xef\xbb\xbf\xef\xbb\xbf<meta charset=utf-16><title>two boms</title>", "text/html; charset=koi8-r"},
	{strings.Repeat(" ", 1100) + "<meta charset=windows-1251><title>\xcf\xf0\xe8</title><a href='/?q=\xcf'>late</a>", ""},
	{"<base href=\"http://[::1]:8080/b/\"><a href=\"//xn--zca.example/%zz?%E2%98\">i</a><meta http-equiv=refresh content=\"0; url='http://a\u3002b/'\">", ""},
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`<html><head><title>t</title><base href="/b/"><meta name=robots content=noindex></head><body><a href="a#f">a</a><area href="//x.org/"><meta http-equiv=refresh content="0;url=/r"></body></html>`), "text/html")
	f.Add([]byte(`<div><a href="/one">unclosed</div></div><a href='mailto:x@y'>`), "")
	f.Add([]byte("\xef\xbb\xbf<title>bom</title>"), "text/html; charset=gbk")
	f.Add([]byte("<meta charset=shift_jis><title>\x93\xfa\x96\x7b</title>"), "text/html")
	f.Add([]byte("<meta charset=iso-2022-jp><a href=\"/\x1b$BF|\x1b(B?q=\x1b$BF|K\\\x1b(B&#54620;\t#\x1b$BF|\x1b(B\">"), "text/html")
	f.Add([]byte("\x00\xff\xfe<a href=\"\\\\evil\\x\">"), "text/html")
	f.Add([]byte{}, "")
	for _, p := range hostilePages {
		f.Add([]byte(p.body), p.contentType)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		page := mustURL(t, pageURL)
		doc, err := Parse(body, contentType, page, Options{})
		if tooDeep(err) {
			// Parse's one documented failure; the token pass, which the
			// crawl falls back to, reads the page all the same.
			if doc, err = Parse(body, contentType, page, Options{NoDOM: true}); err != nil {
				t.Fatalf("Parse NoDOM: %v", err)
			}
			checkFields(t, doc)
			return
		}
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		checkDocument(t, doc)
		_ = IsHTML(contentType, body)
	})
}

// FuzzSitemap holds ParseSitemap to its promises on any body, plain or
// gzip-compressed (gz), with a loc cap of maxLocs (0: the protocol's),
// listed as a sitemap (text sitemaps read) and not.
func FuzzSitemap(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://example.com/a</loc></url></urlset>`), false, uint8(0))
	f.Add([]byte(`<sitemapindex><sitemap><loc><![CDATA[/s.xml?a=1&b=2]]></loc></sitemap><sitemap><loc>https://x.test/s2.xml.gz</loc></sitemap></sitemapindex>`), true, uint8(1))
	f.Add([]byte(`<urlset><url><loc>https://e.test/?a&amp;b</loc></url><url><loc>https://e.test/2</loc><url><loc>ftp://x/</loc></url>`), false, uint8(2))
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), false, uint8(0))
	f.Add([]byte{}, false, uint8(0))
	f.Add([]byte("https://e.test/a\r\n\n  https://e.test/b  \nprose line\nHTTP://E.TEST/c\n/relative\nhttps://e.test/a"), false, uint8(0))
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><link href="/"/><entry><link rel="alternate" href="/p/1"/><link rel="edit" href="/e"/></entry></feed>`), true, uint8(0))
	// A BOM, declared encodings, a DOCTYPE with entities, deep nesting,
	// a long comment, NUL and invalid UTF-8 in a loc, and a text
	// sitemap with a BOM and CR line ends.
	f.Add([]byte("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset><url><loc> https://e.test/bom </loc><lastmod>2024-02-30</lastmod></url></urlset>"), false, uint8(0))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><urlset><url><loc>https://e.test/caf\xe9</loc></url></urlset>"), false, uint8(0))
	f.Add([]byte("\xff\xfe<\x00u\x00r\x00l\x00s\x00e\x00t\x00>\x00"), false, uint8(0))
	f.Add([]byte(`<!DOCTYPE urlset [<!ENTITY a "https://e.test/&a;">]><urlset><url><loc>&a;</loc></url><url><loc>https://e.test/&amp;&lt;&#x26;&#0;</loc></url></urlset>`), false, uint8(0))
	f.Add([]byte(strings.Repeat("<url>", 2000)+"<loc>https://e.test/deep</loc>"), false, uint8(0))
	f.Add([]byte("<urlset><!--"+strings.Repeat("-", 5000)+"--><url><loc>https://e.test/\x00\xff\xc3(</loc></url></urlset>"), true, uint8(0))
	f.Add([]byte("\xef\xbb\xbfhttps://e.test/a\rhttps://e.test/b\r\rhttps://e.test/%zz\x00\rhttps://\xff/"), false, uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, gz bool, maxLocs uint8) {
		if gz {
			body = gzipped(t, body)
		}
		for _, text := range []bool{false, true} {
			opts := SitemapOptions{MaxLocs: int(maxLocs), Text: text}
			sm := ParseSitemap(body, mustURL(t, sitemapURL), opts)
			checkSitemapResult(t, sm, opts)
			if sm.Gzip != bytes.HasPrefix(body, gzipMagic) {
				t.Fatalf("Gzip = %v for a body starting %q", sm.Gzip, body[:min(len(body), 2)])
			}
		}
		_ = SitemapCandidate("", body)
		_ = TextSitemapCandidate("text/plain", body)
	})
}

// tooDeep reports whether err is the one failure Parse documents: the
// tree builder (x/net/html) refuses a document nested more than 512
// elements deep. It recovers every panic of its own into an error, so
// only this message is taken as that failure.
func tooDeep(err error) bool {
	return err != nil && strings.Contains(err.Error(), "open stack of elements exceeds 512 nodes")
}
