package crawl

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"crawler/fetcher"
	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/parser"
	"crawler/store"
)

// MaxParseBytes is the most of a body that is parsed for links, title and
// extraction (`crawler extract` parses as much). Bodies are stored up to
// fetch.max_body_bytes, but an HTML DOM costs about ten times its source,
// and the parse pool must not be what breaks the memory budget; real pages
// are far smaller.
const MaxParseBytes = 2 << 20

// process turns a fetch outcome into the completion the writer commits:
// the page record, its compressed body, the in-scope links, or a retry,
// and schedules the page's next recrawl. It runs on the parse pool
// (CPU-bound work: decode, parse, compress).
func (e *Engine) process(f *fetched) *frontier.Completion {
	c := e.processFetch(f)
	if c.State == frontier.StateFailed && f.prior != nil {
		// A recrawl that failed (its retries spent) leaves the stored
		// copy standing: an outage of the host must neither replace a
		// good page with an error nor drop it from the recrawl cycle.
		keepPrior(c, f)
		e.scheduleRecrawl(c, f.prior, false)
		return c
	}
	e.scheduleRecrawl(c, f.prior, true)
	return c
}

// keepPrior turns the failed recrawl c into a completion that keeps the
// page's stored record and body, state done, with the failure noted in
// the record's extra as recrawl_error (and recrawl_failed_at), until a
// recrawl succeeds.
func keepPrior(c *frontier.Completion, f *fetched) {
	kept := *f.prior
	kept.Extra = make(map[string]string, len(f.prior.Extra)+2)
	for k, v := range f.prior.Extra {
		kept.Extra[k] = v
	}
	kept.Extra["recrawl_error"] = c.Page.Error
	kept.Extra["recrawl_failed_at"] = c.Page.FetchedAt.UTC().Format(time.RFC3339)
	c.Page, c.Body, c.KeepBody, c.State = &kept, nil, true, frontier.StateDone
}

// scheduleRecrawl makes a done page due again after recrawl.interval; with
// recrawl.adaptive the interval doubles while the page does not change and
// halves when it does, within [min_interval, max_interval] (Nutch's
// AdaptiveFetchSchedule). adapt false keeps the page's interval as it was
// (a failed recrawl says nothing about change). With recrawl off it only
// carries a revisited page's change count over.
func (e *Engine) scheduleRecrawl(c *frontier.Completion, prior *store.Page, adapt bool) {
	rc := e.config().Recrawl
	if c.State != frontier.StateDone || !c.RetryAt.IsZero() || c.Page == nil {
		return
	}
	if rc.Interval <= 0 {
		if prior != nil { // a revisit: count the change all the same
			carryChanges(c.Page, prior)
		}
		return
	}
	interval := rc.Interval
	if prior != nil {
		// Only adaptive scheduling carries a page's interval over: without
		// it, an interval changed by a reload or restart applies to every
		// page at its next recrawl.
		if rc.Adaptive && prior.RecrawlMS > 0 {
			interval = time.Duration(prior.RecrawlMS) * time.Millisecond
		}
		carryChanges(c.Page, prior)
		if rc.Adaptive && adapt {
			if c.Page.Hash == prior.Hash {
				interval *= 2
			} else {
				interval /= 2
			}
			interval = min(max(interval, rc.MinInterval), rc.MaxInterval)
		}
	}
	c.Page.RecrawlMS = max(interval.Milliseconds(), 1)
	c.RecrawlAt = e.now().Add(interval)
}

// carryChanges carries the change count and previous hash of the stored
// record prior over to p, the same page fetched again, counting one more
// change when its body differs.
func carryChanges(p, prior *store.Page) {
	if p.Hash == prior.Hash {
		p.Changes, p.PrevHash = prior.Changes, prior.PrevHash
	} else {
		p.Changes, p.PrevHash = prior.Changes+1, prior.Hash
	}
}

