package parser

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// scan is what one walk over a parsed document collects for Parse.
// Elements are matched by tag name in any namespace and attributes by key
// alone, as the CSS selectors Parse used to run (one tree walk each) did,
// outside the inert content of HTML <template>s, which sets no field.
type scan struct {
	// title is the first <title> in the HTML namespace (a <title> inside
	// <svg> is not the document's title).
	title *html.Node

	// base is the first <base> with an href attribute.
	base *html.Node

	// canonical is the first <link> with an href attribute and a rel
	// attribute listing "canonical".
	canonical *html.Node

	// outlinks are the a[href], area[href] and meta[http-equiv][content]
	// elements, in document order.
	outlinks []*html.Node

	// bodies are the <body> elements; the HTML parser makes at most one.
	bodies []*html.Node

	// text counts the visible text under the bodies in document order,
	// text under nested bodies once; it is the document's visible text
	// length when there is only one body.
	text textCounter

	metaTags
}

// scanEntry is a node waiting on the walk's stack, with whether its text
// is visible body text and whether it is inside an HTML <template>.
type scanEntry struct {
	n       *html.Node
	visible bool
	inert   bool
}

// scanTree walks the tree under root once, in document order, and returns
// what Parse needs from it. It uses an explicit stack, so deeply nested
// garbage cannot exhaust the goroutine stack.
func scanTree(root *html.Node) *scan {
	s := &scan{}
	stack := make([]scanEntry, 1, 64)
	stack[0] = scanEntry{n: root}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n, visible, inert := e.n, e.visible, e.inert
		switch n.Type {
		case html.TextNode:
			if visible {
				s.text.add(n.Data)
			}
			continue
		case html.ElementNode:
			visible = s.element(n, visible, inert)
			inert = inert || n.Data == "template" && n.Namespace == ""
		}
		for c := n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, scanEntry{n: c, visible: visible, inert: inert})
		}
	}
	return s
}

// element records element n and returns whether the text under it is
// visible body text, given whether the text under its parent is: text is
// visible from a <body> down, except under hidden elements. inert reports
// whether n is inside an HTML <template>, whose content records nothing.
func (s *scan) element(n *html.Node, visible, inert bool) bool {
	if inert {
		return false
	}
	switch n.Data {
	case "title":
		if s.title == nil && n.Namespace == "" {
			s.title = n
		}
	case "body":
		s.bodies = append(s.bodies, n)
		return true
	case "base": // an svg or math <base> or <link> is not HTML's
		if s.base == nil && n.Namespace == "" && hasAttr(n, "href") {
			s.base = n
		}
	case "link":
		if s.canonical == nil && n.Namespace == "" && hasAttr(n, "href") && hasAttr(n, "rel") && hasToken(attr(n, "rel"), "canonical") {
			s.canonical = n
		}
	case "a", "area":
		if hasAttr(n, "href") {
			s.outlinks = append(s.outlinks, n)
		}
	case "meta":
		if hasAttr(n, "http-equiv") && hasAttr(n, "content") {
			s.outlinks = append(s.outlinks, n)
		}
		if hasAttr(n, "name") {
			s.meta(n)
		}
	}
	return visible && !hidden(n.Data)
}

// meta records the robots directives or the description of a <meta> with
// a name attribute.
func (s *scan) meta(n *html.Node) {
	s.add(attr(n, "name"), attr(n, "content"))
}

// textLen returns the rune length of the visible text under the
// document's bodies (see visibleTextLen).
func (s *scan) textLen() int {
	if len(s.bodies) > 1 {
		// Not made by the HTML parser; text under nested bodies counts
		// once per body, which the one-pass count does not do.
		return visibleTextLen(s.bodies)
	}
	return s.text.count
}

// hasAttr reports whether n has an attribute key, in any namespace.
func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// textCounter counts the runes of text fed to it in pieces as if the
// pieces were concatenated, whitespace-collapsed and trimmed, without
// building the string: every non-space rune counts one, and so does each
// run of whitespace between two of them.
type textCounter struct {
	count        int
	pendingSpace bool // the last rune fed was whitespace
}

// spaceASCII is unicode.IsSpace for ASCII, as 0 or 1.
var spaceASCII = [utf8.RuneSelf]uint8{'\t': 1, '\n': 1, '\v': 1, '\f': 1, '\r': 1, ' ': 1}

// add counts t. ASCII is counted eight bytes at a time.
func (c *textCounter) add(t string) {
	count, started, prevSpace := c.count, 0, 0
	if count > 0 {
		started = 1
	}
	if c.pendingSpace {
		prevSpace = 1
	}
	for i := 0; i < len(t); {
		if len(t)-i >= 8 {
			var n int
			n, count, started, prevSpace = countASCII(t[i:], count, started, prevSpace)
			if n > 0 {
				i += n
				continue
			}
		}
		var space int
		if b := t[i]; b < utf8.RuneSelf { // ASCII: no decoding
			space = int(spaceASCII[b])
			i++
		} else {
			r, size := utf8.DecodeRuneInString(t[i:])
			if unicode.IsSpace(r) {
				space = 1
			}
			i += size
		}
		word := space ^ 1
		count += word + prevSpace&word&started // the rune, and the gap before it
		started |= word
		prevSpace = space
	}
	c.count, c.pendingSpace = count, prevSpace == 1
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// countASCII counts the leading 8-byte words of t that are all ASCII, as
// add does one byte at a time, given and returning the count, whether a
// non-space has been counted (started) and whether the last byte was a
// space (prevSpace), each 0 or 1; n is how many bytes it counted, a
// multiple of 8 (0 when the first word holds a byte of 0x80 or above). One
// call counts a whole run, so the words are counted in a loop of their
// own, not through a call each. A byte's high bit marks it in the masks;
// no sum below carries into the next byte because every byte is below
// 0x80.
func countASCII(t string, count, started, prevSpace int) (n, _, _, _ int) {
	for ; len(t) >= 8; t, n = t[8:], n+8 {
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		if w&highBits != 0 {
			break
		}
		x := w ^ (0x20 * lowBits)
		blank := ^((x & (0x7f * lowBits)) + 0x7f*lowBits | x) & highBits         // == ' '
		ctl := (w + (0x80-0x09)*lowBits) &^ (w + (0x80-0x0e)*lowBits) & highBits // '\t'..'\r'
		spaces := blank | ctl
		words := spaces ^ highBits
		// A gap counts before a word byte that follows a space.
		gaps := (spaces<<8 | uint64(prevSpace)<<7) & words
		if started == 0 && words != 0 {
			first := words & -words // the first non-space: no gap before it
			gaps &^= first
			started = 1
		}
		// Each mask has at most the high bit of each byte set: shifted
		// down, their sum is 0, 1 or 2 in each byte, and the multiply adds
		// up the eight bytes (16 at most) in the top one.
		count += int(((words>>7 + gaps>>7) * lowBits) >> 56)
		prevSpace = int(spaces >> 63)
	}
	return n, count, started, prevSpace
}

// visibleTextLen returns the rune length of the whitespace-collapsed text
// under the given roots, outside hidden elements, as one text.
func visibleTextLen(roots []*html.Node) int {
	var c textCounter
	for _, root := range roots {
		walk(root, hidden, c.add)
	}
	return c.count
}
