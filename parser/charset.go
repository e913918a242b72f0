package parser

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

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
// body is valid UTF-8, else windows-1252.
//
// DetermineEncoding's own last resort looks only at the first 1024 bytes,
// so it calls a page whose first non-ASCII byte comes later windows-1252
// and garbles it. Its two guesses are the only results it returns as the
// bare values encoding.Nop and charmap.Windows1252 (declared encodings come
// from charset.Lookup, wrapped), so those are replaced by the whole-body
// rule. The one declared result that is also bare, encoding.Nop for a
// <meta> naming UTF-16 (which HTML reads as UTF-8), goes through the same
// rule; only a non-UTF-8 body declared UTF-16 is affected.
func detect(body []byte, contentType string) (encoding.Encoding, string) {
	e, name, certain := charset.DetermineEncoding(body, contentType)
	if certain || (e != encoding.Nop && e != charmap.Windows1252) {
		return e, name
	}
	if utf8.Valid(body) {
		return unicode.UTF8, "utf-8"
	}
	return charmap.Windows1252, "windows-1252"
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
