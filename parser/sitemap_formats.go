package parser

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The sitemap kinds that are not a urlset or an index: feeds' links and
// text sitemaps' lines (sitemaps.org, "Other formats").

// hrefLink takes the href of a <link> as a loc when the link is the
// entry's own page, or another language's version of it: rel="alternate",
// or (unless needRel, as for a urlset's xhtml:link) no rel. It returns
// the loc as kept (resolved), or "".
func (r *locReader) hrefLink(attrs []xml.Attr, needRel bool) string {
	var href string
	alternate := false
	for _, a := range attrs {
		switch a.Name.Local {
		case "rel":
			rel := strings.TrimSpace(a.Value)
			if rel != "" && rel != "alternate" {
				return ""
			}
			alternate = rel == "alternate"
		case "href":
			href = a.Value
		}
	}
	if needRel && !alternate {
		return ""
	}
	r.loc, r.long = append(r.loc[:0], href...), len(href) > r.maxLoc+locSpace
	return r.add()
}

// startsXML reports whether the first byte of in, after whitespace, is
// '<': the body is XML (or HTML), not a text sitemap. A body of nothing
// but whitespace counts as XML, so that it is no sitemap at all. It only
// peeks.
func startsXML(in *bufio.Reader) bool {
	for n := 1; ; n++ {
		b, _ := in.Peek(n)
		if len(b) < n {
			return true
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			if n == in.Size() {
				return false
			}
			continue
		default:
			return c == '<'
		}
	}
}

// readLines reads a text sitemap from in: each line, trimmed, is a loc
// when it is an absolute http(s) URL in UTF-8. Empty lines are skipped;
// any other line (prose, a relative or non-UTF-8 URL, one longer than
// the URL cap) is counted as dropped. guard counts what is read against
// maxBytes; the error is why reading stopped before the end, if it did.
func (r *locReader) readLines(in *bufio.Reader, guard *sitemapReader, maxBytes int64) error {
	for {
		chunk, err := in.ReadSlice('\n')
		guard.tokenEnd = guard.read // lines are bounded here, not by the token cap
		if !r.long {
			if len(r.loc)+len(chunk) > r.maxLoc+locSpace {
				r.long = true
			} else {
				r.loc = append(r.loc, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue // the line goes on
		case err != nil && err != io.EOF:
			return readError(err, maxBytes) // the line was cut: not a loc
		}
		r.line()
		if err == io.EOF {
			return nil
		}
	}
}

// line takes the text sitemap line in r.loc, then empties it.
func (r *locReader) line() {
	defer func() { r.loc, r.long = r.loc[:0], false }()
	loc := bytes.TrimSpace(r.loc)
	switch {
	case len(loc) == 0 && !r.long:
		return
	case r.long || !utf8.Valid(loc) || !hasHTTPScheme(loc):
		r.dropped++
		return
	}
	r.add()
}

// hasHTTPScheme reports whether s starts with http:// or https://, in
// any case.
func hasHTTPScheme(s []byte) bool {
	for _, p := range []string{"http://", "https://"} {
		if len(s) >= len(p) && strings.EqualFold(string(s[:len(p)]), p) {
			return true
		}
	}
	return false
}

// entryLoc notes u, a loc of the entry's own (its <loc>, or an Atom
// entry's link) as kept, for the entry's date; "" is none.
func (r *locReader) entryLoc(u string) {
	if u != "" {
		r.entryLocs = append(r.entryLocs, u)
	}
}

// entryLastmod keeps the date of the entry ending now, if it parses, for
// the entry's own locs (entryLoc), whether this entry or an earlier one
// (as an alternate) made them locs; never for its alternates. A loc that
// an earlier entry dated keeps that date.
func (r *locReader) entryLastmod() {
	if len(r.lastmod) == 0 || len(r.entryLocs) == 0 {
		return
	}
	t, ok := parseW3CDatetime(strings.TrimSpace(string(r.lastmod)))
	if !ok {
		return
	}
	if r.lastmods == nil {
		r.lastmods = make(map[string]time.Time)
	}
	for _, u := range r.entryLocs {
		if _, dated := r.lastmods[u]; !dated {
			r.lastmods[u] = t
		}
	}
}

// w3cLayouts are the W3C Datetime forms the sitemaps protocol allows for
// <lastmod>, most precise first, then the RFC 1123 forms of RSS's
// <pubDate> (RFC 822 with four-digit years, as feeds write them).
var w3cLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02", "2006-01", "2006",
	time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST"}

// parseW3CDatetime parses a W3C datetime (www.w3.org/TR/NOTE-datetime)
// or an RSS date; a date without a time is midnight UTC.
func parseW3CDatetime(s string) (time.Time, bool) {
	for _, layout := range w3cLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
