// Package extract runs the declarative extraction rules of the config
// (extract:) over a parsed page, and writes extracted fields as CSV.
//
// A rule runs on every page whose URL its match expression accepts. Each of
// its fields selects elements with a CSS selector, outside <template>
// content (inert, not part of the page, as for querySelector), and reads
// one value from each of them:
//
//   - attr "text" (or empty): the element's text (all descendant text
//     outside nested script, style, noscript and template elements),
//     trimmed, each run of whitespace collapsed to one space;
//   - attr "html": the element's inner HTML, trimmed of surrounding
//     whitespace;
//   - any other attr: that attribute's value (names are case-insensitive,
//     as in HTML), trimmed; an element without the attribute gives "".
//
// Like attribute names, the keywords text and html match in any case
// ("Text", "HTML"); the attributes named text and html cannot be read.
//
// Then, in this order: the field's pattern, if any, keeps the first capture
// group of its first match (the whole match when the pattern has no group)
// and drops a value it does not match; absolute resolves the value as a URL
// against the document base (the first <base href> as
// urlnorm.DocumentBase takes it: resolved against the page URL when it
// is a valid http(s) URL, none for another scheme such as ftp:, else the
// page URL) and
// normalizes it with internal/urlnorm, keeping the value unchanged when it
// does not resolve (mailto:, javascript:, malformed, ...). It resolves as
// the parser resolves links, and as browsers do: on a page that is not
// UTF-8, the non-ASCII characters of the value's query (and of the <base
// href>'s) are percent-encoded in the page's encoding, a character the
// encoding lacks as %26%23<decimal>%3B, while the path stays UTF-8 (see
// urlnorm.EncodeQuery). So an absolute href gives the URL the crawler's
// link extraction gives for it.
//
// A field without all: true takes the value of the first selected element
// (like querySelector); with all: true it takes every selected element's
// value, in document order. Empty values count as missing: a single field
// whose value is empty is omitted, and empty values are dropped from a
// list, which is omitted when nothing remains. A required field that is
// omitted is a failure of the page's extraction.
//
// The values one page yields, all rules together, hold at most
// MaxPageBytes bytes. Nested selected elements each repeat their
// descendants' text or HTML, so without a bound a hostile page of a few
// hundred KB nesting hundreds of them yields hundreds of MB of fields. A
// value that does not fit in what is left is dropped, and its field is a
// failure of the page's extraction, required or not.
package extract

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding"

	"crawler/config"
	"crawler/internal/urlnorm"
)

// Attr values with a meaning of their own; any other value is an attribute
// name.
const (
	// AttrText reads an element's whitespace-collapsed text content.
	AttrText = "text"
	// AttrHTML reads an element's inner HTML.
	AttrHTML = "html"
)

// MaxPageBytes bounds the bytes of the values extracted from one page,
// all rules and fields together: twice the most the crawler parses of a
// page, so a rule may take a whole page's text and its HTML.
const MaxPageBytes = 4 << 20

// baseSel finds the elements that set the document base URL.
var baseSel = cascadia.MustCompile("base[href]")

// Set is a compiled, immutable set of rules, safe for concurrent use.
type Set struct {
	rules []*config.CompiledRule
}

// Compile compiles rules; a bad selector or regexp is an error naming the
// rule and field. The Set keeps its own copy of rules, so later changes to
// them do not affect it. Rule names are expected to be unique (Config.Validate
// checks it); with duplicates, Rule and ApplyRule find the first.
func Compile(rules []config.ExtractRule) (*Set, error) {
	s := &Set{}
	for i := range rules {
		r := rules[i]
		r.Fields = slices.Clone(r.Fields)
		cr, err := r.Compile()
		if err != nil {
			return nil, err
		}
		s.rules = append(s.rules, cr)
	}
	return s, nil
}

// Empty reports whether the set has no rules.
func (s *Set) Empty() bool { return s == nil || len(s.rules) == 0 }

// Rule returns the compiled rule named name.
func (s *Set) Rule(name string) (*config.CompiledRule, bool) {
	if s == nil {
		return nil, false
	}
	for _, r := range s.rules {
		if r.Rule.Name == name {
			return r, true
		}
	}
	return nil, false
}

// Names returns the rule names in config order.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, len(s.rules))
	for i, r := range s.rules {
		names[i] = r.Rule.Name
	}
	return names
}

