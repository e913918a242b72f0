package crawl

import (
	"context"
	"fmt"
	"time"

	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/parser"
	"crawler/robots"
	"crawler/store"
)

// Sitemaps (sitemaps.org), followed when scope.follow_sitemaps is on.
//
// A host's robots.txt, once fetched and read, has each of its Sitemap
// URLs queued like a link found on the robots.txt URL (queueSitemaps).
// The parse stage reads a fetched sitemap and takes its locs as the
// page's links (processSitemap): a urlset's pages, a sitemap index's
// sitemaps. Both go through the frontier's normal path, so scope, dedup (a
// robots.txt refresh queues nothing again), robots.txt, politeness and
// max_pages_per_host apply to sitemaps and their locs as to any link.
//
// Depth. robots.txt belongs to no page: the sitemaps it lists are queued
// at depth 1 (sitemapDepth), as the links of a seed are. Depth 0 would
// make them seeds, which max_pages_per_host does not count. A sitemap's
// locs are the site's own list of its pages, not links one hop further
// away, so they keep the sitemap's depth when robots.txt listed the
// sitemap, or when it is a urlset listed by a sitemap index that
// robots.txt listed: with max_depth 1, the pages a site lists in the
// sitemaps of its robots.txt are crawled, as its home page's links are,
// and their own links are not. Any other sitemap (a seed, one reached
// through a page's link, an index listed by an index, which the protocol
// forbids, and what such a one lists) has its locs one hop further, like
// a page's links, so sitemaps listing sitemaps cannot go on at one depth
// for ever. Which case holds is read from the stored records of the
// sitemap's lister (extra.sitemap_listed_by), so it holds across
// restarts. A sitemap found first through a link keeps that link's
// parent and depth: the URL is queued once.
//
// Dates. A sitemap may only speak for the pages of its own site
// (sitemaps.org, "Sitemap file location"), unless another site's
// robots.txt lists it (cross-submission). So a loc's <lastmod> steers the
// recrawl only when the loc is on the sitemap's own origin, or on the
// origin whose robots.txt listed the sitemap, or the index that listed
// it; locs elsewhere are plain links. Else any in-scope host could have
// another's pages fetched again once per recrawl.min_interval.
const sitemapDepth = 1

// Values of a sitemap record's extra.sitemap_listed_by.
const (
	listedByRobots = "robots.txt"   // a Sitemap line of robots.txt
	listedByIndex  = "sitemapindex" // an index that robots.txt listed
)

// queueSitemaps queues the Sitemap URLs of rules, origin's reachable
// robots.txt ("scheme://host[:port]") just fetched or read from the store,
// when scope.follow_sitemaps is on: links of origin's robots.txt at
// sitemapDepth. It is called where the fetch worker obtains the rules,
// before the URL that triggered it goes on, so the crawl cannot look idle
// in between.
// Relative Sitemap URLs, which RFC 9309 does not allow, are resolved
// against the robots.txt URL; unparsable ones are dropped.
func (e *Engine) queueSitemaps(ctx context.Context, origin string, rules *robots.Rules) {
	listed := rules.Sitemaps()
	if !e.config().Scope.FollowSitemaps || len(listed) == 0 {
		return
	}
	robotsURL := origin + "/robots.txt"
	base, err := urlnorm.Parse(robotsURL)
	if err != nil {
		return
	}
	urls := make([]string, 0, len(listed))
	for _, raw := range listed {
		u, err := urlnorm.Resolve(base, raw)
		if err != nil {
			e.stats.LinksDropped.Add(1)
			continue
		}
		urls = append(urls, u.String())
	}
	links, trapped := e.discovered(urls, robotsURL, sitemapDepth)
	// No completion carries them to Counts.Trapped: they count as dropped.
	e.stats.LinksDropped.Add(int64(trapped))
	if len(links) == 0 {
		return
	}
	if _, err := e.q.Add(ctx, links); err != nil {
		e.log.Debug("sitemaps of robots.txt not queued", "robots", robotsURL, "err", err)
	}
}

