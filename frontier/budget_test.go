package frontier

import (
	"context"
	"path/filepath"
	"testing"
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
