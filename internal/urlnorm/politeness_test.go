package urlnorm

import "testing"

func TestPolitenessKey(t *testing.T) {
	for _, c := range []struct{ mode, host, want string }{
		{ByHost, "www.example.com:8080", "www.example.com:8080"},
		{"", "www.example.com", "www.example.com"},
		{ByDomain, "www.example.com", "example.com"},
		{ByDomain, "docs.example.com:8080", "example.com"},
		{ByDomain, "example.com", "example.com"},
		{ByDomain, "shop.example.co.uk", "example.co.uk"},
		{ByDomain, "alice.blogspot.com", "alice.blogspot.com"}, // blogspot.com is a public suffix
		{ByDomain, "blogspot.com", "blogspot.com"},
		{ByDomain, "a.b.site.test", "site.test"}, // an unlisted TLD counts as one label
		{ByDomain, "localhost:3000", "localhost"},
		{ByDomain, "127.0.1.5:8080", "127.0.1.5"},
		{ByDomain, "[::1]:8080", "[::1]"},
		{ByDomain, "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{ByDomain, "www.xn--bcher-kva.example", "xn--bcher-kva.example"},
		{ByHost, "www.example.com.", "www.example.com"},
		{ByHost, "www.example.com.:8080", "www.example.com:8080"},
		{ByDomain, "www.example.com.:8080", "example.com"},
	} {
		if got := PolitenessKey(c.mode, c.host); got != c.want {
			t.Errorf("PolitenessKey(%q, %q) = %q; want %q", c.mode, c.host, got, c.want)
		}
	}
}

var dropRootDotSink string

func TestDropRootDot(t *testing.T) {
	for in, want := range map[string]string{
		"a.test.": "a.test", "a.test.:8080": "a.test:8080", "a.test": "a.test", "a.test:8080": "a.test:8080",
		"a.test..": "a.test.", ".": ".", "": "", "127.0.0.1": "127.0.0.1", "127.0.0.1:80": "127.0.0.1:80",
		"[::1]": "[::1]", "[::1]:8080": "[::1]:8080", "localhost.": "localhost",
	} {
		if got := DropRootDot(in); got != want {
			t.Errorf("DropRootDot(%q) = %q; want %q", in, got, want)
		}
	}
	// The result goes to a package variable so that the call cannot be
	// optimized away and the count be zero whatever DropRootDot does.
	if n := testing.AllocsPerRun(100, func() { dropRootDotSink = DropRootDot("www.example.com:8080") }); n != 0 {
		t.Errorf("DropRootDot of a name without the dot: %v allocations", n)
	}
}

func TestParseHost(t *testing.T) {
	for in, want := range map[string]string{"Example.COM": "example.com", "example.com:80": "example.com",
		"example.com:8080": "example.com:8080", "bücher.example": "xn--bcher-kva.example", "127.0.1.5:9": "127.0.1.5:9"} {
		if got, err := ParseHost(in); err != nil || got != want {
			t.Errorf("ParseHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a b", "example.com/path", "user@example.com", "example.com?q", "http://example.com"} {
		if got, err := ParseHost(bad); err == nil {
			t.Errorf("ParseHost(%q) = %q; want an error", bad, got)
		}
	}
}
