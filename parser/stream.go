package parser

import (
	"bytes"
	"strings"
	"unsafe"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// stream is what one pass over a document's tokens collects for Parse
// with Options.NoDOM: the fields scan collects from the tree, with the
// tree builder's effects on them modelled as Options.NoDOM documents. It
// reads x/net/html's tokens through tokens (tokens.go), which reads the
// document in place, so tags and text it does not keep cost no
// allocation.
type stream struct {
	z *tokens

	// inBody is set once the tree builder would have opened <body>: a body
	// start tag, a start tag that does not belong in <head>, non-space text
	// outside raw text, or </body>, </html>, </br>, outside <template>.
	inBody bool

	// framesetOK is the tree builder's "frameset-ok" flag, which text and
	// some elements in the body clear: a <frameset> while it is set
	// replaces the body, whose links from bodyHrefs on are then gone.
	framesetOK bool
	bodyHrefs  int

	// templates is how many HTML <template> elements are open: their
	// content's text is hidden and its links are left out.
	templates int

	// foreign is how many <svg> and <math> elements are open; hidden are
	// the script, style, noscript and template elements open inside them
	// (foreign elements, not raw text, whose text is hidden).
	foreign int
	hidden  []atom.Atom

	// after is the HTML element whose start tag was the previous token,
	// 0 after any other token: a text token right after it is its raw
	// text (title, script, ...) or its first child (pre, listing).
	after atom.Atom

	// titled is set by the first <title> outside svg, math and
	// <template>; wantTitle while its text may still come.
	titled, wantTitle bool
	title             string

	baseHref   string
	based      bool
	canonical  string
	canonicalA bool // canonical was found

	metaTags

	// hrefs are the outlinks' targets before resolution, in document
	// order: a[href] and area[href] without rel=nofollow and
	// <meta http-equiv=refresh> URLs, outside <template>.
	hrefs []string

	text textCounter
}

// tagAttrs are the attributes of one tag that Parse reads, the first of
// each key; they alias the tokenizer's buffer until its next token.
type tagAttrs struct {
	href, rel, name, content, httpEquiv []byte
	has                                 uint8 // attrHref | attrRel | ...
	fontBreakout                        bool  // a color, face or size attribute
}

const (
	attrHref uint8 = 1 << iota
	attrRel
	attrName
	attrContent
	attrHTTPEquiv
)

// scanTokens tokenizes text once and returns what Parse needs from it.
func scanTokens(text []byte) *stream {
	s := &stream{z: newTokens(text), framesetOK: true}
	for {
		s.z.AllowCDATA(s.foreign > 0)
		switch s.z.Next() {
		case html.ErrorToken:
			return s
		case html.TextToken:
			s.textToken(s.z.Text())
		case html.StartTagToken:
			if !s.start(false) {
				return s
			}
		case html.SelfClosingTagToken:
			if !s.start(true) {
				return s
			}
		case html.EndTagToken:
			s.end()
		default: // comments, doctypes
			s.after = 0
		}
	}
}

// start handles a start tag and reports whether to go on: a <frameset>
// before the body ends the document's content.
func (s *stream) start(selfClosing bool) bool {
	name, hasAttr := s.z.TagName()
	a := atom.Lookup(name)
	s.after = 0
	var at tagAttrs
	if hasAttr {
		switch a {
		case atom.A, atom.Area, atom.Meta, atom.Link, atom.Base, atom.Font:
			at = s.attrs()
		}
	}
	if s.foreign > 0 && breaksOut(a, at.fontBreakout) {
		s.foreign, s.hidden = 0, s.hidden[:0]
	}
	foreign := s.foreign > 0
	s.element(a, &at, foreign)
	switch {
	case foreign:
		// The tree builder keeps the tokenizer out of raw text in foreign
		// content (an SVG <title> or <style> holds elements).
		s.z.NextIsNotRawText()
		if selfClosing {
			break
		}
		switch a {
		case atom.Svg, atom.Math:
			s.foreign++
		case atom.Script, atom.Style, atom.Noscript, atom.Template:
			s.hidden = append(s.hidden, a)
		}
	default:
		if a == atom.Frameset && s.templates == 0 && (!s.inBody || s.framesetOK) {
			if s.inBody { // the body is replaced
				s.hrefs, s.text = s.hrefs[:s.bodyHrefs], textCounter{}
			}
			return false
		}
		if s.templates == 0 && !inHead(a) {
			s.openBody()
		}
		if a == atom.Body || endsFramesetOK(a) {
			s.framesetOK = false
		}
		switch a {
		case atom.Svg, atom.Math:
			if !selfClosing {
				s.foreign++
			}
		case atom.Template:
			s.templates++ // also when self-closing: HTML ignores the slash
		case atom.Title:
			if !s.titled && s.templates == 0 {
				s.titled, s.wantTitle = true, true
			} else {
				s.wantTitle = false // the first title was empty: it stays the title
			}
		}
		s.after = a
	}
	return true
}

// element records an element's fields, as scan.element does for a node;
// foreign reports whether it is in svg or math content.
func (s *stream) element(a atom.Atom, at *tagAttrs, foreign bool) {
	switch a {
	case atom.Base: // an svg or math <base> or <link> is not HTML's
		if !s.based && !foreign && at.has&attrHref != 0 && s.templates == 0 {
			s.baseHref, s.based = string(at.href), true
		}
	case atom.Link:
		if !s.canonicalA && !foreign && at.has&attrHref != 0 && at.has&attrRel != 0 && s.templates == 0 && hasToken(view(at.rel), "canonical") {
			s.canonical, s.canonicalA = string(at.href), true
		}
	case atom.A, atom.Area:
		if at.has&attrHref != 0 && s.templates == 0 && (at.has&attrRel == 0 || !hasToken(view(at.rel), "nofollow")) {
			s.hrefs = append(s.hrefs, string(at.href))
		}
	case atom.Meta:
		if at.has&attrHTTPEquiv != 0 && at.has&attrContent != 0 && s.templates == 0 &&
			bytes.EqualFold(bytes.TrimSpace(at.httpEquiv), []byte("refresh")) {
			if target, ok := refreshURL(view(at.content)); ok {
				s.hrefs = append(s.hrefs, strings.Clone(target))
			}
		}
		if at.has&attrName != 0 && s.templates == 0 {
			s.meta(at)
		}
	}
}

// meta records the robots directives or the description of a <meta> with
// a name attribute, as scan.meta does.
func (s *stream) meta(at *tagAttrs) { s.add(view(at.name), view(at.content)) }

// attrs reads the current tag's attributes. In foreign content the tree
// builder turns xlink:href into href in the xlink namespace, which the
// DOM path matches as href.
func (s *stream) attrs() tagAttrs {
	var at tagAttrs
	for more := true; more; {
		var key, val []byte
		key, val, more = s.z.TagAttr()
		var bit uint8
		var dst *[]byte
		switch string(key) { // no allocation: a conversion in a switch
		case "href":
			bit, dst = attrHref, &at.href
		case "xlink:href":
			if s.foreign > 0 {
				bit, dst = attrHref, &at.href
			}
		case "rel":
			bit, dst = attrRel, &at.rel
		case "name":
			bit, dst = attrName, &at.name
		case "content":
			bit, dst = attrContent, &at.content
		case "http-equiv":
			bit, dst = attrHTTPEquiv, &at.httpEquiv
		case "color", "face", "size":
			at.fontBreakout = true
		}
		if dst != nil && at.has&bit == 0 {
			at.has |= bit
			*dst = val
		}
	}
	return at
}

// end handles an end tag.
func (s *stream) end() {
	name, _ := s.z.TagName()
	a := atom.Lookup(name)
	s.after = 0
	if s.foreign > 0 {
		switch {
		case a == atom.Svg || a == atom.Math:
			if s.foreign--; s.foreign == 0 {
				s.hidden = s.hidden[:0]
			}
			return
		case len(s.hidden) > 0 && s.hidden[len(s.hidden)-1] == a:
			s.hidden = s.hidden[:len(s.hidden)-1]
			return
		case a == atom.P || a == atom.Br || (a == atom.Template && s.templates > 0):
			// Close the foreign elements; handled as HTML below.
			s.foreign, s.hidden = 0, s.hidden[:0]
		default:
			return
		}
	}
	switch a {
	case atom.Template:
		if s.templates > 0 {
			s.templates--
		}
	case atom.Body, atom.Html, atom.Br:
		if s.templates == 0 {
			s.openBody()
		}
		if a == atom.Br {
			s.framesetOK = false // </br> is read as <br>
		}
	}
}

// openBody records that the tree builder would have opened the body.
func (s *stream) openBody() {
	if !s.inBody {
		s.inBody, s.bodyHrefs = true, len(s.hrefs)
	}
}

// textToken handles a text token.
func (s *stream) textToken(t []byte) {
	after := s.after
	s.after = 0
	switch after {
	case atom.Title:
		if s.wantTitle {
			s.title, s.wantTitle = collapse(string(t)), false
		}
	case atom.Script, atom.Style, atom.Noscript:
		return // raw text, hidden
	case atom.Pre, atom.Listing, atom.Textarea:
		// The tree builder drops a newline right after the start tag.
		t = bytes.TrimPrefix(t, []byte("\n"))
	}
	switch after {
	case atom.Title, atom.Noframes:
		// Raw text of an element that may be in <head>: it does not
		// open the body.
	default:
		if len(bytes.Trim(t, asciiSpace)) > 0 && (s.inBody || s.templates == 0) {
			s.openBody()
			if len(bytes.Trim(t, asciiSpace+"\x00")) > 0 {
				s.framesetOK = false
			}
		}
	}
	if !s.inBody || s.templates > 0 || len(s.hidden) > 0 {
		return
	}
	// The tree builder drops NUL from body text (svg and math elements
	// other than integration points turn it into U+FFFD instead).
	for {
		i := bytes.IndexByte(t, 0)
		if i < 0 {
			s.text.add(view(t))
			return
		}
		s.text.add(view(t[:i]))
		t = t[i+1:]
	}
}

// view returns b as a string without copying it, for use while b is not
// modified: never keep the result (or a substring of it) past the
// tokenizer's next token, whose buffer b usually is.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// inHead reports whether a start tag a does not open the body before it:
// the elements that belong in <head>, and html and head themselves.
func inHead(a atom.Atom) bool {
	switch a {
	case atom.Html, atom.Head, atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta,
		atom.Noframes, atom.Script, atom.Style, atom.Template, atom.Title, atom.Noscript:
		return true
	}
	return false
}

// endsFramesetOK reports whether an HTML start tag a in the body clears
// the frameset-ok flag.
func endsFramesetOK(a atom.Atom) bool {
	switch a {
	case atom.Pre, atom.Listing, atom.Li, atom.Dd, atom.Dt, atom.Button, atom.Applet, atom.Marquee,
		atom.Object, atom.Table, atom.Area, atom.Br, atom.Embed, atom.Img, atom.Input, atom.Keygen,
		atom.Wbr, atom.Hr, atom.Textarea, atom.Xmp, atom.Iframe, atom.Select:
		return true
	}
	return false
}

// breaksOut reports whether an HTML start tag a closes all open svg and
// math elements (the HTML Standard's rules for parsing tokens in foreign
// content); font does with a color, face or size attribute.
func breaksOut(a atom.Atom, fontBreakout bool) bool {
	switch a {
	case atom.B, atom.Big, atom.Blockquote, atom.Body, atom.Br, atom.Center, atom.Code, atom.Dd, atom.Div,
		atom.Dl, atom.Dt, atom.Em, atom.Embed, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Head, atom.Hr, atom.I, atom.Img, atom.Li, atom.Listing, atom.Menu, atom.Meta, atom.Nobr,
		atom.Ol, atom.P, atom.Pre, atom.Ruby, atom.S, atom.Small, atom.Span, atom.Strong, atom.Strike,
		atom.Sub, atom.Sup, atom.Table, atom.Tt, atom.U, atom.Ul, atom.Var:
		return true
	case atom.Font:
		return fontBreakout
	}
	return false
}
