package extract

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"go.uber.org/goleak"
	"golang.org/x/text/encoding/htmlindex"

	"crawler/config"
	"crawler/internal/urlnorm"
	"crawler/parser"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// parse returns doc parsed with its Url set to pageURL.
func parse(t *testing.T, pageURL, doc string) (*url.URL, *goquery.Document) {
	t.Helper()
	u, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	d.Url = u
	return u, d
}

func compile(t *testing.T, rules ...config.ExtractRule) *Set {
	t.Helper()
	s, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const productHTML = `<!doctype html><html><head>
<base href="/static/">
<meta itemprop="sku" content="  SKU-42 ">
<title>ignored</title></head><body>
<h1>
  Blue   <span>Wid<b>get</b></span>
  <script>x</script></h1>
<h1>Second heading</h1>
<script type="application/ld+json"> {"@type": "Product"} </script>
<p class="price">Now: $12.50 <s>$15</s></p>
<div id="desc"> <b>Fine</b> &amp; sturdy </div>
<img class="gallery" src="img/1.jpg">
<img class="gallery" src="">
<img class="gallery" SRC="https://cdn.test/2.jpg#x">
<img class="gallery">
<img class="gallery" src="javascript:void(0)">
<a class="tag" href="?tag=blue">blue</a><a class="tag" href="/t/red">red</a><a class="tag" href="/t/x">x</a>
</body></html>`

func productRule() config.ExtractRule {
	return config.ExtractRule{
		Name:  "product",
		Match: `^https://shop\.test/p/`,
		Fields: []config.ExtractField{
			{Name: "title", Selector: "h1", Attr: "text"},
			{Name: "price", Selector: ".price", Attr: "text", Pattern: `[0-9.]+`},
			{Name: "cents", Selector: ".price", Pattern: `\$[0-9]+\.([0-9]+)`}, // empty attr = text
			{Name: "images", Selector: "img.gallery", Attr: "src", All: true, Absolute: true},
			{Name: "raw_images", Selector: "img.gallery", Attr: "SRC", All: true},
			{Name: "sku", Selector: "meta[itemprop=sku]", Attr: "content", Required: true},
			{Name: "desc", Selector: "#desc", Attr: "html"},
			{Name: "tags", Selector: "a.tag", Attr: "href", All: true, Absolute: true, Pattern: `^(.*/t/[a-z]+)$`},
			{Name: "headings", Selector: "h1", All: true},
			{Name: "jsonld", Selector: `script[type="application/ld+json"]`},
			{Name: "rating", Selector: ".rating"},                  // missing, optional: omitted
			{Name: "brand", Selector: ".brand", Required: true},    // missing, required
			{Name: "empty", Selector: "img.gallery", Attr: "alt"},  // empty value: missing
			{Name: "nomatch", Selector: "h1", Pattern: `^[0-9]+$`}, // pattern fails: missing
		},
	}
}

func TestApplyFields(t *testing.T) {
	s := compile(t, productRule())
	u, doc := parse(t, "https://shop.test/p/42?x=1", productHTML)
	fields, failed := s.Apply(u, doc, "utf-8")
	want := map[string]any{"product": map[string]any{
		"title": "Blue Widget",
		"price": "12.50",
		"cents": "50",
		"images": []string{
			"https://shop.test/static/img/1.jpg",
			"https://cdn.test/2.jpg", // normalized: fragment dropped
			"javascript:void(0)",     // does not resolve: kept raw
		},
		"raw_images": []string{"img/1.jpg", "https://cdn.test/2.jpg#x", "javascript:void(0)"},
		"sku":        "SKU-42",
		"desc":       "<b>Fine</b> &amp; sturdy",
		"tags":       []string{"https://shop.test/t/red", "https://shop.test/t/x"},
		"headings":   []string{"Blue Widget", "Second heading"},
		"jsonld":     `{"@type": "Product"}`,
	}}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("fields:\n got %#v\nwant %#v", fields, want)
	}
	if !reflect.DeepEqual(failed, []string{"product.brand"}) {
		t.Errorf("failed = %q; want [product.brand]", failed)
	}
}

