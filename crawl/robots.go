package crawl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"crawler/fetcher"
	"crawler/robots"
)

// robotsTTL is how long a fetched robots.txt is trusted (RFC 9309 §2.4).
const robotsTTL = 24 * time.Hour

// robotsStaleMax is how long after its fetch a cached robots.txt stays in
// use while refreshes find robots.txt unreachable (RFC 9309 §2.4 allows
// the cached copy past 24 hours then; §2.3.1.4 gives 30 days as a
// reasonably long period). After it, unreachable means complete disallow.
const robotsStaleMax = 30 * 24 * time.Hour

// robotsPruneEvery is how often the stored robots.txt files older than
// robotsStaleMax are deleted (robotsFiles.prune); the first time is a
// minute after start.
const robotsPruneEvery = 24 * time.Hour

// robotsGiveUpTTL is how long a host whose robots.txt stayed unreachable
// through every retry keeps failing its URLs before it is tried again.
const robotsGiveUpTTL = time.Hour

// robotsCache holds one robots.txt decision per origin. At most one fetch
// per origin runs at a time; other workers wanting the same origin wait
// for it (their own politeness slots are theirs to use afterwards).
//
// The cache is in memory; the files behind its rules are kept in the
// store (robotsFiles). An origin the cache does not hold, after a restart
// or a reload that cleared it, starts from its stored copy, parsed again
// for the token in force: used as it is while less than robotsTTL old,
// else kept for a refresh that finds robots.txt unreachable, as a copy in
// memory would be (see restore).
type robotsCache struct {
	mu      sync.Mutex
	entries map[string]*robotsEntry
	now     func() time.Time
	// gen counts clears. A fetch or restore under way when clear runs
	// may have parsed robots.txt for the token of before it; the entry's
	// gen tells (robotsEntry.gen).
	gen uint64

	// load returns origin's stored robots.txt parsed for the token in
	// force, when it was fetched, and whether it is marked to be fetched
	// again (store.RobotsFile.Refetch); nil rules when there is none. It
	// runs outside mu. nil: nothing is stored.
	load func(origin string) (rules *robots.Rules, fetched time.Time, refetch bool)

	// refetch holds the origins whose stored copy restore must not use as
	// it is: they were expired while not in the cache. (A stopped crawl's
	// expiry is the stored mark that load reports.)
	refetch map[string]bool
}

type robotsEntry struct {
	rules    *robots.Rules
	expires  time.Time
	attempts int           // consecutive unreachable fetches
	gaveUp   bool          // unreachable through every retry
	reason   string        // why the last fetch found it unreachable
	fetched  time.Time     // when rules were fetched
	stale    bool          // rules are a cached copy kept while robots.txt is unreachable
	fetching chan struct{} // non-nil while a fetch runs; closed when it ends
	gen      uint64        // the cache's gen when the fetch (or restore) under way began
}

func newRobotsCache(now func() time.Time) *robotsCache {
	return &robotsCache{entries: make(map[string]*robotsEntry), now: now}
}

// robotsState is what a worker learns from the cache.
type robotsState struct {
	rules  *robots.Rules // nil when the caller must fetch robots.txt
	gaveUp bool          // robots.txt unavailable: fail the URL
	reason string        // why, for the record, when gaveUp
	retry  time.Time     // unreachable: the host waits until then

	// restored: rules are the store's copy, read for this lookup instead
	// of a fetch (once per origin, after a restart or a cleared cache).
	restored bool
}

// lookup returns the cached decision for origin, waiting for a fetch that
// another worker runs; an origin not in the cache starts from its stored
// copy, if any (restore). When it returns a state with nil rules, the
// caller owns the fetch and must call store. waited reports that the
// caller waited for another worker's fetch.
func (c *robotsCache) lookup(ctx context.Context, origin string) (st robotsState, waited bool, err error) {
	for {
		c.mu.Lock()
		e := c.entries[origin]
		now := c.now()
		switch {
		case e == nil:
			e = &robotsEntry{fetching: make(chan struct{}), gen: c.gen}
			c.entries[origin] = e
			c.mu.Unlock()
			return c.restore(origin, e), waited, nil
		case e.fetching != nil:
			ch := e.fetching
			c.mu.Unlock()
			waited = true
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return robotsState{}, waited, ctx.Err()
			}
		case now.Before(e.expires):
			st := robotsState{rules: e.rules, gaveUp: e.gaveUp, reason: e.reason}
			if e.rules.Unreachable() && !e.gaveUp {
				st.retry = e.expires
			}
			c.mu.Unlock()
			return st, waited, nil
		default: // expired: this caller refreshes it
			e.fetching = make(chan struct{})
			e.gen = c.gen
			c.mu.Unlock()
			return robotsState{}, waited, nil
		}
	}
}

