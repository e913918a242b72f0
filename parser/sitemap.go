package parser

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"crawler/internal/urlnorm"
)

// Limits of one sitemap file, from the sitemaps.org protocol.
const (
	// MaxSitemapLocs is the most <loc> URLs one sitemap file may list.
	MaxSitemapLocs = 50000

	// MaxSitemapBytes is the largest a sitemap file may be, uncompressed
	// (50 MiB).
	MaxSitemapBytes = 50 << 20
)

// Sitemap kinds: named after the root element (RSS 1.0's rdf:RDF is
// "rss"), or "text". The protocol takes feeds and text files as sitemaps
// too; all but an index list pages.
const (
	// SitemapURLSet lists pages: <urlset><url><loc>.
	SitemapURLSet = "urlset"

	// SitemapIndex lists sitemaps: <sitemapindex><sitemap><loc>.
	SitemapIndex = "sitemapindex"

	// SitemapRSS lists pages as an RSS feed: <rss><channel><item><link>
	// (RSS 2.0), or <rdf:RDF><item><link> (RSS 1.0).
	SitemapRSS = "rss"

	// SitemapAtom lists pages as an Atom feed: <feed><entry><link
	// href>, the link without a rel or with rel="alternate".
	SitemapAtom = "feed"

	// SitemapText lists pages one URL per line, in a file listed as a
	// sitemap that is not XML (SitemapOptions.Text).
	SitemapText = "text"
)

// sitemapLayout says where a sitemap kind keeps its locs: in the element
// locName inside each element entryName at depth entryDepth (the root is
// depth 1); in its href attribute when href is set. With alternates, the
// entry's <link rel="alternate" href> elements (a urlset's hreflang
// alternates, xhtml:link) are locs too. dateName is the entry's element
// that says when its page last changed ("": none is read).
type sitemapLayout struct {
	kind       string
	entryDepth int
	entryName  string
	locName    string
	href       bool
	alternates bool
	dateName   string
}

// sitemapRoots maps the root elements read as sitemaps to their layout.
var sitemapRoots = map[string]sitemapLayout{
	SitemapURLSet: {SitemapURLSet, 2, "url", "loc", false, true, "lastmod"},
	SitemapIndex:  {SitemapIndex, 2, "sitemap", "loc", false, false, ""},
	"rss":         {SitemapRSS, 3, "item", "link", false, false, "pubDate"},
	"RDF":         {SitemapRSS, 2, "item", "link", false, false, "date"}, // dc:date
	"feed":        {SitemapAtom, 2, "entry", "link", true, false, "updated"},
}

// maxSitemapToken bounds one XML token (a run of text, a comment, a CDATA
// section, a tag with its attributes): encoding/xml holds a token whole
// before returning it, so without this bound a 50 MiB comment would be
// held at once. No token of a real sitemap comes near it (a <loc> is at
// most 2048 characters).
const maxSitemapToken = 1 << 20

var (
	// ErrSitemapTooLarge reports a sitemap read up to its uncompressed
	// size cap (SitemapOptions.MaxBytes) and not further.
	ErrSitemapTooLarge = errors.New("sitemap larger than its uncompressed size cap")

	// ErrSitemapTokenTooLarge reports a sitemap with a single XML token
	// (text, comment, CDATA section or tag) over 1 MiB; it is read up to
	// that token.
	ErrSitemapTokenTooLarge = errors.New("sitemap holds an XML token over 1 MiB")
)

// SitemapOptions limits what ParseSitemap reads. The zero value is ready
// to use.
type SitemapOptions struct {
	// MaxLocs is how many distinct locs are kept; every further loc is
	// counted in Sitemap.Dropped. Zero or negative means MaxSitemapLocs
	// (50,000).
	MaxLocs int

	// MaxBytes is how much of the file is read, uncompressed. Zero or
	// negative means MaxSitemapBytes (50 MiB).
	MaxBytes int64

	// MaxURLLength is the longest loc, in bytes, that is kept, as
	// Options.MaxURLLength. Zero or negative means DefaultMaxURLLength.
	MaxURLLength int

	// Cache, when set, remembers URL resolutions, as Options.Cache.
	Cache *urlnorm.Cache

	// Text says the file was listed as a sitemap (by robots.txt or a
	// sitemap index), so that a body that is not XML is read as a text
	// sitemap: one absolute http(s) URL per line. False: only XML is a
	// sitemap, since any text file would otherwise be one.
	Text bool
}

