package crawl

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"crawler/config"
)

// shopPages is a small shop: listings linking to products. Product 2 sets a
// <base href>; product 3 has no SKU.
var shopPages = map[string]string{
	"/": `<html><head><title>Shop</title></head><body>
<a href="/p/1">one</a> <a href="/p/2">two</a> <a href="/list/2">more</a>
<p class="price">$1.00</p></body></html>`,
	"/list/2": `<html><head><title>Shop, page 2</title></head><body>
<a href="/p/3">three</a><h1>Listing</h1></body></html>`,
	"/p/1": `<html><head><title>P1</title><meta itemprop="sku" content="SKU-1"></head><body>
<h1>  Red
  Chair </h1><p class="price">Price: $12.50</p>
<img class="gallery" src="img/1a.jpg"><img class="gallery" src="/img/1b.jpg"><img class="logo" src="/logo.png">
<a href="/">home</a></body></html>`,
	"/p/2": `<html><head><title>P2</title><base href="/media/"><meta itemprop="sku" content="SKU-2"></head><body>
<h1>Blue <em>Table</em></h1><p class="price">$99</p>
<img class="gallery" src="2a.jpg"></body></html>`,
	"/p/3": `<html><head><title>P3</title></head><body>
<h1>Lamp</h1><p class="price">$7.25</p></body></html>`,
}

func shopServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := shopPages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCrawlExtractsFields(t *testing.T) {
	srv := shopServer(t)
	cfg := testConfig(t, srv.URL+"/")
	cfg.Extract = []config.ExtractRule{{
		Name:  "product",
		Match: "^" + regexp.QuoteMeta(srv.URL) + "/p/",
		Fields: []config.ExtractField{
			{Name: "title", Selector: "h1", Attr: "text"},
			{Name: "price", Selector: ".price", Attr: "text", Pattern: `[0-9.]+`},
			{Name: "images", Selector: "img.gallery", Attr: "src", All: true, Absolute: true},
			{Name: "sku", Selector: "meta[itemprop=sku]", Attr: "content", Required: true},
		},
	}}
	db := crawlToIdle(t, cfg)

	// Stored records are JSON: lists read back as []any.
	want := map[string]map[string]any{
		"/p/1": {"title": "Red Chair", "price": "12.50", "sku": "SKU-1",
			"images": []any{srv.URL + "/p/img/1a.jpg", srv.URL + "/img/1b.jpg"}},
		"/p/2": {"title": "Blue Table", "price": "99", "sku": "SKU-2",
			"images": []any{srv.URL + "/media/2a.jpg"}},
		"/p/3": {"title": "Lamp", "price": "7.25"},
	}
	for path, fields := range want {
		p := page(t, db, srv.URL+path)
		if got := p.Fields["product"]; !reflect.DeepEqual(got, map[string]any(fields)) {
			t.Errorf("%s fields:\n got %#v\nwant %#v", path, got, fields)
		}
		if len(p.Fields) != 1 {
			t.Errorf("%s: fields for rules %v; want only product", path, p.Fields)
		}
		failed := p.Extra["extract_failed"]
		if path == "/p/3" && failed != "product.sku" {
			t.Errorf("%s: extract_failed = %q; want product.sku", path, failed)
		}
		if path != "/p/3" && failed != "" {
			t.Errorf("%s: extract_failed = %q; want none", path, failed)
		}
	}
	for _, path := range []string{"/", "/list/2"} {
		if p := page(t, db, srv.URL+path); p.Fields != nil || p.Extra["extract_failed"] != "" {
			t.Errorf("listing %s: fields %v, extra %v; want none", path, p.Fields, p.Extra)
		}
	}
}

// TestCrawlExtractsAbsoluteInPageEncoding checks that on a page that is not
// UTF-8 an absolute field's query is percent-encoded in the page's encoding
// (Shift_JIS here), as the link extractor encodes the same href: the field
// names the very URL the crawl queued and fetched. The field encoded the
// query in UTF-8 (%E6%97%A5%E6%9C%AC for 日本), a URL the crawl never saw.
// The path stays UTF-8 in both, and the <base href>'s query is encoded too.
func TestCrawlExtractsAbsoluteInPageEncoding(t *testing.T) {
	body, err := japanese.ShiftJIS.NewEncoder().String(`<html><head><meta charset="shift_jis">
<base href="/b/?q=日"><title>日本語</title></head><body>
<a href="/s?q=日本">日本</a> <a href="/日?q=本">本</a> <a href="#top">top</a></body></html>`)
	if err != nil {
		t.Fatal(err)
	}
	// Every URL serves the page, so every link the crawl follows is fetched.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html") // the <meta> names shift_jis
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	cfg := testConfig(t, srv.URL+"/p/sjis")
	cfg.Extract = []config.ExtractRule{{Name: "r", Match: "/p/", Fields: []config.ExtractField{
		{Name: "links", Selector: "a", Attr: "href", All: true, Absolute: true},
	}}}
	db := crawlToIdle(t, cfg)

	// 日 is 0x93FA and 本 0x967B in Shift_JIS ('{' is not percent-encoded
	// in a query); the path's 日 is UTF-8.
	want := []any{srv.URL + "/s?q=%93%FA%96{", srv.URL + "/%E6%97%A5?q=%96{", srv.URL + "/b/?q=%93%FA"}
	p := page(t, db, srv.URL+"/p/sjis")
	if p.Charset != "shift_jis" {
		t.Fatalf("charset %q; want shift_jis", p.Charset)
	}
	if got := p.Fields["r"]; !reflect.DeepEqual(got, map[string]any{"links": want}) {
		t.Errorf("fields:\n got %#v\nwant %#v", got, map[string]any{"links": want})
	}
	for _, u := range want {
		if lp := page(t, db, u.(string)); lp.Status != http.StatusOK {
			t.Errorf("link %s: status %d; want the crawl to have fetched it", u, lp.Status)
		}
	}
}
