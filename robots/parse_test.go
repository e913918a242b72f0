package robots_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"crawler/robots"
)

// rfcExample is RFC 9309 §5.1 verbatim (plus the comment lines).
const rfcExample = `User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF`

// Ensure the RFC 9309 §5.1 example gives each named crawler its own group,
// a group with several user-agent lines applies to each, an empty group
// allows all, and everyone else gets "*".
func TestParse_RFCExample(t *testing.T) {
	body := []byte(rfcExample)
	t.Run("foobot", func(t *testing.T) {
		expect(t, robots.Parse(body, "foobot"),
			check{"/example/page.html", true},
			check{"/example/allowed.gif", true},
			check{"/example/other.gif", false},
			check{"/", false},
			check{"/publications/", false})
	})
	for _, bot := range []string{"barbot", "bazbot"} {
		t.Run(bot, func(t *testing.T) {
			expect(t, robots.Parse(body, bot),
				check{"/example/page.html", false},
				check{"/example/page.html.bak", false},
				check{"/example/other", true},
				check{"/foo.gif", true}) // "*" does not apply to bar/baz
		})
	}
	t.Run("quxbot", func(t *testing.T) {
		expect(t, robots.Parse(body, "quxbot"),
			check{"/example/page.html", true},
			check{"/foo.gif", true})
	})
	t.Run("other", func(t *testing.T) {
		expect(t, robots.Parse(body, "crawler"),
			check{"/foo.gif", false},
			check{"/a/b/foo.gif", false},
			check{"/foo.gif?x", true}, // "$" anchors at the end
			check{"/example/", false},
			check{"/example/x", false},
			check{"/publications/", true},
			check{"/", true})
	})
}

// Ensure group matching uses the product token case-insensitively, takes the
// token from a longer user-agent value, and is not a prefix match.
func TestParse_AgentMatching(t *testing.T) {
	tests := []struct {
		name, body, token string
		want              bool // is /x allowed?
	}{
		{"case-insensitive file", "User-agent: CRAWLER\nDisallow: /x", "crawler", false},
		{"case-insensitive token", "User-agent: crawler\nDisallow: /x", "Crawler", false},
		{"full UA as token", "User-agent: crawler\nDisallow: /x", "Crawler/0.1 (+https://x)", false},
		{"value with version", "User-agent: ExampleBot/1.0\nDisallow: /x", "examplebot", false},
		{"value with trailing star", "User-agent: crawler*\nDisallow: /x", "crawler", false},
		{"no prefix match: shorter", "User-agent: crawl\nDisallow: /x", "crawler", true},
		{"no prefix match: longer", "User-agent: crawler-bot\nDisallow: /x", "crawler", true},
		{"underscore and hyphen", "User-agent: my_crawler-x\nDisallow: /x", "My_Crawler-X", false},
		{"star fallback", "User-agent: other\nAllow: /\n\nUser-agent: *\nDisallow: /x", "crawler", false},
		{"specific beats star", "User-agent: *\nDisallow: /x\n\nUser-agent: crawler\nDisallow: /y", "crawler", true},
		{"no match and no star", "User-agent: other\nDisallow: /", "crawler", true},
		{"no groups at all", "Sitemap: https://example.com/s.xml", "crawler", true},
		{"empty token uses star", "User-agent: *\nDisallow: /x", "", false},
		// As in Google's parser: '*' alone or before whitespace is the
		// global group; "*bot" is no token and names no crawler.
		{"star then text", "User-agent: * all robots\nDisallow: /x", "crawler", false},
		{"star then tab", "User-agent: *\tx\nDisallow: /x", "crawler", false},
		{"star with suffix is no star", "User-agent: *bot\nDisallow: /x", "crawler", true},
		{"star with suffix beside star", "User-agent: *bot\nAllow: /x\n\nUser-agent: *\nDisallow: /x", "crawler", false},
		{"star with suffix in star's group", "User-agent: *bot\nUser-agent: *\nDisallow: /x", "crawler", false},
		// A token with a digit is no product token (RFC 9309 §2.2.1): it
		// matches no group, not the group of the bot named by its letters.
		{"token with digits is not cut", "User-agent: bot\nDisallow: /x", "bot2000", true},
		{"UA with digits uses star", "User-agent: *\nDisallow: /x\n\nUser-agent: spider\nAllow: /", "360Spider/1.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, robots.Parse([]byte(tt.body), tt.token), check{"/x", tt.want})
		})
	}
}

