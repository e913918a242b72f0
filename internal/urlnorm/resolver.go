package urlnorm

import (
	"fmt"
	"net/url"
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
	r.base, r.baseErr = parseBase(r.baseStr)
	if p := base.EscapedPath(); strings.HasPrefix(p, "/") {
		r.baseDir = p[:strings.LastIndexByte(p, '/')+1]
	}
	return r
}

// ResolveString is Resolve, returning the canonical string.
func (r *Resolver) ResolveString(ref string) (string, error) {
	if r.baseErr == nil && r.baseDir != "" {
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
	if len(ref) > len(r.originStr) && ref[len(r.originStr)] == '/' && strings.HasPrefix(ref, r.originStr) {
		ref = ref[len(r.originStr):] // an absolute URL on the base's own origin, spelled canonically
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
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return "", false
		}
	}
	for i := 0; i < len(query); i++ {
		if c := query[i]; c != '=' && c != '&' && !percent.IsUnreserved(c) {
			return "", false
		}
	}
	var b strings.Builder
	b.Grow(len(r.originStr) + len(r.baseDir) + len(ref))
	b.WriteString(r.originStr)
	if path[0] != '/' {
		b.WriteString(r.baseDir)
	}
	b.WriteString(path)
	if query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	if b.Len() > MaxLength/2 {
		return "", false // long ones take the checked path
	}
	return b.String(), true
}

// Resolve is Resolve(base, ref) for the Resolver's base.
func (r *Resolver) Resolve(ref string) (*url.URL, error) {
	if r.baseStr == "" {
		return Parse(ref)
	}
	if len(ref) > MaxLength {
		return nil, fmt.Errorf("resolve %q: %w", clip(ref), ErrTooLong)
	}
	if r.baseErr != nil {
		return nil, fmt.Errorf("resolve %q: base %q: %w", clip(ref), clip(r.baseStr), r.baseErr)
	}
	key := r.key(ref)
	if s, err, ok := r.cache.get(key); ok {
		if err != nil {
			return nil, fmt.Errorf("resolve %q against %q: %w", clip(ref), clip(r.baseStr), err)
		}
		return url.Parse(s) // canonical strings round-trip (normalize checks it)
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
