package robots_test

import (
	"net/url"
	"strings"
	"testing"

	"crawler/robots"
)

// FuzzParse checks that Parse never panics, that Allowed is deterministic,
// that /robots.txt is always allowed, and that percent-encoding unreserved
// characters of the path never changes the verdict (RFC 9309 §2.2.2).
// Seeds: f.Add below and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(rfcExample), "/example/page.html")
	f.Add([]byte("User-agent: *\nDisallow: /fish*.php$\nAllow: /fish"), "/fishheads/catfish.php?p")
	f.Add([]byte("User-agent: crawler\nDisallow: /%E3%83%84\nAllow: /$"), "/ツ")
	f.Add([]byte("Disallow: /x\nUser-agent: crawler\r\nCrawl-delay: 10s\rDisallow: /a*b*c$"), "/a-b-c")
	f.Add([]byte("\xEF\xBB\xBFUser-agent: *\nDisallow: *\n"), "/robots.txt")
	// Line ends CRLF and CR, a BOM, mixed-case agents, NUL, bytes that
	// are not UTF-8, escapes of reserved characters and broken ones, a
	// pathological wildcard pattern, a crawl-delay out of range, an
	// agent that only starts with the token.
	f.Add([]byte("\xEF\xBB\xBFUser-Agent: CRAWLER\r\nDisallow: /a\r\n\r\nUser-agent: *\r\nDisallow: /\r\n"), "/a?x")
	f.Add([]byte("User-agent: crawler\rAllow: /p$\rDisallow: /\r"), "/p")
	f.Add([]byte("User-agent:\x00crawler\nUser-agent: crawler\nDisallow: /\x00\n"), "/%00")
	f.Add([]byte("user-agent: crawler\ndisallow: /\xff\xfe*\xc3(\n"), "/%FF%FE/x%C3(")
	f.Add([]byte("User-agent: crawler\nDisallow: /a%2fb\nAllow: /a/b\nDisallow: /%\nDisallow: /%2\nDisallow: /%zz*%7e$"), "/a%2Fb")
	f.Add([]byte("User-agent: crawler\nDisallow: /"+strings.Repeat("*a", 500)+"$"), "/"+strings.Repeat("a", 499)+"b")
	f.Add([]byte("User-agent: *\nUser-agent: crawler\nCrawl-delay: 1e400\nDisallow: /$\nAllow: /*$\n"), "/")
	f.Add([]byte("Sitemap: http://x/\nUser-agent: crawler-bot\nDisallow: /\nUser-agent: crawler\nDisallow:\n"), "/")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		u, err := url.Parse(path)
		if err != nil {
			return
		}
		r1 := robots.Parse(body, "crawler")
		r2 := robots.Parse(body, "crawler")
		got := r1.Allowed(u)
		if r1.Allowed(u) != got || r2.Allowed(u) != got {
			t.Fatalf("Allowed(%q) is not deterministic", path)
		}
		if uri := u.RequestURI(); u.Opaque == "" && r1.AllowedRequestURI(uri) != got {
			t.Fatalf("Allowed(%q) = %v but AllowedRequestURI(%q) = %v", path, got, uri, !got)
		}
		if r1.CrawlDelay() < 0 {
			t.Fatalf("CrawlDelay = %v", r1.CrawlDelay())
		}
		if !r1.Allowed(&url.URL{Path: "/robots.txt"}) {
			t.Fatal("/robots.txt disallowed")
		}
		esc := u.EscapedPath()
		if !strings.HasPrefix(esc, "/") {
			return
		}
		enc := encodeUnreserved(esc)
		if u.RawQuery != "" || u.ForceQuery {
			enc += "?" + encodeUnreserved(u.RawQuery)
		}
		v, err := url.Parse("http://example.com" + enc)
		if err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", enc, err)
		}
		if r1.Allowed(v) != got {
			t.Fatalf("Allowed(%q) = %v but Allowed(%q) = %v", path, got, enc, !got)
		}
	})
}

// encodeUnreserved percent-encodes every ASCII letter and digit of s
// outside existing escapes.
func encodeUnreserved(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			b.WriteString(s[i : i+3])
			i += 2
			continue
		}
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