func (o SitemapOptions) withDefaults() SitemapOptions {
	if o.MaxLocs <= 0 {
		o.MaxLocs = MaxSitemapLocs
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = MaxSitemapBytes
	}
	if o.MaxURLLength <= 0 {
		o.MaxURLLength = DefaultMaxURLLength
	}
	return o
}

// Sitemap is what ParseSitemap finds in one sitemap file.
type Sitemap struct {
	// Kind is one of the Sitemap kinds; "" when the body is not a
	// sitemap (its root element is none of theirs, or no root element
	// could be read, and it is not a text sitemap), and then every other
	// field but Gzip is zero.
	Kind string

	// Locs are the canonical http(s) URLs of the <loc> of each <url> (in
	// a urlset) or <sitemap> (in an index), the <link> of each feed item
	// or entry, or the lines of a text sitemap, deduplicated, in file
	// order, at most MaxLocs. Locs of other schemes and empty ones are
	// skipped silently; a relative loc, which the protocol does not
	// allow, is resolved against the sitemap's URL (in a text sitemap,
	// where any line may be prose, it is dropped). A urlset's hreflang
	// alternates (<xhtml:link rel="alternate" href> in a <url>) are locs
	// too; other elements' URLs (image, video and news extensions, a
	// feed's own links) are not.
	Locs []string

	// Lastmod maps locs to when their page last changed, as their entry
	// says: a urlset's <lastmod> (a W3C datetime; a date alone is
	// midnight UTC), an RSS item's <pubDate> (RFC 1123) or <dc:date>, an
	// Atom entry's <updated> (RFC 3339). An entry's date is its own
	// loc's, never that of the hreflang alternates it lists (their own
	// entries date them). Locs without a valid one are not in it; nil
	// when none has one. A loc two entries date keeps the first date.
	Lastmod map[string]time.Time

	// Dropped counts locs left out because they were too long or
	// unparsable, and every loc after the first MaxLocs distinct ones.
	Dropped int

	// Gzip reports that the body was gzip-compressed.
	Gzip bool

	// Err, when not nil, says why the file was not read to its end:
	// malformed XML or gzip, ErrSitemapTooLarge or
	// ErrSitemapTokenTooLarge. Locs holds what came before it.
	Err error
}

// gzipMagic starts every gzip member (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// SitemapCandidate reports whether a fetched body may be a sitemap, so
// that it is worth ParseSitemap: an XML (application/xml, text/xml, the
// RSS, Atom and RDF types) or gzip (application/gzip, application/x-gzip)
// Content-Type, a body that starts with the gzip magic, or one whose
// first element, after an XML declaration, comments and a doctype, is a
// sitemap's root (urlset, sitemapindex, rss, RDF, feed; any namespace
// prefix). It is cheap; ParseSitemap's Kind is the verdict. A text
// sitemap is only one where TextSitemapCandidate holds too.
func SitemapCandidate(contentType string, body []byte) bool {
	switch mediaType(contentType) {
	case "application/xml", "text/xml", "application/rss+xml", "application/atom+xml", "application/rdf+xml",
		"application/gzip", "application/x-gzip":
		return true
	}
	return bytes.HasPrefix(body, gzipMagic) || sniffSitemapRoot(body)
}

// TextSitemapCandidate reports whether a fetched body may be a text
// sitemap, worth ParseSitemap with SitemapOptions.Text when the file was
// listed as a sitemap: a text/plain Content-Type, or a body that starts
// with the gzip magic.
func TextSitemapCandidate(contentType string, body []byte) bool {
	return mediaType(contentType) == "text/plain" || bytes.HasPrefix(body, gzipMagic)
}

// mediaType returns the lowercased media type of a Content-Type value.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

// sniffWindow is how much of a body sniffSitemapRoot looks at.
const sniffWindow = 4 << 10

