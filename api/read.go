package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"

	"crawler/crawl"
	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/store"
)

// Bounds on the work done in one read transaction. A streaming query runs
// as a series of short transactions resuming after the last URL seen, so
// a slow consumer never holds one open (on a running daemon a long read
// transaction would keep bbolt from remapping a growing file).
const (
	batchPages = 256      // pages handed out per transaction
	batchScan  = 4096     // page records examined per transaction
	batchBytes = 32 << 20 // body bytes decompressed per transaction
)

// errBatchFull ends one transaction of a scan; errLimit ends the scan.
// Neither escapes the package.
var (
	errBatchFull = errors.New("batch full")
	errLimit     = errors.New("limit reached")
)

// reader answers the queries that only read the file; Local and Daemon
// embed it, so its ListPages, GetPage, Search and Export are theirs.
type reader struct {
	db *store.DB
	// strip removes the query parameters scope.strip_query_params names
	// (nil: none), so that GetPage finds a page asked for with them.
	strip func(url string) string
	// hostKey maps a canonical host[:port] to the frontier's host key
	// under fetch.politeness_key (nil: the host itself).
	hostKey func(host string) string
}

// picker decides inside a transaction whether p is kept, loading its body
// when needed; cost is the body bytes it decompressed.
type picker func(tx *store.Tx, p *store.Page) (keep bool, body []byte, cost int, err error)

type picked struct {
	page *store.Page
	body []byte
}

// scan visits the pages whose URL starts with prefix, in URL order, in
// bounded batches (see batchPages), and calls emit outside any
// transaction for each page pick keeps.
func (r reader) scan(ctx context.Context, prefix string, pick picker, emit func(*store.Page, []byte) error) error {
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var batch []picked
		scanned, cost, full := 0, 0, false
		err := r.db.View(func(tx *store.Tx) error {
			return tx.ForEachPage(prefix, after, func(p *store.Page) error {
				if len(batch) >= batchPages || scanned >= batchScan || cost >= batchBytes {
					full = true
					return errBatchFull
				}
				scanned++
				after = p.URL
				keep, body, c, err := pick(tx, p)
				if err != nil {
					return err
				}
				cost += c
				if keep {
					batch = append(batch, picked{p, body})
				}
				return nil
			})
		})
		if err != nil && !errors.Is(err, errBatchFull) {
			return err
		}
		for _, it := range batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(it.page, it.body); err != nil {
				return err
			}
		}
		if !full {
			return nil
		}
	}
}

// limited wraps fn to return errLimit once it has been called limit
// times (limit <= 0: never).
func limited(limit int, fn func(*store.Page, []byte) error) func(*store.Page, []byte) error {
	n := 0
	return func(p *store.Page, body []byte) error {
		if err := fn(p, body); err != nil {
			return err
		}
		n++
		if limit > 0 && n >= limit {
			return errLimit
		}
		return nil
	}
}

func (r reader) ListPages(ctx context.Context, f PageFilter, fn func(*store.Page) error) error {
	match := func(_ *store.Tx, p *store.Page) (bool, []byte, int, error) {
		return f.match(p), nil, 0, nil
	}
	return r.scanFiltered(ctx, f, match, func(p *store.Page, _ []byte) error { return fn(p) })
}

// scanFiltered scans the key ranges f selects (its host and prefix) with
// pick, which must apply f.match, and stops after f.Limit pages.
func (r reader) scanFiltered(ctx context.Context, f PageFilter, pick picker, fn func(*store.Page, []byte) error) error {
	prefixes, err := f.prefixes()
	if err != nil {
		return err
	}
	emit := limited(f.Limit, fn) // one counter over every prefix
	for _, pfx := range prefixes {
		if err := r.scan(ctx, pfx, pick, emit); err != nil {
			if errors.Is(err, errLimit) {
				return nil
			}
			return err
		}
	}
	return nil
}

// prefixes returns the key prefixes to scan: one, or one per scheme when
// Host is set (none when Host and Prefix cannot both match).
func (f PageFilter) prefixes() ([]string, error) {
	prefix := canonicalPrefix(f.Prefix)
	if f.Host == "" {
		return []string{prefix}, nil
	}
	hps, err := hostPrefixes(f.Host)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, hp := range hps {
		switch {
		case strings.HasPrefix(prefix, hp):
			out = append(out, prefix)
		case strings.HasPrefix(hp, prefix):
			out = append(out, hp)
		}
	}
	return out, nil
}

