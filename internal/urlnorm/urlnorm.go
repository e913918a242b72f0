// Package urlnorm defines the one canonical form of a URL that the crawler
// uses everywhere: seen-set and dedup keys, scope checks, politeness keys and
// store keys. Two URLs are "the same page" exactly when their canonical
// strings are equal.
//
// Parsing and relative resolution follow the WHATWG URL Standard, which is
// what browsers do, via github.com/nlnwa/whatwg-url. That already lowercases
// the scheme and host, converts IDNA hosts to punycode, normalizes IPv4
// forms (0x7f.1, 2130706433 -> 127.0.0.1), removes default ports, resolves
// dot-segments (also %2e forms), strips leading/trailing C0 controls and
// spaces and every tab and newline, treats '\' like '/' and gives an empty
// path as "/". On top of that the canonical form:
//
//   - accepts only http and https, with a non-empty, DNS-shaped host;
//   - drops userinfo, the fragment and a "?" with an empty query;
//   - normalizes percent-encoding in the path and query: uppercase hex,
//     escapes of unreserved characters (ALPHA DIGIT - . _ ~) decoded, a '%'
//     that does not start an escape encoded as %25; escapes of reserved
//     characters are never decoded;
//   - percent-encodes the path bytes that RFC 3986 does not allow raw and
//     WHATWG leaves alone ('^' and '|'), so that net/url round-trips it;
//   - keeps the path's case, trailing slashes and "www.", and the query's
//     parameters and their order.
//
// Canonical forms are idempotent: Parse(u.String()) returns u.String(), and
// net/url.Parse(u.String()).String() == u.String().
package urlnorm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	wurl "github.com/nlnwa/whatwg-url/url"
)

// Limits on inputs, checked before the WHATWG parser runs. That parser builds
// the path and the userinfo by repeated string concatenation, so its cost
// grows quadratically with the number of path segments and with the length
// of the userinfo; these bounds keep the worst input to about a
// millisecond. No crawlable URL comes near them.
const (
	// MaxLength is the longest input Parse and Resolve accept, and the
	// longest canonical form they return, in bytes (ErrTooLong).
	MaxLength = 4 << 10

	// MaxSegments is the most '/' and '\\' characters an input may have
	// before its query or fragment (ErrTooLong).
	MaxSegments = 256

	// maxUserinfo and maxAts bound the part of the authority before its
	// last '@', which the parser re-encodes once per '@' (ErrSyntax).
	maxUserinfo = 256
	maxAts      = 8
)

// whatwg parses and resolves URLs. Options as colly v2: a lone '%' in a path
// is encoded as %25 instead of being an error. It holds only its immutable
// options, so sharing it between goroutines is safe.
var whatwg = wurl.NewParser(wurl.WithPercentEncodeSinglePercentSign())

// Parse parses an absolute URL and returns its canonical form (see the
// package documentation). Only http and https URLs are accepted. Errors wrap
// ErrEmpty, ErrScheme, ErrNoHost, ErrHost, ErrTooLong or ErrSyntax.
func Parse(raw string) (*url.URL, error) {
	u, err := normalize(nil, raw)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", clip(raw), err)
	}
	return u, nil
}

// Resolve resolves ref against base the way a browser resolves an href, then
// returns the canonical form of the result. base should be canonical (from
// Parse or Resolve); a nil base makes Resolve behave like Parse. An empty ref
// resolves to base itself. Errors wrap the same sentinels as Parse.
func Resolve(base *url.URL, ref string) (*url.URL, error) {
	if base == nil {
		return Parse(ref)
	}
	if len(ref) > MaxLength {
		return nil, fmt.Errorf("resolve %q: %w", clip(ref), ErrTooLong)
	}
	b, err := parseBase(base.String())
	if err != nil {
		return nil, fmt.Errorf("resolve %q: base %q: %w", clip(ref), clip(base.String()), err)
	}
	u, err := normalize(b, ref)
	if err != nil {
		return nil, fmt.Errorf("resolve %q against %q: %w", clip(ref), clip(base.String()), err)
	}
	return u, nil
}

// DocumentBase returns the base URL of a document at page whose first
// <base href> is href (its query already encoded, see EncodeQuery), as the
// HTML standard's "frozen base URL" has it: href resolved against page if
// that yields an http(s) URL; page when href does not resolve or is a
// data: or javascript: URL; and nil (absolute links only) for a URL of
// another scheme (ftp:, mailto:), against which no relative reference
// yields an http(s) URL.
func DocumentBase(page *url.URL, href string) *url.URL {
	u, err := Resolve(page, href)
	if err == nil {
		return u
	}
	if scheme, ok := Scheme(href); ok && errors.Is(err, ErrScheme) && scheme != "data" && scheme != "javascript" {
		return nil
	}
	return page
}

