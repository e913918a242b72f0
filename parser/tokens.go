package parser

import (
	"bytes"

	"golang.org/x/net/html"
)

// tokens yields the tokens of an in-memory document exactly as
// x/net/html's Tokenizer does (the same types, text, tag names and
// attributes, for any input), with the subset of its API the streaming
// parse uses, at a fraction of the cost:
//
//   - Text between tags is found with bytes.IndexByte instead of one
//     function call per byte, and returned in place (copied only when it
//     holds '\r', NUL or '&').
//   - Tags are read by a port of the Tokenizer's readTag over the byte
//     slice, without copying names, keys and values (the Tokenizer copies
//     each); the raw text of script, style, title and the other raw-text
//     elements, comments, doctypes and CDATA by ports of its state
//     machines (tokens_scan.go).
//   - What is rare and fiddly comes from a real html.Tokenizer started at
//     the token, in the data state the document is in there: the text of
//     comments, doctypes and CDATA and attribute values holding an entity,
//     '\r' or NUL, when they are asked for; and whole tokens for a tag cut
//     off by the end of the input or with more than maxFastAttrs
//     attributes.
//
// x/net/html has no faster entry point to reuse. FuzzTokens and
// TestTokensSameAsTokenizer hold this to the Tokenizer token by token.
type tokens struct {
	doc  []byte
	pos  int // where the next token starts (fast mode)
	tt   html.TokenType
	done bool // the input is used up: ErrorToken from now on

	allowCDATA bool

	// The current token, when the fast path read it.
	text       []byte // a text token's data
	textIsRaw  bool   // raw text (style, xmp, ...): no entities
	convertNUL bool   // raw text and RCDATA: NUL becomes U+FFFD
	name       []byte // a tag's name; nil once TagName returned it
	attrs      []attrSpan
	nAttr      int         // attributes returned by TagAttr
	attrsSlow  bool        // some attribute needs the Tokenizer's conversions
	slowAttrs  [][2][]byte // the attributes as the Tokenizer returns them
	arena      []byte      // converted attribute values of the current tag

	// The current token's text (when lazy) or its attributes' conversions
	// (when attrsSlow) come, if they are asked for, from an html.Tokenizer
	// reading doc[lazyAt:pos] with AllowCDATA(lazyCDATA).
	lazy      bool
	lazyAt    int
	lazyCDATA bool

	rawTag  string // the raw-text element whose text comes next
	nameBuf []byte // a lower-cased tag name
	scratch []byte // a lower-cased attribute key, converted text

	// sub reads the current token when the fast path left it to x/net.
	sub     *html.Tokenizer
	subAt   int  // doc offset sub started at
	subRead int  // bytes of doc[subAt:] sub has tokenized
	subRaw  bool // sub's token was a raw-text start tag: its text comes next
}

// attrSpan is one saved attribute: doc[ks:ke] = doc[vs:ve].
type attrSpan struct{ ks, ke, vs, ve int }

// maxFastAttrs bounds the attributes of a tag the fast path reads (it
// finds repeated keys by comparing each with the ones before it).
const maxFastAttrs = 32

func newTokens(doc []byte) *tokens { return &tokens{doc: doc} }

// AllowCDATA is html.Tokenizer.AllowCDATA.
func (t *tokens) AllowCDATA(allow bool) { t.allowCDATA = allow }

// NextIsNotRawText is html.Tokenizer.NextIsNotRawText.
func (t *tokens) NextIsNotRawText() {
	if t.sub != nil {
		t.sub.NextIsNotRawText()
		t.subRaw = false
		return
	}
	t.rawTag = ""
}

