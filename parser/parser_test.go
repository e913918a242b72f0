package parser

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.uber.org/goleak"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"

	"crawler/internal/urlnorm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const pageURL = "https://example.com/dir/page.html"

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := urlnorm.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func parse(t testing.TB, body, contentType string, opts Options) *Document {
	t.Helper()
	doc, err := Parse([]byte(body), contentType, mustURL(t, pageURL), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if doc.HTML == nil {
		t.Fatal("Parse: nil HTML")
	}
	return doc
}

func checkLinks(t *testing.T, doc *Document, want ...string) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(doc.Links, want) {
		t.Errorf("Links =\n  %q\nwant\n  %q", doc.Links, want)
	}
}

func TestMetadata(t *testing.T) {
	doc := parse(t, `<!DOCTYPE html><html><head>
		<title>
		  Hello,
		  	World  </title>
		<meta name="Description" content="  A   page
		 about things ">
		<meta name="description" content="second one is ignored">
		<link rel="stylesheet" href="/s.css">
		<link rel="Canonical" href="/Canon/../canonical.html#x">
		</head><body><svg><title>not the title</title></svg></body></html>`, "text/html; charset=utf-8", Options{})
	if doc.Title != "Hello, World" {
		t.Errorf("Title = %q", doc.Title)
	}
	if doc.Description != "A page about things" {
		t.Errorf("Description = %q", doc.Description)
	}
	if doc.Canonical != "https://example.com/canonical.html" {
		t.Errorf("Canonical = %q", doc.Canonical)
	}
	if doc.Charset != "utf-8" {
		t.Errorf("Charset = %q", doc.Charset)
	}
	if doc.NoFollow || doc.NoIndex {
		t.Errorf("NoFollow, NoIndex = %v, %v", doc.NoFollow, doc.NoIndex)
	}
	if doc.HTML.Url.String() != pageURL {
		t.Errorf("HTML.Url = %v", doc.HTML.Url)
	}

	doc = parse(t, `<title>t</title><link rel=canonical href="javascript:x()">`, "", Options{})
	if doc.Canonical != "" {
		t.Errorf("Canonical of javascript: = %q", doc.Canonical)
	}
	doc = parse(t, `<link rel=canonical href="/`+strings.Repeat("a", 100)+`">`, "", Options{MaxURLLength: 50})
	if doc.Canonical != "" {
		t.Errorf("Canonical over MaxURLLength = %q", doc.Canonical)
	}
}

// Ensure Title and Description collapse only ASCII whitespace, as a
// browser's document.title does: a no-break space or an ideographic space
// is text, kept where it stands.
func TestMetadataKeepsNonASCIISpace(t *testing.T) {
	for _, noDOM := range []bool{false, true} {
		doc, err := Parse([]byte("<title>\u00a0Price:&nbsp;&nbsp;5\u3000EUR \t\n\f\r</title>"+
			"<meta name=description content=\"a&nbsp; b\u2003\">"), "text/html; charset=utf-8", mustURL(t, pageURL), Options{NoDOM: noDOM})
		if err != nil {
			t.Fatal(err)
		}
		if want := "\u00a0Price:\u00a0\u00a05\u3000EUR"; doc.Title != want {
			t.Errorf("NoDOM %v: Title = %q, want %q", noDOM, doc.Title, want)
		}
		if want := "a\u00a0 b\u2003"; doc.Description != want {
			t.Errorf("NoDOM %v: Description = %q, want %q", noDOM, doc.Description, want)
		}
		checkFields(t, doc)
	}
}