// Origin returns "scheme://host[:port]" of u, the scope of a robots.txt
// file. The host is lowercased and a default port dropped, so it is exact
// for canonical URLs and still sensible for others.
func Origin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + Host(u)
}

// SplitCanonical splits a canonical URL string, as Parse returns it, into
// its origin "scheme://host[:port]", its host "host[:port]" and the rest
// ("/path?query"). It only slices, without parsing or validation: for
// canonical input it agrees with Origin and Host, and it is cheap enough
// for every link of every page.
func SplitCanonical(s string) (origin, host, rest string) {
	i := strings.Index(s, "://")
	if i < 0 {
		return "", "", s
	}
	end := len(s)
	if j := strings.IndexAny(s[i+3:], "/?"); j >= 0 {
		end = i + 3 + j
	}
	return s[:end], s[i+3 : end], s[end:]
}

// ParseHost returns hostport ("host" or "host:port", as a user types it)
// in canonical form, as Host gives it for an http URL: lowercase, IDN in
// punycode, without port 80. Anything more than a host and port is
// ErrSyntax.
func ParseHost(hostport string) (string, error) {
	if hostport == "" || strings.ContainsAny(hostport, "/?#@\\ \t") {
		return "", fmt.Errorf("%q: not a host or host:port: %w", hostport, ErrSyntax)
	}
	u, err := Parse("http://" + hostport + "/")
	if err != nil {
		return "", err
	}
	return Host(u), nil
}

// Host returns the politeness key "host[:port]" of u: the lowercase host with
// the scheme's default port dropped. For a canonical URL it equals u.Host.
func Host(u *url.URL) string {
	h := strings.ToLower(u.Host)
	if p := u.Port(); p != "" && p == defaultPort(strings.ToLower(u.Scheme)) {
		h = h[:len(h)-len(p)-1]
	}
	return h
}

// DropRootDot returns the canonical host[:port] host without the root dot
// of a fully qualified name: "a.test.:8080" gives "a.test:8080". The two
// are one DNS name, so one server; WHATWG keeps them apart as hosts (and
// the URLs stay apart), but scope and politeness compare names with
// DropRootDot. IP addresses and names without the dot are returned as
// they are, without allocating.
func DropRootDot(host string) string {
	name, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		name, port = host[:i], host[i:]
	}
	if len(name) < 2 || name[len(name)-1] != '.' {
		return host
	}
	return name[:len(name)-1] + port
}

// normalize parses raw (against base when non-nil) and returns the canonical
// URL. It checks the package's promises before returning: the canonical
// string normalizes to itself and net/url reproduces it exactly. Inputs for
// which either fails are rejected with ErrSyntax rather than returned.
func normalize(base *wurl.Url, raw string) (*url.URL, error) {
	s, err := canonical(base, raw)
	if err != nil {
		return nil, err
	}
	if again, err := canonical(nil, s); err != nil || again != s {
		return nil, fmt.Errorf("%w: canonical form is not stable", ErrSyntax)
	}
	u, err := url.Parse(s)
	if err != nil || u.String() != s {
		return nil, fmt.Errorf("%w: canonical form does not round-trip through net/url", ErrSyntax)
	}
	return u, nil
}

// canonical returns the canonical string of raw resolved against base (nil:
// raw must be absolute), without the stability checks of normalize.
func canonical(base *wurl.Url, raw string) (string, error) {
	if len(raw) > MaxLength {
		return "", ErrTooLong
	}
	s := clean(raw)
	if base == nil && s == "" {
		return "", ErrEmpty
	}
	if err := precheck(s, base == nil); err != nil {
		return "", err
	}
	u, err := whatwgParse(base, s)
	if err != nil {
		return "", err
	}

	scheme := u.Scheme()
	if scheme != "http" && scheme != "https" {
		return "", ErrScheme
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", ErrNoHost
	}
	if !validHost(host) {
		return "", fmt.Errorf("%w: %q", ErrHost, clip(host))
	}

	var b strings.Builder
	b.Grow(len(raw) + 16)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if port := u.Port(); port != "" && port != defaultPort(scheme) {
		b.WriteByte(':')
		b.WriteString(port)
	}
	path := u.Pathname()
	if path == "" {
		path = "/"
	}
	b.WriteString(normalizeEscapes(path, pathNeedsEscape))
	if q := u.Query(); q != "" {
		b.WriteByte('?')
		b.WriteString(normalizeEscapes(q, queryNeedsEscape))
	}
	if b.Len() > MaxLength {
		return "", ErrTooLong
	}
	return b.String(), nil
}