// Next is html.Tokenizer.Next.
func (t *tokens) Next() html.TokenType {
	if t.done {
		return html.ErrorToken
	}
	if t.sub != nil {
		if t.subRaw {
			return t.subNext()
		}
		// sub is back in the data state: go on from where it stopped.
		t.pos, t.sub = t.subAt+t.subRead, nil
	}
	t.text, t.name, t.attrs, t.nAttr = nil, nil, t.attrs[:0], 0
	t.textIsRaw, t.convertNUL, t.lazy, t.slowAttrs = false, false, false, nil
	t.arena = t.arena[:0]
	doc := t.doc
	if t.rawTag != "" {
		start := t.pos
		end := len(doc) // plaintext: the element never ends
		if t.rawTag != "plaintext" {
			sc := xscan{buf: doc, start: start, end: start, rawTag: t.rawTag}
			if t.rawTag == "script" {
				sc.readScript()
			} else {
				sc.readRawOrRCDATA()
			}
			end = sc.dataEnd
		}
		t.pos = end
		if end > start {
			t.textIsRaw = t.rawTag != "textarea" && t.rawTag != "title"
			t.convertNUL = true
			if t.rawTag != "plaintext" {
				t.rawTag = ""
			}
			return t.setText(doc[start:end])
		}
		t.rawTag = ""
	}
	start := t.pos
	for i := start; ; {
		j := bytes.IndexByte(doc[i:], '<')
		if j < 0 || i+j+1 >= len(doc) {
			// No markup ahead ("<" as the last byte is text too).
			t.pos = len(doc)
			if start == len(doc) {
				t.done, t.tt = true, html.ErrorToken
				return t.tt
			}
			return t.setText(doc[start:])
		}
		k := i + j
		if c := doc[k+1]; !isASCIILetter(c) && c != '/' && c != '!' && c != '?' {
			i = k + 1 // "<" followed by anything else is text
			continue
		}
		if k > start {
			t.pos = k
			return t.setText(doc[start:k])
		}
		return t.markup(k)
	}
}

func (t *tokens) setText(b []byte) html.TokenType {
	t.text, t.tt = b, html.TextToken
	return t.tt
}

// markup reads the token that starts with the "<" at doc[k].
func (t *tokens) markup(k int) html.TokenType {
	doc := t.doc
	switch {
	case isASCIILetter(doc[k+1]):
		t.lazyAt, t.lazyCDATA = k, t.allowCDATA
		if t.readTag(k, false) {
			t.tt = html.StartTagToken
			if p := t.pos; doc[p-2] == '/' && (len(t.attrs) == 0 || p-2 != t.attrs[len(t.attrs)-1].ve-1) {
				t.tt = html.SelfClosingTagToken
			}
			t.rawTag = rawTextElement(t.name)
			return t.tt
		}
	case doc[k+1] == '!':
		sc := xscan{buf: doc, start: k, end: k + 2, allowCDATA: t.allowCDATA}
		return t.setLazy(k, sc.readMarkupDeclaration(), sc.end)
	case doc[k+1] == '?':
		sc := xscan{buf: doc, start: k, end: k + 1} // "?" is reconsumed
		sc.readUntilCloseAngle()
		return t.setLazy(k, html.CommentToken, sc.end)
	case k+2 >= len(doc): // "</" at the end is text
		t.pos = len(doc)
		return t.setText(doc[k:])
	case doc[k+2] == '>': // "</>": an empty comment
		return t.setLazy(k, html.CommentToken, k+3)
	case isASCIILetter(doc[k+2]):
		if t.readTag(k, true) {
			t.tt = html.EndTagToken
			return t.tt
		}
	default: // "</" and anything else: a bogus comment
		sc := xscan{buf: doc, start: k, end: k + 2}
		sc.readUntilCloseAngle()
		return t.setLazy(k, html.CommentToken, sc.end)
	}
	return t.delegate(k)
}

// setLazy makes the current token one of type tt spanning doc[k:end]
// whose text, if asked for, comes from an html.Tokenizer (comments,
// doctypes and CDATA are rare, and their text is seldom read).
func (t *tokens) setLazy(k int, tt html.TokenType, end int) html.TokenType {
	t.tt, t.pos, t.lazyAt, t.lazyCDATA, t.lazy = tt, end, k, t.allowCDATA, true
	return tt
}

