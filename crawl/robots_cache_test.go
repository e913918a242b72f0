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
