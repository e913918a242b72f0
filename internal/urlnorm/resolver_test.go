package urlnorm

import (
	"net/url"
	"strings"
	"testing"
)

// A Resolver, cached or not, answers exactly what Resolve answers, for
// every kind of reference and for bases sharing an origin.
func TestResolverMatchesResolve(t *testing.T) {
	refs := []string{"/a", "a", "./a/../b", "?q=1", "#f", "//other.example/x", "http://x.example/%7e",
		"HTTPS://X.example:443/a", "mailto:x@y", "", "  /sp ace", "\\back", "../../up", "/a#frag", "javascript:x"}
	bases := []string{"http://h.example/dir/page?x=1", "http://h.example/other/", "https://h.example/dir/page"}
	cache := NewCache(0)
	for round := range 2 { // the second round is served from the cache
		for _, b := range bases {
			base, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			r := NewResolver(base, cache)
			for _, ref := range refs {
				want, werr := Resolve(base, ref)
				got, gerr := r.Resolve(ref)
				if (werr == nil) != (gerr == nil) || (werr == nil && got.String() != want.String()) {
					t.Errorf("round %d base %s ref %q: resolver %v, %v; Resolve %v, %v", round, b, ref, got, gerr, want, werr)
				}
			}
		}
	}
	if len(cache.m) == 0 {
		t.Fatal("nothing was cached")
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := NewCache(4)
	base, _ := url.Parse("http://h.example/")
	r := NewResolver(base, c)
	for i := range 20 {
		r.Resolve("/p" + string(rune('a'+i)))
	}
	if len(c.m) > 4 {
		t.Fatalf("cache holds %d; want at most 4", len(c.m))
	}
}

func TestFastPathShapes(t *testing.T) {
	base, _ := Parse("http://h.example/dir/page.html?x=1")
	r := NewResolver(base, nil)
	for ref, want := range map[string]string{
		"/a/b":                      "http://h.example/a/b",
		"a/b#frag":                  "http://h.example/dir/a/b",
		"p/3?x=1&y=2":               "http://h.example/dir/p/3?x=1&y=2",
		"a?":                        "http://h.example/dir/a",
		"...":                       "http://h.example/dir/...",
		"http://h.example/x?y=1#z":  "http://h.example/x?y=1",
		"/p/../p/3":                 "http://h.example/p/3",
		"a/./b/..":                  "http://h.example/dir/a/",
		"../../../x":                "http://h.example/x",
		"http://other.example:8080": "http://other.example:8080/",
		"https://10.0.0.1/a/../b?q": "https://10.0.0.1/b?q",
	} {
		if got, ok := r.fast(ref); !ok || got != want {
			t.Errorf("fast(%q) = %q, %v; want %q", ref, got, ok, want)
		}
	}
	for _, ref := range []string{"http://H.example/x", "http://h.example:80/x", "http://u@h.example/", "http://h.123/", "http://127.1/", "http://h.0x1f/", "http://0x/", "http://h.-0/", "http://0-0/", "http://h.0x-f/", "http://1000000000000000000000a/", "http://h.99999999999999999999z/",
		"http://010.0.0.1/", "http://h.example:08/", "http://xn--bcher-kva.example/", "http://[::1]/", "//x/y", "?q", "#f", "", "a b", "a%20b", "/ä", "a\\b", "/a?b c", "/a?%41"} {
		if got, ok := r.fast(ref); ok {
			t.Errorf("fast(%q) = %q; want the full path", ref, got)
		}
	}
}

// The fast path is per link: an absolute link to a plain host name costs
// what a relative one does plus the host check, which allocates nothing
// (a failed strconv.ParseInt there once doubled it).
func TestFastPathAllocs(t *testing.T) {
	base, _ := Parse("http://h.example/dir/page.html")
	r := NewResolver(base, nil)
	rel := testing.AllocsPerRun(100, func() { r.fast("/x/y") })
	abs := testing.AllocsPerRun(100, func() { r.fast("http://www.other.example/a/b") })
	if abs > rel+1 {
		t.Fatalf("fast path allocations: %v for an absolute link, %v for a relative one", abs, rel)
	}
}

// Whatever the fast path answers, Resolve answers the same.
func FuzzFast(f *testing.F) {
	for _, s := range []string{"http://h.example/dir/x", "https://h.example/a?b", "http://o.example:81/a/../b", "http://1.2.3.4", "../x/./y/..", "/a", "a/b", "p/1#x", "a?b=c&d", "x.html", "...", "a//b", "A-Z_~.q",
		"http://" + strings.Repeat("a", 63) + ".example/", "http://" + strings.Repeat("a", 64) + ".example/", "http://a.b.c.0x/", "http://a.0-0/",
		"http://1.2.3.04/", "http://h.example:65535", "http://h.example:65536/", "https://h.example:0443/", "http://h.example/" + strings.Repeat("a/", 129)} {
		f.Add("http://h.example/dir/page", s)
		f.Add("https://H.example:443/", s)
	}
	f.Fuzz(func(t *testing.T, rawBase, ref string) {
		base, err := Parse(rawBase)
		if err != nil {
			return
		}
		got, ok := NewResolver(base, nil).fast(ref)
		if !ok {
			return
		}
		want, err := Resolve(base, ref)
		if err != nil {
			t.Fatalf("base %q ref %q: fast %q but Resolve fails: %v", base, ref, got, err)
		}
		if want.String() != got {
			t.Fatalf("base %q ref %q: fast %q, Resolve %q", base, ref, got, want)
		}
	})
}

// SplitCanonical slices what Origin and Host compute, for canonical URLs.
func TestSplitCanonicalAgrees(t *testing.T) {
	for _, raw := range []string{"http://h.example/", "https://H.example:443/a/b?c=d", "http://h.example:8080?q",
		"http://[::1]:81/x", "http://xn--bcher-kva.example/p#f", "http://127.0.0.1/a?b/c"} {
		u, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		origin, host, rest := SplitCanonical(u.String())
		if origin != Origin(u) || host != Host(u) || origin+rest != u.String() {
			t.Errorf("SplitCanonical(%s) = %q %q %q; want %q %q", u, origin, host, rest, Origin(u), Host(u))
		}
	}
}
