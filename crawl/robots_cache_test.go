package crawl

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"crawler/robots"
)

// A refresh that finds robots.txt unreachable keeps the cached copy in
// use (RFC 9309 §2.4 lets a crawler use it past 24 hours while robots.txt
// is unreachable), retrying on the usual schedule, for up to
// robotsStaleMax after the copy was fetched; after that, or without a
// good copy, unreachable means complete disallow.
func TestRobotsRefreshUnreachableKeepsCachedCopy(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	c := newRobotsCache(func() time.Time { return now })
	const origin = "http://a.test"
	backoff := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	mustOwn := func(what string) {
		t.Helper()
		st, _, err := c.lookup(context.Background(), origin)
		if err != nil || st.rules != nil {
			t.Fatalf("%s: lookup = %+v, %v; want the caller to fetch", what, st, err)
		}
	}
	private := &url.URL{Path: "/private/x"}
	public := &url.URL{Path: "/x"}
	good := robots.FromStatus(200, []byte("User-agent: *\nDisallow: /private/\n"), "crawler")
	down := robots.FromStatus(503, nil, "crawler")

	mustOwn("first")
	c.store(origin, good, nil, 2, backoff)
	now = now.Add(robotsTTL + time.Second)
	mustOwn("expired")
	for i := 1; i <= 4; i++ { // through the retries and past them
		st := c.store(origin, down, errors.New("HTTP 503"), 2, backoff)
		if st.rules == nil || st.gaveUp || !st.retry.IsZero() || !st.rules.Allowed(public) || st.rules.Allowed(private) {
			t.Fatalf("refresh %d unreachable: state %+v; want the cached rules in use", i, st)
		}
		if s := c.status(origin); !strings.HasPrefix(s, "stale") {
			t.Fatalf("status = %q; want stale", s)
		}
		c.sweep()
		if got, _, _ := c.lookup(context.Background(), origin); got.rules != st.rules {
			t.Fatalf("lookup before the retry time = %+v; want the cached rules", got)
		}
		now = now.Add(robotsGiveUpTTL + time.Second)
		mustOwn("retry")
	}
	// A good fetch ends the stale period.
	c.store(origin, good, nil, 2, backoff)
	if s := c.status(origin); s != "ok" {
		t.Fatalf("status after a good fetch = %q; want ok", s)
	}
	// A copy older than robotsStaleMax is not used.
	now = now.Add(robotsStaleMax + time.Second)
	mustOwn("long expired")
	st := c.store(origin, down, errors.New("HTTP 503"), 2, backoff)
	if st.rules == nil || !st.rules.Unreachable() || st.retry.IsZero() {
		t.Fatalf("refresh of a copy older than %v: state %+v; want unreachable, retry later", robotsStaleMax, st)
	}
}

// An origin the cache does not hold (after a restart, or a reload that
// cleared it) starts from its stored copy: used without a fetch while
// less than robotsTTL old, kept in use (stale) by a refresh that finds
// robots.txt unreachable while less than robotsStaleMax old, and ignored
// after that.
func TestRobotsCacheRestoresStoredCopy(t *testing.T) {
	fetched := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	const origin = "http://a.test"
	backoff := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	private := &url.URL{Path: "/private/x"}
	good := robots.FromStatus(200, []byte("User-agent: *\nDisallow: /private/\n"), "crawler")
	down := robots.FromStatus(503, nil, "crawler")
	restarted := func(now time.Time) *robotsCache { // a fresh cache over the stored copy
		c := newRobotsCache(func() time.Time { return now })
		c.load = func(o string) (*robots.Rules, time.Time, bool) {
			if o != origin {
				return nil, time.Time{}, false
			}
			return good, fetched, false
		}
		return c
	}

	c := restarted(fetched.Add(robotsTTL - time.Second))
	st, _, err := c.lookup(context.Background(), origin)
	if err != nil || st.rules != good || st.gaveUp || !st.retry.IsZero() {
		t.Fatalf("lookup of a copy under %v old = %+v, %v; want its rules, no fetch", robotsTTL, st, err)
	}
	if c.peek(origin) != good || c.status(origin) != "ok" {
		t.Errorf("after the restore: peek %v, status %q; want the rules, ok", c.peek(origin), c.status(origin))
	}
	if st, _, _ := c.lookup(context.Background(), "http://other.test"); st.rules != nil {
		t.Errorf("lookup of an origin with no copy = %+v; want the caller to fetch", st)
	}

	c = restarted(fetched.Add(robotsTTL))
	if st, _, _ := c.lookup(context.Background(), origin); st.rules != nil {
		t.Fatalf("lookup of a copy %v old = %+v; want the caller to fetch", robotsTTL, st)
	}
	st = c.store(origin, down, errors.New("HTTP 503"), 2, backoff)
	if st.rules != good || st.gaveUp || !st.retry.IsZero() || st.rules.Allowed(private) {
		t.Errorf("refresh unreachable over a stored copy = %+v; want the stored rules in use", st)
	}
	if s := c.status(origin); !strings.HasPrefix(s, "stale") || !strings.Contains(s, fetched.Format(time.RFC3339)) {
		t.Errorf("status = %q; want stale, naming the copy's fetch time", s)
	}

	c = restarted(fetched.Add(robotsStaleMax))
	if st, _, _ := c.lookup(context.Background(), origin); st.rules != nil {
		t.Fatalf("lookup of a copy %v old = %+v; want the caller to fetch", robotsStaleMax, st)
	}
	st = c.store(origin, down, errors.New("HTTP 503"), 2, backoff)
	if st.rules == nil || !st.rules.Unreachable() || st.retry.IsZero() {
		t.Errorf("refresh unreachable over a copy %v old = %+v; want unreachable, retry later", robotsStaleMax, st)
	}

	// A clock set back trusts the copy no longer than robotsTTL from now.
	now := fetched.Add(-48 * time.Hour)
	c = restarted(now)
	if st, _, _ := c.lookup(context.Background(), origin); st.rules != good {
		t.Fatalf("lookup of a copy fetched in the future = %+v; want its rules", st)
	}
	if exp := c.entries[origin].expires; !exp.Equal(now.Add(robotsTTL)) {
		t.Errorf("a copy fetched in the future expires at %v; want %v", exp, now.Add(robotsTTL))
	}
}