func TestLinks(t *testing.T) {
	doc := parse(t, `<html><body>
		<a href="a.html">1</a>
		<a href="a.html#frag">dup by fragment</a>
		<a href="HTTPS://EXAMPLE.com:443/dir/a.html">dup by form</a>
		<a href="/other/../b.html?q=%7e">2</a>
		<a>no href</a>
		<area href="//cdn.example.org/c" alt="">
		<a href="mailto:me@example.com">m</a>
		<a href="javascript:void(0)">j</a>
		<a href="tel:+1234">t</a>
		<a href="data:text/plain,hi">d</a>
		<a href="ftp://example.com/f">f</a>
		<a href="http://[::1">broken</a>
		<a href="http://exa mple.com/">broken host</a>
		<a href="#top">self</a>
		<a href="  http://Other.example/d  ">3</a>
		<a href="x" rel="external NoFollow">nofollow</a>
		<template><a href="/in-template">t</a></template>
		<svg><a href="/svg-link"><text>s</text></a></svg>
	</body></html>`, "text/html", Options{})
	checkLinks(t, doc,
		"https://example.com/dir/a.html",
		"https://example.com/b.html?q=~",
		"https://cdn.example.org/c",
		"https://example.com/dir/page.html",
		"http://other.example/d",
		"https://example.com/svg-link",
	)
	if doc.Dropped != 2 {
		t.Errorf("Dropped = %d, want 2 (the two broken links)", doc.Dropped)
	}
}

func TestBaseHref(t *testing.T) {
	tests := []struct {
		name, base, want string
	}{
		{"relative", `<base href="/other/sub/">`, "https://example.com/other/sub/x.html"},
		{"absolute", `<base href="http://cdn.example.org/root/">`, "http://cdn.example.org/root/x.html"},
		{"first without href", `<base target="_blank">`, "https://example.com/second/x.html"},
		{"invalid", `<base href="javascript:alert(1)">`, "https://example.com/dir/x.html"},
		// An SVG <base> is not an HTML base element: browsers resolve
		// against the first HTML one.
		{"svg base", `<svg><base href="/svg/"></base></svg>`, "https://example.com/second/x.html"},
		{"math base", `<math><base href="/math/"/></math>`, "https://example.com/second/x.html"},
	}
	for _, tt := range tests {
		for _, opts := range []Options{{}, {NoDOM: true}} {
			t.Run(fmt.Sprintf("%s/NoDOM=%v", tt.name, opts.NoDOM), func(t *testing.T) {
				doc, err := Parse([]byte(`<head>`+tt.base+`<base href="/second/"></head><a href="x.html">x</a>`), "", mustURL(t, pageURL), opts)
				if err != nil {
					t.Fatal(err)
				}
				checkLinks(t, doc, tt.want)
			})
		}
	}
	for _, opts := range []Options{{}, {NoDOM: true}} {
		t.Run(fmt.Sprintf("canonical uses base/NoDOM=%v", opts.NoDOM), func(t *testing.T) {
			doc, err := Parse([]byte(`<base href="/b/"><link rel=canonical href="c">`), "", mustURL(t, pageURL), opts)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Canonical != "https://example.com/b/c" {
				t.Errorf("Canonical = %q", doc.Canonical)
			}
		})
		t.Run(fmt.Sprintf("svg link is not canonical/NoDOM=%v", opts.NoDOM), func(t *testing.T) {
			doc, err := Parse([]byte(`<body><svg><link rel=canonical href="/svg-c"/></svg><link rel=canonical href="/c">`), "", mustURL(t, pageURL), opts)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Canonical != "https://example.com/c" {
				t.Errorf("Canonical = %q, want the HTML link's", doc.Canonical)
			}
		})
	}
}