// Ensure every group naming the token is combined (RFC 9309 §2.2.1 example),
// including a group shared with other agents and one shared with "*".
func TestParse_GroupsCombined(t *testing.T) {
	body := `user-agent: ExampleBot
disallow: /foo
disallow: /bar

user-agent: other
disallow: /other

user-agent: ExampleBot
disallow: /baz

user-agent: a
user-agent: examplebot
user-agent: b
disallow: /shared

user-agent: *
user-agent: EXAMPLEBOT
disallow: /withstar
crawl-delay: 3
`
	r := robots.Parse([]byte(body), "examplebot")
	expect(t, r,
		check{"/foo", false}, check{"/bar", false}, check{"/baz", false},
		check{"/shared", false}, check{"/withstar", false},
		check{"/other", true}, check{"/", true})
	if got := r.CrawlDelay(); got != 3*time.Second {
		t.Errorf("CrawlDelay = %v, want 3s", got)
	}
	// The rule lines of the shared groups also reach "*" and a/b.
	expect(t, robots.Parse([]byte(body), "zzz"), check{"/withstar", false}, check{"/foo", true})
	expect(t, robots.Parse([]byte(body), "b"), check{"/shared", false}, check{"/withstar", true})
}

// Ensure a matching group with no rules (or only an empty Disallow) allows
// everything and hides the "*" group.
func TestParse_EmptyGroupBeatsStar(t *testing.T) {
	for _, body := range []string{
		"User-agent: *\nDisallow: /\n\nUser-agent: crawler\nDisallow:\n",
		"User-agent: crawler\nDisallow:\n\nUser-agent: *\nDisallow: /\n",
		"User-agent: *\nDisallow: /\n\nUser-agent: crawler\n",
	} {
		expect(t, robots.Parse([]byte(body), "crawler"), check{"/", true}, check{"/a", true})
		expect(t, robots.Parse([]byte(body), "other"), check{"/a", false})
	}
}

// Ensure a user-agent line after rules starts a new group, while
// non-group lines (sitemap, unknown) and blank lines do not end the list of
// user-agents.
func TestParse_GroupBoundaries(t *testing.T) {
	body := `User-agent: crawler

Sitemap: https://example.com/s.xml
Foo: bar
User-agent: other
Disallow: /a
User-agent: third
Disallow: /b
`
	expect(t, robots.Parse([]byte(body), "crawler"), check{"/a", false}, check{"/b", true})
	expect(t, robots.Parse([]byte(body), "third"), check{"/a", true}, check{"/b", false})
}

// Ensure a user-agent value that yields no product token still starts a
// group, so the rules under it reach no crawler instead of the previous one.
func TestParse_UnusableAgentStartsGroup(t *testing.T) {
	body := "User-agent: crawler\nDisallow: /a\nUser-agent: 123bot\nDisallow: /\n"
	expect(t, robots.Parse([]byte(body), "crawler"), check{"/a", false}, check{"/b", true})
}

// Ensure one bad line never voids the rest of the file (RFC 9309 §2.3.1.5).
func TestParse_BadLinesSkipped(t *testing.T) {
	tests := []struct {
		name, line string
		onlyFirst  bool // the line is only bad before the first user-agent
	}{
		{"rule before any user-agent", "Disallow: /b", true},
		{"allow before any user-agent", "Allow: /a", true},
		{"crawl-delay with unit", "Crawl-delay: 10s", false},
		{"empty crawl-delay", "Crawl-delay:", false},
		{"negative crawl-delay", "Crawl-delay: -1", false},
		{"infinite crawl-delay", "Crawl-delay: -inf", false},
		{"NaN crawl-delay", "Crawl-delay: NaN", false},
		{"garbage", "<html><body>oops</body></html>", false},
		{"no colon", "Disallow /b", false},
		{"pattern without slash", "Disallow: b", false},
		{"absolute URL pattern", "Disallow: https://example.com/b", false},
		{"unknown record", "Noindex: /b", false},
		{"non-UTF-8 bytes", "Dis\xffallow: /b\xfe", false},
		{"lone CR garbage", "\r\r\r", false},
		{"regexp metacharacters", "Disallow: /(unclosed[\\", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The bad line comes first (before any user-agent) and, unless
			// it is only bad there, again inside the group.
			inner := tt.line + "\n"
			if tt.onlyFirst {
				inner = ""
			}
			body := tt.line + "\nUser-agent: crawler\n" + inner + "Disallow: /a\nCrawl-delay: 2\n"
			r := robots.Parse([]byte(body), "crawler")
			expect(t, r, check{"/a", false}, check{"/b", true})
			if got := r.CrawlDelay(); got != 2*time.Second {
				t.Errorf("CrawlDelay = %v, want 2s", got)
			}
		})
	}
}