// restore fills e, the new entry of origin whose fetch the caller owns,
// with origin's stored copy when it was fetched less than robotsStaleMax
// ago. A copy less than robotsTTL old, unless expire (or, before a
// restart, Engine.Recrawl in the store) marked the origin,
// is used as it is: restore ends the fetch and returns its rules. An
// older or expired one stays in e for store to keep in use if the
// caller's fetch finds robots.txt unreachable; restore then returns no
// rules, as when there is no copy. A copy parsed while clear
// ran (a reload changing the robots token) is loaded and parsed again.
func (c *robotsCache) restore(origin string, e *robotsEntry) robotsState {
	c.mu.Lock()
	refetch := c.refetch[origin]
	delete(c.refetch, origin)
	c.mu.Unlock()
	if c.load == nil {
		return robotsState{}
	}
	rules, fetched, marked := c.load(origin)
	c.mu.Lock()
	for e.gen != c.gen {
		e.gen = c.gen
		c.mu.Unlock()
		rules, fetched, marked = c.load(origin)
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	now := c.now()
	if rules == nil || rules.Unreachable() || now.Sub(fetched) >= robotsStaleMax {
		return robotsState{}
	}
	if fetched.After(now) { // a clock set back: trusted no longer than robotsTTL from now
		fetched = now
	}
	e.rules, e.fetched, e.expires = rules, fetched, fetched.Add(robotsTTL)
	if refetch || marked {
		e.expires = time.Time{}
	}
	if !now.Before(e.expires) {
		return robotsState{}
	}
	close(e.fetching)
	e.fetching = nil
	return robotsState{rules: rules, restored: true}
}

// peek returns origin's rules when they are known and usable now, without
// waiting or fetching; nil otherwise.
func (c *robotsCache) peek(origin string) *robots.Rules {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[origin]
	if e == nil || e.rules == nil || e.gaveUp || e.rules.Unreachable() || !c.now().Before(e.expires) {
		return nil
	}
	return e.rules
}

// store records the outcome of a fetch the caller owned. retries is how
// many times an unreachable robots.txt is retried before giving up;
// backoff gives the wait before retry n (1-based).
// fetchErr is the fetch's error, if any (kept as the reason).
//
// A refresh that finds robots.txt unreachable while the entry holds
// reachable rules fetched less than robotsStaleMax ago keeps those rules
// in use (stale): the host's crawl goes on under them, and robots.txt is
// tried again on the retry schedule, then every robotsGiveUpTTL.
//
// When clear ran during the fetch, its outcome (rules parsed for the
// robots token of before a reload) is dropped with the entry, as clear
// would have dropped it had the fetch ended first, and store returns no
// rules: the origin's next lookup starts over, from its stored copy
// parsed for the token in force, or a new fetch.
func (c *robotsCache) store(origin string, rules *robots.Rules, fetchErr error, retries int, backoff func(int) time.Duration) robotsState {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[origin]
	if e == nil {
		e = &robotsEntry{gen: c.gen}
		c.entries[origin] = e
	}
	if e.fetching != nil { // waiters wake once this returns and unlocks
		close(e.fetching)
		e.fetching = nil
	}
	if e.gen != c.gen {
		delete(c.entries, origin)
		return robotsState{}
	}
	now := c.now()
	reason := ""
	if rules.Unreachable() {
		reason = fmt.Sprintf("HTTP %d", rules.Status())
		var fe *fetcher.Error
		switch {
		case errors.As(fetchErr, &fe):
			reason = fe.Error() // it names the URL already
		case fetchErr != nil:
			reason = fetchErr.Error()
		}
	}
	if rules.Unreachable() && e.rules != nil && !e.rules.Unreachable() && now.Sub(e.fetched) < robotsStaleMax {
		e.stale = true
		e.reason = reason
		if e.schedule(now, retries, backoff) {
			e.attempts = retries + 1 // hourly from now on; the count stops here
		}
		return robotsState{rules: e.rules}
	}
	if e.stale { // the copy is too old to use: start counting afresh
		e.attempts = 0
	}
	e.rules = rules
	e.fetched = now
	e.stale = false
	e.gaveUp = false
	e.reason = reason
	if rules.Unreachable() {
		if e.schedule(now, retries, backoff) {
			e.gaveUp = true
			e.attempts = 0
		}
	} else {
		e.attempts = 0
		e.expires = now.Add(robotsTTL)
	}
	st := robotsState{rules: rules, gaveUp: e.gaveUp, reason: e.reason}
	if rules.Unreachable() && !e.gaveUp {
		st.retry = e.expires
	}
	return st
}

// schedule counts an unreachable fetch of e and sets when robots.txt is
// tried next: after backoff(attempts) while retries remain, after
// robotsGiveUpTTL once they are spent. It reports whether they are.
func (e *robotsEntry) schedule(now time.Time, retries int, backoff func(int) time.Duration) (spent bool) {
	e.attempts++
	if e.attempts > retries {
		e.expires = now.Add(robotsGiveUpTTL)
		return true
	}
	e.expires = now.Add(backoff(e.attempts))
	return false
}

// abandon ends a fetch the caller owned without a result (shutdown).
func (c *robotsCache) abandon(origin string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[origin]
	if e == nil || e.fetching == nil {
		return
	}
	close(e.fetching)
	e.fetching = nil
	if e.rules == nil {
		delete(c.entries, origin)
	}
}

// forget drops origin's entry so its next URL fetches robots.txt again
// (a new seed for a host that gave up).
func (c *robotsCache) forget(origin string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[origin]; e != nil && e.fetching == nil {
		delete(c.entries, origin)
	}
}

// expire makes origin's next lookup fetch robots.txt again, as when its
// rules expire: they stay in use if that fetch finds robots.txt
// unreachable. An origin not in the cache has its stored copy kept only
// for that (restore), not used as it is. A fetch under way is left to end.
func (c *robotsCache) expire(origin string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e := c.entries[origin]; {
	case e == nil:
		if c.refetch == nil {
			c.refetch = make(map[string]bool)
		}
		c.refetch[origin] = true
	case e.fetching == nil:
		e.expires = time.Time{}
	}
}

// clear drops every decision not being fetched right now; those being
// fetched are dropped when their fetch ends (store).
func (c *robotsCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if e.fetching == nil {
			delete(c.entries, k)
		}
	}
}