// expire makes an origin's next lookup fetch robots.txt again, whether
// its rules are in the cache or only stored, and so does a stored copy
// marked to be fetched again (by a stopped crawl's recrawl); the rules it
// had stay in use if that fetch finds robots.txt unreachable.
func TestRobotsCacheExpire(t *testing.T) {
	fetched := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	now := fetched.Add(time.Hour)
	backoff := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	good := robots.FromStatus(200, []byte("User-agent: *\nDisallow: /private/\n"), "crawler")
	down := robots.FromStatus(503, nil, "crawler")
	c := newRobotsCache(func() time.Time { return now })
	c.load = func(origin string) (*robots.Rules, time.Time, bool) {
		return good, fetched, origin == "http://marked.test"
	}
	for _, origin := range []string{"http://cached.test", "http://stored.test", "http://marked.test"} {
		switch origin {
		case "http://cached.test":
			if st, _, _ := c.lookup(context.Background(), origin); st.rules != good {
				t.Fatalf("%s: lookup = %+v; want the stored copy, restored", origin, st)
			}
			c.expire(origin)
		case "http://stored.test":
			c.expire(origin)
		}
		if st, _, _ := c.lookup(context.Background(), origin); st.rules != nil {
			t.Fatalf("%s: lookup after expire = %+v; want the caller to fetch", origin, st)
		}
		if st := c.store(origin, down, errors.New("HTTP 503"), 2, backoff); st.rules != good {
			t.Errorf("%s: refetch unreachable = %+v; want the rules it had kept in use", origin, st)
		}
		if st, _, _ := c.lookup(context.Background(), origin); st.rules != good {
			t.Errorf("%s: lookup after the refetch = %+v; want the kept rules, no new fetch", origin, st)
		}
	}
	if len(c.refetch) != 0 {
		t.Errorf("refetch marks left: %v", c.refetch)
	}
}

// A reload that changes the robots token clears the cache, but cannot
// clear an entry whose fetch or restore is under way. The outcome of such
// a fetch, parsed for the old token, is dropped instead of kept for 24
// hours: the next lookup starts over, as after the clear. A restore
// whose stored copy was parsed across a clear parses it again.
func TestRobotsClearDuringFetchDropsItsRules(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	const origin = "http://a.test"
	backoff := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	file := []byte("User-agent: old\nDisallow: /old/\n\nUser-agent: new\nDisallow: /new/\n")
	forOld := robots.FromStatus(200, file, "old")
	newPath := &url.URL{Path: "/new/x"}

	for _, outcome := range []*robots.Rules{forOld, robots.FromStatus(503, nil, "old")} {
		c := newRobotsCache(func() time.Time { return now })
		if st, _, _ := c.lookup(context.Background(), origin); st.rules != nil {
			t.Fatalf("first lookup = %+v; want the caller to fetch", st)
		}
		c.clear() // the reload, while the fetch runs
		if st := c.store(origin, outcome, nil, 2, backoff); st.rules != nil || !st.retry.IsZero() || st.gaveUp {
			t.Errorf("store after a clear (%s) = %+v; want nothing to apply", robotsOutcome(outcome, robotsState{}), st)
		}
		if st, _, _ := c.lookup(context.Background(), origin); st.rules != nil {
			t.Errorf("lookup after a fetch the clear overlapped (%s) = %+v; want a new fetch, not rules for the old token",
				robotsOutcome(outcome, robotsState{}), st)
		}
	}

	// The stored copy: the first parse overlaps a clear, the second is
	// for the token then in force.
	c := newRobotsCache(func() time.Time { return now })
	token := "old"
	loads := 0
	c.load = func(string) (*robots.Rules, time.Time, bool) {
		loads++
		rules := robots.FromStatus(200, file, token)
		if loads == 1 {
			token = "new"
			c.clear()
		}
		return rules, now.Add(-time.Hour), false
	}
	st, _, err := c.lookup(context.Background(), origin)
	if err != nil || st.rules == nil || st.rules.Allowed(newPath) || loads != 2 {
		t.Errorf("restore across a clear: %+v, %v after %d loads; want the copy parsed again for the new token", st, err, loads)
	}
}
