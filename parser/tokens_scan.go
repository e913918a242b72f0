// The functions in this file are ported from golang.org/x/net/html's
// token.go (Copyright 2010 The Go Authors; BSD-3-Clause, as the rest of
// x/net): the same state machines, reading a byte slice in memory instead
// of a buffered io.Reader, so that tokens (tokens.go) finds exactly where
// the Tokenizer would end a script's text, a comment, a doctype, a CDATA
// section or a bogus comment. Each keeps its original name and body; only
// the receiver's fields differ (raw.end is end, z.err != nil is eof), and
// runs of bytes that only wait for a "<" are skipped with IndexByte.

package parser

import (
	"bytes"

	"golang.org/x/net/html"
)

// xscan is the part of an html.Tokenizer's state the ported functions use.
type xscan struct {
	buf                []byte
	start, end         int // the token's raw span so far: Raw() is buf[start:end]
	dataStart, dataEnd int
	eof                bool // the Tokenizer's z.err != nil (always io.EOF here)
	allowCDATA         bool
	rawTag             string
}

func (z *xscan) readByte() byte {
	if z.end >= len(z.buf) {
		z.eof = true
		return 0
	}
	c := z.buf[z.end]
	z.end++
	return c
}

func (z *xscan) skipWhiteSpace() {
	if z.eof {
		return
	}
	for {
		c := z.readByte()
		if z.eof {
			return
		}
		switch c {
		case ' ', '\n', '\r', '\t', '\f':
		default:
			z.end--
			return
		}
	}
}

// readRawEndTag is the Tokenizer's: it tries to read "</" z.rawTag and a
// delimiter, backing up to reconsume the tag if it succeeds. The opening
// "</" has already been consumed.
func (z *xscan) readRawEndTag() bool {
	for i := 0; i < len(z.rawTag); i++ {
		c := z.readByte()
		if z.eof {
			return false
		}
		if c != z.rawTag[i] && c != z.rawTag[i]-('a'-'A') {
			z.end--
			return false
		}
	}
	c := z.readByte()
	if z.eof {
		return false
	}
	switch c {
	case ' ', '\n', '\r', '\t', '\f', '/', '>':
		z.end -= 3 + len(z.rawTag)
		return true
	}
	z.end--
	return false
}

// skipTo consumes bytes up to and including the next c, as reading a
// byte at a time until c would, and reports false at the end of the input.
func (z *xscan) skipTo(c byte) bool {
	i := bytes.IndexByte(z.buf[z.end:], c)
	if i < 0 {
		z.end, z.eof = len(z.buf), true
		return false
	}
	z.end += i + 1
	return true
}

// readRawOrRCDATA is the Tokenizer's for raw-text elements other than
// script: it reads until "</" z.rawTag and a delimiter.
func (z *xscan) readRawOrRCDATA() {
	for z.skipTo('<') {
		c := z.readByte()
		if z.eof {
			break
		}
		if c != '/' {
			z.end--
			continue
		}
		if z.readRawEndTag() || z.eof {
			break
		}
	}
	z.dataEnd = z.end
}

