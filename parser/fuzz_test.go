package parser

import (
	"bytes"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(`<html><head><title>t</title><base href="/b/"><meta name=robots content=noindex></head><body><a href="a#f">a</a><area href="//x.org/"><meta http-equiv=refresh content="0;url=/r"></body></html>`), "text/html")
	f.Add([]byte(`<div><a href="/one">unclosed</div></div><a href='mailto:x@y'>`), "")
	f.Add([]byte("\xef\xbb\xbf<title>bom</title>"), "text/html; charset=gbk")
	f.Add([]byte("<meta charset=shift_jis><title>\x93\xfa\x96\x7b</title>"), "text/html")
	f.Add([]byte("<meta charset=iso-2022-jp><a href=\"/\x1b$BF|\x1b(B?q=\x1b$BF|K\\\x1b(B&#54620;\t#\x1b$BF|\x1b(B\">"), "text/html")
	f.Add([]byte("\x00\xff\xfe<a href=\"\\\\evil\\x\">"), "text/html")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		page := mustURL(t, pageURL)
		doc, err := Parse(body, contentType, page, Options{})
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