// Ensure octets that are not UTF-8 are compared as percent-encoded octets,
// so a Latin-1 rule still protects the path a Latin-1 server serves.
func TestParse_NonUTF8RuleMatchesOctets(t *testing.T) {
	r := robots.Parse([]byte("User-agent: *\nDisallow: /caf\xe9\n"), "crawler")
	expect(t, r, check{"/caf%E9", false}, check{"/caf%e9/x", false}, check{"/cafe", true})
}

// Ensure Crawl-delay is parsed as float seconds, the largest wins, and a
// value too large for time.Duration saturates instead of overflowing.
func TestParse_CrawlDelay(t *testing.T) {
	tests := []struct {
		body string
		want time.Duration
	}{
		{"User-agent: crawler\nCrawl-delay: 0.5", 500 * time.Millisecond},
		{"User-agent: crawler\nCrawl-delay: 2\nCrawl-delay: 1", 2 * time.Second},
		{"User-agent: crawler\ncrawl-DELAY: 1.25 # comment", 1250 * time.Millisecond},
		{"User-agent: *\nCrawl-delay: 7", 7 * time.Second},
		// A crawl-delay does not end the group's user-agent lines (§2.2.4).
		{"User-agent: *\nCrawl-delay: 7\nUser-agent: crawler\nDisallow: /", 7 * time.Second},
		{"User-agent: *\nDisallow: /\nCrawl-delay: 7\nUser-agent: crawler\nDisallow: /x", 0},
		{"User-agent: crawler\nCrawl-delay: 1e300", time.Duration(1<<63 - 1)},
		{"User-agent: other\nCrawl-delay: 9", 0},
		{"Crawl-delay: 9\nUser-agent: crawler\nDisallow: /x", 0},
	}
	for _, tt := range tests {
		if got := robots.Parse([]byte(tt.body), "crawler").CrawlDelay(); got != tt.want {
			t.Errorf("%q: CrawlDelay = %v, want %v", tt.body, got, tt.want)
		}
	}
}

// Ensure a Crawl-delay line does not end a group's user-agent lines: RFC
// 9309 does not define the record, and "parsing of other records MUST NOT
// interfere with the parsing of explicitly defined records" (§2.2.4);
// Google's reference parser agrees. So a Disallow after it still applies
// to the agents named before it.
func TestParse_CrawlDelayKeepsGroupOpen(t *testing.T) {
	// One group: crawler and otherbot share "Disallow: /private/".
	body := "User-agent: crawler\nCrawl-delay: 5\nUser-agent: otherbot\nDisallow: /private/\n"
	expect(t, robots.Parse([]byte(body), "crawler"), check{"/private/x", false}, check{"/public", true})

	// The common real-world shape: a "*" group with only a Crawl-delay,
	// followed by a named group. Per the RFC grammar (Crawl-delay being an
	// other record, blank lines allowed between user-agent lines) both
	// user-agent lines head one group, so "*" crawlers get /search too.
	body = "User-agent: *\nCrawl-delay: 10\n\nUser-agent: somebot\nDisallow: /search\n"
	expect(t, robots.Parse([]byte(body), "crawler"), check{"/search", false}, check{"/", true})
}

// Ensure Sitemap lines are collected from anywhere, in order, without
// duplicates, with "://" intact and comments stripped.
func TestParse_Sitemaps(t *testing.T) {
	body := `Sitemap: https://example.com/a.xml
User-agent: other
Disallow: /
sitemap:https://example.com/b.xml # trailing comment
SITEMAP: https://example.com/a.xml
Sitemap:
`
	r := robots.Parse([]byte(body), "crawler")
	want := []string{"https://example.com/a.xml", "https://example.com/b.xml"}
	got := r.Sitemaps()
	if !slices.Equal(got, want) {
		t.Fatalf("Sitemaps = %q, want %q", got, want)
	}
	got[0] = "mutated"
	if r.Sitemaps()[0] != want[0] {
		t.Error("Sitemaps exposes internal state")
	}
	if s := robots.Parse(nil, "crawler").Sitemaps(); len(s) != 0 {
		t.Errorf("empty body Sitemaps = %q", s)
	}
}

// Ensure empty and blank bodies allow everything.
func TestParse_Empty(t *testing.T) {
	for _, body := range []string{"", "\n\n", "   \t\n# only a comment\n", "\xEF\xBB\xBF"} {
		r := robots.Parse([]byte(body), "crawler")
		expect(t, r, check{"/", true}, check{"/anything?q", true})
		if r.Unreachable() || r.CrawlDelay() != 0 {
			t.Errorf("%q: Unreachable=%v CrawlDelay=%v", body, r.Unreachable(), r.CrawlDelay())
		}
	}
}