func TestRobotsMeta(t *testing.T) {
	const links = `<a href="/a">a</a><meta http-equiv="refresh" content="0; url=/r">`
	tests := []struct {
		meta              string
		noFollow, noIndex bool
	}{
		{``, false, false},
		{`<meta name="robots" content="index, follow">`, false, false},
		{`<meta name="robots" content="nofollow">`, true, false},
		{`<meta name="ROBOTS" content="NoFollow">`, true, false},
		{`<meta name="robots" content="noindex">`, false, true},
		{`<meta name="robots" content="noindex,nofollow">`, true, true},
		{`<meta name="robots" content="noindex nofollow">`, true, true},
		{`<meta name="robots" content="none">`, true, true},
		{`<meta name="robots" content="noindex"><meta name="robots" content="nofollow">`, true, true},
		{`<meta name="googlebot" content="none">`, false, false},
		{`<meta name="robots" content="nofollowing">`, false, false},
	}
	for _, tt := range tests {
		doc := parse(t, `<head>`+tt.meta+`</head><body>`+links+`</body>`, "", Options{})
		if doc.NoFollow != tt.noFollow || doc.NoIndex != tt.noIndex {
			t.Errorf("%s: NoFollow, NoIndex = %v, %v; want %v, %v", tt.meta, doc.NoFollow, doc.NoIndex, tt.noFollow, tt.noIndex)
		}
		if tt.noFollow {
			checkLinks(t, doc)
		} else {
			checkLinks(t, doc, "https://example.com/a", "https://example.com/r")
		}
	}
}

func TestMetaRefresh(t *testing.T) {
	tests := []struct {
		content, want string
		ok            bool
	}{
		{"5; url=/next", "/next", true},
		{"0;URL='/q x'", "/q x", true},
		{`0; url="/dq"tail`, "/dq", true},
		{"3, /comma", "/comma", true},
		{"3 /space", "/space", true},
		{"1.5;url = /spaced", "/spaced", true},
		{".5; /dot", "/dot", true},
		{"0; 'quoted'", "quoted", true},
		{"0; urlx", "urlx", true},
		{"0; url /no-equals", "url /no-equals", true},
		{"0; url=", "", true},
		{"5", "", false},
		{"5;", "", false},
		{"", "", false},
		{"url=/x", "", false},
		{"5x; url=/x", "", false},
	}
	for _, tt := range tests {
		got, ok := refreshURL(tt.content)
		if got != tt.want || ok != tt.ok {
			t.Errorf("refreshURL(%q) = %q, %v; want %q, %v", tt.content, got, ok, tt.want, tt.ok)
		}
	}
	doc := parse(t, `<meta http-equiv="Refresh" content="0; URL=/moved"><meta http-equiv="content-type" content="text/html"><a href="/a">a</a>`, "", Options{})
	checkLinks(t, doc, "https://example.com/moved", "https://example.com/a")
}

func TestLimits(t *testing.T) {
	huge := "/" + strings.Repeat("a", 100<<10)
	doc := parse(t, `<a href="/ok">ok</a><a href="`+huge+`">huge</a>`, "text/html", Options{})
	checkLinks(t, doc, "https://example.com/ok")
	if doc.Dropped != 1 {
		t.Errorf("100 kB href: Dropped = %d, want 1", doc.Dropped)
	}

	// A short href that only becomes too long once resolved.
	long := "https://example.com/" + strings.Repeat("d", 40) + "/"
	doc, err := Parse([]byte(`<a href="abcdefghij">x</a><a href="/">y</a>`), "", mustURL(t, long), Options{MaxURLLength: 64})
	if err != nil {
		t.Fatal(err)
	}
	checkLinks(t, doc, "https://example.com/")
	if doc.Dropped != 1 {
		t.Errorf("resolved too long: Dropped = %d, want 1", doc.Dropped)
	}

	doc = parse(t, `<a href="/1">1</a><a href="/2">2</a><a href="/1">1</a><a href="/3">3</a><a href="/3#x">3</a><a href="/4">4</a><a href="mailto:x@y">m</a>`, "", Options{MaxLinks: 2})
	checkLinks(t, doc, "https://example.com/1", "https://example.com/2")
	if doc.Dropped != 2 {
		t.Errorf("MaxLinks: Dropped = %d, want 2 (/3 and /4, each once)", doc.Dropped)
	}
}