// TestTemplateContentNotSelected checks that elements inside a <template>
// are not selected: its content is inert, not part of the page (the
// parser takes no link from it, and querySelector does not find it). A
// template before the real element gave its placeholder as the field.
func TestTemplateContentNotSelected(t *testing.T) {
	s := compile(t, config.ExtractRule{Name: "r", Fields: []config.ExtractField{
		{Name: "title", Selector: "h1"},
		{Name: "links", Selector: "a", Attr: "href", All: true},
		{Name: "tpl", Selector: "template", Attr: "id"},
	}})
	u, doc := parse(t, "https://a.test/", `<template id="row"><h1>{{title}}</h1><a href="/tpl">t</a>`+
		`<template><a href="/nested">n</a></template></template><h1>Real</h1><a href="/real">r</a>`)
	fields, failed := s.Apply(u, doc, "utf-8")
	want := map[string]any{"r": map[string]any{"title": "Real", "links": []string{"/real"}, "tpl": "row"}}
	if !reflect.DeepEqual(fields, want) || failed != nil {
		t.Errorf("fields:\n got %#v, failed %q\nwant %#v", fields, failed, want)
	}
}

func TestPatternThenAbsolute(t *testing.T) {
	s := compile(t, config.ExtractRule{Name: "r", Fields: []config.ExtractField{
		{Name: "next", Selector: "button", Attr: "onclick", Pattern: `go\('([^']*)'\)`, Absolute: true},
	}})
	u, doc := parse(t, "https://a.test/dir/page", `<button onclick="go('../next?p=2')">next</button>`)
	fields, _ := s.Apply(u, doc, "utf-8")
	if got := fields["r"].(map[string]any)["next"]; got != "https://a.test/next?p=2" {
		t.Errorf("next = %v", got)
	}
}

func TestBaseHref(t *testing.T) {
	rule := config.ExtractRule{Name: "r", Fields: []config.ExtractField{
		{Name: "img", Selector: "img", Attr: "src", Absolute: true},
	}}
	s := compile(t, rule)
	for _, tc := range []struct{ name, head, want string }{
		{"no base", ``, "https://a.test/dir/x.png"},
		{"relative base", `<base href="../b/">`, "https://a.test/b/x.png"},
		{"absolute base", `<base href="https://cdn.test/c/">`, "https://cdn.test/c/x.png"},
		{"first base wins", `<base href="/one/"><base href="/two/">`, "https://a.test/one/x.png"},
		{"invalid base ignored", `<base href="http://[::1">`, "https://a.test/dir/x.png"},
		{"non-http base: relative values stay as they are", `<base href="ftp://f.test/">`, "x.png"},
		{"javascript: base ignored", `<base href="javascript:void(0)">`, "https://a.test/dir/x.png"},
		{"base in a template ignored", `<template><base href="/tpl/"></template>`, "https://a.test/dir/x.png"},
		{"first base outside templates wins", `<template><base href="/tpl/"></template><base href="/real/">`, "https://a.test/real/x.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, doc := parse(t, "https://a.test/dir/page", "<head>"+tc.head+"</head><body><img src=x.png>")
			fields, _ := s.Apply(u, doc, "utf-8")
			if got := fields["r"].(map[string]any)["img"]; got != tc.want {
				t.Errorf("img = %v; want %s", got, tc.want)
			}
		})
	}
}

