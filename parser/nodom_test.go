package parser

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"crawler/internal/urlnorm"
)

// nodomOptions are the options the NoDOM tests parse with: defaults,
// tight limits, and a shared link cache.
func nodomOptions() []Options {
	return []Options{{}, {MaxLinks: 2, MaxURLLength: 40}, {Cache: urlnorm.NewCache(0)}}
}

// checkNoDOMSame parses body with and without Options.NoDOM and fails
// unless every field but HTML is equal.
func checkNoDOMSame(t *testing.T, name string, body []byte, contentType string) {
	t.Helper()
	page := mustURL(t, pageURL)
	for _, opts := range nodomOptions() {
		want, err := Parse(body, contentType, page, opts)
		if err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		opts.NoDOM = true
		got, err := Parse(body, contentType, page, opts)
		if err != nil {
			t.Fatalf("%s: Parse NoDOM: %v", name, err)
		}
		if got.HTML != nil {
			t.Fatalf("%s: NoDOM returned a tree", name)
		}
		w := *want
		w.HTML = nil
		if !reflect.DeepEqual(*got, w) {
			t.Errorf("%s, %+v:\n got  %+v\n want %+v", name, opts, *got, w)
		}
	}
}

// TestNoDOMSameAsDOM holds the streaming path to the DOM path on
// well-formed pages: the fuzz seed pages, the generated-site pages of
// BenchmarkParse, the article pages and random well-formed pages.
func TestNoDOMSameAsDOM(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzParse/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("seeds: %v, %d files", err, len(files))
	}
	for _, f := range files {
		body, ct := readFuzzSeed(t, f)
		checkNoDOMSame(t, f, body, ct)
	}
	for _, p := range testsitePages(t) {
		checkNoDOMSame(t, p.name, p.body, p.contentType)
	}
	for seed := range 5 {
		checkNoDOMSame(t, fmt.Sprintf("article%d", seed), articlePage(seed), "text/html")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 500 {
		checkNoDOMSame(t, fmt.Sprintf("wellformed%d", i), wellFormedPage(rng), "text/html")
	}
}