// readScript is the Tokenizer's: it reads until the next </script> tag,
// following the rules for escaping and hiding the closing tag.
func (z *xscan) readScript() {
	defer func() {
		z.dataEnd = z.end
	}()
	var c byte

scriptData:
	// The Tokenizer reads a byte at a time until "<"; skipping to it is
	// the same.
	if !z.skipTo('<') {
		return
	}
	goto scriptDataLessThanSign

scriptDataLessThanSign:
	c = z.readByte()
	if z.eof {
		return
	}
	switch c {
	case '/':
		goto scriptDataEndTagOpen
	case '!':
		goto scriptDataEscapeStart
	}
	z.end--
	goto scriptData

scriptDataEndTagOpen:
	if z.readRawEndTag() || z.eof {
		return
	}
	goto scriptData

scriptDataEscapeStart:
	c = z.readByte()
	if z.eof {
		return
	}
	if c == '-' {
		goto scriptDataEscapeStartDash
	}
	z.end--
	goto scriptData

scriptDataEscapeStartDash:
	c = z.readByte()
	if z.eof {
		return
	}
	if c == '-' {
		goto scriptDataEscapedDashDash
	}
	z.end--
	goto scriptData

scriptDataEscaped:
	c = z.readByte()
	if z.eof {
		return
	}
	switch c {
	case '-':
		goto scriptDataEscapedDash
	case '<':
		goto scriptDataEscapedLessThanSign
	}
	goto scriptDataEscaped

scriptDataEscapedDash:
	c = z.readByte()
	if z.eof {
		return
	}
	switch c {
	case '-':
		goto scriptDataEscapedDashDash
	case '<':
		goto scriptDataEscapedLessThanSign
	}
	goto scriptDataEscaped

scriptDataEscapedDashDash:
	c = z.readByte()
	if z.eof {
		return
	}
	switch c {
	case '-':
		goto scriptDataEscapedDashDash
	case '<':
		goto scriptDataEscapedLessThanSign
	case '>':
		goto scriptData
	}
	goto scriptDataEscaped

scriptDataEscapedLessThanSign:
	c = z.readByte()
	if z.eof {
		return
	}
	if c == '/' {
		goto scriptDataEscapedEndTagOpen
	}
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
		goto scriptDataDoubleEscapeStart
	}
	z.end--
	goto scriptData

scriptDataEscapedEndTagOpen:
	if z.readRawEndTag() || z.eof {
		return
	}
	goto scriptDataEscaped

scriptDataDoubleEscapeStart:
	z.end--
	for i := 0; i < len("script"); i++ {
		c = z.readByte()
		if z.eof {
			return
		}
		if c != "script"[i] && c != "SCRIPT"[i] {
			z.end--
			goto scriptDataEscaped
		}
	}
	c = z.readByte()
	if z.eof {
		return
	}
	switch c {
	case ' ', '\n', '\r', '\t', '\f', '/', '>':
		goto scriptDataDoubleEscaped
	}
	z.end--
	goto scriptDataEscaped

scriptDataDoubleEscaped:
	c = z.readByte()
	if z.eof {
		return
	}
	switch c {
	case '-':
		goto scriptDataDoubleEscapedDash
	case '<':
		goto scriptDataDoubleEscapedLessThanSign
	}
	goto scriptDataDoubleEscaped

scriptDataDoubleEscapedDash:
	c = z.readByte()
	if z.eof {
		return
	}
	switch c {
	case '-':
		goto scriptDataDoubleEscapedDashDash
	case '<':
		goto scriptDataDoubleEscapedLessThanSign
	}
	goto scriptDataDoubleEscaped

scriptDataDoubleEscapedDashDash:
	c = z.readByte()
	if z.eof {
		return
	}
	switch c {
	case '-':
		goto scriptDataDoubleEscapedDashDash
	case '<':
		goto scriptDataDoubleEscapedLessThanSign
	case '>':
		goto scriptData
	}
	goto scriptDataDoubleEscaped

scriptDataDoubleEscapedLessThanSign:
	c = z.readByte()
	if z.eof {
		return
	}
	if c == '/' {
		goto scriptDataDoubleEscapeEnd
	}
	z.end--
	goto scriptDataDoubleEscaped

scriptDataDoubleEscapeEnd:
	if z.readRawEndTag() {
		z.end += len("</script>")
		goto scriptDataEscaped
	}
	if z.eof {
		return
	}
	goto scriptDataDoubleEscaped
}

