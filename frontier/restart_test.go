package frontier

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"crawler/store"
)

// After Open, no host's first request starts before its delay has run:
// the process before may have sent one just before it stopped. A host
// without a delay goes at once, and a host first seen once its delay
// after Open has passed is not held back. The rule holds for a queue
// reopened on the same file (a restart) as for a new one.
func TestRestartKeepsTheGap(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	path := filepath.Join(t.TempDir(), "crawl.db")
	opts := Options{PerHostConcurrency: 1, PerHostDelay: time.Hour, Now: clock.Now,
		HostLimits: map[string]HostLimits{"fast": {Delay: 0}}}
	db, q := openTest(t, path, opts)
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("a", 2), link("fast", 1)}); err != nil {
		t.Fatal(err)
	}
	if it := next(t, q); it.Host != "fast" {
		t.Fatalf("first released %s; want the host without a delay", it.URL)
	}
	if it := nextWithin(t, q, 300*time.Millisecond); it != nil {
		t.Fatalf("released %s before its host's delay after Open", it.URL)
	}

	// A restart: the same file, the same moment. Host a's URL (now
	// queued again) still waits for the delay after this Open.
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err := Open(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := q.Close(); err != nil {
			t.Error(err)
		}
	}()
	if it := nextWithin(t, q, 300*time.Millisecond); it != nil && it.Host == "a" {
		t.Fatalf("after a restart released %s before the delay", it.URL)
	} else if it != nil {
		finish(t, q, it)
	}

	clock.advance(2 * time.Hour)
	if _, err := q.Add(ctx, []Link{link("b", 1)}); err != nil { // also wakes the dispatcher
		t.Fatal(err)
	}
	var hosts []string
	for range 2 {
		it := next(t, q)
		hosts = append(hosts, it.Host)
		finish(t, q, it)
	}
	sort.Strings(hosts)
	if hosts[0] != "a" || hosts[1] != "b" {
		t.Fatalf("once the delay passed released %v; want a's URL and b's at once", hosts)
	}
}

// ColdStart lets the first request of every host go at once.
func TestColdStart(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := Open(db, Options{PerHostConcurrency: 1, PerHostDelay: time.Hour, ColdStart: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Add(context.Background(), []Link{link("a", 1), link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		next(t, q)
	}
}