func TestTextLen(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		{``, 0},
		{`<title>not counted</title><p>Hello</p>`, 5},
		{`<p>  Hello  </p>  <p>  World </p>`, len("Hello World")},
		{`<p>Hel<b>lo</b></p>`, 5},
		{`x<script>var a = "long script";</script>y<style>p{color:red}</style>z`, 3},
		{`a<noscript>no script text</noscript>b<template><p>tpl</p></template>c`, 3},
		{`<p>日本語 テキスト</p>`, 8},
		{"<p>a\u00a0\u00a0b</p>", 3},
	}
	for _, tt := range tests {
		doc := parse(t, tt.body, "text/html; charset=utf-8", Options{})
		if doc.TextLen != tt.want {
			t.Errorf("TextLen(%q) = %d, want %d", tt.body, doc.TextLen, tt.want)
		}
	}
}

func TestMalformed(t *testing.T) {
	doc := parse(t, `<html><body><div><p>unclosed <a href="/one">one
		</div></div></div><span><a href='/two'>two</span>
		<table><tr><td><a href=/three>three</td></table></p></b></i>
		<a href="/four"`, "text/html", Options{})
	checkLinks(t, doc, "https://example.com/one", "https://example.com/two", "https://example.com/three")
}

func TestCharsets(t *testing.T) {
	gbkTitle := "中文标题"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(`<html><head><meta charset="gbk"><title>` + gbkTitle + `</title></head><body><a href="/链接">x</a></body></html>`)
	if err != nil {
		t.Fatal(err)
	}
	sjisTitle := "日本語のタイトル"
	sjis, err := japanese.ShiftJIS.NewEncoder().String(`<html><head><title>` + sjisTitle + `</title></head><body>本文</body></html>`)
	if err != nil {
		t.Fatal(err)
	}
	lateUTF8 := `<html><head><title>` + strings.Repeat("x", 2000) + ` café ü</title></head></html>`
	tests := []struct {
		name, body, contentType, title, charset string
	}{
		{"gbk meta", gbk, "text/html", gbkTitle, "gbk"},
		{"shift_jis header", sjis, "text/html; charset=Shift_JIS", sjisTitle, "shift_jis"},
		{"utf-8 late non-ascii", lateUTF8, "text/html", strings.Repeat("x", 2000) + " café ü", "utf-8"},
		{"windows-1252 fallback", "<title>caf\xe9</title>", "text/html", "café", "windows-1252"},
		{"utf-8 bom", "\xef\xbb\xbf<title>bom ü</title>", "text/html; charset=iso-8859-1", "bom ü", "utf-8"},
		{"header beats meta", `<meta charset="gbk"><title>ü</title>`, "text/html; charset=utf-8", "ü", "utf-8"},
		{"unknown label in header and meta", `<meta charset="x-bogus"><title>café</title>`, "text/html; charset=x-bogus", "café", "utf-8"},
		{"unknown labels, not utf-8", "<meta charset=x-bogus><title>caf\xe9</title>", "text/html; charset=x-bogus", "café", "windows-1252"},
		{"utf-16 meta read as utf-8", `<meta charset="utf-16"><title>café</title>`, "text/html", "café", "utf-8"},
		{"invalid utf-8 declared", "<title>a\xffb</title>", "text/html; charset=utf-8", "a\uFFFDb", "utf-8"},
		{"ascii", "<title>plain</title>", "", "plain", "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := parse(t, tt.body, tt.contentType, Options{})
			if doc.Title != tt.title {
				t.Errorf("Title = %q, want %q", doc.Title, tt.title)
			}
			if doc.Charset != tt.charset {
				t.Errorf("Charset = %q, want %q", doc.Charset, tt.charset)
			}
			if !utf8.ValidString(doc.Title) {
				t.Errorf("Title not valid UTF-8: %q", doc.Title)
			}
		})
	}
	doc := parse(t, gbk, "text/html", Options{})
	checkLinks(t, doc, "https://example.com/%E9%93%BE%E6%8E%A5")
	if doc.TextLen != 1 {
		t.Errorf("GBK TextLen = %d, want 1", doc.TextLen)
	}
}