// slow returns an html.Tokenizer that has read the current token: the
// fast path's token, doc[lazyAt:pos], read from the data state. It gets
// only the token's bytes (the Tokenizer reads none past a token's end), so
// a page of many such tokens costs in proportion to its length.
func (t *tokens) slow() *html.Tokenizer {
	z := html.NewTokenizer(bytes.NewReader(t.doc[t.lazyAt:t.pos]))
	z.AllowCDATA(t.lazyCDATA)
	z.Next()
	return z
}

// delegate reads the token at doc[k] with an html.Tokenizer.
func (t *tokens) delegate(k int) html.TokenType {
	t.sub, t.subAt, t.subRead = html.NewTokenizer(bytes.NewReader(t.doc[k:])), k, 0
	t.name, t.attrs, t.rawTag = nil, t.attrs[:0], ""
	return t.subNext()
}

func (t *tokens) subNext() html.TokenType {
	t.sub.AllowCDATA(t.allowCDATA)
	t.tt = t.sub.Next()
	t.subRaw = false
	if t.tt == html.ErrorToken {
		t.done = true
		return t.tt
	}
	raw := t.sub.Raw()
	t.subRead += len(raw)
	if t.tt == html.StartTagToken || t.tt == html.SelfClosingTagToken {
		// The name as readTagName delimits it, for the raw-text check.
		n := 1
		for n < len(raw) && !isTagSpace(raw[n]) && raw[n] != '/' && raw[n] != '>' {
			n++
		}
		t.subRaw = rawTextElement(raw[1:n]) != ""
	}
	return t.tt
}

// Text is html.Tokenizer.Text.
func (t *tokens) Text() []byte {
	if t.sub != nil {
		return t.sub.Text()
	}
	if t.lazy {
		t.lazy = false // as the Tokenizer's, a second call returns nothing
		return t.slow().Text()
	}
	if t.tt != html.TextToken {
		return nil
	}
	s := t.text
	t.text = nil
	if bytes.IndexByte(s, '\r') >= 0 {
		t.scratch = append(t.scratch[:0], s...)
		s = convertNewlines(t.scratch)
	}
	if t.convertNUL && bytes.IndexByte(s, 0) >= 0 {
		s = bytes.ReplaceAll(s, []byte{0}, []byte("\ufffd"))
	}
	if !t.textIsRaw && bytes.IndexByte(s, '&') >= 0 {
		s = []byte(html.UnescapeString(string(s)))
	}
	return s
}

// TagName is html.Tokenizer.TagName.
func (t *tokens) TagName() (name []byte, hasAttr bool) {
	if t.sub != nil {
		return t.sub.TagName()
	}
	name, t.name = t.name, nil
	if name == nil {
		return nil, false
	}
	if bytes.IndexByte(name, 0) >= 0 {
		name = bytes.ReplaceAll(name, []byte{0}, []byte("\ufffd"))
	}
	return lowerInto(&t.nameBuf, name), t.nAttr < len(t.attrs)
}

// TagAttr is html.Tokenizer.TagAttr.
func (t *tokens) TagAttr() (key, val []byte, moreAttr bool) {
	if t.sub != nil {
		return t.sub.TagAttr()
	}
	if t.nAttr >= len(t.attrs) || t.tt == html.EndTagToken {
		return nil, nil, false
	}
	a := t.attrs[t.nAttr]
	t.nAttr++
	more := t.nAttr < len(t.attrs)
	if !t.attrsSlow {
		return lowerInto(&t.scratch, t.doc[a.ks:a.ke]), t.doc[a.vs:a.ve], more
	}
	// Some attribute holds an entity, "\r" or NUL: converted here as the
	// Tokenizer converts them where that is simple, by the Tokenizer from
	// the first attribute where it is not.
	if t.slowAttrs == nil {
		key := t.doc[a.ks:a.ke]
		if bytes.IndexByte(key, 0) >= 0 {
			key = bytes.ReplaceAll(key, []byte{0}, []byte("\ufffd"))
		}
		n := len(t.arena)
		if v, ok := convertAttr(t.arena, t.doc[a.vs:a.ve]); ok {
			t.arena = v
			return lowerInto(&t.scratch, key), v[n:len(v):len(v)], more
		}
		z := t.slow()
		z.TagName()
		for m := true; m; {
			var k, v []byte
			k, v, m = z.TagAttr()
			t.slowAttrs = append(t.slowAttrs, [2][]byte{k, v})
		}
	}
	if i := t.nAttr - 1; i < len(t.slowAttrs) { // always: FuzzTokens
		return t.slowAttrs[i][0], t.slowAttrs[i][1], more
	}
	return nil, nil, false
}