// readComment is the Tokenizer's: it reads a comment; the opening "<!--"
// has already been consumed.
func (z *xscan) readComment() {
	z.dataStart = z.end
	defer func() {
		if z.dataEnd < z.dataStart {
			z.dataEnd = z.dataStart // a comment with no data, like <!-->
		}
	}()
	var dashCount int
	beginning := true
	for {
		c := z.readByte()
		if z.eof {
			z.dataEnd = z.calculateAbruptCommentDataEnd()
			return
		}
		switch c {
		case '-':
			dashCount++
			continue
		case '>':
			if dashCount >= 2 || beginning {
				z.dataEnd = z.end - len("-->")
				return
			}
		case '!':
			if dashCount >= 2 {
				c = z.readByte()
				if z.eof {
					z.dataEnd = z.calculateAbruptCommentDataEnd()
					return
				} else if c == '>' {
					z.dataEnd = z.end - len("--!>")
					return
				} else if c == '-' {
					dashCount = 1
					beginning = false
					continue
				}
			}
		}
		dashCount = 0
		beginning = false
	}
}

func (z *xscan) calculateAbruptCommentDataEnd() int {
	raw := z.buf[z.start:z.end]
	const prefixLen = len("<!--")
	if len(raw) >= prefixLen {
		raw = raw[prefixLen:]
		if hasSuffix(raw, "--!") {
			return z.end - 3
		} else if hasSuffix(raw, "--") {
			return z.end - 2
		} else if hasSuffix(raw, "-") {
			return z.end - 1
		}
	}
	return z.end
}

func hasSuffix(b []byte, suffix string) bool {
	return len(b) >= len(suffix) && string(b[len(b)-len(suffix):]) == suffix
}

// readUntilCloseAngle is the Tokenizer's: it reads until the next ">".
func (z *xscan) readUntilCloseAngle() {
	z.dataStart = z.end
	for {
		c := z.readByte()
		if z.eof {
			z.dataEnd = z.end
			return
		}
		if c == '>' {
			z.dataEnd = z.end - len(">")
			return
		}
	}
}

// readMarkupDeclaration is the Tokenizer's: it reads a token starting
// with "<!" (a comment, a doctype, CDATA or a bogus comment). The opening
// "<!" has already been consumed.
func (z *xscan) readMarkupDeclaration() html.TokenType {
	z.dataStart = z.end
	var c [2]byte
	for i := 0; i < 2; i++ {
		c[i] = z.readByte()
		if z.eof {
			z.dataEnd = z.end
			if i == 1 && c[0] == '>' {
				z.dataEnd--
			}
			return html.CommentToken
		}
	}
	if c[0] == '-' && c[1] == '-' {
		z.readComment()
		return html.CommentToken
	}
	z.end -= 2
	if z.readDoctype() {
		return html.DoctypeToken
	}
	if z.allowCDATA && z.readCDATA() {
		return html.TextToken
	}
	z.readUntilCloseAngle()
	return html.CommentToken
}

// readDoctype is the Tokenizer's. The opening "<!" has already been
// consumed.
func (z *xscan) readDoctype() bool {
	const s = "DOCTYPE"
	for i := 0; i < len(s); i++ {
		c := z.readByte()
		if z.eof {
			// Back up to read the fragment of "DOCTYPE" again; EOF
			// comes again on the next read.
			z.end = z.dataStart
			z.eof = false
			return false
		}
		if c != s[i] && c != s[i]+('a'-'A') {
			z.end = z.dataStart
			return false
		}
	}
	if z.skipWhiteSpace(); z.eof {
		z.dataStart = z.end
		z.dataEnd = z.end
		return true
	}
	z.readUntilCloseAngle()
	return true
}

// readCDATA is the Tokenizer's. The opening "<!" has already been
// consumed.
func (z *xscan) readCDATA() bool {
	const s = "[CDATA["
	for i := 0; i < len(s); i++ {
		c := z.readByte()
		if z.eof {
			z.end = z.dataStart
			z.eof = false
			return false
		}
		if c != s[i] {
			z.end = z.dataStart
			return false
		}
	}
	z.dataStart = z.end
	brackets := 0
	for {
		c := z.readByte()
		if z.eof {
			z.dataEnd = z.end
			return true
		}
		switch c {
		case ']':
			brackets++
		case '>':
			if brackets >= 2 {
				z.dataEnd = z.end - len("]]>")
				return true
			}
			brackets = 0
		default:
			brackets = 0
		}
	}
}
