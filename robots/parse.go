package robots

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxBytes is the parsing limit (RFC 9309 §2.5 requires at least 500 KiB).
// Parse and Fetch ignore everything after the last line break within the
// first MaxBytes octets of a body longer than that; a body of MaxBytes
// octets or fewer is read whole.
const MaxBytes = 512000

// Parse parses a robots.txt body for the product token (see Token; a full
// User-Agent string is reduced with Token first, and one that yields no
// token gets the "*" groups) and returns the rules of the groups that
// apply to it. It never fails: unparseable lines are skipped
// (RFC 9309 §2.3.1.5), and an empty body allows everything.
//
// Lines end at CR, LF or CRLF; "#" starts a comment; a leading UTF-8 BOM is
// skipped. Recognised records, case-insensitively: user-agent, allow,
// disallow, crawl-delay (non-negative float seconds) and sitemap. Other
// records, lines without ':', and allow/disallow/crawl-delay lines before
// the first user-agent are skipped. Bytes that are not UTF-8 are treated as
// octets and percent-encoded like any other non-ASCII octet.
//
// Groups (§2.2.1): a user-agent line after an allow or disallow line
// starts a new group. Other records (crawl-delay, sitemap, unknown ones)
// never end a group's run of user-agent lines (§2.2.4), and a crawl-delay
// applies to every agent of its group, named before or after it. A
// user-agent value is reduced to its product token (leading letters, '_'
// and '-'; "*" if it is '*' alone or followed by whitespace, as in
// Google's parser, so "*bot" names no crawler); one that yields no token
// still starts or joins a group, which then matches no crawler. All groups whose token
// equals the given token, compared case-insensitively, are combined; if
// there are none, the "*" groups are used; if there are none of those
// either, everything is allowed.
func Parse(body []byte, token string) *Rules {
	token = Token(token)
	body = bytes.TrimPrefix(truncate(body), []byte("\xEF\xBB\xBF"))

	var (
		own, star  groupSet
		open       bool          // a user-agent line has been seen
		inRules    bool          // the current group has had a member line
		forOwn     bool          // current group names token
		forStar    bool          // current group names "*"
		groupDelay time.Duration // largest crawl-delay of the current group
		sitemapSet = map[string]bool{}
		sitemaps   []string
	)
	for len(body) > 0 {
		var line []byte
		line, body = nextLine(body)
		key, value, ok := splitRecord(line)
		if !ok {
			continue
		}
		switch key {
		case "user-agent":
			if inRules || !open {
				forOwn, forStar, inRules, open = false, false, false, true
				groupDelay = 0
			}
			switch agent := agentToken(value); {
			case agent == "*":
				forStar = true
				star.found = true
				star.delay = max(star.delay, groupDelay)
			case agent != "" && agent == token:
				forOwn = true
				own.found = true
				own.delay = max(own.delay, groupDelay)
			}
		case "allow", "disallow":
			if !open {
				continue
			}
			inRules = true
			r, ok := compileRule(value, key == "allow")
			if !ok {
				continue
			}
			if forOwn {
				own.rules = append(own.rules, r)
			}
			if forStar {
				star.rules = append(star.rules, r)
			}
		case "crawl-delay":
			// Not a rule: RFC 9309 does not define it, and other records
			// must not end a group (§2.2.4), so inRules stays as it is.
			if !open {
				continue
			}
			d, ok := parseDelay(value)
			if !ok {
				continue
			}
			groupDelay = max(groupDelay, d)
			if forOwn {
				own.delay = max(own.delay, d)
			}
			if forStar {
				star.delay = max(star.delay, d)
			}
		case "sitemap":
			if value != "" && !sitemapSet[value] {
				sitemapSet[value] = true
				sitemaps = append(sitemaps, value)
			}
		}
	}

	g := own
	if !own.found {
		g = star
	}
	return &Rules{rules: sortRules(g.rules), crawlDelay: g.delay, sitemaps: sitemaps}
}

// groupSet accumulates the combined groups for one product token.
type groupSet struct {
	found bool
	rules []rule
	delay time.Duration
}