// lowerInto returns b with A-Z lower-cased: b itself, or a copy in *buf
// if it must change (b is the document, which is not ours to change).
func lowerInto(buf *[]byte, b []byte) []byte {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			*buf = append((*buf)[:0], b...)
			for j := i; j < len(b); j++ {
				(*buf)[j] = lowerASCII((*buf)[j])
			}
			return *buf
		}
	}
	return b
}

// readTag reads the tag at doc[k] ("<a..." or "</a...") as the
// Tokenizer's readTag does: its name, and for a start tag its attributes
// (the first of each key). It reports false, for the caller to hand the
// tag to x/net, if the input ends inside it or it has more than
// maxFastAttrs attributes.
func (t *tokens) readTag(k int, end bool) bool {
	doc := t.doc
	p := k + 2 // past "<" and the name's first letter
	if end {
		p++
	}
	nameStart := p - 1
	nameEnd, p, ok := readUntilSpace(doc, p, true) // readTagName
	if !ok {
		return false
	}
	name := doc[nameStart:nameEnd]
	if p = skipTagSpace(doc, p); p >= len(doc) {
		return false
	}
	t.attrs, t.attrsSlow = t.attrs[:0], false
	for {
		if doc[p] == '>' {
			p++
			break
		}
		ks := p // readTagAttrKey
		for ; ; p++ {
			if p >= len(doc) {
				return false
			}
			c := doc[p]
			if c == '=' && p == ks {
				continue // "=" first is part of the key
			}
			if c == '=' || isTagSpace(c) || c == '/' || c == '>' {
				break
			}
		}
		ke := p
		vs, ve := p, p // readTagAttrVal
		if p = skipTagSpace(doc, p); p >= len(doc) {
			return false
		}
		switch doc[p] {
		case '/':
			p++
		case '=':
			if p = skipTagSpace(doc, p+1); p >= len(doc) {
				return false
			}
			switch q := doc[p]; q {
			case '>':
			case '\'', '"':
				i := bytes.IndexByte(doc[p+1:], q)
				if i < 0 {
					return false
				}
				vs, ve = p+1, p+1+i
				p = ve + 1
			default:
				vs = p
				if ve, p, ok = readUntilSpace(doc, p+1, false); !ok {
					return false
				}
			}
		}
		if !end && ke > ks && !t.seen(doc[ks:ke]) {
			if len(t.attrs) == maxFastAttrs {
				return false
			}
			t.attrs = append(t.attrs, attrSpan{ks, ke, vs, ve})
			if bytes.IndexByte(doc[ks:ke], 0) >= 0 || bytes.ContainsAny(doc[vs:ve], "&\r\x00") {
				t.attrsSlow = true
			}
		}
		if p = skipTagSpace(doc, p); p >= len(doc) {
			return false
		}
	}
	t.pos, t.name = p, name
	return true
}

// seen reports whether a saved attribute has key (ASCII case-insensitive).
func (t *tokens) seen(key []byte) bool {
	for _, a := range t.attrs {
		if asciiEqualFold(t.doc[a.ks:a.ke], key) {
			return true
		}
	}
	return false
}

// rawTextElement returns the lower-cased name if a start tag named name
// makes the Tokenizer read raw text next, and "" otherwise.
func rawTextElement(name []byte) string {
	if len(name) < 3 || len(name) > 9 {
		return ""
	}
	for _, s := range [...]string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp"} {
		if asciiEqualFold(name, []byte(s)) {
			return s
		}
	}
	return ""
}

