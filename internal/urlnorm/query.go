package urlnorm

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// QueryEncoding returns the encoding the queries of a page's URLs are
// encoded in, given the name of the encoding the page was decoded from as
// the WHATWG Encoding Standard names it (parser.Document.Charset,
// store.Page.Charset): the WHATWG "get an output encoding", which is UTF-8
// for UTF-8, UTF-16BE, UTF-16LE and replacement, and the encoding itself
// otherwise. nil means UTF-8, which needs no rewriting; so does "" or a
// name the Encoding Standard does not know.
//
// The encoding comes from htmlindex rather than from the decoder's
// charset.Lookup, whose encoders write "&#N;" for characters they lack,
// which EncodeQuery must tell apart from the same text in the href.
func QueryEncoding(charsetName string) encoding.Encoding {
	switch charsetName {
	case "utf-8", "utf-16be", "utf-16le", "replacement":
		return nil
	}
	e, err := htmlindex.Get(charsetName)
	if err != nil {
		return nil
	}
	return e
}

// EncodeQuery returns href with its query made ASCII the way the WHATWG
// URL parser encodes the query of an http(s) URL on a page in encoding e
// (the HTML Standard's "encoding-parse a URL"), for Resolve or a Resolver
// to resolve as a browser on that page does: href is cleaned as that
// parser cleans its input (C0 controls and spaces trimmed from both ends,
// tabs and newlines removed), then the query, from the first '?' that
// comes before any '#' up to the next '#', is encoded with e as one run
// (stateful encodings such as ISO-2022-JP keep their state across it).
// Each output byte in the special-query percent-encode set (C0 controls,
// DEL, non-ASCII, space, double quote, '#', '<', '>' and apostrophe) is
// written as %XX with uppercase hex, every other byte as it is; a
// character e cannot encode is written as "%26%23" + its decimal code
// point + "%3B" (a percent-encoded "&#N;"). The path and fragment are left
// for the resolver, which encodes them in UTF-8. e is what QueryEncoding
// returns for the page.
//
// href is returned unchanged when e is nil (UTF-8) or its query is ASCII:
// ASCII encodes to itself in every encoding here, and the resolver
// percent-encodes the same set, so only non-ASCII characters need this.
// An href with another scheme (mailto:, javascript:) is treated alike: it
// resolves to no link either way.
//
// The encoders are x/text's, with the substitutions the WHATWG Encoding
// Standard makes for Shift_JIS, EUC-JP and ISO-2022-JP (see
// japaneseSubstitutes). They still differ from WHATWG's in rare corners:
// ISO-2022-JP passes SO, SI and ESC through (WHATWG writes them as the
// error form of U+FFFD), writes halfwidth katakana in a mode of its own
// and lacks the yen sign and overline (WHATWG's Roman mode); Shift_JIS
// lacks U+0080; windows-1252 lacks the C1 controls WHATWG maps to the
// bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D.
func EncodeQuery(href string, e encoding.Encoding) string {
	if e == nil || isASCII(href) {
		return href
	}
	s := clean(href)
	q := strings.IndexAny(s, "?#")
	if q < 0 || s[q] == '#' {
		return href
	}
	end := len(s)
	if i := strings.IndexByte(s[q:], '#'); i >= 0 {
		end = q + i
	}
	query := s[q+1 : end]
	if isASCII(query) {
		return href
	}
	switch e {
	case japanese.ShiftJIS, japanese.EUCJP:
		query = japaneseSubstitutes.Replace(query)
	case japanese.ISO2022JP:
		query = strings.ReplaceAll(query, "\u2212", "\uff0d")
	}
	var b strings.Builder
	b.Grow(len(s) + 2*len(query))
	b.WriteString(s[:q+1])
	writeEncodedQuery(&b, query, e)
	b.WriteString(s[end:])
	return b.String()
}

// japaneseSubstitutes does what the WHATWG Shift_JIS and EUC-JP encoders
// do first and x/text's do not: U+00A5 YEN SIGN and U+203E OVERLINE are
// written as the bytes of backslash and tilde, and U+2212 MINUS SIGN as
// U+FF0D FULLWIDTH HYPHEN-MINUS (the ISO-2022-JP encoder does the last
// too).
var japaneseSubstitutes = strings.NewReplacer("\u00a5", `\`, "\u203e", "~", "\u2212", "\uff0d")

// writeEncodedQuery writes query encoded with e and percent-encoded as
// EncodeQuery describes.
func writeEncodedQuery(b *strings.Builder, query string, e encoding.Encoding) {
	t := e.NewEncoder()
	src := []byte(query)
	var buf [128]byte
	for {
		n, m, err := t.Transform(buf[:], src, true)
		writeQueryBytes(b, buf[:n])
		src = src[m:]
		switch {
		case err == nil:
			return
		case err == transform.ErrShortDst && n+m > 0:
			continue
		case len(src) == 0:
			return
		}
		// Any other error is a character e cannot encode (invalid UTF-8,
		// which text decoded from a page does not have, reads as
		// U+FFFD). The encoder stopped in front of it, in a state where
		// ASCII can follow: ISO-2022-JP has written its switch back to
		// ASCII.
		r, size := utf8.DecodeRune(src)
		b.WriteString("%26%23")
		b.WriteString(strconv.Itoa(int(r)))
		b.WriteString("%3B")
		src = src[size:]
	}
}

// writeQueryBytes writes p with the bytes of the WHATWG special-query
// percent-encode set percent-encoded.
func writeQueryBytes(b *strings.Builder, p []byte) {
	const hex = "0123456789ABCDEF"
	for _, c := range p {
		switch {
		case c <= ' ' || c > '~' || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'':
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
}

// isASCII reports whether s has no byte >= 0x80.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