// sortRules orders rules so that the first match is the RFC 9309 §2.2.2
// winner: longest pattern first, Allow before Disallow on equal length.
// Exact duplicates are dropped.
func sortRules(rs []rule) []rule {
	slices.SortStableFunc(rs, func(a, b rule) int {
		if c := cmp.Compare(b.length, a.length); c != 0 {
			return c
		}
		if a.allow != b.allow {
			if a.allow {
				return -1
			}
			return 1
		}
		return 0
	})
	return slices.CompactFunc(rs, func(a, b rule) bool {
		return a.allow == b.allow && a.anchored == b.anchored && a.pattern == b.pattern
	})
}

// truncate applies MaxBytes: a body longer than MaxBytes octets is cut to
// its first MaxBytes octets and then after its last line break, so the
// limit never leaves half a line.
func truncate(body []byte) []byte {
	if len(body) <= MaxBytes {
		return body
	}
	body = body[:MaxBytes]
	if i := bytes.LastIndexAny(body, "\r\n"); i >= 0 {
		return body[:i+1]
	}
	return nil
}

// nextLine splits off the first line; CR, LF and CRLF end a line.
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexAny(b, "\r\n")
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if b[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
		rest = rest[1:]
	}
	return line, rest
}

// splitRecord strips the comment and returns the lower-cased key and the
// value, both trimmed of spaces and tabs. ok is false for a line that is
// blank or has no ':'.
func splitRecord(line []byte) (key, value string, ok bool) {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	k, v, found := bytes.Cut(line, []byte(":"))
	if !found {
		return "", "", false
	}
	return strings.ToLower(string(trimWS(k))), string(trimWS(v)), true
}

func trimWS(b []byte) []byte {
	return bytes.Trim(b, " \t")
}

// agentToken reduces a user-agent value to its product token: "*" if it
// is '*' alone or followed by whitespace ("* all robots"), else its
// leading letters, '_' and '-', lower-cased, as Google's parser reads a
// file's lines ("crawler*" and "ExampleBot/1.0" are tokens; "*bot" yields
// none: it is no product token, and taking it for "*" would put every
// crawler under rules written for some). The crawler's own token is held
// to ValidToken instead.
func agentToken(v string) string {
	if v == "*" || strings.HasPrefix(v, "*") && strings.ContainsRune(" \t\v\f", rune(v[1])) {
		return "*"
	}
	return strings.ToLower(v[:tokenPrefix(v)])
}

// parseDelay parses a Crawl-delay value in seconds. Negative, NaN, infinite
// and unparseable values ("10s") are rejected; huge ones saturate.
func parseDelay(v string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false
	}
	if f >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64, true
	}
	return time.Duration(f * float64(time.Second)), true
}

// Token derives the product token from a User-Agent string: leading spaces
// are skipped, then the product name, up to the first '/', space or tab,
// is returned lower-cased if ValidToken accepts it ("crawler/0.1
// (+https://x)" gives "crawler"). Otherwise Token returns "", which
// matches no group: the letters a longer name starts with ("bot" of
// "bot2000") are another crawler's token.
func Token(userAgent string) string {
	name := ProductName(strings.TrimLeft(userAgent, " \t"))
	if !ValidToken(name) {
		return ""
	}
	return name
}

// ProductName returns a User-Agent's product name, lower-cased: the text
// before the first '/', space or tab, not checked (see ValidToken).
func ProductName(userAgent string) string {
	if i := strings.IndexAny(userAgent, "/ \t"); i >= 0 {
		userAgent = userAgent[:i]
	}
	return strings.ToLower(userAgent)
}

// ValidToken reports whether s is a product token as RFC 9309 §2.2.1
// defines it: one or more ASCII letters, '_' and '-'.
func ValidToken(s string) bool {
	return s != "" && tokenPrefix(s) == len(s)
}

// tokenPrefix returns the length of the leading run of ASCII letters, '_'
// and '-' in s.
func tokenPrefix(s string) int {
	n := 0
	for n < len(s) {
		c := s[n]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			break
		}
		n++
	}
	return n
}