// sniffSitemapRoot reports whether the first element in the head of body
// is named as a sitemap's root (sitemapRoots), with or without a prefix.
func sniffSitemapRoot(body []byte) bool {
	b := body[:min(len(body), sniffWindow)]
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		var end string
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			end = "?>"
		case bytes.HasPrefix(b, []byte("<!--")):
			end = "-->"
		case bytes.HasPrefix(b, []byte("<!")):
			end = ">"
		case bytes.HasPrefix(b, []byte("<")):
			name := b[1:]
			if i := bytes.IndexAny(name, " \t\r\n/>"); i >= 0 {
				name = name[:i]
			} else {
				return false // the name runs past the window
			}
			if i := bytes.IndexByte(name, ':'); i >= 0 {
				name = name[i+1:]
			}
			_, ok := sitemapRoots[string(name)]
			return ok
		default:
			return false
		}
		i := bytes.Index(b, []byte(end))
		if i < 0 {
			return false
		}
		b = b[i+len(end):]
	}
}

// ParseSitemap reads the sitemap in body (XML, or with
// SitemapOptions.Text a text file; either gzip-compressed or not: a
// compressed body starts with the gzip magic), fetched from base, and returns
// its locs. It streams: neither the uncompressed file nor a tree of it is
// held, only the locs kept, so a gzip bomb costs at most MaxBytes of
// decompression and the memory of one bounded token. It never fails:
// what it could not read is in Sitemap.Err, and a body that is not a
// sitemap has an empty Kind.
//
// Parsing is lenient, as the web needs: the sitemaps.org namespace is
// not required (elements are matched by local name), a stray '&' or an
// unknown entity is kept as written, and a misplaced end tag closes the
// open element. Entities (&amp;) and CDATA sections are decoded, and the
// whitespace around a loc is trimmed. The bytes are read as UTF-8 (the
// protocol requires it) whatever the XML declaration says: a non-UTF-8
// byte ends the parse with an error.
func ParseSitemap(body []byte, base *url.URL, opts SitemapOptions) *Sitemap {
	opts = opts.withDefaults()
	sm := &Sitemap{}
	var src io.Reader = bytes.NewReader(body)
	if bytes.HasPrefix(body, gzipMagic) {
		sm.Gzip = true
		zr, err := gzip.NewReader(src)
		if err != nil {
			return sm
		}
		defer zr.Close()
		src = zr
	}
	guard := &sitemapReader{r: src, limit: opts.MaxBytes}
	in := bufio.NewReader(guard)
	if bom, _ := in.Peek(3); string(bom) == "\uFEFF" {
		_, _ = in.Discard(3)
	}
	dec := xml.NewDecoder(in)
	dec.Strict = false
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	linkOpts := Options{MaxLinks: opts.MaxLocs, MaxURLLength: opts.MaxURLLength, Cache: opts.Cache}.withDefaults()
	linker := newLinker("", false, base, "utf-8", linkOpts)
	r := &locReader{kind: &sm.Kind, set: linkSet{l: &linker}, maxLocs: opts.MaxLocs, maxLoc: linker.opts.MaxURLLength}
	if opts.Text && !startsXML(in) {
		sm.Kind = SitemapText
		sm.Err = r.readLines(in, guard, opts.MaxBytes)
		sm.Locs, sm.Dropped = r.set.links, r.set.dropped+r.dropped
		return sm
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			if err != io.EOF && sm.Kind != "" {
				sm.Err = readError(err, opts.MaxBytes)
			}
			break
		}
		guard.tokenEnd = dec.InputOffset()
		if !r.token(tok) {
			return &Sitemap{Gzip: sm.Gzip} // not a sitemap
		}
		if r.depth == 0 && sm.Kind != "" {
			break // the root element ended: what follows is not the sitemap's
		}
	}
	if sm.Kind == "" {
		return &Sitemap{Gzip: sm.Gzip}
	}
	sm.Locs, sm.Dropped, sm.Lastmod = r.set.links, r.set.dropped+r.dropped, r.lastmods
	return sm
}

// readError describes why reading a sitemap stopped.
func readError(err error, maxBytes int64) error {
	if errors.Is(err, ErrSitemapTooLarge) {
		return fmt.Errorf("%w: read the first %d bytes", ErrSitemapTooLarge, maxBytes)
	}
	return err
}

