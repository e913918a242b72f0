package urlnorm

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	wurl "github.com/nlnwa/whatwg-url/url"

	"crawler/internal/percent"
)

// Resolver resolves the references of one page against its base. It
// parses the base once, and looks results up in a Cache shared by all
// pages first: sites repeat their links (navigation, pagination) from page
// to page, and a WHATWG parse plus the stability checks cost tens of
// microseconds per link. Results are exactly Resolve's.
type Resolver struct {
	base      *wurl.Url
	baseStr   string // canonical base, for keys of path-relative references
	originStr string // scheme://host[:port] of the base, for "/path" references
	baseDir   string // the base's path up to its last '/', for plain relative paths
	baseErr   error
	cache     *Cache
}

// NewResolver returns a Resolver for base, using cache (nil: no cache).
func NewResolver(base *url.URL, cache *Cache) *Resolver {
	r := &Resolver{cache: cache}
	if base == nil {
		return r
	}
	r.baseStr = base.String()
	r.originStr = Origin(base)
	if p := base.EscapedPath(); strings.HasPrefix(p, "/") {
		r.baseDir = p[:strings.LastIndexByte(p, '/')+1]
	}
	return r
}

// ResolveString is Resolve, returning the canonical string.
func (r *Resolver) ResolveString(ref string) (string, error) {
	if r.baseDir != "" {
		if s, ok := r.fast(ref); ok {
			return s, nil
		}
	}
	u, err := r.Resolve(ref)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// fast resolves the references most pages are made of without the WHATWG
// parser: an absolute URL on the base's origin (spelled canonically), an
// absolute path or a relative path of unreserved characters and
// '/', with no dot segment, then optionally a query of unreserved
// characters, '=' and '&', and a fragment. For these the canonical form is
// plain concatenation (FuzzFast holds it to Resolve's answer). ok is false
// for anything else.
func (r *Resolver) fast(ref string) (string, bool) {
	if i := strings.IndexByte(ref, '#'); i >= 0 {
		ref = ref[:i]
	}
	origin, dir := r.originStr, r.baseDir
	if o, rest, ok := canonicalOrigin(ref); ok {
		origin, dir, ref = o, "/", rest // an absolute URL whose origin is already canonical
		if ref == "" {
			ref = "/"
		}
	}
	path, query, _ := strings.Cut(ref, "?")
	if path == "" || strings.HasPrefix(path, "//") || strings.Count(path, "/") > MaxSegments/2 {
		return "", false
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; c != '/' && !percent.IsUnreserved(c) {
			return "", false
		}
	}
	for i := 0; i < len(query); i++ {
		if c := query[i]; c != '=' && c != '&' && !percent.IsUnreserved(c) {
			return "", false
		}
	}
	if path[0] != '/' {
		path = dir + path
	}
	var b strings.Builder
	b.Grow(len(origin) + len(path) + len(query) + 1)
	b.WriteString(origin)
	writeDotless(&b, path)
	if query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	if b.Len() > MaxLength/2 {
		return "", false // long ones take the checked path
	}
	return b.String(), true
}

// writeDotless writes path (absolute, no escapes) with its "." and ".."
// segments removed the way the WHATWG path parser removes them: ".."
// drops the segment before it but never the root, and a path ending in
// "." or ".." keeps its trailing slash.
func writeDotless(b *strings.Builder, path string) {
	if !strings.Contains(path, "/.") {
		b.WriteString(path)
		return
	}
	segs := strings.Split(path[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case ".":
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	b.WriteByte('/')
	b.WriteString(strings.Join(out, "/"))
}

// canonicalOrigin splits an absolute http(s) URL whose scheme and authority
// are already in canonical form: a lowercase host name whose last label is
// not numeric, or a dotted-quad IPv4 address without leading zeros, and a
// port, if any, that is not the default and has no leading zero. It
// returns the origin and the rest ("/path?query", or ""). Anything else
// (userinfo, uppercase, IDNA, IPv6, other IPv4 spellings) is not ok.
func canonicalOrigin(ref string) (origin, rest string, ok bool) {
	var scheme string
	switch {
	case strings.HasPrefix(ref, "http://"):
		scheme = "http"
	case strings.HasPrefix(ref, "https://"):
		scheme = "https"
	default:
		return "", "", false
	}
	auth := ref[len(scheme)+3:]
	end := strings.IndexAny(auth, "/?")
	if end < 0 {
		end = len(auth)
	}
	rest, auth = auth[end:], auth[:end]
	if strings.HasPrefix(rest, "?") {
		rest = "/" + rest
	}
	host, port, hasPort := strings.Cut(auth, ":")
	if hasPort && (port == "" || port[0] == '0' || len(port) > 5 || port == defaultPort(scheme) ||
		strings.Trim(port, "0123456789") != "" || atoi(port) > 65535) {
		return "", "", false
	}
	if !canonicalHost(host) {
		return "", "", false
	}
	return ref[:len(scheme)+3+end], rest, true
}

// canonicalHost reports host names the WHATWG host parser leaves as they
// are: lowercase letters, digits and hyphens in non-empty labels, the last
// label not a number; or a dotted quad of decimal octets without
// leading zeros.
func canonicalHost(host string) bool {
	labels := strings.Split(host, ".")
	if len(labels) == 4 && allOctets(labels) {
		return true
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "xn--") {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return !libraryNumber(labels[len(labels)-1])
}

// libraryNumber reports whether the URL library reads a host's last label
// as a number, which makes the host an IPv4 address. WHATWG reads a
// decimal, octal (leading 0) or hex (0x) number there. The library drops
// that prefix and calls strconv.ParseInt, which also takes a sign, so it
// reads "-0", "0-0" and "0x-f" as numbers too, where WHATWG sees names
// (FuzzFast found the first two), and it counts ParseInt's range error as
// a number: ParseInt reports it as soon as the leading digits overflow,
// before it reaches a letter, so "1000000000000000000000a" is a number to
// the library (FuzzFast again). The fast path must answer what the
// library answers, so it asks the library's question, sign and all.
func libraryNumber(label string) bool {
	if strings.Trim(label, "0123456789") == "" {
		return true
	}
	if c := label[0]; 'a' <= c && c <= 'z' {
		return false // no prefix to drop, no sign, no digit: ParseInt would fail (and allocate its error)
	}
	digits, base := label, 10
	switch {
	case strings.HasPrefix(label, "0x"):
		digits, base = label[2:], 16
	case strings.HasPrefix(label, "0"):
		digits, base = label[1:], 8
	}
	if digits == "" {
		return true
	}
	_, err := strconv.ParseInt(digits, base, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

func allOctets(labels []string) bool {
	for _, l := range labels {
		if l == "" || len(l) > 3 || (len(l) > 1 && l[0] == '0') || strings.Trim(l, "0123456789") != "" || atoi(l) > 255 {
			return false
		}
	}
	return true
}

// atoi parses a short run of ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// Resolve is Resolve(base, ref) for the Resolver's base.
func (r *Resolver) Resolve(ref string) (*url.URL, error) {
	if r.baseStr == "" {
		return Parse(ref)
	}
	if len(ref) > MaxLength {
		return nil, fmt.Errorf("resolve %q: %w", clip(ref), ErrTooLong)
	}
	key := r.key(ref)
	if s, err, ok := r.cache.get(key); ok {
		if err != nil {
			return nil, fmt.Errorf("resolve %q against %q: %w", clip(ref), clip(r.baseStr), err)
		}
		return url.Parse(s) // canonical strings round-trip (normalize checks it)
	}
	if r.base == nil && r.baseErr == nil {
		// Parsed on first need: most pages' links all take the fast path.
		r.base, r.baseErr = parseBase(r.baseStr)
	}
	if r.baseErr != nil {
		return nil, fmt.Errorf("resolve %q: base %q: %w", clip(ref), clip(r.baseStr), r.baseErr)
	}
	u, err := normalize(r.base, ref)
	if err != nil {
		r.cache.put(key, "", err)
		return nil, fmt.Errorf("resolve %q against %q: %w", clip(ref), clip(r.baseStr), err)
	}
	r.cache.put(key, u.String(), nil)
	return u, nil
}

// key names what a result depends on: an absolute reference depends on
// nothing else, a "/path" reference on the base's origin, anything else on
// the whole base.
func (r *Resolver) key(ref string) string {
	switch {
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		return "a\x00" + ref
	case strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref, "//"):
		return "o\x00" + r.originStr + "\x00" + ref
	}
	return "r\x00" + r.baseStr + "\x00" + ref
}

// Cache remembers resolution results, for Resolvers on any number of
// pages. It is safe for concurrent use and bounded: when full it starts
// over, which costs a few misses and never unbounded memory.
type Cache struct {
	mu  sync.Mutex
	m   map[string]cached
	max int
}

type cached struct {
	s   string
	err error
}

// NewCache returns a cache of at most n results (default 65536 when n <= 0).
func NewCache(n int) *Cache {
	if n <= 0 {
		n = 1 << 16
	}
	return &Cache{m: make(map[string]cached), max: n}
}

func (c *Cache) get(key string) (string, error, bool) {
	if c == nil {
		return "", nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v.s, v.err, ok
}

func (c *Cache) put(key, s string, err error) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = cached{s: s, err: err}
}