// sweep drops expired entries so the cache does not grow with every host
// ever seen. An unreachable robots.txt between retries is kept: its
// attempt count decides when the host gives up; so is a stale copy (until
// a refresh finds it older than robotsStaleMax).
func (c *robotsCache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, e := range c.entries {
		if e.fetching != nil || now.Before(e.expires) {
			continue
		}
		if (e.attempts == 0 && !e.stale) || (e.stale && now.Sub(e.fetched) >= robotsStaleMax) {
			delete(c.entries, k)
		}
	}
}

// status describes origin's entry for operators; "" when there is none.
func (c *robotsCache) status(origin string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[origin]
	switch {
	case e == nil:
		return ""
	case e.rules == nil:
		return "fetching"
	case e.gaveUp:
		return "unavailable"
	case e.stale:
		return "stale: robots.txt unreachable (" + e.reason + "), cached copy of " + e.fetched.UTC().Format(time.RFC3339) +
			" in use, retry at " + e.expires.UTC().Format(time.RFC3339)
	case e.rules.Unreachable():
		return "unreachable (retry at " + e.expires.UTC().Format(time.RFC3339) + ")"
	}
	if word, status := robotsStatusWord(e.rules.Status()); status != "" {
		return word + " (" + status + ")"
	}
	return "ok"
}

// robotsStatusWord says what a robots.txt response of status that is not
// unreachable means for the crawl: "ok" (its rules, for a 2xx), or
// "allow-all" and the status to show with it (RFC 9309: a 3xx left after
// the redirects it follows, and a 4xx other than 429, leave no rules).
func robotsStatusWord(status int) (word, shown string) {
	if status >= 200 && status <= 299 {
		return "ok", ""
	}
	return "allow-all", strconv.Itoa(status)
}
