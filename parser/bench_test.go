package parser

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"crawler/internal/testsite"
	"crawler/internal/urlnorm"
)

// benchPage is one page to parse: its body, content type and URL.
type benchPage struct {
	name        string
	body        []byte
	contentType string
	url         *url.URL
}

var (
	sitePagesOnce sync.Once
	sitePages     []benchPage
	sitePagesErr  error
)

// testsitePages returns pages of the generated site shaped like the
// throughput benchmark's (bench/scenarios.go: 10 links, 8 KiB pages),
// fetched once from a real testsite: the root and a few /p/N pages, each
// with relative, absolute, "/p/../p/N", "#fragment" and cross-host links.
func testsitePages(tb testing.TB) []benchPage {
	tb.Helper()
	sitePagesOnce.Do(func() {
		site, err := testsite.Start(testsite.Options{Hosts: 3, Pages: 1000, Links: 10, PageBytes: 8 << 10})
		if err != nil {
			sitePagesErr = err
			return
		}
		defer site.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		for _, path := range []string{"/", "/p/0", "/p/17", "/p/998", "/p/999"} {
			u := site.Seeds()[1] + strings.TrimPrefix(path, "/")
			resp, err := client.Get(u)
			if err != nil {
				sitePagesErr = err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				sitePagesErr = err
				return
			}
			pu, err := urlnorm.Parse(u)
			if err != nil {
				sitePagesErr = err
				return
			}
			sitePages = append(sitePages, benchPage{name: "testsite" + path, body: body, contentType: resp.Header.Get("Content-Type"), url: pu})
		}
	})
	if sitePagesErr != nil {
		tb.Fatalf("testsite: %v", sitePagesErr)
	}
	return sitePages
}

// articlePage returns a deterministic page of about 35 KB shaped like a
// news or documentation article: a head with the usual metadata, styles
// and scripts, a navigation bar, a long body of paragraphs, lists, a table,
// images, inline links of every form, a sidebar and a footer. seed varies
// the links and text.
func articlePage(seed int) []byte {
	var b strings.Builder
	words := strings.Fields("the crawler keeps every page in one file and answers queries while it runs " +
		"politeness means one request per host at a time with a delay between them " +
		"links are resolved against the base and normalized before they are queued " +
		"große straße café naïve résumé 日本語 テキスト")
	word := func(i int) string { return words[(i*7+seed)%len(words)] }
	sentence := func(i, n int) string {
		s := make([]string, n)
		for k := range s {
			s[k] = word(i + k*3)
		}
		return strings.Join(s, " ")
	}
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Article %d: %s</title>
<meta name="description" content="%s">
<meta name="robots" content="index, follow">
<meta property="og:title" content="Article %d">
<link rel="stylesheet" href="/static/site.css?v=3">
<link rel="icon" href="/favicon.ico">
<link rel="canonical" href="/articles/%d/">
<link rel="alternate" type="application/rss+xml" href="/feed.xml">
<style>
body { font-family: sans-serif; margin: 0 auto; max-width: 60em; }
nav a { padding: 0 .5em; } .sidebar { float: right; width: 15em; }
</style>
<script async src="https://cdn.example.net/analytics.js"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);} gtag('js', new Date());</script>
</head>
<body class="article">
<header><a href="/" class="logo"><img src="/logo.png" alt="Home"></a>
<nav><ul>
`, seed, sentence(seed, 6), sentence(seed+1, 20), seed, seed)
	for i := range 12 {
		fmt.Fprintf(&b, "<li><a href=\"/section/%d/\">%s</a></li>\n", i, word(i))
	}
	b.WriteString("</ul></nav></header>\n<main><article>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"byline\">By <a href=\"/authors/%d\">%s</a> &middot; <time datetime=\"2024-05-01\">1 May 2024</time></p>\n", sentence(seed, 8), seed%17, word(seed))
	for s := range 8 {
		fmt.Fprintf(&b, "<h2 id=\"s%d\">%s</h2>\n", s, sentence(s, 5))
		for p := range 6 {
			i := s*10 + p
			fmt.Fprintf(&b, "<p>%s <a href=\"../related/%d.html\">%s</a>, %s <em>%s</em> and <a href=\"https://other%d.example.org/page/%d?ref=a&amp;x=%d\">%s</a>. %s.</p>\n",
				sentence(i, 25), (seed+i)%50, word(i), sentence(i+3, 18), word(i+1), i%4, i, seed, word(i+2), sentence(i+5, 22))
		}
		if s%3 == 0 {
			b.WriteString("<ul>\n")
			for k := range 5 {
				fmt.Fprintf(&b, "<li>%s <a href=\"#s%d\">see above</a></li>\n", sentence(s+k, 9), k)
			}
			b.WriteString("</ul>\n")
		}
		if s == 4 {
			b.WriteString("<table><thead><tr><th>name</th><th>value</th></tr></thead><tbody>\n")
			for k := range 8 {
				fmt.Fprintf(&b, "<tr><td>%s</td><td><a href=\"/p/../data/%d\">%d</a></td></tr>\n", word(k), k, k*seed)
			}
			b.WriteString("</tbody></table>\n")
		}
		fmt.Fprintf(&b, "<figure><img src=\"/img/%d.jpg\" alt=\"%s\" width=\"640\" height=\"480\"><figcaption>%s</figcaption></figure>\n", s, word(s), sentence(s, 7))
	}
	b.WriteString("</article>\n<aside class=\"sidebar\"><h3>Related</h3><ol>\n")
	for i := range 15 {
		fmt.Fprintf(&b, "<li><a href=\"/articles/%d/\" title=\"%s\">%s</a></li>\n", (seed+i*3)%400, word(i), sentence(i, 4))
	}
	b.WriteString("</ol></aside></main>\n<footer><p>")
	for i := range 10 {
		fmt.Fprintf(&b, "<a href=\"/about/%d\">%s</a> | ", i, word(i))
	}
	b.WriteString(`<a href="mailto:editor@example.com">contact</a> <a href="javascript:void(0)" rel="nofollow">top</a></p>
