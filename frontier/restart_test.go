package frontier

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"crawler/store"
)

// After a restart (Open of a file that held URLs), no host's first
// request starts before its delay has run: the process before may have
// sent one just before it stopped. A host without a delay goes at once,
// and a host first seen once its delay after Open has passed is not held
// back. A file that never held a URL starts cold.
func TestRestartKeepsTheGap(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	path := filepath.Join(t.TempDir(), "crawl.db")
	opts := Options{PerHostConcurrency: 1, PerHostDelay: time.Hour, Now: clock.Now,
		HostLimits: map[string]HostLimits{"fast": {Delay: 0}}}
	db, q := openTest(t, path, opts)
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("a", 2)}); err != nil {
		t.Fatal(err)
	}
	first := next(t, q) // a new file: no process crawled from it
	if first.Host != "a" {
		t.Fatalf("released %s; want a's first URL", first.URL)
	}
	finish(t, q, first)

	// A restart at the same moment: a's second URL waits for the delay
	// after this Open; the host without one does not.
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
	if _, err := q.Add(ctx, []Link{link("fast", 1)}); err != nil {
		t.Fatal(err)
	}
	if it := next(t, q); it.Host != "fast" {
		t.Fatalf("after a restart released %s first; want the host without a delay", it.URL)
	} else {
		finish(t, q, it)
	}
	if it := nextWithin(t, q, 300*time.Millisecond); it != nil {
		t.Fatalf("after a restart released %s before its host's delay", it.URL)
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

// ColdStart lets the first request of every host go at once after a
// restart too.
func TestColdStart(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts := Options{PerHostConcurrency: 1, PerHostDelay: time.Hour}
	q, err := Open(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Add(context.Background(), []Link{link("a", 1), link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	opts.ColdStart = true
	if q, err = Open(db, opts); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for range 2 {
		next(t, q)
	}
}