// Ensure CR, LF and CRLF all end lines, a BOM is skipped, and whitespace
// around keys, colons and values is ignored.
func TestParse_LineSyntax(t *testing.T) {
	for name, body := range map[string]string{
		"LF":         "User-agent: crawler\nDisallow: /a\n",
		"CRLF":       "User-agent: crawler\r\nDisallow: /a\r\n",
		"CR":         "User-agent: crawler\rDisallow: /a\r",
		"BOM":        "\xEF\xBB\xBFUser-agent: crawler\nDisallow: /a",
		"whitespace": " \tUser-agent \t:\t crawler \t\n  Disallow  :   /a   \t\n",
		"comments":   "# head\nUser-agent: crawler # me\n# middle\nDisallow: /a # not /b\n",
	} {
		t.Run(name, func(t *testing.T) {
			expect(t, robots.Parse([]byte(body), "crawler"), check{"/a", false}, check{"/b", true})
		})
	}
}

// Ensure the §2.5 limit: in a 600 KB file the rules in the first MaxBytes
// apply, the line crossing the limit is dropped whole (not cut into a
// shorter, broader rule), and later lines are ignored.
func TestParse_SizeLimit(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("User-agent: *\nDisallow: /early\n")
	for i := 0; b.Len() < robots.MaxBytes-40; i++ {
		fmt.Fprintf(&b, "Disallow: /filler/%d\n", i)
	}
	// This line straddles the limit: cut mid-line it would read
	// "Disallow: /" and block the whole site.
	for b.Len() < robots.MaxBytes-len("Disallow: /") {
		b.WriteString("\n")
	}
	if b.Len() != robots.MaxBytes-len("Disallow: /") {
		t.Fatalf("straddling line starts at %d", b.Len())
	}
	b.WriteString("Disallow: /straddling-the-limit\n")
	for b.Len() < 600_000 {
		b.WriteString("Disallow: /late\n")
	}
	r := robots.Parse(b.Bytes(), "crawler")
	expect(t, r,
		check{"/early", false},
		check{"/filler/0", false},
		check{"/straddling-the-limit", true},
		check{"/late", true},
		check{"/other", true})
}

// Ensure a body of exactly MaxBytes that ends with a newline is used whole.
func TestParse_SizeLimitExact(t *testing.T) {
	head := "User-agent: *\nDisallow: /a\n"
	tail := "Disallow: /last\n"
	pad := robots.MaxBytes - len(head) - len(tail)
	body := head + strings.Repeat("#\n", pad/2) + strings.Repeat("\n", pad%2) + tail
	if len(body) != robots.MaxBytes {
		t.Fatalf("test body is %d bytes", len(body))
	}
	expect(t, robots.Parse([]byte(body), "crawler"), check{"/a", false}, check{"/last", false})
}

// Ensure Token takes the product name whole, lower-cased, when it is only
// letters, '_' and '-', and nothing otherwise: never the leading part of a
// longer name, which would be another crawler's token.
func TestToken(t *testing.T) {
	for in, want := range map[string]string{
		"crawler/0.1 (+https://x)":         "crawler",
		"Crawler":                          "crawler",
		"  My_Bot-X/1":                     "my_bot-x",
		"bot\tx":                           "bot",
		"Mozilla/5.0 (compatible; Foobot)": "mozilla",
		"":                                 "",
		"/1.0":                             "",
		"*":                                "",
		"  My_Bot-2/1":                     "",
		"bot2000":                          "",
		"360Spider/1.0":                    "",
		"bot\u00e9":                        "",
		"bot.x/1":                          "",
	} {
		if got := robots.Token(in); got != want {
			t.Errorf("Token(%q) = %q, want %q", in, got, want)
		}
	}
}

// Ensure ValidToken accepts exactly RFC 9309 §2.2.1's product tokens.
func TestValidToken(t *testing.T) {
	for in, want := range map[string]bool{
		"crawler": true, "My_Bot-X": true, "-": true, "_": true,
		"": false, "bot2000": false, "360spider": false, "bot/1": false, "bot x": false,
		"bot\u00e9": false, "*": false, "bot\n": false,
	} {
		if got := robots.ValidToken(in); got != want {
			t.Errorf("ValidToken(%q) = %v, want %v", in, got, want)
		}
	}
}