// processFetch builds the completion of one fetch outcome.
func (e *Engine) processFetch(f *fetched) *frontier.Completion {
	it := f.item
	c := &frontier.Completion{Item: it}
	now := e.now()
	switch {
	case f.disallowed && f.stored:
		// A stored page due for recrawl (or revisited) that robots.txt
		// now forbids: its record stays, so the URL is done (a
		// disallowed URL has none), and it is not recrawled again.
		c.State = frontier.StateDone
		return c
	case f.disallowed:
		c.State = frontier.StateDisallowed
		return c
	case f.excluded != "" && f.prior != nil:
		// A stored page due for recrawl: its record stays, and it is
		// not recrawled again.
		c.State = frontier.StateDone
		return c
	case f.excluded != "":
		c.State = frontier.StateFailed
		c.Page = e.record(f, now)
		c.Page.Error = "out of scope: " + f.excluded
		return c
	case f.stripped != "":
		// The URL without the stripped parameters takes its place; a
		// stored page keeps its record and is not recrawled again.
		c.Links, c.Trapped = e.discovered([]string{f.stripped}, it.Parent, it.Depth)
		c.State = frontier.StateDone
		if f.prior == nil {
			c.State = frontier.StateFailed
			c.Page = e.record(f, now)
			c.Page.Error = "query parameters stripped (scope.strip_query_params): crawled as " + f.stripped
		}
		return c
	case f.robotsGaveUp:
		c.State = frontier.StateFailed
		c.Page = e.record(f, now)
		c.Page.Error = "robots.txt unavailable"
		if f.robotsReason != "" {
			c.Page.Error += ": " + f.robotsReason
		}
		return c
	}
	p := e.record(f, now)
	c.Page = p
	c.State = frontier.StateDone
	resp := f.resp

	if f.err != nil {
		if retryable(f.err) && e.retry(c, 0) {
			return c
		}
		c.State = frontier.StateFailed
		p.Error = f.err.Error()
		if resp != nil && resp.Status > 0 {
			e.storeBody(c, resp)
		}
		return c
	}
	if resp.Status == http.StatusTooManyRequests || resp.Status >= 500 {
		wait, _ := RetryAfter(resp.Header.Get("Retry-After"), now)
		if e.retry(c, wait) {
			return c
		}
		c.State = frontier.StateFailed
		p.Error = fmt.Sprintf("HTTP %d after %d attempts", resp.Status, it.Attempts+1)
		e.storeBody(c, resp)
		return c
	}
	if resp.Status == http.StatusNotModified && f.prior != nil {
		// Unchanged since the stored copy: keep its body and record,
		// note the new fetch.
		kept := *f.prior
		kept.FetchedAt, kept.Attempts, kept.DurationMS = p.FetchedAt, p.Attempts, p.DurationMS
		kept.Depth, kept.Parent, kept.Error = it.Depth, it.Parent, ""
		// A 304 carries the validators a 200 would (RFC 9110 §15.4.5);
		// they replace the stored ones (RFC 9111 §4.3.4), or the next
		// recrawl asks with stale ones. The stored headers stay those
		// that came with the body (a WARC export writes them in its
		// response record); the 304's are kept beside them.
		if p.ETag != "" {
			kept.ETag = p.ETag
		}
		if p.LastModified != "" {
			kept.LastModified = p.LastModified
		}
		kept.Extra = make(map[string]string, len(f.prior.Extra)+2)
		for k, v := range f.prior.Extra {
			kept.Extra[k] = v
		}
		// The body is still the one an earlier fetch captured: a WARC
		// export dates its response record by that capture and this 304
		// by fetched_at. The first 304 after a 200 notes the 200's time;
		// later ones keep it. A record an older version stored after a
		// 304 (last_status 304, no note) has a 304's time: the capture
		// time is unknown, and stays unnoted.
		if kept.Extra["body_fetched_at"] == "" && f.prior.Extra["last_status"] != "304" && !f.prior.FetchedAt.IsZero() {
			kept.Extra["body_fetched_at"] = f.prior.FetchedAt.UTC().Format(time.RFC3339Nano)
		}
		kept.NotModifiedHeader = p.Header
		kept.Extra["last_status"] = "304"
		delete(kept.Extra, "recrawl_error")
		delete(kept.Extra, "recrawl_failed_at")
		c.Page = &kept
		c.KeepBody = true
		return c
	}
	if resp.Status >= 300 && resp.Status < 400 {
		e.redirect(c, f)
		return c
	}
	e.storeBody(c, resp)
	if resp.Status < 200 || resp.Status >= 300 || e.processSitemap(c, f) || !parser.IsHTML(resp.ContentType, resp.Body) {
		return c
	}
	ct := resp.ContentType
	if resp.Charset != "" {
		ct += "; charset=" + resp.Charset
	}
	html := resp.Body
	if len(html) > MaxParseBytes {
		// The whole body is stored; only its head is parsed. A DOM costs
		// about ten times the bytes it comes from.
		html = html[:MaxParseBytes]
		p.Extra = map[string]string{"parse_truncated": fmt.Sprint(MaxParseBytes)}
	}
	// The tree is built only for extraction rules; the rules are read once so
	// a reload in between cannot leave Apply without one.
	extractRules := e.rules()
	// Links as long as a URL can be: scope.max_url_length applies after
	// strip_query_params, in discovered (a trap).
	opts := parser.Options{MaxURLLength: urlnorm.MaxLength, Cache: e.links, NoDOM: extractRules.Empty()}
	doc, err := parser.Parse(html, ct, f.url, opts)
	if err != nil {
		// The tree builder gave up (x/net/html refuses elements nested
		// more than 512 deep): no rule can run, but the token pass,
		// which has no such limit and never fails, still reads the
		// page's fields and links.
		p.Error = "parse: " + err.Error() + " (extraction rules not run)"
		extractRules, opts.NoDOM = nil, true
		if doc, err = parser.Parse(html, ct, f.url, opts); err != nil {
			return c
		}
	}
	p.Title, p.Description, p.Canonical = doc.Title, doc.Description, doc.Canonical
	p.TextLen, p.Charset, p.Outlinks = doc.TextLen, doc.Charset, len(doc.Links)
	if doc.Dropped > 0 {
		if p.Extra == nil {
			p.Extra = map[string]string{}
		}
		p.Extra["links_dropped"] = fmt.Sprint(doc.Dropped)
		e.stats.LinksDropped.Add(int64(doc.Dropped))
	}
	if !extractRules.Empty() {
		fields, failed := extractRules.Apply(f.url, doc.HTML, doc.Charset)
		p.Fields = fields
		if len(failed) > 0 {
			if p.Extra == nil {
				p.Extra = map[string]string{}
			}
			p.Extra["extract_failed"] = strings.Join(failed, ",")
			e.stats.ExtractFailed.Add(1)
		}
	}
	if doc.NoFollow {
		return c
	}
	c.Links, c.Trapped = e.discovered(doc.Links, it.URL, it.Depth+1)
	return c
}