func TestEmptyAndGarbage(t *testing.T) {
	doc, err := Parse(nil, "text/html", mustURL(t, pageURL), Options{})
	if err != nil {
		t.Fatalf("empty body: %v", err)
	}
	if doc.HTML == nil || doc.Title != "" || doc.Links != nil || doc.TextLen != 0 || doc.Dropped != 0 {
		t.Errorf("empty body: %+v", doc)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		b := make([]byte, 1+rng.IntN(8<<10))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		doc, err := Parse(b, "text/html", mustURL(t, pageURL), Options{})
		if err != nil {
			t.Fatalf("random bytes: %v", err)
		}
		checkDocument(t, doc)
	}

	// Without a page URL only absolute links are kept.
	doc, err = Parse([]byte(`<a href="/rel">r</a><a href="http://abs.example/">a</a>`), "", nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLinks(t, doc, "http://abs.example/")
}

func TestIsHTML(t *testing.T) {
	tests := []struct {
		contentType, body string
		want              bool
	}{
		{"text/html", "", true},
		{"text/html; charset=utf-8", "", true},
		{"TEXT/HTML;charset=UTF-8", "", true},
		{"text/html; charset", "", true},
		{" application/xhtml+xml ", "", true},
		{"application/xhtml+xml; charset=utf-8", "", true},
		{"text/plain", "<html><body>hi</body></html>", false},
		{"application/json", "", false},
		{"text/htmlx", "", false},
		{"image/png", "", false},
		{"", "<!DOCTYPE html><html><body>hi</body></html>", true},
		{"", "  <p>hello</p>", true},
		{"", "just some text", false},
		{"", "\x89PNG\r\n\x1a\n", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := IsHTML(tt.contentType, []byte(tt.body)); got != tt.want {
			t.Errorf("IsHTML(%q, %q) = %v, want %v", tt.contentType, tt.body, got, tt.want)
		}
	}
}

// checkDocument asserts the invariants every Document has.
func checkDocument(t *testing.T, doc *Document) {
	t.Helper()
	if doc.HTML == nil {
		t.Fatal("nil HTML")
	}
	checkFields(t, doc)
}

// checkFields asserts the invariants of every Document's fields, with or
// without a tree (Options.NoDOM).
func checkFields(t *testing.T, doc *Document) {
	t.Helper()
	for _, s := range []string{doc.Title, doc.Description} {
		if !utf8.ValidString(s) || s != strings.Trim(s, " \t\n\f\r") || strings.ContainsAny(s, "\t\n\f\r") || strings.Contains(s, "  ") {
			t.Fatalf("bad text field %q", s)
		}
	}
	if doc.Dropped < 0 || doc.TextLen < 0 || len(doc.Links) > DefaultMaxLinks {
		t.Fatalf("bad counts: %+v", doc)
	}
	if doc.NoFollow && len(doc.Links) > 0 {
		t.Fatal("links on a nofollow page")
	}
	seen := make(map[string]bool)
	for _, l := range append([]string{doc.Canonical}, doc.Links...) {
		if l == "" {
			continue
		}
		u, err := urlnorm.Parse(l)
		if err != nil || u.String() != l {
			t.Fatalf("link %q is not canonical: %v, %v", l, u, err)
		}
		if len(l) > DefaultMaxURLLength {
			t.Fatalf("link %q longer than MaxURLLength", l)
		}
	}
	for _, l := range doc.Links {
		if seen[l] {
			t.Fatalf("duplicate link %q", l)
		}
		seen[l] = true
	}
}

// Ensure a long fragment (SPA routes "#!/...", text fragments
// "#:~:text=...") does not make a short link too long: the canonical link
// has no fragment. Both parse paths.
func TestLongFragmentKeepsShortLink(t *testing.T) {
	body := `<a href="/page#` + strings.Repeat("f", 300) + `">x</a>`
	for _, nodom := range []bool{false, true} {
		doc, err := Parse([]byte(body), "", mustURL(t, pageURL), Options{NoDOM: nodom, MaxURLLength: 256})
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://example.com/page"; !slices.Equal(doc.Links, []string{want}) || doc.Dropped != 0 {
			t.Errorf("NoDOM=%v: Links %q, Dropped %d; want [%s], 0 dropped", nodom, doc.Links, doc.Dropped, want)
		}
	}
}

// Ensure a long link of another scheme (data:, javascript:) is skipped
// silently, as Document.Dropped says, not counted as dropped for its
// length.
func TestLongOtherSchemeNotDropped(t *testing.T) {
	body := `<a href="data:text/plain;base64,` + strings.Repeat("QUJD", 100) + `">d</a>` +
		`<a href="javascript:void(` + strings.Repeat("0", 300) + `)">j</a>`
	for _, nodom := range []bool{false, true} {
		doc, err := Parse([]byte(body), "", mustURL(t, pageURL), Options{NoDOM: nodom, MaxURLLength: 256})
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Links) != 0 || doc.Dropped != 0 {
			t.Errorf("NoDOM=%v: Links %q, Dropped %d; want none, 0 dropped (other schemes are skipped silently)", nodom, doc.Links, doc.Dropped)
		}
	}
}

