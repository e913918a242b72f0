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
	// Hosts: IDNA mapping (fullwidth letters, ideographic dots, a soft
	// hyphen, sharp s), punycode in either case, a percent-encoded
	// name, IPv4 spellings and near misses, IPv6 with a zone or an
	// embedded IPv4, a trailing dot, a label of 64 octets.
	"http://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/",
	"http://a\u3002b\uff0ec\uff61d/",
	"http://a\u00adb.fa\u00df.de/",
	"http://XN--ZCA.de/xn--/",
	"http://%41%2e%62/",
	"http://0300.0250.0.1/",
	"http://4294967295/",
	"http://1.2.3.4./",
	"http://a.0x/",
	"http://a.-0/",
	"http://[::1%25eth0]/",
	"http://[0:0:0:0:0:ffff:192.168.0.1]:0080/",
	"http://" + strings.Repeat("a", 64) + ".example/",
	// Ports, userinfo, separators.
	"http://e.com:/",
	"https://e.com:65535/",
	"http://:80/",
	"http://a@b@c@d@e/",
	"http:\\\\e.com\\a\\..\\b",
	// Percent-encoding edge cases and bytes that are not UTF-8.
	"http://e.com/%",
	"http://e.com/%2",
	"http://e.com/%%32%65?%%32%65",
	"http://e.com/%2e%2E%2f..%2F/%2E",
	"http://e.com/a%00b?%00#%00",
	"http://e.com/%C3%A9%e9%FF?%c3%a9",
	"http://e.com/\xff\xfe?\xc3(#\xed\xa0\x80",
	"\ufeffhttp://e.com/",
	"http://e.com/?a=1&&b=&=c&#",
	"http://e.com/p;x=1?q=%20+%2B",
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