// discovered turns the canonical links found on parent into the links to
// add to the frontier at depth: those in scope, not too deep, not traps.
// The others are counted: out of scope or too deep in Stats.LinksDropped,
// traps in the returned count (Completion.Trapped).
func (e *Engine) discovered(links []string, parent string, depth int) (out []frontier.Link, trapped int) {
	if limit := e.config().Scope.MaxDepth; limit > 0 && depth > limit {
		e.stats.LinksDropped.Add(int64(len(links)))
		return nil, 0
	}
	respect := e.config().Fetch.RespectRobots
	filter := e.urlFilter()
	for _, l := range links {
		l = filter.Strip(l)
		origin, host, uri := urlnorm.SplitCanonical(l)
		if !e.inScope(host) || filter.Excluded(l) != "" {
			e.stats.LinksDropped.Add(1)
			continue
		}
		if e.trap(l) != "" {
			trapped++
			continue
		}
		link := frontier.Link{URL: l, Host: e.HostKey(host), Parent: parent, Depth: depth}
		link.Disallowed = respect && e.knownDisallowed(origin, uri)
		out = append(out, link)
	}
	return out, trapped
}

// knownDisallowed reports whether robots.txt forbids the canonical URL
// split into origin and uri (urlnorm.SplitCanonical: a canonical URL's
// rest is its RequestURI, checked by urlnorm's tests), when its origin's
// rules are known: such a link (or redirect target) is judged now,
// recorded without ever being queued, so it never takes a politeness slot
// nor a place in its host's page budget.
func (e *Engine) knownDisallowed(origin, uri string) bool {
	rules := e.robots.peek(origin)
	return rules != nil && !rules.AllowedRequestURI(uri)
}