// locReader picks the locs out of a sitemap's token stream.
type locReader struct {
	kind    *string // the sitemap's kind, once the root is read
	layout  sitemapLayout
	depth   int    // elements open
	entry   bool   // inside an entry (a <url>, <sitemap>, <item> or <entry>) where the layout has them
	inLoc   bool   // inside that entry's loc element
	loc     []byte // the loc's text so far
	long    bool   // the loc's text ran over maxLoc + locSpace
	set     linkSet
	dropped int // locs over maxLocs, too long ones
	maxLocs int
	maxLoc  int

	// An entry's date (sitemapLayout.dateName), kept for the entry's own
	// locs (its <loc>, an Atom entry's links), never its alternates.
	entryLocs []string // the entry's own locs as kept, resolved
	inLastmod bool     // inside the entry's date element
	lastmod   []byte   // its text so far (at most maxLastmod bytes)
	lastmods  map[string]time.Time
}

// maxLastmod bounds the text of an entry's date: a W3C datetime is at
// most 35 bytes, an RSS date about 31, with room for white space around.
const maxLastmod = 64

// locSpace is the whitespace allowed around a loc beyond its URL length.
const locSpace = 1 << 10

// token takes the next token; it reports false when the root element
// shows the document is not a sitemap.
func (r *locReader) token(tok xml.Token) bool {
	switch t := tok.(type) {
	case xml.StartElement:
		r.depth++
		switch name := t.Name.Local; {
		case r.depth == 1:
			layout, ok := sitemapRoots[name]
			if !ok {
				return false
			}
			r.layout, *r.kind = layout, layout.kind
		case r.depth == r.layout.entryDepth:
			r.entry = name == r.layout.entryName
			r.entryLocs, r.lastmod = r.entryLocs[:0], r.lastmod[:0]
		case r.depth == r.layout.entryDepth+1 && r.entry && name == r.layout.dateName:
			r.inLastmod = true
		case r.depth == r.layout.entryDepth+1 && r.entry && name == r.layout.locName && r.layout.href:
			r.entryLoc(r.hrefLink(t.Attr, false))
		case r.depth == r.layout.entryDepth+1 && r.entry && name == "link" && r.layout.alternates:
			r.hrefLink(t.Attr, true) // an alternate: a loc, but the entry's date is not its
		case r.depth == r.layout.entryDepth+1 && r.entry && name == r.layout.locName:
			r.inLoc, r.loc, r.long = true, r.loc[:0], false
		}
	case xml.EndElement:
		if r.depth == r.layout.entryDepth+1 && r.inLoc {
			r.inLoc = false
			r.entryLoc(r.add())
		}
		if r.depth == r.layout.entryDepth+1 {
			r.inLastmod = false
		}
		if r.depth == r.layout.entryDepth {
			r.entryLastmod()
			r.entry = false
		}
		r.depth--
	case xml.CharData:
		if r.inLastmod && len(r.lastmod)+len(t) <= maxLastmod {
			r.lastmod = append(r.lastmod, t...)
		}
		if r.inLoc && r.depth == r.layout.entryDepth+1 && !r.long {
			if len(r.loc)+len(t) > r.maxLoc+locSpace {
				r.long = true
			} else {
				r.loc = append(r.loc, t...)
			}
		}
	}
	return true
}

// add keeps the loc just read, or counts it as dropped. It returns the
// loc as kept, now or before (resolved); "" when it is not kept.
func (r *locReader) add() string {
	loc := strings.TrimSpace(string(r.loc))
	switch {
	case r.long:
		r.dropped++
	case loc == "":
	case len(r.set.links) >= r.maxLocs:
		// Not resolved, nor remembered to be told from a duplicate: past
		// the cap a file may list a million, and only their count is kept.
		r.dropped++
	default:
		return r.set.add(loc)
	}
	return ""
}

// sitemapReader reads a sitemap's bytes, uncompressed, for the XML
// decoder, failing with ErrSitemapTooLarge after limit bytes and with
// ErrSitemapTokenTooLarge once more than maxSitemapToken bytes have been
// read past the end of the last token (plus the decoder's buffer).
type sitemapReader struct {
	r        io.Reader
	limit    int64
	read     int64
	tokenEnd int64 // input offset of the end of the last token
}

func (s *sitemapReader) Read(p []byte) (int, error) {
	switch {
	case s.read >= s.limit:
		return 0, ErrSitemapTooLarge
	case s.read-s.tokenEnd > maxSitemapToken:
		return 0, ErrSitemapTokenTooLarge
	}
	if int64(len(p)) > s.limit-s.read {
		p = p[:s.limit-s.read]
	}
	n, err := s.r.Read(p)
	s.read += int64(n)
	return n, err
}
