package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"crawler/store"
)

// extractShop serves a listing and two products; product 2 has no SKU.
func extractShop(t *testing.T) *httptest.Server {
	t.Helper()
	pages := map[string]string{
		"/": `<html><body><a href="/p/1">1</a> <a href="/p/2">2</a></body></html>`,
		"/p/1": `<html><head><meta itemprop="sku" content="SKU-1"></head><body>
<h1> Red  Chair </h1><p class="price">$12.50</p><p class="desc">Solid oak.</p>
<img class="gallery" src="a.jpg"><img class="gallery" src="/b.jpg"></body></html>`,
		"/p/2": `<html><body><h1>Lamp</h1><p class="price">$7</p></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
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

// extractRules returns the extract: YAML of a product rule for srv with
// the given extra field lines.
func extractRules(srv *httptest.Server, fields ...string) string {
	y := fmt.Sprintf(`extract:
  - name: product
    match: '^%s/p/'
    fields:
      - {name: title, selector: h1, attr: text}
      - {name: price, selector: .price, attr: text, pattern: '[0-9.]+'}
      - {name: images, selector: img.gallery, attr: src, all: true, absolute: true}
      - {name: sku, selector: 'meta[itemprop=sku]', attr: content, required: true}
`, regexp.QuoteMeta(srv.URL))
	for _, f := range fields {
		y += "      - " + f + "\n"
	}
	return y
}

func TestExtractVerb(t *testing.T) {
	srv := extractShop(t)
	dir := t.TempDir()
	path := writeConfig(t, dir, []string{srv.URL + "/"}, extractRules(srv))

	if code, _, stderr := run(t, "extract", "--config", path, "--rule", "product", "--url", srv.URL+"/p/1"); code != exitData || !strings.Contains(stderr, "crawler run") {
		t.Errorf("before any crawl: exit %d, stderr %q; want 3 saying to run the crawler", code, stderr)
	}
	if code, _, stderr := run(t, "run", "--config", path, "--exit-when-idle"); code != exitOK {
		t.Fatalf("crawl: exit %d, stderr %q", code, stderr)
	}

	t.Run("json", func(t *testing.T) {
		code, out, stderr := run(t, "extract", "--config", path, "--rule", "product", "--url", srv.URL+"/p/1", "--format", "json")
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		want := map[string]any{
			"url":  srv.URL + "/p/1",
			"rule": "product",
			"fields": map[string]any{
				"title": "Red Chair", "price": "12.50", "sku": "SKU-1",
				"images": []any{srv.URL + "/p/a.jpg", srv.URL + "/b.jpg"},
			},
			"failed": []any{},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("output:\n got %#v\nwant %#v", got, want)
		}
	})

	t.Run("text", func(t *testing.T) {
		// The URL is normalized like every URL a user types.
		code, out, stderr := run(t, "extract", "--config", path, "--rule", "product", "--url", strings.ToUpper(srv.URL[:4])+srv.URL[4:]+"/p/2#top")
		want := "url: " + srv.URL + "/p/2\nrule: product\ntitle: Lamp\nprice: 7\nimages: (missing)\nsku: (missing, required)\n"
		if code != exitOK || out != want {
			t.Errorf("exit %d, stderr %q, output:\n%s\nwant:\n%s", code, stderr, out, want)
		}
	})

	t.Run("edited rule applies without refetching", func(t *testing.T) {
		// Same data_dir, one more field and a changed pattern.
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		y := strings.Replace(string(orig), "[0-9.]+", `\.([0-9]+)`, 1) + "      - {name: desc, selector: .desc, attr: html}\n"
		edited := filepath.Join(dir, "edited.yaml")
		if err := os.WriteFile(edited, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, stderr := run(t, "extract", "--config", edited, "--rule", "product", "--url", srv.URL+"/p/1")
		if code != exitOK || !strings.Contains(out, "\nprice: 50\n") || !strings.Contains(out, "\ndesc: Solid oak.\n") ||
			!strings.Contains(out, "  - "+srv.URL+"/b.jpg\n") {
			t.Errorf("exit %d, stderr %q, output:\n%s", code, stderr, out)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"rule does not match", []string{"--rule", "product", "--url", srv.URL + "/"}, exitNotFound, "does not apply"},
		{"page not stored", []string{"--rule", "product", "--url", srv.URL + "/p/9"}, exitNotFound, "is not stored"},
		{"unknown rule", []string{"--rule", "nope", "--url", srv.URL + "/p/1"}, exitUsage, "rules in " + path + ": product"},
		{"bad url", []string{"--rule", "product", "--url", "ftp://x/"}, exitUsage, "--url"},
		{"bad format", []string{"--rule", "product", "--url", srv.URL + "/p/1", "--format", "xml"}, exitUsage, "--format"},
		{"no rule flag", []string{"--url", srv.URL + "/p/1"}, exitUsage, "--rule NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, append([]string{"extract", "--config", path}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, stderr, tc.code, tc.msg)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q is not one line", stderr)
			}
		})
	}

	t.Run("locked", func(t *testing.T) {
		db, err := store.Open(filepath.Join(dir, "data", "crawl.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		code, _, stderr := run(t, "extract", "--config", path, "--rule", "product", "--url", srv.URL+"/p/1")
		if code != exitData || !strings.Contains(stderr, "locked") {
			t.Errorf("exit %d, stderr %q; want 3, locked", code, stderr)
		}
	})
}

func TestExtractBadSelectorIsConfigError(t *testing.T) {
	srv := extractShop(t)
	dir := t.TempDir()
	path := writeConfig(t, dir, []string{srv.URL + "/"}, extractRules(srv, "{name: bad, selector: 'div >', attr: text}"))
	code, _, stderr := run(t, "extract", "--config", path, "--rule", "product", "--url", srv.URL+"/p/1")
	if code != exitUsage || !strings.Contains(stderr, "extract[0].fields[4].selector") || !strings.Contains(stderr, "crawler.yaml:") {
		t.Errorf("exit %d, stderr %q; want 2 naming extract[0].fields[4].selector and its line", code, stderr)
	}
}

// TestExtractVerbAbsoluteInPageEncoding checks that `crawler extract`, which
// parses the stored body again, encodes an absolute field's query in the
// page's encoding (windows-1251 here) as the crawl's link extraction does:
// the field names the URL the crawl fetched. A character the encoding lacks
// (日) is written as a percent-encoded "&#26085;". It encoded the query in
// UTF-8.
func TestExtractVerbAbsoluteInPageEncoding(t *testing.T) {
	body, err := charmap.Windows1251.NewEncoder().String(`<html><head><meta charset="windows-1251"></head><body>
<a href="/поиск?q=привет">поиск</a> <a href="/s?q=&#26085;&amp;x=я">x</a></body></html>`)
	if err != nil {
		t.Fatal(err)
	}
	// Every URL serves the page, so every link the crawl follows is fetched.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html") // the <meta> names windows-1251
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	path := writeConfig(t, dir, []string{srv.URL + "/p/1251"}, `extract:
  - name: links
    fields:
      - {name: links, selector: a, attr: href, all: true, absolute: true}
`)
	if code, _, stderr := run(t, "run", "--config", path, "--exit-when-idle"); code != exitOK {
		t.Fatalf("crawl: exit %d, stderr %q", code, stderr)
	}

	// привет is EF F0 E8 E2 E5 F2 and я FF in windows-1251; the path stays
	// UTF-8.
	want := []any{srv.URL + "/%D0%BF%D0%BE%D0%B8%D1%81%D0%BA?q=%EF%F0%E8%E2%E5%F2", srv.URL + "/s?q=%26%2326085%3B&x=%FF"}
	code, out, stderr := run(t, "extract", "--config", path, "--rule", "links", "--url", srv.URL+"/p/1251", "--format", "json")
	if code != exitOK {
		t.Fatalf("extract: exit %d, stderr %q", code, stderr)
	}
	var res struct{ Fields map[string]any }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got := res.Fields["links"]; !reflect.DeepEqual(got, want) {
		t.Errorf("links:\n got %#v\nwant %#v", got, want)
	}
	for _, u := range want {
		if code, _, stderr := run(t, "pages", "get", u.(string), "--config", path); code != exitOK {
			t.Errorf("pages get %s: exit %d, stderr %q; want the crawl to have fetched it", u, code, stderr)
		}
	}
}

// TestExtractVerbParsesWhatTheCrawlParsed checks that `crawler extract`
// runs the rule over the part of the stored body the crawl parsed (its
// first 2 MiB), so it shows what the crawl extracts: it parsed the whole
// body and found an <h1> past that mark, which the crawl never stores.
func TestExtractVerbParsesWhatTheCrawlParsed(t *testing.T) {
	body := "<html><body><h2>Early</h2><p>" + strings.Repeat("filler ", 3<<20/7) + "</p><h1>Late</h1></body></html>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	path := writeConfig(t, t.TempDir(), []string{srv.URL + "/big"}, `extract:
  - name: big
    fields:
      - {name: early, selector: h2}
      - {name: late, selector: h1}
`)
	if code, _, stderr := run(t, "run", "--config", path, "--exit-when-idle"); code != exitOK {
		t.Fatalf("crawl: exit %d, stderr %q", code, stderr)
	}
	code, out, stderr := run(t, "pages", "get", srv.URL+"/big", "--config", path, "--format", "json")
	var page struct{ Fields map[string]any }
	if err := json.Unmarshal([]byte(out), &page); code != exitOK || err != nil {
		t.Fatalf("pages get: exit %d, stderr %q, %v", code, stderr, err)
	}
	code, out, stderr = run(t, "extract", "--config", path, "--rule", "big", "--url", srv.URL+"/big", "--format", "json")
	var res struct{ Fields map[string]any }
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil {
		t.Fatalf("extract: exit %d, stderr %q, %v", code, stderr, err)
	}
	want := map[string]any{"early": "Early"}
	if !reflect.DeepEqual(page.Fields["big"], want) {
		t.Fatalf("the crawl stored fields %#v; want %#v", page.Fields["big"], want)
	}
	if !reflect.DeepEqual(res.Fields, want) {
		t.Errorf("crawler extract gave %#v; want what the crawl stored, %#v", res.Fields, want)
	}
}