func (f PageFilter) match(p *store.Page) bool {
	if f.Status != nil && p.Status != *f.Status {
		return false
	}
	if !f.Since.IsZero() && p.FetchedAt.Before(f.Since) {
		return false
	}
	return true
}

// hostPrefixes returns the key prefixes of host[:port]'s pages, one per
// scheme, in the form page records use: a port is dropped only for the
// scheme it is the default of (":443" is https://host/ and http://host:443/).
func hostPrefixes(h string) ([]string, error) {
	var out []string
	for _, scheme := range []string{"http", "https"} {
		u, err := urlnorm.Parse(scheme + "://" + h + "/")
		if err != nil || u.Path != "/" || u.RawQuery != "" {
			return nil, fmt.Errorf("host %q: not a host or host:port: %w", h, ErrInvalid)
		}
		out = append(out, urlnorm.Origin(u)+"/")
	}
	return out, nil
}

// canonicalPrefix puts the scheme and host of a URL prefix in the form
// stored URLs have: lower case, and when the authority is complete
// (followed by "/", "?" or "#") canonical as the crawler makes it, without
// the scheme's default port and with an IDN in punycode, and followed by
// the path "/" when a query or fragment comes next, as a stored URL
// without a path is. The rest is left as typed: a partial path cannot be
// normalized.
func canonicalPrefix(prefix string) string {
	i := strings.Index(prefix, "://")
	if i < 0 {
		return strings.ToLower(prefix)
	}
	j := strings.IndexAny(prefix[i+3:], "/?#")
	if j < 0 {
		return strings.ToLower(prefix) // the authority may go on
	}
	end := i + 3 + j
	if u, err := urlnorm.Parse(prefix[:end] + "/"); err == nil {
		if prefix[end] != '/' {
			return urlnorm.Origin(u) + "/" + prefix[end:]
		}
		return urlnorm.Origin(u) + prefix[end:]
	}
	return strings.ToLower(prefix[:end]) + prefix[end:]
}

// canonicalURL normalizes a URL a user typed to the store's key.
func canonicalURL(raw string) (string, error) {
	u, err := urlnorm.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("URL %q: %v: %w", raw, err, ErrInvalid)
	}
	return u.String(), nil
}

func (r reader) GetPage(_ context.Context, raw string, withBody bool) (*store.Page, []byte, error) {
	key, err := canonicalURL(raw)
	if err != nil {
		return nil, nil, err
	}
	var p *store.Page
	var body []byte
	err = r.db.View(func(tx *store.Tx) error {
		var err error
		p, err = tx.Page(key)
		if errors.Is(err, store.ErrNotFound) && r.strip != nil {
			// Stored without the parameters the crawl strips from URLs.
			if stripped := r.strip(key); stripped != key {
				key = stripped
				p, err = tx.Page(key)
			}
		}
		if err != nil {
			return fmt.Errorf("page %s: %w", key, err)
		}
		if withBody {
			body, err = tx.Body(key)
			if errors.Is(err, store.ErrNotFound) {
				body, err = nil, nil
			}
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return p, body, nil
}

func (r reader) Search(ctx context.Context, text string, limit int, fn func(*store.Page) error) error {
	q := foldSpace(strings.ToLower(text))
	if q == "" {
		return fmt.Errorf("search: empty text: %w", ErrInvalid)
	}
	pick := func(tx *store.Tx, p *store.Page) (bool, []byte, int, error) {
		if strings.Contains(foldSpace(strings.ToLower(p.Title)), q) {
			return true, nil, 0, nil
		}
		isHTML, ok := searchable(p.ContentType)
		if !ok || p.BodyBytes == 0 {
			return false, nil, 0, nil
		}
		body, err := tx.Body(p.URL)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil, 0, nil
		}
		if err != nil {
			return false, nil, 0, err
		}
		return strings.Contains(bodyText(body, isHTML, p.Charset), q), nil, len(body), nil
	}
	err := r.scan(ctx, "", pick, limited(limit, func(p *store.Page, _ []byte) error { return fn(p) }))
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// searchable reports whether bodies of a media type hold text, and
// whether it is HTML.
func searchable(contentType string) (isHTML, ok bool) {
	switch {
	case contentType == "text/html", contentType == "application/xhtml+xml":
		return true, true
	case strings.HasPrefix(contentType, "text/"):
		return false, true
	}
	return false, false
}

// bodyText returns a stored body's visible text, lowercased, with runs
// of white space folded to one space. Text in script, style and other raw
// elements is skipped; text on both sides of a tag is joined with a space.
func bodyText(body []byte, isHTML bool, cs string) string {
	var src io.Reader = bytes.NewReader(body)
	if cs != "" && !strings.EqualFold(cs, "utf-8") {
		if r, err := charset.NewReaderLabel(cs, src); err == nil {
			src = r
		}
	}
	if !isHTML {
		b, _ := io.ReadAll(src)
		return foldSpace(strings.ToLower(string(b)))
	}
	var sb strings.Builder
	z := html.NewTokenizer(src)
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return foldSpace(strings.ToLower(sb.String()))
		case html.StartTagToken:
			if name, _ := z.TagName(); rawText(string(name)) {
				skip++
			}
			sb.WriteByte(' ')
		case html.EndTagToken:
			if name, _ := z.TagName(); rawText(string(name)) && skip > 0 {
				skip--
			}
			sb.WriteByte(' ')
		case html.SelfClosingTagToken:
			sb.WriteByte(' ')
		case html.TextToken:
			if skip == 0 {
				sb.Write(z.Text())
			}
		}
	}
}

func rawText(tag string) bool {
	switch tag {
	case "script", "style", "template", "title": // title: matched from the record
		return true
	}
	return false
}

// foldSpace trims s and replaces every run of white space with one space.
func foldSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func (r reader) Export(ctx context.Context, f PageFilter, fn func(*store.Page, []byte) error) error {
	pick := func(tx *store.Tx, p *store.Page) (bool, []byte, int, error) {
		if !f.match(p) {
			return false, nil, 0, nil
		}
		body, err := tx.Body(p.URL)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil, 0, nil
		}
		if err != nil {
			return false, nil, 0, err
		}
		return true, body, len(body), nil
	}
	return r.scanFiltered(ctx, f, pick, fn)
}

