package robots

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// Rules is an immutable robots.txt decision for one origin
// (scheme://host:port). It is safe for concurrent use. The zero value allows
// everything; constructors never return nil.
type Rules struct {
	status      int
	unreachable bool
	disallowAll bool
	rules       []rule // longest first, Allow before Disallow on equal length
	crawlDelay  time.Duration
	sitemaps    []string
}

// AllowAll returns Rules that allow every URL: robots.txt is "unavailable"
// (RFC 9309 §2.3.1.3). Status reports 0.
func AllowAll() *Rules {
	return &Rules{}
}

// DisallowAll returns Rules that disallow every URL except /robots.txt:
// robots.txt is "unreachable" (RFC 9309 §2.3.1.4). Unreachable reports true
// and Status reports 0, as for a network error.
func DisallowAll() *Rules {
	return &Rules{unreachable: true, disallowAll: true}
}

// FromStatus applies RFC 9309 §2.3.1 to the final (post-redirect) status of a
// robots.txt request and, for 2xx, to its body:
//
//   - 200–299: Parse(body, token).
//   - 300–399: a redirect the caller did not follow; treated as
//     "unavailable" like more than MaxRedirects hops: allow all.
//   - 400–499 except 429: "unavailable": allow all.
//   - 429, 500–599, and every other value (below 200, 600 and above):
//     "unreachable": disallow all, Unreachable reports true.
//
// Status reports status in every case.
func FromStatus(status int, body []byte, token string) *Rules {
	var r *Rules
	switch {
	case status >= 200 && status <= 299:
		r = Parse(body, token)
	case status >= 300 && status <= 399:
		r = AllowAll()
	case status >= 400 && status <= 499 && status != 429:
		r = AllowAll()
	default:
		r = DisallowAll()
	}
	r.status = status
	return r
}

// Allowed reports whether u may be fetched. It matches u.EscapedPath(), or
// "/" if that is empty, followed by "?" and u.RawQuery when the URL has a
// query, exactly as served (the query is not re-encoded). Scheme, host and
// fragment are ignored: u must belong to the origin these Rules were made
// for. "/robots.txt" is always allowed (RFC 9309 §2.2.2).
func (r *Rules) Allowed(u *url.URL) bool {
	return r.allowed(u.EscapedPath(), u.RawQuery, u.RawQuery != "" || u.ForceQuery)
}

// AllowedRequestURI is Allowed for a request target in origin form, the
// path and, after a "?", the query, as the request line carries it (what
// url.URL.RequestURI returns). It decides as Allowed does for every URL
// whose RequestURI is uri, without parsing one: the crawl judges each
// link of each page with it.
func (r *Rules) AllowedRequestURI(uri string) bool {
	path, query, hasQuery := strings.Cut(uri, "?")
	return r.allowed(path, query, hasQuery)
}

// allowed matches the escaped path and raw query of a URL; hasQuery tells
// a "?" with an empty query from none.
func (r *Rules) allowed(path, query string, hasQuery bool) bool {
	if path == "" {
		path = "/"
	}
	target := make([]byte, 0, len(path)+len(query)+8)
	target = canonical(target, path, false)
	if string(target) == "/robots.txt" {
		return true
	}
	if r.disallowAll {
		return false
	}
	if len(r.rules) == 0 {
		return true
	}
	if hasQuery {
		target = append(target, '?')
		target = canonical(target, query, false)
	}
	s := string(target)
	for i := range r.rules {
		if r.rules[i].match(s) {
			return r.rules[i].allow
		}
	}
	return true
}

// CrawlDelay returns the Crawl-delay of the group that applies, or 0 if it
// has none. When several matching groups or lines give one, the largest
// wins. Crawl-delay is not part of RFC 9309; the caller clamps it.
func (r *Rules) CrawlDelay() time.Duration {
	return r.crawlDelay
}

// Sitemaps returns the Sitemap URLs listed anywhere in the file, in file
// order without duplicates, unvalidated. The caller may modify the slice.
func (r *Rules) Sitemaps() []string {
	return slices.Clone(r.sitemaps)
}

// Unreachable reports whether these Rules disallow everything because
// robots.txt was unreachable (429, 5xx or network error). The caller should
// retry later rather than keep this verdict for long.
func (r *Rules) Unreachable() bool {
	return r.unreachable
}

// Status returns the final HTTP status these Rules were made from, or 0 for a
// network error and for Rules not made from a response (Parse, AllowAll,
// DisallowAll).
func (r *Rules) Status() int {
	return r.status
}
