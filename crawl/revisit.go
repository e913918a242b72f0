package crawl

import (
	"context"
	"errors"
	"fmt"

	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/store"
)

// RecrawlResult says what Recrawl did with the URLs it was given.
type RecrawlResult struct {
	// Queued counts the finished URLs (done, failed or disallowed)
	// queued again.
	Queued int `json:"queued"`

	// Waiting counts the URLs left alone because they are queued
	// already: waiting for their turn or a retry, or being fetched.
	Waiting int `json:"waiting"`

	// Unknown counts the URLs the crawl never saw, which Recrawl does not
	// add (`crawler seed` does).
	Unknown int `json:"unknown"`
}

// Add adds o's counts to r.
func (r *RecrawlResult) Add(o RecrawlResult) {
	r.Queued += o.Queued
	r.Waiting += o.Waiting
	r.Unknown += o.Unknown
}

// Recrawl queues urls again now, whatever they finished as: a done page
// is fetched again (conditionally, with its stored validators, and a
// failure keeps the stored copy, as a scheduled recrawl does), a failed
// URL gets its retries afresh, a disallowed one is checked against
// robots.txt again (its origin's rules are fetched anew, by the next Run
// if none is running). Each URL is normalized as a link is, its ignored
// query parameters dropped; one that is not a crawlable URL is an error
// naming it, and nothing is queued.
// It works whether or not Run is running.
func (e *Engine) Recrawl(ctx context.Context, urls []string) (RecrawlResult, error) {
	var res RecrawlResult
	links := make([]frontier.Link, 0, len(urls))
	seen := make(map[string]bool, len(urls))
	for _, raw := range urls {
		u, err := urlnorm.Parse(raw)
		if err != nil {
			return res, fmt.Errorf("recrawl %q: %w", raw, err)
		}
		s := e.StripQuery(u.String())
		if seen[s] {
			continue
		}
		seen[s] = true
		links = append(links, frontier.Link{URL: s, Host: e.HostKey(urlnorm.Host(u)), Revisit: true})
	}
	expire := map[string]bool{} // origins of disallowed URLs
	kept := links[:0]
	err := e.db.View(func(tx *store.Tx) error {
		for _, l := range links {
			st, err := frontier.URLState(tx, l.URL)
			switch {
			case errors.Is(err, store.ErrNotFound):
				res.Unknown++
				continue
			case err != nil:
				return fmt.Errorf("recrawl %s: %w", l.URL, err)
			case st == frontier.StateQueued:
				res.Waiting++
				continue
			case st == frontier.StateDisallowed:
				origin, _, _ := urlnorm.SplitCanonical(l.URL)
				expire[origin] = true
			}
			if p, err := tx.Page(l.URL); err == nil {
				l.Parent = p.Parent
			}
			kept = append(kept, l)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := e.expireRobots(expire); err != nil {
		return res, err
	}
	if len(kept) == 0 {
		return res, nil
	}
	n, err := e.q.Add(ctx, kept)
	if err != nil {
		return res, err
	}
	res.Queued = n
	res.Waiting += len(kept) - n // queued meanwhile
	return res, nil
}

// expireRobots makes the next lookup of each origin fetch its robots.txt
// again: in the cache, and in the store, so that a crawl stopped now (or
// not running: the recrawl of a stopped crawl) does so at its next Run.
func (e *Engine) expireRobots(origins map[string]bool) error {
	if len(origins) == 0 {
		return nil
	}
	for origin := range origins {
		e.robots.expire(origin)
	}
	return e.db.Update(func(tx *store.Tx) error {
		for origin := range origins {
			if _, err := tx.ExpireRobots(origin); err != nil {
				return fmt.Errorf("recrawl: fetch robots.txt of %s again: %w", origin, err)
			}
		}
		return nil
	})
}
