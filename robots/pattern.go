package robots

import (
	"strings"

	"crawler/internal/percent"
)

// rule is one compiled Allow or Disallow line.
type rule struct {
	allow    bool
	anchored bool     // pattern ended in '$'
	pattern  string   // canonical form, '*' is the only wildcard, no trailing '*'
	segments []string // pattern split at '*'; nil if it has no '*'
	length   int      // specificity: canonical octets, '$' included; at least 1
}

// compileRule turns the value of an Allow or Disallow line into a rule. ok is
// false for an empty value (RFC 9309 empty-pattern: the line has no effect)
// and for a value that is not a path pattern.
//
// RFC 9309 §2.2 requires a path-pattern to start with "/". A value starting
// with "*" is accepted as well: the RFC's own example uses "Disallow: *.gif$"
// and a leading "*" already matches the leading "/".
func compileRule(value string, allow bool) (rule, bool) {
	if value == "" || (value[0] != '/' && value[0] != '*') {
		return rule{}, false
	}
	anchored := strings.HasSuffix(value, "$")
	if anchored {
		value = value[:len(value)-1]
	}
	b := canonical(make([]byte, 0, len(value)+8), value, true)
	// Runs of '*' equal one '*', and a trailing '*' adds nothing ("/fish*"
	// is "/fish"; "/fish*$" is "/fish" too), so equivalent patterns get
	// equal lengths and the Allow-wins tie rule can see them.
	b = collapseStars(b)
	if n := len(b); n > 0 && b[n-1] == '*' {
		b = b[:n-1]
		anchored = false
	}
	r := rule{allow: allow, anchored: anchored, pattern: string(b), length: len(b)}
	if anchored {
		r.length++
	}
	if r.length == 0 {
		// The pattern was all '*': it matches every path, as "/" does, and
		// has at least that one octet, so "Allow: *" ties with "Disallow: /"
		// and wins (RFC 9309 §2.2.2).
		r.length = 1
	}
	if strings.IndexByte(r.pattern, '*') >= 0 {
		r.segments = strings.Split(r.pattern, "*")
	}
	return r, true
}

func collapseStars(b []byte) []byte {
	out := b[:0]
	for i, c := range b {
		if c == '*' && i > 0 && b[i-1] == '*' {
			continue
		}
		out = append(out, c)
	}
	return out
}

// match reports whether the rule matches the canonical path (plus query)
// starting at its first octet.
//
// Because '*' is the only wildcard, taking each middle segment at its
// leftmost occurrence never loses a match, so no backtracking is needed.
func (r *rule) match(path string) bool {
	if r.segments == nil {
		if r.anchored {
			return path == r.pattern
		}
		return strings.HasPrefix(path, r.pattern)
	}
	first := r.segments[0]
	if !strings.HasPrefix(path, first) {
		return false
	}
	pos := len(first)
	last := len(r.segments) - 1
	for _, seg := range r.segments[1:last] {
		i := strings.Index(path[pos:], seg)
		if i < 0 {
			return false
		}
		pos += i + len(seg)
	}
	seg := r.segments[last]
	if r.anchored {
		return len(path)-len(seg) >= pos && strings.HasSuffix(path, seg)
	}
	return strings.Contains(path[pos:], seg)
}

// canonical appends s to dst in the canonical form both rules and URLs are
// compared in (RFC 9309 §2.2.2):
//
//   - "%XX" for an unreserved character (RFC 3986 §2.3) is decoded: "%62"
//     becomes "b";
//   - any other "%XX" is kept, with upper-case hex;
//   - unreserved and reserved characters are kept, except '*' and '$';
//   - every other octet, including non-ASCII, controls, space and a '%' not
//     followed by two hex digits, is percent-encoded.
//
// In a pattern (wildcards true) '*' is kept as the wildcard; otherwise it
// becomes "%2A", so that a rule's literal "%2A" matches it. '$' always
// becomes "%24": a pattern's anchoring '$' is removed before this is called.
func canonical(dst []byte, s string, wildcards bool) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && percent.IsHex(s[i+1]) && percent.IsHex(s[i+2]):
			v := percent.Unhex(s[i+1])<<4 | percent.Unhex(s[i+2])
			i += 2
			if percent.IsUnreserved(v) {
				dst = append(dst, v)
			} else {
				dst = append(dst, '%', hex[v>>4], hex[v&15])
			}
		case c == '*' && wildcards:
			dst = append(dst, c)
		case percent.IsUnreserved(c) || (isReserved(c) && c != '*' && c != '$'):
			dst = append(dst, c)
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// isReserved reports RFC 3986 §2.2 gen-delims and sub-delims.
func isReserved(c byte) bool {
	return strings.IndexByte(":/?#[]@!$&'()*+,;=", c) >= 0
}