// processSitemap completes c with the locs of f's body when
// scope.follow_sitemaps is on and the body is a sitemap
// (parser.ParseSitemap: XML, a feed, or a text file when robots.txt or a
// sitemap index listed it), and reports whether it was one. The record
// notes the kind in extra.sitemap, how it was listed in
// extra.sitemap_listed_by (see sitemapDepth), dropped locs in
// extra.links_dropped (too long, unparsable or past 50,000), and what
// stopped the read in extra.sitemap_error (malformed XML or gzip, the
// 50 MiB cap, an XML token over 1 MiB): the locs before it are kept, and
// the URL is done, not failed. Outlinks counts the locs found. With
// recrawl on, a loc whose date (parser.Sitemap.Lastmod) is after its
// stored page's fetch is refreshed (refreshChanged), counted in
// extra.sitemap_changed; only a loc on the sitemap's own origin, or on
// the origin whose robots.txt listed it (see sitemapDepth), is.
func (e *Engine) processSitemap(c *frontier.Completion, f *fetched) bool {
	cfg := e.config()
	resp, it := f.resp, f.item
	if !cfg.Scope.FollowSitemaps {
		return false
	}
	asXML := parser.SitemapCandidate(resp.ContentType, resp.Body)
	asText := parser.TextSitemapCandidate(resp.ContentType, resp.Body)
	if !asXML && !asText {
		return false
	}
	// How it was listed takes store reads: before the parse only when
	// it may be a text sitemap (only one listed as a sitemap may be, or
	// any text file would be), else once the parse found a sitemap.
	var listedBy, robotsURL string
	var listed bool
	if asText {
		listedBy, listed, robotsURL = e.sitemapListedBy(it)
	}
	text := asText && listed
	if !asXML && !text {
		return false
	}
	sm := parser.ParseSitemap(resp.Body, f.url, parser.SitemapOptions{MaxURLLength: urlnorm.MaxLength, Cache: e.links, Text: text})
	if sm.Kind == "" {
		return false
	}
	if !asText {
		listedBy, _, robotsURL = e.sitemapListedBy(it)
	}
	p := c.Page
	p.Outlinks = len(sm.Locs)
	if p.Extra == nil {
		p.Extra = map[string]string{}
	}
	p.Extra["sitemap"] = sm.Kind
	if listedBy != "" {
		p.Extra["sitemap_listed_by"] = listedBy
	}
	if sm.Dropped > 0 {
		p.Extra["links_dropped"] = fmt.Sprint(sm.Dropped)
		e.stats.LinksDropped.Add(int64(sm.Dropped))
	}
	if sm.Err != nil {
		p.Extra["sitemap_error"] = sm.Err.Error()
	}
	depth := it.Depth + 1
	if listedBy == listedByRobots || listedBy == listedByIndex && sm.Kind != parser.SitemapIndex {
		depth = it.Depth
	}
	c.Links, c.Trapped = e.discovered(sm.Locs, it.URL, depth)
	if cfg.Recrawl.Interval > 0 && len(sm.Lastmod) > 0 {
		own, _, _ := urlnorm.SplitCanonical(it.URL)
		vouched, _, _ := urlnorm.SplitCanonical(robotsURL)
		if n := e.refreshChanged(c.Links, sm.Lastmod, own, vouched); n > 0 {
			p.Extra["sitemap_changed"] = fmt.Sprint(n)
		}
	}
	return true
}

// refreshChanged marks for refresh (frontier.Link.Refresh) the links
// whose page is stored with a fetch time before the <lastmod> the
// sitemap gives it, so that a recrawl of the sitemap brings changed
// pages back at once instead of at their own recrawl time; it keeps
// the stored page's parent and depth on them, and returns how many it
// marked. Only links on origin own or vouched ("scheme://host[:port]";
// "" is none), those the sitemap may speak for, are. The frontier refreshes
// only URLs that are done. A page fetched
// less than recrawl.min_interval ago is left alone: a site whose
// sitemap dates every page "now" costs one fetch per page per
// min_interval, not one per reading of the sitemap.
func (e *Engine) refreshChanged(links []frontier.Link, lastmod map[string]time.Time, own, vouched string) int {
	filter := e.urlFilter()
	now, floor := e.now(), e.config().Recrawl.MinInterval
	byURL := make(map[string]time.Time, len(lastmod))
	for u, t := range lastmod {
		byURL[filter.Strip(u)] = t // as discovered made the links
	}
	n := 0
	_ = e.db.View(func(tx *store.Tx) error {
		for i := range links {
			l := &links[i]
			t, ok := byURL[l.URL]
			if !ok || l.Disallowed {
				continue
			}
			if origin, _, _ := urlnorm.SplitCanonical(l.URL); origin == "" || origin != own && origin != vouched {
				continue
			}
			if p, err := tx.Page(l.URL); err == nil && p.FetchedAt.Before(t) && now.Sub(p.FetchedAt) >= floor {
				l.Refresh, l.Parent, l.Depth = true, p.Parent, p.Depth
				n++
			}
		}
		return nil
	})
	return n
}

// sitemapListedBy says how the sitemap it was listed (see sitemapDepth):
// listedByRobots, listedByIndex, or "" for any other way; whether it
// was listed as a sitemap at all: by robots.txt or by any sitemap index;
// and the URL of the robots.txt that listed it or its index ("": none,
// or not known). The lister is its parent or, for a redirect target,
// the parent of its chain's first URL, whose record the redirect stored.
func (e *Engine) sitemapListedBy(it *frontier.Item) (by string, listed bool, robotsURL string) {
	lister := it.Parent
	if it.Hops > 0 {
		lister = ""
		if first := e.storedPage(it.Origin); first != nil {
			lister = first.Parent
		}
	}
	if lister == "" {
		return "", false, ""
	}
	if isRobotsURL(lister) {
		return listedByRobots, true, lister
	}
	p := e.storedPage(lister)
	if p == nil || p.Extra["sitemap"] != parser.SitemapIndex {
		return "", false, ""
	}
	if p.Extra["sitemap_listed_by"] == listedByRobots {
		return listedByIndex, true, e.listingRobots(p)
	}
	return "", true, ""
}

// listingRobots returns the URL of the robots.txt that listed the
// sitemap stored as p (its extra.sitemap_listed_by says robots.txt): its
// parent, or for a redirect target the parent of its chain's first URL,
// reached through the stored records of the chain's hops; "" when a hop's
// record is gone.
func (e *Engine) listingRobots(p *store.Page) string {
	for range e.config().Fetch.MaxRedirects + 1 {
		if isRobotsURL(p.Parent) {
			return p.Parent
		}
		hop := e.storedPage(p.Parent)
		if hop == nil || hop.RedirectTo != p.URL {
			return ""
		}
		p = hop
	}
	return ""
}

// isRobotsURL reports whether the canonical URL u is a robots.txt.
func isRobotsURL(u string) bool {
	_, _, path := urlnorm.SplitCanonical(u)
	return path == "/robots.txt"
}

// storedPage returns url's stored record, or nil.
func (e *Engine) storedPage(url string) *store.Page {
	var p *store.Page
	_ = e.db.View(func(tx *store.Tx) error {
		p, _ = tx.Page(url)
		return nil
	})
	return p
}
