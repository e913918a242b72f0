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
	q = reopen(t, db, q, opts)
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
	if hosts := nextHosts(t, q, 2); hosts[0] != "a" || hosts[1] != "b" {
		t.Fatalf("once the delay passed released %v; want a's URL and b's at once", hosts)
	}
}

// After a restart, a delay set for a host the queue has not seen yet (a
// Crawl-delay the engine read from a stored robots.txt, for a host whose
// first URL of this process is a retry or recrawl that comes due later)
// holds that host's first start until Open plus the delay, but only while
// the hold would still run: a host first seen after that goes at once. A
// new file keeps no such delay.
func TestRestartKeepsDelaySetBeforeTheHostIsSeen(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	path := filepath.Join(t.TempDir(), "crawl.db")
	opts := Options{PerHostConcurrency: 1, Now: clock.Now}
	db, q := openTest(t, path, opts)
	ctx := context.Background()
	q.SetDelay("cold", time.Hour) // a new file: nothing to hold
	if _, err := q.Add(ctx, []Link{link("seed", 1), link("cold", 1)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		finish(t, q, next(t, q))
	}
	q = reopen(t, db, q, opts)
	q.SetDelay("late", time.Hour)
	q.SetDelay("never", time.Hour) // never gets a URL
	q.SetDelay("short", time.Minute)
	q.SetDelay("fast", 0)          // no delay: nothing to keep
	clock.advance(2 * time.Minute) // short's hold has run out
	if _, err := q.Add(ctx, []Link{link("late", 1), link("short", 1), link("fast", 1)}); err != nil {
		t.Fatal(err)
	}
	if hosts := nextHosts(t, q, 2); hosts[0] != "fast" || hosts[1] != "short" {
		t.Fatalf("after a restart released %v first; want fast's and short's URLs", hosts)
	}
	if it := nextWithin(t, q, 300*time.Millisecond); it != nil {
		t.Fatalf("released %s before the delay set for its host before it was seen", it.URL)
	}
	if got := q.Live()["late"].Delay; got != time.Hour.String() {
		t.Errorf("late's delay %s; want the %v set before it was seen", got, time.Hour)
	}
	clock.advance(time.Hour)
	if _, err := q.Add(ctx, []Link{link("late", 2)}); err != nil { // also wakes the dispatcher
		t.Fatal(err)
	}
	if hosts := nextHosts(t, q, 1); hosts[0] != "late" {
		t.Fatalf("once the delay passed released %v; want late's first URL", hosts)
	}
	q.mu.Lock()
	kept := len(q.startDelays)
	q.mu.Unlock()
	if kept != 0 {
		t.Errorf("%d delays still kept for hosts not seen after the restart hold ended; want none", kept)
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

// reopen closes q and opens the frontier of db again, as a restart does;
// the new queue is closed at cleanup.
func reopen(t *testing.T, db *store.DB, q *Queue, opts Options) *Queue {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err := Open(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Error(err)
		}
	})
	return q
}

// nextHosts takes n URLs, finishes each, and returns their hosts sorted.
func nextHosts(t *testing.T, q *Queue, n int) []string {
	t.Helper()
	var hosts []string
	for range n {
		it := next(t, q)
		hosts = append(hosts, it.Host)
		finish(t, q, it)
	}
	sort.Strings(hosts)
	return hosts
}
