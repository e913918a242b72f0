package parser

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// decode returns body converted to valid UTF-8 without a byte order mark,
// and the name of the encoding it was decoded from. The result may share
// body's memory: valid UTF-8 (most pages) is returned as it is, since the
// decoders for "utf-8" would copy it unchanged.
func decode(body []byte, contentType string) ([]byte, string) {
	e, name := detect(body, contentType)
	if name == "utf-8" && utf8.Valid(body) {
		return bytes.TrimPrefix(body, []byte("\uFEFF")), name
	}
	out, err := e.NewDecoder().Bytes(body)
	if err != nil {
		// x/text decoders substitute U+FFFD for invalid input rather than
		// fail; windows-1252 maps every byte, so this cannot fail twice.
		e, name = charmap.Windows1252, "windows-1252"
		out, _ = e.NewDecoder().Bytes(body)
	}
	out = bytes.TrimPrefix(out, []byte("\uFEFF"))
	if !utf8.Valid(out) {
		out = bytes.ToValidUTF8(out, []byte("\uFFFD"))
	}
	return out, name
}

// detect picks the encoding of body: a byte order mark, then the charset
// parameter of contentType, then a <meta> declaration in the first 1024
// bytes (all three by charset.DetermineEncoding), then UTF-8 if the whole
// body is valid UTF-8, then a later <meta> declaration, else windows-1252.
//
// DetermineEncoding's own last resort looks only at the first 1024 bytes,
// so it calls a page whose first non-ASCII byte comes later windows-1252
// and garbles it. Its two guesses are the only results it returns as the
// bare values encoding.Nop and charmap.Windows1252 (declared encodings come
// from charset.Lookup, wrapped), so those are replaced by the whole-body
// rule. The one declared result that is also bare, encoding.Nop for a
// <meta> naming UTF-16 (which HTML reads as UTF-8), goes through the same
// rule; only a non-UTF-8 body declared UTF-16 is affected.
//
// A body that is not UTF-8 and has no declaration in its first 1024 bytes
// takes the encoding of its first <meta> declaration further on (see
// lateMeta) before falling back to windows-1252.
func detect(body []byte, contentType string) (encoding.Encoding, string) {
	e, name, certain := charset.DetermineEncoding(body, contentType)
	if certain {
		return e, name
	}
	if declared(e) {
		return metaEncoding(e, name)
	}
	if utf8.Valid(body) {
		return unicode.UTF8, "utf-8"
	}
	if e, name, ok := lateMeta(body); ok {
		return metaEncoding(e, name)
	}
	return charmap.Windows1252, "windows-1252"
}

// metaEncoding returns the encoding a <meta> declaring e means: the HTML
// Standard reads x-user-defined there as windows-1252, which
// DetermineEncoding does not do.
func metaEncoding(e encoding.Encoding, name string) (encoding.Encoding, string) {
	if name == "x-user-defined" {
		return charmap.Windows1252, "windows-1252"
	}
	return e, name
}

// declared reports whether DetermineEncoding returned e for a declaration
// rather than as one of its two bare guesses (see detect).
func declared(e encoding.Encoding) bool {
	return e != encoding.Nop && e != charmap.Windows1252
}

// lateMeta returns the encoding declared by the first <meta> element of
// body (outside comments and raw text such as scripts) that declares one,
// for a declaration the 1024-byte prescan missed. The HTML Standard's tree
// builder acts on such a <meta> wherever it is ("change the encoding", a
// reload in browsers) while the encoding is only a guess. Each candidate
// tag alone goes through DetermineEncoding, so it is read by the same
// rules as an early one.
func lateMeta(body []byte) (encoding.Encoding, string, bool) {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return nil, "", false
		case html.StartTagToken, html.SelfClosingTagToken:
			if name, _ := z.TagName(); string(name) != "meta" {
				continue
			}
			if e, name, _ := charset.DetermineEncoding(z.Raw(), ""); declared(e) {
				return e, name, true
			}
		}
	}
}

// IsHTML reports whether a response is HTML: its media type is text/html or
// application/xhtml+xml (parameters and case ignored). When contentType is
// empty the body is sniffed with http.DetectContentType, which looks at the
// first 512 bytes.
func IsHTML(contentType string, body []byte) bool {
	if strings.TrimSpace(contentType) == "" {
		contentType = http.DetectContentType(body)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt == "text/html" || mt == "application/xhtml+xml"
}
