package crawl

import (
	"testing"
	"time"

	"crawler/robots"
)

// A link whose origin's robots.txt is known is judged when it is found:
// on its escaped path and its query, as the request would carry them,
// and a link of an origin whose rules are not known yet is left for the
// fetch to judge.
func TestDiscoveredJudgesLinksByKnownRules(t *testing.T) {
	cfg := testConfig(t, "http://a.test/", "http://b.test/")
	_, e := newEngine(t, cfg)
	defer e.Close()
	rules := robots.Parse([]byte("User-agent: *\nDisallow: /private/\nDisallow: /*?sort=\nDisallow: /caf%C3%A9$\nAllow: /private/ok\n"), "crawler")
	e.robots.entries["http://a.test"] = &robotsEntry{rules: rules, expires: time.Now().Add(time.Hour)}

	for _, tc := range []struct {
		url        string
		disallowed bool
	}{
		{"http://a.test/private/x", true},
		{"http://a.test/private/ok", false},
		{"http://a.test/list?sort=asc", true},
		{"http://a.test/list?page=2", false},
		{"http://a.test/list", false},
		{"http://a.test/caf%C3%A9", true},
		{"http://a.test/caf%C3%A9/menu", false},
		{"http://a.test/robots.txt", false},
		{"http://b.test/private/x", false}, // b.test's rules are not known yet
	} {
		links, trapped := e.discovered([]string{tc.url}, "http://a.test/", 1)
		if trapped != 0 || len(links) != 1 {
			t.Fatalf("%s: %d links, %d trapped; want one link", tc.url, len(links), trapped)
		}
		if links[0].Disallowed != tc.disallowed {
			t.Errorf("%s: disallowed %v; want %v", tc.url, links[0].Disallowed, tc.disallowed)
		}
	}
}
