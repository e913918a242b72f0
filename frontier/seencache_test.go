package frontier

import (
	"context"
	"fmt"
	"testing"
)

func TestSeenCache(t *testing.T) {
	c := newSeenCache()
	a, b := seenKey("https://a.example/1"), seenKey("https://a.example/2")
	if c.has(a) {
		t.Fatal("empty cache has a key")
	}
	c.add(a)
	if !c.has(a) || c.has(b) {
		t.Fatalf("after add(a): has(a)=%v has(b)=%v", c.has(a), c.has(b))
	}
	// A key sharing a's slot evicts it; the cache then misses a (and the
	// writer looks in the bucket), never answers for the wrong key.
	var same []byte
	for i := 0; same == nil; i++ {
		if k := seenKey(fmt.Sprintf("https://a.example/x%d", i)); c.slot(k) == c.slot(a) {
			same = k
		}
	}
	c.add(same)
	if c.has(a) || !c.has(same) {
		t.Fatalf("after a collision: has(a)=%v has(other)=%v", c.has(a), c.has(same))
	}
	c.reset()
	if c.has(same) {
		t.Fatal("reset kept a key")
	}
}

// A link refused for its host's budget is not remembered as seen: once
// the budget is raised (a reload), the same link is queued.
func TestBudgetRefusalIsNotSeen(t *testing.T) {
	_, q := openTest(t, "", Options{MaxPerHost: 1})
	ctx := context.Background()
	l1, l2 := link("a", 1), link("a", 2)
	l1.Depth, l2.Depth = 1, 1
	if n, err := q.Add(ctx, []Link{l1, l2}); err != nil || n != 1 {
		t.Fatalf("Add = %d, %v; want 1 (budget of 1)", n, err)
	}
	if n, _ := q.Add(ctx, []Link{l2}); n != 0 {
		t.Fatalf("Add over budget = %d; want 0", n)
	}
	q.SetLimits(Limits{PerHostConcurrency: 1, MaxPerHost: 10})
	if n, err := q.Add(ctx, []Link{l2, l1}); err != nil || n != 1 {
		t.Fatalf("Add after raising the budget = %d, %v; want only the refused link", n, err)
	}
}

// A redirect target found by crawling counts against its host's budget
// like any other link, so a host that redirects every page to a new URL
// cannot multiply its pages by max_redirects+1; a seed's redirect chain
// (depth 0) stays exempt, as seeds are.
func TestBudgetCountsRedirectTargets(t *testing.T) {
	_, q := openTest(t, "", Options{MaxPerHost: 1})
	ctx := context.Background()
	l1 := link("a", 1)
	l1.Depth = 1
	if n, err := q.Add(ctx, []Link{l1}); err != nil || n != 1 {
		t.Fatalf("Add = %d, %v; want 1 (budget of 1)", n, err)
	}
	target := link("a", 2)
	target.Depth, target.Hops, target.Origin, target.Via = 1, 1, l1.URL, l1.URL
	if n, err := q.Add(ctx, []Link{target}); err != nil || n != 0 {
		t.Fatalf("Add of a redirect target over budget = %d, %v; want 0", n, err)
	}
	if c := q.Counts(); c.Trapped != 1 {
		t.Fatalf("Trapped = %d; want 1", c.Trapped)
	}
	seedTarget := link("a", 3)
	seedTarget.Hops, seedTarget.Origin, seedTarget.Via = 1, "http://a/seed", "http://a/seed"
	if n, err := q.Add(ctx, []Link{seedTarget}); err != nil || n != 1 {
		t.Fatalf("Add of a seed's redirect target = %d, %v; want 1 (seeds are exempt)", n, err)
	}
}
