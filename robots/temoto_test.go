package robots_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/temoto/robotstxt"

	"crawler/robots"
)

// Ensure the gaps of github.com/temoto/robotstxt v1.1.2 that made this
// package hand-write its parser and matcher (see doc.go) are still there.
// If this fails after an upgrade, the library may have become usable.
func TestTemoto_KnownGaps(t *testing.T) {
	must := func(body string) *robotstxt.RobotsData {
		t.Helper()
		d, err := robotstxt.FromString(body)
		if err != nil {
			t.Fatalf("FromString(%q): %v", body, err)
		}
		return d
	}
	t.Run("5xx allows via FindGroup (#40)", func(t *testing.T) {
		d, err := robotstxt.FromStatusAndBytes(503, nil)
		if err != nil || !d.FindGroup("crawler").Test("/") {
			t.Error("gap closed")
		}
	})
	t.Run("one bad line voids the file", func(t *testing.T) {
		for _, body := range []string{
			"Disallow: /b\nUser-agent: *\nDisallow: /a",
			"User-agent: *\nCrawl-delay: 10s\nDisallow: /a",
		} {
			if _, err := robotstxt.FromString(body); err == nil {
				t.Errorf("%q: gap closed", body)
			}
		}
	})
	t.Run("tie goes to the first listed", func(t *testing.T) {
		if must("User-agent: *\nDisallow: /folder\nAllow: /folder").TestAgent("/folder/page", "crawler") {
			t.Error("gap closed")
		}
	})
	t.Run("wildcard length is the regexp's", func(t *testing.T) {
		if must("User-agent: *\nAllow: /a/b/cd\nDisallow: /*.php").TestAgent("/a/b/cd.php", "crawler") {
			t.Error("gap closed")
		}
	})
	t.Run("wildcard not anchored", func(t *testing.T) {
		if must("User-agent: *\nDisallow: /fish*.php").TestAgent("/x/fish.php", "crawler") {
			t.Error("gap closed")
		}
	})
	t.Run("no percent-encoding equivalence", func(t *testing.T) {
		if !must("User-agent: *\nDisallow: /%62az").TestAgent("/baz", "crawler") {
			t.Error("gap closed")
		}
	})
	t.Run("value cut at a space", func(t *testing.T) {
		if must("User-agent: *\nDisallow: /a b").TestAgent("/a", "crawler") {
			t.Error("gap closed")
		}
	})
	t.Run("empty group ignored", func(t *testing.T) {
		if must("User-agent: *\nDisallow: /\n\nUser-agent: crawler\n").TestAgent("/", "crawler") {
			t.Error("gap closed")
		}
	})
	t.Run("agent matched by prefix", func(t *testing.T) {
		if must("User-agent: crawl\nDisallow: /").TestAgent("/", "crawler") {
			t.Error("gap closed")
		}
	})
}

// Ensure this package agrees with temoto/robotstxt on random files that
// stay inside what the library does right: literal prefix patterns of
// distinct lengths, exact agent names, rules only after a user-agent, no
// group without rules.
func TestTemoto_Differential(t *testing.T) {
	// Distinct lengths, so no tie between Allow and Disallow can occur.
	patterns := []string{"/", "/a", "/a/", "/a/b", "/a/bc", "/b/cde", "/a/b/cd", "/a/b/cde", "/a/bcdefg"}
	agents := []string{"crawler", "*", "other", "CRAWLER"}
	paths := []string{"/", "/a", "/a/", "/a/b", "/a/bc", "/a/bcd", "/a/b/c", "/a/b/cd", "/a/b/cdef",
		"/a/bcdefgh", "/b", "/b/cde", "/b/cdef", "/c", "/a?b"}
	rng := rand.New(rand.NewPCG(9309, 1))
	compared := 0
	for i := range 500 {
		var b strings.Builder
		for range 1 + rng.IntN(4) {
			for range 1 + rng.IntN(2) {
				fmt.Fprintf(&b, "User-agent: %s\n", agents[rng.IntN(len(agents))])
			}
			for _, j := range rng.Perm(len(patterns))[:1+rng.IntN(4)] {
				fmt.Fprintf(&b, "%s: %s\n", []string{"Allow", "Disallow"}[rng.IntN(2)], patterns[j])
			}
		}
		body := b.String()
		// A pattern may repeat across groups for one agent; that can tie.
		if hasTie(body) {
			continue
		}
		compared++
		lib, err := robotstxt.FromString(body)
		if err != nil {
			t.Fatalf("file %d: %v\n%s", i, err, body)
		}
		ours := robots.Parse([]byte(body), "crawler")
		for _, p := range paths {
			if want, got := lib.TestAgent(p, "crawler"), ours.Allowed(mustURL(t, p)); got != want {
				t.Errorf("file %d, %s: ours %v, temoto %v\n%s", i, p, got, want, body)
			}
		}
	}
	if compared < 250 {
		t.Errorf("only %d of 500 files compared", compared)
	}
}

// hasTie reports whether one pattern appears with both Allow and Disallow
// anywhere in body.
func hasTie(body string) bool {
	seen := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok || k == "User-agent" {
			continue
		}
		if prev, dup := seen[v]; dup && prev != k {
			return true
		}
		seen[v] = k
	}
	return false
}
