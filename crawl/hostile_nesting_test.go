package crawl

import (
	"net/http"
	"strings"
	"testing"

	"crawler/config"
	"crawler/frontier"
)

// A page nested deeper than the HTML tree builder takes (x/net/html
// refuses more than 512 open elements) is crawled like any page although
// extraction rules need its tree: title and links come from the token
// pass, which has no such limit, and the record says the rules did not
// run. Before, the page kept neither title nor links, so its links were
// never crawled.
func TestHostileDeepNestingWithExtractRules(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("deep-nesting")
	h.robots("User-agent: *\nAllow: /\n")
	deep := "<!doctype html><html><head><title>deep</title></head><body>" +
		strings.Repeat("<div>", 10000) + `<a href="/inside">in</a>` + strings.Repeat("</div>", 10000) +
		`<a href="/after">after</a></body></html>`
	h.handle("/deep", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(deep))
	})
	h.html("/", "home", "/deep", "/ok")
	for _, p := range []string{"/inside", "/after", "/ok"} {
		h.html(p, p)
	}
	cfg := hostileConfig(t, []string{h.url("/")}, []string{h.addr})
	cfg.Extract = []config.ExtractRule{{
		Name: "heading", Match: ".",
		Fields: []config.ExtractField{{Name: "h1", Selector: "h1", Attr: "text"}},
	}}
	db := crawlToIdle(t, cfg)

	o := lookup(t, db, h.url("/deep"))
	if p := o.page; o.state != frontier.StateDone || p == nil || p.Status != 200 || p.BodyBytes != int64(len(deep)) ||
		p.Title != "deep" || p.Outlinks != 2 || !strings.Contains(p.Error, "extraction rules not run") {
		t.Errorf("/deep: %v %+v; want done, 200, body stored, title \"deep\", 2 outlinks, an error saying the rules did not run", o.state, p)
	}
	for _, path := range []string{"/inside", "/after", "/ok"} {
		if o := lookup(t, db, h.url(path)); o.state != frontier.StateDone || h.count(path) != 1 {
			t.Errorf("%s: %v, requested %d times; want done, once", path, o.state, h.count(path))
		}
	}
	if p := page(t, db, h.url("/ok")); p.Fields["heading"] == nil || p.Error != "" {
		t.Errorf("/ok: fields %v, error %q; want the rule run, no error", p.Fields, p.Error)
	}
}