// asciiEqualFold reports whether a and b are equal once A-Z are
// lower-cased, the Tokenizer's only folding (bytes.EqualFold folds
// Unicode too: K and the Kelvin sign).
func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i, c := range a {
		if d := b[i]; c != d && lowerASCII(c) != lowerASCII(d) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isTagSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

// readUntilSpace reads from doc[p] to a tag space, which it consumes, or
// to a ">" (or "/" if slash), which it does not, as the Tokenizer reads a
// tag name or an unquoted attribute value. It returns where the run ends,
// where reading goes on, and false if the input ends first.
func readUntilSpace(doc []byte, p int, slash bool) (end, next int, ok bool) {
	for ; p < len(doc); p++ {
		switch c := doc[p]; {
		case isTagSpace(c):
			return p, p + 1, true
		case c == '>' || slash && c == '/':
			return p, p, true
		}
	}
	return p, p, false
}

func skipTagSpace(doc []byte, p int) int {
	for p < len(doc) && isTagSpace(doc[p]) {
		p++
	}
	return p
}

// convertNewlines converts "\r" and "\r\n" in s to "\n", in place, as the
// Tokenizer does.
func convertNewlines(s []byte) []byte {
	for i, c := range s {
		if c != '\r' {
			continue
		}
		src := i + 1
		if src >= len(s) || s[src] != '\n' {
			s[i] = '\n'
			continue
		}
		dst := i
		for src < len(s) {
			if s[src] == '\r' {
				if src+1 < len(s) && s[src+1] == '\n' {
					src++
				}
				s[dst] = '\n'
			} else {
				s[dst] = s[src]
			}
			src++
			dst++
		}
		return s[:dst]
	}
	return s
}

// convertAttr appends to dst the attribute value v as the Tokenizer's
// TagAttr returns it (NUL replaced, newlines converted, character
// references decoded as in an attribute), and reports false, having
// appended something or nothing, when v holds a reference it leaves to the
// Tokenizer: numeric ones, and named ones other than the five below that
// an attribute decodes (an exact name with ";", or a short one without).
// A query string's "&key=" is left as it is, as in an attribute.
func convertAttr(dst, v []byte) ([]byte, bool) {
	if bytes.IndexByte(v, 0) >= 0 {
		v = bytes.ReplaceAll(v, []byte{0}, []byte("\ufffd"))
	}
	n := len(dst)
	dst = append(dst, v...)
	v = convertNewlines(dst[n:])
	dst = dst[:n+len(v)]
	if bytes.IndexByte(v, '&') < 0 {
		return dst, true
	}
	src := append([]byte(nil), v...) // dst[n:] is overwritten below
	dst = dst[:n]
	for len(src) > 0 {
		i := bytes.IndexByte(src, '&')
		if i < 0 {
			return append(dst, src...), true
		}
		dst, src = append(dst, src[:i]...), src[i:]
		j := 1 // the name: letters and digits, then ";" if there is one
		for j < len(src) && isASCIILetter(src[j]) || j < len(src) && '0' <= src[j] && src[j] <= '9' {
			j++
		}
		name := src[1:j]
		switch {
		case j < len(src) && src[j] == ';':
			var r byte
			switch string(name) {
			case "amp":
				r = '&'
			case "lt":
				r = '<'
			case "gt":
				r = '>'
			case "quot":
				r = '"'
			case "apos":
				r = '\''
			default:
				return dst, false
			}
			dst, src = append(dst, r), src[j+1:]
		case len(name) == 0 && j < len(src) && src[j] == '#':
			return dst, false // numeric
		case len(name) == 0, j < len(src) && src[j] == '=', len(name) > longestLegacyEntity:
			// Not a reference in an attribute: "&", "&x=", "&abcdefg".
			dst, src = append(dst, src[:j]...), src[j:]
		default:
			return dst, false // maybe a legacy entity without ";"
		}
	}
	return dst, true
}

// longestLegacyEntity is the longest name of an entity that may come
// without ";" (x/net/html's longestEntityWithoutSemicolon).
const longestLegacyEntity = 6