// Apply runs every rule whose match accepts pageURL over doc. fields maps
// rule name to field name to value (string, or []string for all: true);
// a rule that matched but extracted nothing maps to an empty map, and a
// missing field is left out. fields is nil when no rule matched. failed
// lists "rule.field" for each required field that was missing and each
// field cut short by MaxPageBytes, in rule and field order. A nil pageURL
// means doc.Url. charset is the name of the encoding doc was decoded
// from, as the WHATWG Encoding Standard names it (parser.Document.Charset,
// store.Page.Charset); the queries of absolute values are percent-encoded
// in it (see the package documentation). "" or a name it does not know
// means UTF-8. Apply only reads doc.
func (s *Set) Apply(pageURL *url.URL, doc *goquery.Document, charset string) (fields map[string]any, failed []string) {
	if s.Empty() || doc == nil {
		return nil, nil
	}
	pg := newPage(pageURL, doc, charset)
	for _, r := range s.rules {
		if !r.Match.MatchString(pg.raw) {
			continue
		}
		got, missing := pg.apply(r)
		if fields == nil {
			fields = make(map[string]any)
		}
		fields[r.Rule.Name] = got
		for _, f := range missing {
			failed = append(failed, r.Rule.Name+"."+f)
		}
	}
	return fields, failed
}

// ApplyRule runs the rule named name over doc, decoded from charset, as
// Apply does for one rule: it returns the rule's fields (field name to
// value) and the names of the required fields that were missing or fields
// cut short by MaxPageBytes. The error wraps ErrUnknownRule when there is
// no such rule and ErrNoMatch when the rule's match does not accept
// pageURL (a nil pageURL means doc.Url).
func (s *Set) ApplyRule(name string, pageURL *url.URL, doc *goquery.Document, charset string) (map[string]any, []string, error) {
	r, ok := s.Rule(name)
	if !ok {
		known := "none configured"
		if names := s.Names(); len(names) > 0 {
			known = "known: " + strings.Join(names, ", ")
		}
		return nil, nil, fmt.Errorf("rule %q (%s): %w", name, known, ErrUnknownRule)
	}
	if doc == nil {
		return nil, nil, fmt.Errorf("rule %q: no document", name)
	}
	pg := newPage(pageURL, doc, charset)
	if !r.Match.MatchString(pg.raw) {
		return nil, nil, fmt.Errorf("rule %q, match %q, url %s: %w", name, r.Rule.Match, pg.raw, ErrNoMatch)
	}
	got, missing := pg.apply(r)
	return got, missing, nil
}

// page is one document being extracted from.
type page struct {
	url   *url.URL // page URL; may be nil
	raw   string   // url.String(), what match expressions see
	doc   *goquery.Document
	query encoding.Encoding // the queries' encoding (see urlnorm.EncodeQuery); nil: UTF-8
	base  *url.URL          // document base, computed on first use
	done  bool              // base computed
	left  int               // bytes of values the page may still yield (MaxPageBytes)
}

// newPage returns the page at u (nil: doc.Url) whose document doc was
// decoded from the encoding charset.
func newPage(u *url.URL, doc *goquery.Document, charset string) *page {
	if u == nil {
		u = doc.Url
	}
	pg := &page{url: u, doc: doc, query: urlnorm.QueryEncoding(charset), left: MaxPageBytes}
	if u != nil {
		pg.raw = u.String()
	}
	return pg
}

// baseURL returns the URL relative values resolve against: the first
// <base href> in tree order outside <template> content (which is inert),
// its query encoded in the page's encoding, taken by urlnorm.DocumentBase
// (as parser does for links; nil: absolute values only); the page URL
// when there is none.
func (pg *page) baseURL() *url.URL {
	if pg.done {
		return pg.base
	}
	pg.done = true
	pg.base = pg.url
	for _, n := range pg.doc.FindMatcher(baseSel).Nodes {
		if inTemplate(n) {
			continue
		}
		pg.base = urlnorm.DocumentBase(pg.url, pg.encode(attrOf(n, "href")))
		break
	}
	return pg.base
}

// encode returns ref with its query encoded in the page's encoding
// (urlnorm.EncodeQuery). A ref longer than urlnorm.MaxLength is returned
// as it is, for urlnorm to reject whatever the page's encoding: encoding
// it would cost time and memory for nothing, and the cleaning that comes
// with encoding could shorten it enough to resolve, on a page that is not
// UTF-8 only.
func (pg *page) encode(ref string) string {
	if len(ref) > urlnorm.MaxLength {
		return ref
	}
	return urlnorm.EncodeQuery(ref, pg.query)
}

// inTemplate reports whether n is inside an HTML <template>.
func inTemplate(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "template" && p.Namespace == "" {
			return true
		}
	}
	return false
}

