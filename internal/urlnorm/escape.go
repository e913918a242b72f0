package urlnorm

import (
	"strings"

	"crawler/internal/percent"
)

// normalizeEscapes rewrites the percent-encoding of a path or query to its
// one canonical spelling: escapes get uppercase hex digits, escapes of
// unreserved characters (ALPHA DIGIT - . _ ~) are decoded, a '%' that does
// not start an escape becomes %25, and bytes for which needsEscape reports
// true are encoded. Escapes of any other character stay encoded, because
// decoding a reserved character (%2F, %3F, %26, ...) changes the URL.
//
// Hand-written: whatwg-url only offers repeated decoding
// (canonicalizer.WithRepeatedPercentDecoding), which decodes reserved
// characters too, and net/url's escaping differs from WHATWG's sets.
func normalizeEscapes(s string, needsEscape func(byte) bool) string {
	i := 0
	for i < len(s) && s[i] != '%' && !needsEscape(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && percent.IsHex(s[i+1]) && percent.IsHex(s[i+2]):
			if d := percent.Unhex(s[i+1])<<4 | percent.Unhex(s[i+2]); percent.IsUnreserved(d) {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteByte(upperHex(s[i+1]))
				b.WriteByte(upperHex(s[i+2]))
			}
			i += 2
		case c == '%' || needsEscape(c):
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pathNeedsEscape reports whether c must be percent-encoded in a canonical
// path: everything except RFC 3986 pchar, '/' and the '[' ']' that browsers
// and net/url leave alone. After WHATWG parsing this only hits '^' and '|'.
func pathNeedsEscape(c byte) bool {
	if percent.IsUnreserved(c) {
		return false
	}
	switch c {
	case '/', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '[', ']':
		return false
	}
	return true
}

// queryNeedsEscape reports whether c must be percent-encoded in a canonical
// query: controls, space, non-ASCII and '#'. The WHATWG parser has already
// encoded all of them; this is a guard, the query is otherwise kept as is.
func queryNeedsEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '#'
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