// parseBase parses a base URL for resolution, under the same input limits as
// canonical.
func parseBase(raw string) (*wurl.Url, error) {
	if len(raw) > MaxLength {
		return nil, ErrTooLong
	}
	s := clean(raw)
	if err := precheck(s, true); err != nil {
		return nil, err
	}
	return whatwgParse(nil, s)
}

// whatwgParse runs the WHATWG parser and maps its failures onto this
// package's sentinels, keeping the WHATWG error type as detail (not the
// error itself: its message embeds the whole input).
func whatwgParse(base *wurl.Url, raw string) (u *wurl.Url, err error) {
	if base != nil {
		u, err = base.Parse(raw)
	} else {
		u, err = whatwg.Parse(raw)
	}
	if err != nil {
		return nil, classify(err)
	}
	return u, nil
}

// c0OrSpace is what the WHATWG parser strips from both ends of its input.
const c0OrSpace = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "

// clean does what the WHATWG parser does to its input first: strip C0
// controls and spaces from both ends, then remove every tab and newline.
// Doing it here lets precheck see what the parser will see.
func clean(raw string) string {
	s := strings.Trim(raw, c0OrSpace)
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	return s
}

// precheck rejects, before the expensive parse, cleaned inputs that cannot
// produce an http(s) URL or that exceed the structural limits. absolute
// reports whether there is no base, so a scheme is required. The authority
// is over-approximated (for a relative path it is the first segment), which
// can only make the userinfo limit stricter, never let more through.
func precheck(s string, absolute bool) error {
	rest := s
	if scheme, after, ok := cutScheme(s); ok {
		if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
			return ErrScheme
		}
		rest = after
	} else if absolute {
		return ErrScheme
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	if strings.Count(rest, "/")+strings.Count(rest, "\\") > MaxSegments {
		return fmt.Errorf("%w: more than %d path segments", ErrTooLong, MaxSegments)
	}
	auth := strings.TrimLeft(rest, "/\\")
	if i := strings.IndexAny(auth, "/\\"); i >= 0 {
		auth = auth[:i]
	}
	if at := strings.LastIndexByte(auth, '@'); at > maxUserinfo || at >= 0 && strings.Count(auth, "@") > maxAts {
		return fmt.Errorf("%w: userinfo too long", ErrSyntax)
	}
	return nil
}

// Scheme returns the scheme of ref, lowercased, as a URL parser reads it
// (leading C0 controls and spaces skipped, ASCII tabs and newlines
// ignored), or ok false when ref has none (a relative reference). It only
// reads as far as the scheme, so ref's length does not matter, and it
// allocates only for schemes other than http and https.
func Scheme(ref string) (scheme string, ok bool) {
	var buf [16]byte
	b := buf[:0]
	leading := true
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case leading && c <= ' ', c == '\t', c == '\n', c == '\r':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z':
		case len(b) > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case len(b) > 0 && c == ':':
			switch string(b) {
			case "http":
				return "http", true
			case "https":
				return "https", true
			}
			return string(b), true
		default:
			return "", false
		}
		leading = false
		b = append(b, c)
	}
	return "", false
}

// cutScheme splits a WHATWG scheme (ASCII alpha, then alphanumerics, '+',
// '-' or '.', then ':') off s. ok is false when s has no scheme, i.e. is a
// relative reference.
func cutScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i], s[i+1:], true
		default:
			return "", s, false
		}
	}
	return "", s, false
}

// defaultPort returns the default port of an http(s) scheme, "" otherwise.
func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// validHost reports whether a host produced by the WHATWG parser is one the
// crawler can connect to: an IPv6 literal (already validated by the parser)
// or an ASCII name of letters, digits, '-', '.' and '_' (IPv4 addresses are
// already in dotted-decimal form). WHATWG also admits characters such as
// '{' or '*' in domains; no DNS name has them and net/url rejects some.
func validHost(h string) bool {
	if h[0] == '[' {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// clip shortens s for use in an error message.
func clip(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// DropQueryParams returns the canonical URL s without the query
// parameters for whose name drop reports true. A parameter's name is what
// precedes its first '=' (all of it when there is none), as the canonical
// form writes it. The other parameters keep their order and bytes, and a
// query left empty is dropped with its '?', so the result is canonical
// too. s is returned as it is when nothing is dropped.
func DropQueryParams(s string, drop func(name string) bool) string {
	i := strings.IndexByte(s, '?')
	if i < 0 {
		return s
	}
	params := strings.Split(s[i+1:], "&")
	kept := params[:0]
	for _, p := range params {
		if name, _, _ := strings.Cut(p, "="); !drop(name) {
			kept = append(kept, p)
		}
	}
	switch q := strings.Join(kept, "&"); {
	case len(kept) == len(params):
		return s
	case q == "":
		return s[:i]
	default:
		return s[:i+1] + q
	}
}