func TestApplyMatching(t *testing.T) {
	s := compile(t,
		config.ExtractRule{Name: "all", Fields: []config.ExtractField{
			{Name: "nothing", Selector: ".none", Required: true},
			{Name: "also", Selector: ".gone", Required: true},
		}},
		config.ExtractRule{Name: "a", Match: `^https://a\.test/`, Fields: []config.ExtractField{
			{Name: "h", Selector: "h1", Required: true},
		}},
	)
	u, doc := parse(t, "https://a.test/", "<h1>A</h1>")
	fields, failed := s.Apply(u, doc, "utf-8")
	want := map[string]any{"all": map[string]any{}, "a": map[string]any{"h": "A"}}
	if !reflect.DeepEqual(fields, want) || !reflect.DeepEqual(failed, []string{"all.nothing", "all.also"}) {
		t.Errorf("Apply = %#v, %q", fields, failed)
	}

	only := compile(t) // no rules at all
	if !only.Empty() {
		t.Fatal("Compile(nil) is not Empty")
	}
	if f, fl := only.Apply(u, doc, "utf-8"); f != nil || fl != nil {
		t.Errorf("empty set: %v, %v", f, fl)
	}
	var nilSet *Set
	if f, fl := nilSet.Apply(u, doc, "utf-8"); !nilSet.Empty() || f != nil || fl != nil {
		t.Errorf("nil set: %v, %v", f, fl)
	}

	a := compile(t, *s.rules[1].Rule)
	u, doc = parse(t, "https://b.test/", "<h1>B</h1>")
	if f, fl := a.Apply(u, doc, "utf-8"); f != nil || fl != nil {
		t.Errorf("page matching no rule: %#v, %q; want nil, nil", f, fl)
	}
	// A nil page URL means doc.Url.
	if f, _ := a.Apply(nil, doc, "utf-8"); f != nil {
		t.Errorf("nil URL with doc.Url b.test: %#v", f)
	}
}

func TestApplyRule(t *testing.T) {
	s := compile(t, productRule(), config.ExtractRule{Name: "other", Fields: []config.ExtractField{{Name: "t", Selector: "title"}}})
	if r, ok := s.Rule("product"); !ok || r.Rule.Name != "product" || len(r.Fields) != len(productRule().Fields) {
		t.Errorf("Rule(product) = %v, %v", r, ok)
	}
	if _, ok := s.Rule("nope"); ok {
		t.Error("Rule(nope) found")
	}
	if got := s.Names(); !reflect.DeepEqual(got, []string{"product", "other"}) {
		t.Errorf("Names = %q", got)
	}

	u, doc := parse(t, "https://shop.test/p/1", productHTML)
	got, failed, err := s.ApplyRule("product", u, doc, "utf-8")
	if err != nil || got["sku"] != "SKU-42" || got["title"] != "Blue Widget" || !reflect.DeepEqual(failed, []string{"brand"}) {
		t.Errorf("ApplyRule = %#v, %q, %v", got, failed, err)
	}
	if got, _, err := s.ApplyRule("other", nil, doc, "utf-8"); err != nil || got["t"] != "ignored" {
		t.Errorf("ApplyRule(other, nil URL) = %#v, %v", got, err)
	}

	_, _, err = s.ApplyRule("nope", u, doc, "utf-8")
	if !errors.Is(err, ErrUnknownRule) || !strings.Contains(err.Error(), "product, other") {
		t.Errorf("unknown rule: %v", err)
	}
	u, doc = parse(t, "https://shop.test/list", productHTML)
	_, _, err = s.ApplyRule("product", u, doc, "utf-8")
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "https://shop.test/list") {
		t.Errorf("non-matching URL: %v", err)
	}
}

