package parser

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/text/encoding/charmap"

	"crawler/internal/urlnorm"
)

// The reference implementation: Parse as it was before the one-walk
// scan, one cascadia query per field over the goquery DOM (<template>
// content left out of every field), and decode running every body through
// the x/text decoder. The differential tests hold Parse to its results.

var (
	refTitleSel    = cascadia.MustCompile("title")
	refBaseSel     = cascadia.MustCompile("base[href]")
	refMetaNameSel = cascadia.MustCompile("meta[name]")
	refLinkRelSel  = cascadia.MustCompile("link[rel][href]")
	refBodySel     = cascadia.MustCompile("body")
	refOutLinksSel = cascadia.MustCompile("a[href], area[href], meta[http-equiv][content]")
)

func decodeReference(body []byte, contentType string) ([]byte, string) {
	e, name := detect(body, contentType)
	out, err := e.NewDecoder().Bytes(body)
	if err != nil {
		e, name = charmap.Windows1252, "windows-1252"
		out, _ = e.NewDecoder().Bytes(body)
	}
	out = bytes.TrimPrefix(out, []byte("\uFEFF"))
	if !utf8.Valid(out) {
		out = bytes.ToValidUTF8(out, []byte("\uFFFD"))
	}
	return out, name
}

func parseReference(body []byte, contentType string, base *url.URL, opts Options) (*Document, error) {
	opts = opts.withDefaults()
	text, charsetName := decodeReference(body, contentType)
	hd, err := goquery.NewDocumentFromReader(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	hd.Url = base
	doc := &Document{Charset: charsetName, HTML: hd}

	for _, n := range hd.FindMatcher(refTitleSel).Nodes {
		if n.Namespace == "" && !insideTemplate(n) {
			doc.Title = collapse(textOf(n))
			break
		}
	}
	doc.TextLen = refVisibleTextLen(hd.FindMatcher(refBodySel).Nodes)
	described := false
	for _, n := range hd.FindMatcher(refMetaNameSel).Nodes {
		if insideTemplate(n) {
			continue
		}
		switch name := attr(n, "name"); {
		case strings.EqualFold(strings.TrimSpace(name), "robots"):
			for _, d := range strings.FieldsFunc(attr(n, "content"), isDirectiveSep) {
				switch {
				case strings.EqualFold(d, "nofollow"):
					doc.NoFollow = true
				case strings.EqualFold(d, "noindex"):
					doc.NoIndex = true
				case strings.EqualFold(d, "none"):
					doc.NoFollow, doc.NoIndex = true, true
				}
			}
		case !described && strings.EqualFold(strings.TrimSpace(name), "description"):
			doc.Description, described = collapse(attr(n, "content")), true
		}
	}

	docBase, query := base, urlnorm.QueryEncoding(charsetName)
	for _, n := range hd.FindMatcher(refBaseSel).Nodes {
		if !insideTemplate(n) && n.Namespace == "" {
			docBase = urlnorm.DocumentBase(base, urlnorm.EncodeQuery(attr(n, "href"), query))
			break
		}
	}
	l := linker{base: urlnorm.NewResolver(docBase, opts.Cache), query: query, opts: opts}
	for _, n := range hd.FindMatcher(refLinkRelSel).Nodes {
		if hasToken(attr(n, "rel"), "canonical") && !insideTemplate(n) && n.Namespace == "" {
			doc.Canonical, _ = l.resolve(attr(n, "href"))
			break
		}
	}
	if !doc.NoFollow {
		var nodes []*html.Node
		for _, n := range hd.FindMatcher(refOutLinksSel).Nodes {
			if !insideTemplate(n) {
				nodes = append(nodes, n)
			}
		}
		doc.Links, doc.Dropped = l.links(nodes)
	}
	return doc, nil
}

var refIsSpaceASCII = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

func refVisibleTextLen(roots []*html.Node) int {
	count, pendingSpace := 0, false
	for _, root := range roots {
		walk(root, hidden, func(t string) {
			for i := 0; i < len(t); {
				var space bool
				if c := t[i]; c < utf8.RuneSelf {
					space = refIsSpaceASCII[c]
					i++
				} else {
					r, size := utf8.DecodeRuneInString(t[i:])
					space = unicode.IsSpace(r)
					i += size
				}
				if space {
					pendingSpace = true
					continue
				}
				if pendingSpace && count > 0 {
					count++
				}
				pendingSpace = false
				count++
			}
		})
	}
	return count
}