<script src="/static/app.js"></script>
<script>document.querySelectorAll('a').forEach(function(a){ if (a.host !== location.host) a.rel = 'noopener'; });</script>
</footer>
</body>
</html>
`)
	return []byte(b.String())
}

// BenchmarkParse parses a generated-site page (8 KiB, about a dozen
// links) and a 35 KB article page (about 150 links, more text), with a
// link cache shared across iterations as the crawler shares one across
// pages, and without one; each with the tree (nodom=false) and with
// Options.NoDOM.
func BenchmarkParse(b *testing.B) {
	site := testsitePages(b)[2]
	article := benchPage{name: "article", body: articlePage(7), contentType: "text/html; charset=utf-8", url: mustURL(b, "https://news.example.com/articles/7/index.html")}
	for _, p := range []benchPage{site, article} {
		name := "testsite-8KB"
		if p.name == "article" {
			name = "article-35KB"
		}
		for _, v := range []struct{ cached, noDOM bool }{{true, false}, {false, false}, {true, true}, {false, true}} {
			cached := v.cached
			b.Run(fmt.Sprintf("%s/cache=%v/nodom=%v", name, cached, v.noDOM), func(b *testing.B) {
				opts := Options{NoDOM: v.noDOM}
				if cached {
					opts.Cache = urlnorm.NewCache(0)
				}
				b.SetBytes(int64(len(p.body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Parse(p.body, p.contentType, p.url, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func TestBenchPages(t *testing.T) {
	for _, p := range testsitePages(t) {
		doc, err := Parse(p.body, p.contentType, p.url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkDocument(t, doc)
		if len(p.body) < 8000 || len(doc.Links) < 8 || doc.TextLen < 7000 {
			t.Errorf("%s: %d bytes, %d links, TextLen %d; want a full 8 KiB page", p.name, len(p.body), len(doc.Links), doc.TextLen)
		}
	}
	body := articlePage(7)
	doc := parse(t, string(body), "text/html; charset=utf-8", Options{})
	if len(body) < 30000 || len(body) > 40000 || len(doc.Links) < 100 || doc.Title == "" || doc.Description == "" || doc.Canonical == "" {
		t.Errorf("article: %d bytes, %d links, title %q, description %q, canonical %q", len(body), len(doc.Links), doc.Title, doc.Description, doc.Canonical)
	}
}

// BenchmarkTextCounter counts the visible text of a generated-site page
// (about 7 KB of ASCII words in one text token) and of a mixed page in
// short pieces, as the stream feeds textCounter.
func BenchmarkTextCounter(b *testing.B) {
	long := strings.Repeat("lorem ipsum dolor sit amet ", 8<<10/27)
	var pieces []string
	for i := range 400 {
		pieces = append(pieces, fmt.Sprintf("\n  the crawler keeps, item %d: ", i), "caf\u00e9 \u65e5\u672c ")
	}
	for _, v := range []struct {
		name   string
		pieces []string
	}{{"ascii-7KB", []string{long}}, {"pieces", pieces}} {
		n := 0
		for _, p := range v.pieces {
			n += len(p)
		}
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				var c textCounter
				for _, p := range v.pieces {
					c.add(p)
				}
				if c.count == 0 {
					b.Fatal("no text counted")
				}
			}
		})
	}
}
