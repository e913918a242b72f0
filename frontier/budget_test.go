package frontier

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// MaxURLs bounds the URLs ever queued over the crawl, seeds counted but
// never refused, across a restart; a host's HostLimits.MaxPerHost
// replaces MaxPerHost for it. What they refuse is counted as trapped.
func TestBudgets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, q := openTest(t, path, Options{MaxURLs: 5})
	seed := link("s", 0)
	var links []Link
	for i := range 6 {
		l := link("h", i)
		l.Depth = 1
		links = append(links, l)
	}
	if n, err := q.Add(ctx, append([]Link{seed}, links...)); err != nil || n != 5 {
		t.Fatalf("Add under a budget of 5: %d new, %v; want 5 (the seed and 4 links)", n, err)
	}
	if c := q.Counts(); c.Trapped != 2 {
		t.Errorf("trapped %d; want 2", c.Trapped)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err := Open(db, Options{MaxURLs: 6})
	if err != nil {
		t.Fatal(err)
	}
	more := link("h", 100)
	more.Depth = 1
	another := link("s", 1) // a seed: exempt, and counted
	if n, err := q.Add(ctx, []Link{more, another, links[5]}); err != nil || n != 2 {
		t.Errorf("after reopening with a budget of 6: %d new, %v; want 2 (one link, the seed)", n, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)

	_, q = openTest(t, "", Options{MaxPerHost: 3, HostLimits: map[string]HostLimits{"small": {MaxPerHost: 1}, "big": {MaxPerHost: 10}}})
	links = links[:0]
	for _, h := range []string{"small", "big", "other"} {
		for i := range 5 {
			l := link(h, i)
			l.Depth = 1
			links = append(links, l)
		}
	}
	if n, err := q.Add(ctx, links); err != nil || n != 1+5+3 {
		t.Errorf("per-host budgets 1, 10 and the default 3: %d new, %v; want 9", n, err)
	}
}

// A URL queued before its host's robots.txt was known and turned away by
// it when its turn came was never fetched: it gives its place in the
// host's budget (and the crawl's) back, as a link judged disallowed when
// found never takes one. A URL fetched before and revisited keeps its
// place: it was counted once, when first queued.
func TestDisallowedGivesBudgetBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, q := openTest(t, path, Options{MaxPerHost: 2, MaxURLs: 2})
	deep := func(i int) Link { l := link("h", i); l.Depth = 1; return l }
	if n, err := q.Add(ctx, []Link{deep(0), deep(1), deep(2)}); err != nil || n != 2 {
		t.Fatalf("Add under a budget of 2: %d new, %v", n, err)
	}
	finish := func(q *Queue, state State) *Item {
		it := next(t, q)
		q.Release(it, time.Now())
		if err := q.Commit(ctx, &Completion{Item: it, State: state}); err != nil {
			t.Fatal(err)
		}
		return it
	}
	finish(q, StateDisallowed)
	if n, err := q.Add(ctx, []Link{deep(3), deep(4)}); err != nil || n != 1 {
		t.Errorf("after a queued URL was disallowed: %d new, %v; want 1 (its place back)", n, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err := Open(db, Options{MaxPerHost: 2, MaxURLs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := q.Add(ctx, []Link{deep(5)}); err != nil || n != 0 {
		t.Errorf("after a restart, the budget full again: %d new, %v; want 0", n, err)
	}

	// A revisit that robots.txt now forbids gives nothing back.
	done := finish(q, StateDone)
	again := Link{URL: done.URL, Host: done.Host, Depth: 1, Revisit: true}
	if n, err := q.Add(ctx, []Link{again}); err != nil || n != 1 {
		t.Fatalf("revisit: %d, %v", n, err)
	}
	finish(q, StateDisallowed)
	finish(q, StateDisallowed)
	// Of the two disallowed now, only the first-time URL gave its place.
	if n, err := q.Add(ctx, []Link{deep(6), deep(7)}); err != nil || n != 1 {
		t.Errorf("after a first-time URL and a revisit were disallowed: %d new, %v; want 1", n, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)
}