// wellFormedPage returns a random page whose every element is closed
// where it is opened and allowed where it is: a head (sometimes implied)
// with titles, metas, base, canonical, scripts, styles and templates; a
// body (sometimes implied) of nested divs, paragraphs, lists, links,
// preformatted text, textareas, templates, inline svg with a title, and
// well-formed tables.
func wellFormedPage(rng *rand.Rand) []byte {
	var b strings.Builder
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	words := func() string {
		var w []string
		for range 1 + rng.IntN(6) {
			w = append(w, pick("alpha", "beta", "gamma", "日本語", "café", "&amp;", "&lt;x&gt;", "a\u00a0b", "x\x00y", "\n", "  "))
		}
		return strings.Join(w, pick(" ", "", "\n\t"))
	}
	href := func() string {
		return pick(fmt.Sprintf("/p/%d", rng.IntN(20)), fmt.Sprintf("rel%d.html#f", rng.IntN(9)), "https://other.example/x",
			"mailto:a@b", "javascript:void(0)", "", "../up", "//cdn.example/y", "http://[bad", strings.Repeat("z", 50))
	}
	b.WriteString(pick("<!DOCTYPE html>", ""))
	implied := rng.IntN(3) == 0
	if !implied {
		b.WriteString("<html><head>")
	}
	for range rng.IntN(8) {
		switch rng.IntN(9) {
		case 0:
			fmt.Fprintf(&b, "<title>%s</title>", words())
		case 1:
			fmt.Fprintf(&b, `<meta name="%s" content="%s">`, pick("description", "Description", "keywords"), words())
		case 2:
			fmt.Fprintf(&b, `<meta name="robots" content="%s">`, pick("index, follow", "noindex", "NOINDEX", "none", "nofollow", "noarchive"))
		case 3:
			fmt.Fprintf(&b, `<base href="%s">`, pick("/base/", "https://b.example/d/", "javascript:x", "sub/"))
		case 4:
			fmt.Fprintf(&b, `<link rel="%s" href="%s">`, pick("canonical", "stylesheet", "alternate canonical"), href())
		case 5:
			fmt.Fprintf(&b, "<script>var s = '<a href=\"/in-script\">%s</a>';</script>", words())
		case 6:
			fmt.Fprintf(&b, "<style>p { color: red } /* <title>no</title> */</style>")
		case 7:
			fmt.Fprintf(&b, `<template><title>%s</title><a href="%s">t</a><template><p>%s</p></template></template>`, words(), href(), words())
		case 8:
			fmt.Fprintf(&b, `<meta http-equiv="refresh" content="%s">`, pick("5; url=/next", "0;URL='/q'", "10"))
		}
	}
	if !implied {
		b.WriteString("</head>" + pick("\n", "") + "<body>")
	}
	var flow func(depth int)
	inline := func() {
		for range rng.IntN(4) {
			switch rng.IntN(5) {
			case 0:
				fmt.Fprintf(&b, `<a href="%s"%s>%s</a>`, href(), pick("", ` rel="nofollow"`, ` rel="noopener"`), words())
			case 1:
				fmt.Fprintf(&b, "<b>%s</b>", words())
			case 2:
				fmt.Fprintf(&b, `<span>%s <em>%s</em></span>`, words(), words())
			default:
				b.WriteString(words())
			}
		}
	}
	flow = func(depth int) {
		for range 1 + rng.IntN(4) {
			switch k := rng.IntN(14); {
			case k < 3 || depth > 4:
				b.WriteString("<p>")
				inline()
				b.WriteString("</p>")
			case k == 3:
				b.WriteString("<div>")
				flow(depth + 1)
				b.WriteString("</div>")
			case k == 4:
				b.WriteString("<ul>")
				for range 1 + rng.IntN(3) {
					b.WriteString("<li>")
					inline()
					b.WriteString("</li>")
				}
				b.WriteString("</ul>")
			case k == 5:
				fmt.Fprintf(&b, "<pre>%s%s</pre>", pick("\n", "", "\n\n"), words())
			case k == 6:
				fmt.Fprintf(&b, "<textarea>%s%s</textarea>", pick("\n", ""), words())
			case k == 7:
				fmt.Fprintf(&b, "<script>document.write('<a href=\"/w\">%s</a>')</script><noscript><a href=\"/ns\">%s</a></noscript>", words(), words())
			case k == 8:
				fmt.Fprintf(&b, `<template><div><a href="%s">%s</a></div></template>`, href(), words())
			case k == 9:
				fmt.Fprintf(&b, `<svg viewBox="0 0 1 1"><title>%s</title><a xlink:href="%s"><text>%s</text></a><path d="M0"/></svg>`, words(), href(), strings.ReplaceAll(words(), "\x00", ""))
			case k == 10:
				b.WriteString("<table><tr><th>h</th></tr>")
				for range 1 + rng.IntN(3) {
					b.WriteString("<tr><td>")
					inline()
					b.WriteString("</td></tr>")
				}
				b.WriteString("</table>")
			case k == 11:
				fmt.Fprintf(&b, `<title>%s</title><meta name="description" content="%s"><area href="%s">`, words(), words(), href())
			case k == 12:
				fmt.Fprintf(&b, "<style>.x{}</style><h2>%s</h2><!-- %s -->", words(), words())
			default:
				inline()
			}
		}
	}
	flow(0)
	if !implied {
		b.WriteString("</body></html>")
	}
	return []byte(b.String())
}

// FuzzNoDOM parses any input with Options.NoDOM. It never panics and, on
// any input: HTML is nil; Charset is the DOM path's (decoding is
// shared); Title and Description are trimmed valid UTF-8; Links (and
// Canonical) are canonical absolute http(s) URLs no longer than
// MaxURLLength, distinct, at most MaxLinks, none when NoFollow; and the
// Links under MaxLinks n are the first n of the Links without a limit,
// the rest counted in Dropped.
func FuzzNoDOM(f *testing.F) {
	for _, s := range tricky {
		f.Add([]byte(s), "text/html")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for range 10 {
		f.Add(randomMarkup(rng), "")
		f.Add(wellFormedPage(rng), "text/html")
	}
	for _, p := range hostilePages {
		f.Add([]byte(p.body), p.contentType)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		page := mustURL(t, pageURL)
		all, err := Parse(body, contentType, page, Options{NoDOM: true})
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if all.HTML != nil {
			t.Fatal("NoDOM returned a tree")
		}
		checkFields(t, all)
		switch dom, err := Parse(body, contentType, page, Options{}); {
		case tooDeep(err):
			// The tree builder gives up on this nesting (documented);
			// the token pass must not.
		case err != nil:
			t.Fatalf("Parse: %v", err)
		case all.Charset != dom.Charset:
			t.Errorf("Charset %q, DOM path %q", all.Charset, dom.Charset)
		}
		const limit = 3
		few, err := Parse(body, contentType, page, Options{NoDOM: true, MaxLinks: limit})
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		want := all.Links[:min(limit, len(all.Links))]
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(few.Links, want) || few.Dropped != all.Dropped+len(all.Links)-len(want) {
			t.Errorf("MaxLinks %d: %q, %d dropped; unlimited: %q, %d dropped", limit, few.Links, few.Dropped, all.Links, all.Dropped)
		}
	})
}