// record starts the page record of f.
func (e *Engine) record(f *fetched, now time.Time) *store.Page {
	it := f.item
	_, host, _ := urlnorm.SplitCanonical(it.URL) // it.Host is the politeness key
	p := &store.Page{
		URL: it.URL, Host: host, Depth: it.Depth, Parent: it.Parent,
		FetchedAt: now.UTC(), Attempts: it.Attempts + 1,
	}
	if r := f.resp; r != nil {
		p.Status, p.ContentType = r.Status, r.ContentType
		p.DurationMS = r.Duration.Milliseconds()
		p.WireBytes, p.Truncated = r.WireBytes, r.Truncated
		p.Header = r.Header
		p.ETag, p.LastModified = r.Header.Get("ETag"), r.Header.Get("Last-Modified")
	}
	return p
}

// storeBody puts the response body, compressed, in the completion.
func (e *Engine) storeBody(c *frontier.Completion, r *fetcher.Response) {
	if len(r.Body) == 0 {
		return
	}
	sum := sha256.Sum256(r.Body)
	c.Page.Hash = hex.EncodeToString(sum[:])
	c.Page.BodyBytes = int64(len(r.Body))
	c.Body = e.db.CompressBody(r.Body)
}

// redirect records a 3xx and queues its target like a discovered link, so
// the target passes scope, robots, dedup and politeness itself.
func (e *Engine) redirect(c *frontier.Completion, f *fetched) {
	it, p, resp := f.item, c.Page, f.resp
	// Resolved as a browser resolves it (WHATWG: "\\" is "/", a stray "%"
	// is kept), not as the fetcher's RFC 3986 Location.
	loc := resp.Header.Get("Location")
	if strings.TrimSpace(loc) == "" {
		p.Error = fmt.Sprintf("HTTP %d without a usable Location", resp.Status)
		return
	}
	target, err := urlnorm.Resolve(f.url, loc)
	if err != nil {
		p.Error = "redirect: " + err.Error()
		c.State = frontier.StateFailed
		return
	}
	filter := e.urlFilter()
	p.RedirectTo = filter.Strip(target.String())
	origin := it.Origin
	if origin == "" {
		origin = it.URL
	}
	chain := it.URL
	if it.Via != "" {
		chain = it.Via + "\n" + it.URL
	}
	excluded, trap := filter.Excluded(p.RedirectTo), e.trap(p.RedirectTo)
	switch {
	case slices.Contains(strings.Split(chain, "\n"), p.RedirectTo):
		p.Error = fmt.Sprintf("redirect loop after %d hops", it.Hops+1)
		c.State = frontier.StateFailed
	case it.Hops+1 > e.config().Fetch.MaxRedirects:
		p.Error = fmt.Sprintf("too many redirects (more than %d hops)", e.config().Fetch.MaxRedirects)
		c.State = frontier.StateFailed
	case !e.inScope(urlnorm.Host(target)):
		p.Error = "redirect target out of scope"
	case excluded != "":
		p.Error = "redirect target out of scope: " + excluded
	case trap != "":
		p.Error = "redirect target dropped as a crawler trap: " + trap
		c.Trapped++
	default:
		o, _, uri := urlnorm.SplitCanonical(p.RedirectTo)
		c.Links = append(c.Links, frontier.Link{URL: p.RedirectTo, Host: e.HostKey(urlnorm.Host(target)),
			Parent: it.URL, Depth: it.Depth, Hops: it.Hops + 1, Origin: origin, Via: chain,
			Disallowed: e.config().Fetch.RespectRobots && e.knownDisallowed(o, uri)})
	}
}

// retry turns c into a retry when attempts remain. wait, when non-zero,
// is the server's Retry-After; the backoff schedule applies otherwise.
func (e *Engine) retry(c *frontier.Completion, wait time.Duration) bool {
	it := c.Item
	if it.Attempts >= e.config().Fetch.Retries {
		return false
	}
	d := e.retryBackoff().Delay(it.Attempts + 1)
	if wait > 0 {
		d = min(wait, e.config().Fetch.RetryMaxDelay)
	}
	c.RetryAt = e.now().Add(d)
	e.stats.Retries.Add(1)
	return true
}

// retryable reports whether a fetch error may go away on its own.
func retryable(err error) bool {
	var fe *fetcher.Error
	if !errors.As(err, &fe) {
		return false
	}
	return fe.Kind == fetcher.KindNetwork || fe.Kind == fetcher.KindTimeout
}
