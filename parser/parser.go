// Package parser turns a fetched HTML page into what the crawler keeps from
// it: title, description, canonical URL, visible-text length, robots meta
// directives and the outgoing links in canonical form (see
// crawler/internal/urlnorm).
//
// The body is decoded to UTF-8 once, parsed once with net/html (through
// goquery) and the tree walked once for every field; the parsed tree is
// returned in Document.HTML so extraction rules can run on the same parse.
// With Options.NoDOM no tree is built: the fields come from one pass over
// the tokens. Parsing is lenient: malformed HTML and random bytes yield a
// Document, never an error.
//
// ParseSitemap reads a sitemaps.org sitemap (XML, a feed or a text file,
// plain or gzip) into its URLs, streaming and within the protocol's
// limits (sitemap.go, sitemap_formats.go).
package parser

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"

	"crawler/internal/urlnorm"
)

// Defaults for Options.
const (
	// DefaultMaxLinks is Options.MaxLinks when it is zero.
	DefaultMaxLinks = 10000

	// DefaultMaxURLLength is Options.MaxURLLength when it is zero.
	DefaultMaxURLLength = 2048
)

// Options limits what Parse keeps from a page. The zero value is ready to
// use.
type Options struct {
	// MaxLinks is how many distinct links are kept per page; further
	// distinct links are counted in Document.Dropped. Zero or negative
	// means DefaultMaxLinks (10000).
	MaxLinks int

	// MaxURLLength is the longest link, in bytes, that is kept: hrefs
	// longer than this (before or after resolution) are dropped and counted
	// in Document.Dropped. Zero or negative means DefaultMaxURLLength
	// (2048). urlnorm.MaxLength (4096) is a hard ceiling above it.
	MaxURLLength int

	// Cache, when set, remembers link resolutions across pages (sites
	// repeat their links); share one among all parses. Nil: no cache.
	Cache *urlnorm.Cache

	// NoDOM skips building the tree: Document.HTML is nil and the other
	// fields come from one pass over the tokenizer's tokens, which costs
	// a fraction of the tree's time and memory. Set it when the caller
	// does not use Document.HTML.
	//
	// The pass models the parts of HTML tree construction that decide the
	// fields: raw text (title, script, style, noscript, textarea, xmp,
	// ...); the body beginning at <body>, at the first start tag that does
	// not belong in <head>, at non-space text, or at </body>, </html> or
	// </br>, so a <title> before it is not body text and one after it is;
	// nested <template>s; <svg> and <math>, whose <title> is not the
	// document's and whose <script> and <style> hold markup, closed by
	// their end tag or by the HTML tags of the HTML Standard's foreign
	// content rules (div, p, meta, ...), xlink:href in them read as href;
	// NUL dropped from body text; the newline right after <pre>, <listing>
	// and <textarea> dropped; a <frameset> before the body, or while the
	// frameset-ok flag is set, ending the content (and removing the
	// body's links). On well-formed pages (every element closed where it
	// was opened, allowed where it is, no <frameset>) the fields equal the
	// DOM path's. On other markup they may differ only as follows:
	//
	//   - Tables: text and links the tree builder moves out of a <table>
	//     to before it (those directly in table, tbody or tr) keep their
	//     place in the token stream: Links hold the same URLs in another
	//     order (so, over MaxLinks, another subset and Dropped count) and
	//     TextLen may differ by the whitespace gaps the move adds or
	//     removes.
	//   - Foreign content: HTML integration points (foreignObject, desc
	//     and title in svg; annotation-xml with an HTML encoding; mi, mo,
	//     mn, ms and mtext in math) are not modelled, so inside them a
	//     <title>, <base> or canonical <link> is not the document's,
	//     CDATA is text, a <script> or <style> is tokenized as markup (its
	//     links count, its text stays hidden) and the foreign-content HTML
	//     tags still close the svg.
	//     Any </svg> or </math> closes the innermost open svg or math, an
	//     end tag that matches nothing open there is ignored, and NUL is
	//     dropped where the tree builder would put U+FFFD (one rune less).
	//   - Frameset: the frameset-ok flag is cleared by every <input>
	//     (hidden ones too), not by the other rare cases of the standard;
	//     when a <frameset> replaces a begun body, Title, Description,
	//     robots, base and canonical found in that body are kept.
	//
	// Charset is always the DOM path's. Links are, on any input, distinct
	// canonical absolute http(s) URLs no longer than MaxURLLength, at most
	// MaxLinks, none when NoFollow; under MaxLinks n they are the first n
	// of the links without a limit.
	NoDOM bool
}

