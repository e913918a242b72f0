package parser

import (
	"errors"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding"

	"crawler/internal/urlnorm"
)

// linker resolves and filters the links of one document.
type linker struct {
	base  *urlnorm.Resolver // resolves against the document base (nil base: absolute links only)
	query encoding.Encoding // the queries' encoding (see urlnorm.EncodeQuery); nil: UTF-8
	opts  Options
}

// newLinker returns the linker of a document at page (nil: absolute links
// only) decoded from the encoding charsetName: baseHref is the href of its
// first <base href>, based reporting whether there is one.
func newLinker(baseHref string, based bool, page *url.URL, charsetName string, opts Options) linker {
	query := urlnorm.QueryEncoding(charsetName)
	base := documentBase(urlnorm.EncodeQuery(baseHref, query), based, page)
	return linker{base: urlnorm.NewResolver(base, opts.Cache), query: query, opts: opts}
}

// documentBase returns the URL relative links resolve against: the page
// URL when there is no <base href> (found false), else
// urlnorm.DocumentBase of href, its query already encoded by
// urlnorm.EncodeQuery (nil: absolute links only).
func documentBase(href string, found bool, page *url.URL) *url.URL {
	if !found {
		return page
	}
	return urlnorm.DocumentBase(page, href)
}

// resolve returns the canonical form of href, its query encoded in the
// document's encoding (see urlnorm.EncodeQuery); "" and no error for links that
// are skipped silently (another scheme, or relative without a base); an
// error for links that are dropped.
func (l *linker) resolve(href string) (string, error) {
	if len(href) > l.opts.MaxURLLength {
		// Checked before parsing to bound the work a hostile page can
		// cause: without its fragment (no canonical URL keeps one), a
		// resolved URL is practically never shorter than its href. A
		// link of another scheme (a data: URL often is long) is skipped
		// silently, as a short one is below.
		if scheme, ok := urlnorm.Scheme(href); ok && scheme != "http" && scheme != "https" {
			return "", nil
		}
		if i := strings.IndexByte(href, '#'); i >= 0 {
			href = href[:i]
		}
		if len(strings.TrimSpace(href)) > l.opts.MaxURLLength {
			return "", urlnorm.ErrTooLong
		}
	}
	s, err := l.base.ResolveString(urlnorm.EncodeQuery(href, l.query))
	if errors.Is(err, urlnorm.ErrScheme) || errors.Is(err, urlnorm.ErrEmpty) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(s) > l.opts.MaxURLLength {
		return "", urlnorm.ErrTooLong
	}
	return s, nil
}

// links returns the distinct canonical links of nodes (the a[href],
// area[href] and meta[http-equiv][content] elements, in document order)
// and how many were dropped.
func (l *linker) links(nodes []*html.Node) (links []string, dropped int) {
	set := linkSet{l: l}
	for _, n := range nodes {
		if insideTemplate(n) {
			continue
		}
		var href string
		switch n.Data {
		case "meta":
			if !strings.EqualFold(strings.TrimSpace(attr(n, "http-equiv")), "refresh") {
				continue
			}
			target, ok := refreshURL(attr(n, "content"))
			if !ok {
				continue
			}
			href = target
		default: // a, area
			if hasToken(attr(n, "rel"), "nofollow") {
				continue
			}
			href = attr(n, "href")
		}
		set.add(href)
	}
	return set.links, set.dropped
}

// linkSet collects the distinct canonical links of one document, in the
// order they are added, up to Options.MaxLinks.
type linkSet struct {
	l       *linker
	seen    map[string]bool // resolved links met: true when kept, false when over MaxLinks
	links   []string
	dropped int // too long, unparsable, or over MaxLinks
}

// add resolves href and keeps it unless it is skipped, dropped or already
// kept. It returns the link as kept, now or before; "" when it is not.
func (s *linkSet) add(href string) string {
	u, err := s.l.resolve(href)
	switch {
	case err != nil:
		s.dropped++
		return ""
	case u == "":
		return ""
	}
	if kept, ok := s.seen[u]; ok {
		if kept {
			return u
		}
		return ""
	}
	if s.seen == nil {
		s.seen = make(map[string]bool)
	}
	if len(s.links) >= s.l.opts.MaxLinks {
		s.seen[u] = false
		s.dropped++
		return ""
	}
	s.seen[u] = true
	s.links = append(s.links, u)
	return u
}

// insideTemplate reports whether n is part of a <template>'s inert content.
func insideTemplate(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "template" && p.Namespace == "" {
			return true
		}
	}
	return false
}

// refreshURL extracts the URL of a <meta http-equiv=refresh> content value
// following the HTML Standard's "shared declarative refresh steps"
// ("5; url='/next'", "0;URL=/x", "3, /y"). ok is false when the value is
// invalid or has no URL (a plain reload). Hand-written: neither net/html nor
// goquery parses refresh values.
func refreshURL(content string) (target string, ok bool) {
	s := strings.TrimLeft(content, asciiSpace)
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	if digits == 0 && !strings.HasPrefix(s, ".") {
		return "", false
	}
	s = strings.TrimLeft(s, "0123456789.")
	if s == "" {
		return "", false
	}
	if c := s[0]; c != ';' && c != ',' && !strings.ContainsRune(asciiSpace, rune(c)) {
		return "", false
	}
	s = strings.TrimLeft(s, asciiSpace)
	if s != "" && (s[0] == ';' || s[0] == ',') {
		s = s[1:]
	}
	s = strings.TrimLeft(s, asciiSpace)
	if s == "" {
		return "", false
	}
	target = s
	if len(s) >= 3 && strings.EqualFold(s[:3], "url") {
		rest := strings.TrimLeft(s[3:], asciiSpace)
		if strings.HasPrefix(rest, "=") {
			target = strings.TrimLeft(rest[1:], asciiSpace)
		}
	}
	if target != "" && (target[0] == '"' || target[0] == '\'') {
		quote := target[0]
		target = target[1:]
		if i := strings.IndexByte(target, quote); i >= 0 {
			target = target[:i]
		}
	}
	return target, true
}

// asciiSpace is the HTML Standard's ASCII whitespace.
const asciiSpace = " \t\n\f\r"