// Ensure a <base href> of another scheme is the base, as the HTML
// standard's frozen base URL says: relative links resolve to ftp: URLs
// (or fail against mailto:'s opaque path), so no http(s) link, while a
// data: or javascript: base falls back to the page URL.
func TestNonHTTPBaseHref(t *testing.T) {
	for _, base := range []string{"ftp://ftp.example/pub/", "mailto:someone@example.com"} {
		body := `<base href="` + base + `"><a href="file.html">x</a>`
		for _, nodom := range []bool{false, true} {
			doc, err := Parse([]byte(body), "", mustURL(t, pageURL), Options{NoDOM: nodom})
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Links) != 0 {
				t.Errorf("NoDOM=%v <base href=%q>: Links %q; want none (a browser resolves against the base, not the page)", nodom, base, doc.Links)
			}
		}
	}
}

// Ensure a data: or javascript: <base href> leaves the page URL the base.
func TestScriptBaseHrefFallsBackToPage(t *testing.T) {
	for _, base := range []string{"javascript:void(0)", "data:text/html,x"} {
		body := `<base href="` + base + `"><a href="file.html">x</a>`
		for _, nodom := range []bool{false, true} {
			doc, err := Parse([]byte(body), "", mustURL(t, pageURL), Options{NoDOM: nodom})
			if err != nil {
				t.Fatal(err)
			}
			if want := "https://example.com/dir/file.html"; !slices.Equal(doc.Links, []string{want}) {
				t.Errorf("NoDOM=%v <base href=%q>: Links %q; want [%s] (resolved against the page)", nodom, base, doc.Links, want)
			}
		}
	}
}

// Parse's one error: the tree builder refuses a document nested more
// than 512 elements deep. The token pass, which the crawl falls back to,
// reads the page all the same.
func TestParseTooDeep(t *testing.T) {
	body := []byte(strings.Repeat("<div>", 600) + `<title>deep</title><a href="/deep">x</a>`)
	if _, err := Parse(body, "text/html", mustURL(t, pageURL), Options{}); !tooDeep(err) {
		t.Fatalf("Parse: %v; want the tree builder's nesting error", err)
	}
	doc, err := Parse(body, "text/html", mustURL(t, pageURL), Options{NoDOM: true})
	if err != nil || doc.Title != "deep" || !slices.Equal(doc.Links, []string{"https://example.com/deep"}) {
		t.Fatalf("Parse NoDOM: %+v, %v; want title deep and the link", doc, err)
	}
}