func TestCompileCopiesRules(t *testing.T) {
	rules := []config.ExtractRule{productRule()}
	s := compile(t, rules...)
	rules[0].Name = "changed"
	rules[0].Fields[0].Name = "changed"
	r, ok := s.Rule("product")
	if !ok || r.Fields[0].Field.Name != "title" {
		t.Errorf("the Set shares the caller's rules: %v, %+v", ok, r)
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile([]config.ExtractRule{{Name: "prod", Fields: []config.ExtractField{
		{Name: "ok", Selector: "h1"},
		{Name: "bad", Selector: "div >"},
		{Name: "re", Selector: "p", Pattern: "("},
	}}})
	if err == nil {
		t.Fatal("Compile accepted a bad selector")
	}
	for _, want := range []string{`"prod"`, "fields[1].selector", "fields[2].pattern"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// A bad selector is a config error at load time, naming the full path of
// the field and its line.
func TestConfigParseNamesSelector(t *testing.T) {
	yaml := `extract:
  - name: product
    match: "^https://shop\\.example\\.com/p/"
    fields:
      - {name: title, selector: "h1", attr: text}
      - {name: price, selector: ".price", pattern: "[0-9.]+"}
      - {name: images, selector: "img..gallery", attr: src, all: true}
`
	_, err := config.Parse([]byte(yaml))
	if err == nil {
		t.Fatal("Parse accepted a bad selector")
	}
	var ce *config.Error
	if !errors.As(err, &ce) || !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("error %v is not a *config.Error matching ErrInvalid", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "line 7: extract[0].fields[2].selector: invalid CSS selector") {
		t.Errorf("error %q does not name extract[0].fields[2].selector at line 7", msg)
	}

	_, err = config.Parse([]byte(strings.Replace(yaml, "[0-9.]+", "[0-9.+", 1)))
	if err == nil || !strings.Contains(err.Error(), "extract[0].fields[1].pattern") {
		t.Errorf("bad pattern: %v", err)
	}
}

// Apply only reads the document: rules run concurrently on one parse.
func TestApplyConcurrent(t *testing.T) {
	s := compile(t, productRule())
	u, doc := parse(t, "https://shop.test/p/42", productHTML)
	want, _ := s.Apply(u, doc, "utf-8")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if got, _ := s.Apply(u, doc, "utf-8"); !reflect.DeepEqual(got, want) {
					t.Error("concurrent Apply differs")
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestAttrKeywordsCaseInsensitive checks that attr "Text" or "HTML" is the
// keyword, as attribute names are case-insensitive: it was read as an
// attribute named "text" or "html", so the field was always missing.
func TestAttrKeywordsCaseInsensitive(t *testing.T) {
	s := compile(t, config.ExtractRule{Name: "r", Fields: []config.ExtractField{
		{Name: "text", Selector: "h1", Attr: "text"},
		{Name: "Text", Selector: "h1", Attr: "Text"},
		{Name: "TEXT", Selector: "h1", Attr: "TEXT"},
		{Name: "html", Selector: "h1", Attr: "html"},
		{Name: "HTML", Selector: "h1", Attr: "HTML"},
		{Name: "Html", Selector: "h1", Attr: "Html"},
		{Name: "Href", Selector: "a", Attr: "Href"},
	}})
	u, doc := parse(t, "https://a.test/", `<h1 text="attr"> Big <b>deal</b> </h1><a href="/x">x</a>`)
	fields, failed := s.Apply(u, doc, "utf-8")
	want := map[string]any{"r": map[string]any{
		"text": "Big deal", "Text": "Big deal", "TEXT": "Big deal",
		"html": "Big <b>deal</b>", "HTML": "Big <b>deal</b>", "Html": "Big <b>deal</b>",
		"Href": "/x",
	}}
	if !reflect.DeepEqual(fields, want) || failed != nil {
		t.Errorf("fields:\n got %#v, failed %q\nwant %#v", fields, failed, want)
	}
}

// TestAttrNameCaseInsensitiveInSVG checks that an attribute name matches
// in any case on SVG and MathML elements too, whose attributes the HTML
// parser gives their mixed-case names (viewBox, definitionURL): compared
// with the lowercased attr, such a field was always missing.
func TestAttrNameCaseInsensitiveInSVG(t *testing.T) {
	s := compile(t, config.ExtractRule{Name: "r", Fields: []config.ExtractField{
		{Name: "viewBox", Selector: "svg", Attr: "viewBox"},
		{Name: "viewbox", Selector: "svg", Attr: "viewbox"},
		{Name: "definitionURL", Selector: "math", Attr: "definitionURL"},
	}})
	u, doc := parse(t, "https://a.test/", `<svg viewBox="0 0 8 8"></svg><math definitionURL="https://a.test/d"></math>`)
	fields, failed := s.Apply(u, doc, "utf-8")
	want := map[string]any{"r": map[string]any{
		"viewBox": "0 0 8 8", "viewbox": "0 0 8 8", "definitionURL": "https://a.test/d",
	}}
	if !reflect.DeepEqual(fields, want) || failed != nil {
		t.Errorf("fields:\n got %#v, failed %q\nwant %#v", fields, failed, want)
	}
}

// TestAbsoluteQueryInPageEncoding checks that an absolute value's query is
// percent-encoded in the page's encoding, as parser encodes the links of
// the same page (its TestQueryEncoding): on a Shift_JIS or windows-1251
// page the query was encoded in UTF-8, so a field named another URL than
// the crawl's link for the same href. The path stays UTF-8, a character
// the encoding lacks becomes %26%23N%3B, the <base href>'s query is
// encoded too, a value that does not resolve is kept as it is, and a
// UTF-8 page is unchanged.
func TestAbsoluteQueryInPageEncoding(t *testing.T) {
	s := compile(t, config.ExtractRule{Name: "r", Fields: []config.ExtractField{
		{Name: "links", Selector: "a", Attr: "href", All: true, Absolute: true},
	}})
	// 日 is 0x93FA and 本 0x967B in Shift_JIS ('{' stays raw in a query);
	// привет is EF F0 E8 E2 E5 F2 in windows-1251.
	for _, tc := range []struct {
		name, charset, snippet string
		want                   []string
	}{
		{"shift_jis", "shift_jis", `<a href="/s?q=日本"><a href="/日?q=本#日"><a href="mailto:x@a.test?subject=日本">`,
			[]string{"https://a.test/s?q=%93%FA%96{", "https://a.test/%E6%97%A5?q=%96{", "mailto:x@a.test?subject=日本"}},
		{"shift_jis base", "shift_jis", `<base href="/b/?q=日"><a href="#top"><a href="x?q=本">`,
			[]string{"https://a.test/b/?q=%93%FA", "https://a.test/b/x?q=%96{"}},
		{"windows-1251 and a character it lacks", "windows-1251", `<a href="/поиск?q=привет&amp;x=&#26085;">`,
			[]string{"https://a.test/%D0%BF%D0%BE%D0%B8%D1%81%D0%BA?q=%EF%F0%E8%E2%E5%F2&x=%26%2326085%3B"}},
		{"utf-8 unchanged", "utf-8", `<a href="/s?q=日本">`,
			[]string{"https://a.test/s?q=%E6%97%A5%E6%9C%AC"}},
		// Too long to resolve, as on a UTF-8 page, though it would be
		// short without the newlines that encoding removes. (parser
		// drops it, being over Options.MaxURLLength.)
		{"shift_jis too long", "shift_jis", `<a href="/s?q=日` + strings.Repeat("\n", urlnorm.MaxLength) + `本">`,
			[]string{"/s?q=日" + strings.Repeat("\n", urlnorm.MaxLength) + "本"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := htmlindex.Get(tc.charset)
			if err != nil {
				t.Fatal(err)
			}
			body, err := e.NewEncoder().String("<meta charset=" + tc.charset + ">" + tc.snippet)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse("https://a.test/dir/page")
			doc, err := parser.Parse([]byte(body), "text/html", u, parser.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Charset != tc.charset {
				t.Fatalf("page decoded from %s; want %s", doc.Charset, tc.charset)
			}
			fields, _ := s.Apply(u, doc.HTML, doc.Charset)
			if got := fields["r"].(map[string]any)["links"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Apply links:\n got %q\nwant %q", got, tc.want)
			}
			if got, _, err := s.ApplyRule("r", u, doc.HTML, doc.Charset); err != nil || !reflect.DeepEqual(got["links"], tc.want) {
				t.Errorf("ApplyRule links:\n got %q, %v\nwant %q", got["links"], err, tc.want)
			}
			// The same URLs as the link extractor's, but for the value
			// that is no http(s) URL, which it skips.
			links := slices.DeleteFunc(slices.Clone(tc.want), func(s string) bool { return !strings.HasPrefix(s, "https:") })
			if !slices.Equal(doc.Links, links) {
				t.Errorf("parser links %q; want %q", doc.Links, links)
			}
		})
	}
}