func (o Options) withDefaults() Options {
	if o.MaxLinks <= 0 {
		o.MaxLinks = DefaultMaxLinks
	}
	if o.MaxURLLength <= 0 {
		o.MaxURLLength = DefaultMaxURLLength
	}
	return o
}

// Document is what the crawler keeps from one HTML page. The inert
// content of a <template> is not part of the page: nothing in it sets a
// field (a title, base, canonical, robots or description meta, a link).
type Document struct {
	// Title is the text of the first HTML <title>, trimmed and with runs
	// of ASCII whitespace collapsed to one space, as document.title is
	// (a no-break space stays); valid UTF-8.
	Title string

	// Description is the content of the first <meta name=description>,
	// trimmed and ASCII-whitespace-collapsed like Title; valid UTF-8.
	Description string

	// Canonical is the href of the first <link rel=canonical>, resolved
	// and normalized like Links; "" if there is none or it is invalid, not
	// http(s), or longer than Options.MaxURLLength.
	Canonical string

	// TextLen is the length in runes of the page's visible text: the text
	// under <body> outside script, style, noscript and template elements,
	// whitespace-collapsed and trimmed.
	TextLen int

	// Links are the canonical absolute http(s) URLs of a[href], area[href]
	// and <meta http-equiv=refresh> targets, resolved against the first
	// <base href> if it is valid and else the page URL; deduplicated, in
	// document order. As in browsers, the non-ASCII characters of a query
	// are percent-encoded in the page's encoding (Charset; UTF-8 for
	// UTF-16 pages), those of a path in UTF-8; an unencodable character
	// becomes %26%23<decimal>%3B. This holds for Canonical and the
	// <base href> too. Links with rel=nofollow and links inside <template>
	// are left out. Empty when NoFollow is set.
	Links []string

	// NoFollow is set by <meta name=robots> with "nofollow" or "none".
	// The name and directives are case-insensitive, directives are
	// separated by commas or spaces, and several such elements add up.
	NoFollow bool

	// NoIndex is set by <meta name=robots> with "noindex" or "none".
	NoIndex bool

	// Dropped counts links left out because they were too long,
	// unparsable, or over Options.MaxLinks. Links with other schemes
	// (mailto:, javascript:, tel:, data:, ...) are skipped silently.
	Dropped int

	// Charset is the name of the encoding the body was decoded from, as
	// the WHATWG Encoding Standard names it: "utf-8", "gbk", "shift_jis",
	// "windows-1252", ...
	Charset string

	// HTML is the parsed document, for extraction rules run on the same
	// parse. Its Url is the page URL passed to Parse. Nil with
	// Options.NoDOM.
	HTML *goquery.Document
}

