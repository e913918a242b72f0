// Package parser turns a fetched HTML page into what the crawler keeps from
// it: title, description, canonical URL, visible-text length, robots meta
// directives and the outgoing links in canonical form (see
// crawler/internal/urlnorm).
//
// The body is decoded to UTF-8 once, parsed once with net/html (through
// goquery) and the tree walked once for every field; the parsed tree is
// returned in Document.HTML so extraction rules can run on the same parse. Parsing is lenient: malformed HTML and random
// bytes yield a Document, never an error.
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

// Document is what the crawler keeps from one HTML page.
type Document struct {
	// Title is the text of the first HTML <title>, whitespace-collapsed
	// and trimmed; valid UTF-8.
	Title string

	// Description is the content of the first <meta name=description>,
	// whitespace-collapsed and trimmed; valid UTF-8.
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
	// document order. Links with rel=nofollow and links inside <template>
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
	// parse. Its Url is the page URL passed to Parse.
	HTML *goquery.Document
}

// Parse decodes body to UTF-8 and parses it once. The encoding is the first
// of: a byte order mark; the charset parameter of contentType; a <meta>
// charset declaration in the first 1024 bytes; UTF-8 if the whole body is
// valid UTF-8; windows-1252. base is the page URL that relative links are
// resolved against (a nil base keeps only absolute links). Only body is
// read. An empty or garbage body yields a Document with few or no fields
// set; the error is reserved for failures of the HTML parser itself.
func Parse(body []byte, contentType string, base *url.URL, opts Options) (*Document, error) {
	opts = opts.withDefaults()
	text, charsetName := decode(body, contentType)
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

	l := linker{base: urlnorm.NewResolver(documentBase(sc.base, base), opts.Cache), opts: opts}
	if sc.canonical != nil {
		doc.Canonical, _ = l.resolve(attr(sc.canonical, "href"))
	}
	if !doc.NoFollow {
		doc.Links, doc.Dropped = l.links(sc.outlinks)
	}
	return doc, nil
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

// isDirectiveSep separates robots meta directives: commas, and whitespace
// because "noindex nofollow" is common in the wild.
func isDirectiveSep(r rune) bool {
	return r == ',' || unicode.IsSpace(r)
}

// collapse trims s, replaces each run of whitespace with one space and
// makes it valid UTF-8.
func collapse(s string) string {
	return strings.ToValidUTF8(strings.Join(strings.Fields(s), " "), "\uFFFD")
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