// apply runs one rule and returns its fields and the names of its
// missing required fields and of its fields cut short by the budget.
func (pg *page) apply(r *config.CompiledRule) (map[string]any, []string) {
	got := make(map[string]any, len(r.Fields))
	var missing []string
	for i := range r.Fields {
		cf := &r.Fields[i]
		f := cf.Field
		nodes := slices.DeleteFunc(pg.doc.FindMatcher(cf.Selector).Nodes, inTemplate)
		if !f.All && len(nodes) > 1 {
			nodes = nodes[:1]
		}
		var vals []string
		over := false
		for _, n := range nodes {
			v, ok := pg.value(cf, n)
			if len(v) > pg.left {
				over = true
				break
			}
			if ok {
				pg.left -= len(v)
				vals = append(vals, v)
			}
		}
		switch {
		case over:
			missing = append(missing, f.Name)
			if len(vals) > 0 && f.All {
				got[f.Name] = vals
			}
		case len(vals) == 0:
			if f.Required {
				missing = append(missing, f.Name)
			}
		case f.All:
			got[f.Name] = vals
		default:
			got[f.Name] = vals[0]
		}
	}
	return got, missing
}

// value reads cf's value from n; ok is false when it is empty or its
// pattern does not match. A value longer than pg.left is returned with
// ok false; text and HTML stop being built once they exceed what can be
// kept (without a pattern, pg.left; with one, which may keep a small part
// of a long text, MaxPageBytes).
func (pg *page) value(cf *config.CompiledField, n *html.Node) (v string, ok bool) {
	limit := pg.left
	if cf.Pattern != nil {
		limit = MaxPageBytes
	}
	// Attribute names are case-insensitive, so "Text" could only name the
	// attribute the keyword "text" already shadows: keywords match in any
	// case. ToLower does not allocate for a name already in lowercase.
	switch attr := strings.ToLower(cf.Field.Attr); attr {
	case AttrText, "":
		v = textOf(n, limit)
	case AttrHTML:
		v = strings.TrimSpace(innerHTML(n, limit))
	default:
		v = strings.TrimSpace(attrOf(n, attr))
	}
	if len(v) > limit {
		return v, false
	}
	if cf.Pattern != nil {
		m := cf.Pattern.FindStringSubmatch(v)
		switch {
		case m == nil:
			return "", false
		case len(m) > 1:
			v = m[1]
		default:
			v = m[0]
		}
	}
	if v == "" {
		return "", false
	}
	if cf.Field.Absolute {
		if u, err := urlnorm.Resolve(pg.baseURL(), pg.encode(v)); err == nil {
			v = u.String()
		}
	}
	v = strings.ToValidUTF8(v, "\uFFFD")
	return v, len(v) <= pg.left
}

// attrOf returns the value of n's attribute key (lowercase), or "". A
// foreign attribute is named with its prefix, as in "xlink:href". Names
// compare in any case: the parser gives SVG and MathML attributes their
// mixed-case names (viewBox, definitionURL).
func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) || a.Namespace != "" && strings.EqualFold(a.Namespace+":"+a.Key, key) {
			return a.Val
		}
	}
	return ""
}

// innerHTML renders n's children, stopping once more than limit bytes are
// rendered (the result is then longer than limit). Rendering a parsed tree
// only fails when the writer does.
func innerHTML(n *html.Node, limit int) string {
	w := &limitWriter{limit: limit}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if html.Render(w, c) != nil {
			break
		}
	}
	return w.b.String()
}

// limitWriter collects writes until it holds more than limit bytes, then
// fails them.
type limitWriter struct {
	b     strings.Builder
	limit int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len() > w.limit {
		return 0, errOverLimit
	}
	return w.b.Write(p)
}

var errOverLimit = errors.New("over the extraction budget")

// textOf returns the text under n outside hidden descendants (script,
// style, noscript, template), trimmed and whitespace-collapsed (as
// strings.Fields splits). goquery's Text would include script and style
// bodies, which are never the text a rule means; a selected script itself
// (JSON-LD) still gives its text. It stops once the text is longer than
// limit, and returns what it has, longer than limit.
func textOf(root *html.Node, limit int) string {
	var b strings.Builder
	space := false // a space is owed before the next word
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if b.Len() > limit {
			return
		}
		switch n.Type {
		case html.TextNode:
			for i := 0; i < len(n.Data); {
				r, size := utf8.DecodeRuneInString(n.Data[i:])
				if unicode.IsSpace(r) {
					space = b.Len() > 0
				} else {
					if space {
						b.WriteByte(' ')
						space = false
					}
					b.WriteString(n.Data[i : i+size])
				}
				i += size
			}
			return
		case html.ElementNode:
			if n != root {
				switch n.DataAtom {
				case atom.Script, atom.Style, atom.Noscript, atom.Template:
					return
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return b.String()
}