// Backup implements Querier for both backends: the store copies itself.
func (r reader) Backup(ctx context.Context, dir string) (*store.BackupInfo, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("backup directory %q: not an absolute path: %w", dir, ErrInvalid)
	}
	return r.db.Backup(ctx, filepath.Clean(dir))
}

// storeStats fills the totals kept in the store, and the host counts.
func storeStats(tx *store.Tx, s *Stats) error {
	c := tx.Counts()
	s.PagesStored, s.BodyBytes, s.FileBytes, s.ValueBytes, s.GarbageBytes = c.Pages, c.BodyBytes, c.FileBytes, c.ValueBytes, c.GarbageBytes
	s.ValueLogs = c.ValueLogs
	return frontier.ReadHosts(tx, func(h *frontier.HostInfo) error {
		s.Hosts++
		if h.Queued > 0 {
			s.ActiveHosts++
		}
		if !h.NextAt.IsZero() { // a kept pause still to end
			s.BackedOffHosts++
		}
		if t := h.RevisitDueAt; !t.IsZero() {
			s.RevisitHosts++
			if s.OldestRevisitDueAt.IsZero() || t.Before(s.OldestRevisitDueAt) {
				s.OldestRevisitDueAt = t
			}
		}
		return nil
	})
}

// readHosts returns every host recorded in the store, in host order. It
// holds them all in memory (one small record per host) so that callers
// emit them outside the transaction.
func (r reader) readHosts() ([]*frontier.HostInfo, error) {
	var hosts []*frontier.HostInfo
	err := r.db.View(func(tx *store.Tx) error {
		return frontier.ReadHosts(tx, func(h *frontier.HostInfo) error {
			hosts = append(hosts, h)
			return nil
		})
	})
	return hosts, err
}

// storedRobots sets the Robots of each of hosts that has none to its
// stored robots.txt's state (crawl.StoredRobotsStatus), in one read
// transaction.
func (r reader) storedRobots(hosts []*frontier.HostInfo) error {
	return r.db.View(func(tx *store.Tx) error {
		for _, h := range hosts {
			if h.Robots == "" {
				h.Robots = crawl.StoredRobotsStatus(tx, h.Host)
			}
		}
		return nil
	})
}

// checkURLs validates the URLs of verb (seed, recrawl) before anything is
// done with any of them.
func checkURLs(verb string, urls []string) error {
	if len(urls) == 0 {
		return fmt.Errorf("%s: no URLs: %w", verb, ErrInvalid)
	}
	for _, raw := range urls {
		if _, err := canonicalURL(raw); err != nil {
			return fmt.Errorf("%s: %w", verb, err)
		}
	}
	return nil
}