// Parse decodes body to UTF-8 and parses it once. The encoding is the first
// of: a byte order mark; the charset parameter of contentType; a <meta>
// charset declaration in the first 1024 bytes; UTF-8 if the whole body is
// valid UTF-8; the first <meta> declaration further on; windows-1252. base is the page URL that relative links are
// resolved against (a nil base keeps only absolute links). Only body is
// read. An empty or garbage body yields a Document with few or no fields
// set; the error is reserved for failures of the HTML parser itself
// (x/net/html refuses elements nested more than 512 deep). With
// Options.NoDOM, Parse never fails.
func Parse(body []byte, contentType string, base *url.URL, opts Options) (*Document, error) {
	opts = opts.withDefaults()
	text, charsetName := decode(body, contentType)
	if opts.NoDOM {
		return parseTokens(text, charsetName, base, opts), nil
	}
	hd, err := goquery.NewDocumentFromReader(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	hd.Url = base
	doc := &Document{Charset: charsetName, HTML: hd}

	sc := scanTree(hd.Nodes[0])
	if sc.title != nil {
		doc.Title = collapse(textOf(sc.title))
	}
	doc.TextLen = sc.textLen()
	doc.Description, doc.NoFollow, doc.NoIndex = sc.description, sc.noFollow, sc.noIndex

	var baseHref string
	if sc.base != nil {
		baseHref = attr(sc.base, "href")
	}
	l := newLinker(baseHref, sc.base != nil, base, charsetName, opts)
	if sc.canonical != nil {
		doc.Canonical, _ = l.resolve(attr(sc.canonical, "href"))
	}
	if !doc.NoFollow {
		doc.Links, doc.Dropped = l.links(sc.outlinks)
	}
	return doc, nil
}

// parseTokens is Parse with Options.NoDOM, from the decoded text.
func parseTokens(text []byte, charsetName string, base *url.URL, opts Options) *Document {
	s := scanTokens(text)
	doc := &Document{
		Charset: charsetName, Title: s.title, Description: s.description,
		NoFollow: s.noFollow, NoIndex: s.noIndex, TextLen: s.text.count,
	}
	l := newLinker(s.baseHref, s.based, base, charsetName, opts)
	if s.canonicalA {
		doc.Canonical, _ = l.resolve(s.canonical)
	}
	if !doc.NoFollow {
		set := linkSet{l: &l}
		for _, href := range s.hrefs {
			set.add(href)
		}
		doc.Links, doc.Dropped = set.links, set.dropped
	}
	return doc
}

// attr returns the value of n's attribute key, "" if absent.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// hasToken reports whether the space-separated token list (a rel value)
// contains token, ASCII case-insensitively.
func hasToken(list, token string) bool {
	for _, t := range strings.Fields(list) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

// metaTags is what <meta name=robots> and <meta name=description> say; the
// tree walk and the token stream fill it alike.
type metaTags struct {
	// description is the content of the first <meta name=description>,
	// whitespace-collapsed; described reports whether there is one.
	description string
	described   bool

	// noFollow and noIndex are the <meta name=robots> directives, added
	// up over every such element.
	noFollow, noIndex bool
}

// add records one <meta> with a name attribute. name and content may be
// views of a buffer the caller reuses: what is kept is copied.
func (m *metaTags) add(name, content string) {
	switch name = strings.TrimSpace(name); {
	case strings.EqualFold(name, "robots"):
		for _, d := range strings.FieldsFunc(content, isDirectiveSep) {
			switch {
			case strings.EqualFold(d, "nofollow"):
				m.noFollow = true
			case strings.EqualFold(d, "noindex"):
				m.noIndex = true
			case strings.EqualFold(d, "none"):
				m.noFollow, m.noIndex = true, true
			}
		}
	case !m.described && strings.EqualFold(name, "description"):
		m.description, m.described = strings.Clone(collapse(content)), true
	}
}

// isDirectiveSep separates robots meta directives: commas, and whitespace
// because "noindex nofollow" is common in the wild.
func isDirectiveSep(r rune) bool {
	return r == ',' || unicode.IsSpace(r)
}

// collapse trims s, replaces each run of ASCII whitespace with one space
// and makes it valid UTF-8: HTML's "strip and collapse ASCII whitespace",
// which document.title applies. Other white space (a no-break space, an
// ideographic space) is text and stays.
func collapse(s string) string {
	return strings.ToValidUTF8(strings.Join(strings.FieldsFunc(s, isASCIISpace), " "), "\uFFFD")
}

// isASCIISpace reports whether r is ASCII whitespace as HTML defines it:
// tab, line feed, form feed, carriage return and space (not \v).
func isASCIISpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r'
}

// textOf returns the concatenated text of n's descendants.
func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(string) bool { return false }, func(t string) { b.WriteString(t) })
	return b.String()
}

// hidden reports whether the text inside an element is not visible.
func hidden(element string) bool {
	switch element {
	case "script", "style", "noscript", "template":
		return true
	}
	return false
}

// walk calls text for every text node under root in document order, not
// descending into elements for whose name skip reports true. It uses an
// explicit stack, so deeply nested garbage cannot exhaust the goroutine
// stack.
func walk(root *html.Node, skip func(element string) bool, text func(string)) {
	stack := []*html.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch n.Type {
		case html.TextNode:
			text(n.Data)
			continue
		case html.ElementNode:
			if skip(n.Data) {
				continue
			}
		}
		for c := n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, c)
		}
	}
}
