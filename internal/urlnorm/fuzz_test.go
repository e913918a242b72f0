package urlnorm

import (
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"http://example.com",
	"HTTP://User:Pw@EXAMPLE.com:80/a/./b/../c/%7euser?b=2&a=1#frag",
	"https://bücher.de/ä?ö#ü",
	"http://0x7f.1/",
	"http://[::ffff:1.2.3.4]:8080/x",
	"http://example.com/%zz%%41?q=%zz%%41",
	"  http://ex\tam\nple.com\\a\\b  ",
	"http:example.com",
	"javascript:alert(1)",
	"//example.com/a",
	"../a/./b?c#d",
	"http://example.com/a^b|c[d]{e}`f?a^b|c[d]{e}`f'g\"h",
	"http://example.com/%2e%2E/x/.%2e/%2e./y",
	"",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		// The unguarded canonicalization must itself be idempotent, so the
		// stability guard in normalize never has to reject anything real.
		if s, err := canonical(nil, raw); err == nil {
			again, err := canonical(nil, s)
			if err != nil || again != s {
				t.Fatalf("canonical not idempotent: %q -> %q -> %q, %v", raw, s, again, err)
			}
		}
		u, err := Parse(raw)
		if err != nil {
			return
		}
		checkCanonical(t, u.String())
		// Dropping query parameters keeps a URL canonical.
		for _, drop := range []func(string) bool{
			func(string) bool { return true },
			func(n string) bool { return strings.HasPrefix(n, "a") || n == "" },
		} {
			checkCanonical(t, DropQueryParams(u.String(), drop))
		}
	})
}

func FuzzResolve(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add("http://example.com/a/b?c", s)
		f.Add("https://[::1]:8443/", s)
	}
	f.Fuzz(func(t *testing.T, base, ref string) {
		b, err := Parse(base)
		if err != nil {
			return
		}
		u, err := Resolve(b, ref)
		if err != nil {
			return
		}
		checkCanonical(t, u.String())
	})
}
