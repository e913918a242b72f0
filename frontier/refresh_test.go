package frontier

import (
	"context"
	"testing"
	"time"

	"crawler/store"
)

// commitWait releases c's item, commits c and waits until the writer has.
func commitWait(t *testing.T, q *Queue, c *Completion) {
	t.Helper()
	q.Release(c.Item, time.Now())
	done := make(chan struct{})
	c.Done = func() { close(done) }
	if err := q.Commit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	<-done
}

// commitDone commits it as done, due for recrawl at recrawl (zero: none),
// and waits until the writer has.
func commitDone(t *testing.T, q *Queue, it *Item, recrawl time.Time) {
	t.Helper()
	commitWait(t, q, &Completion{Item: it, State: StateDone, RecrawlAt: recrawl})
}

// A refresh queues a done URL again at once; the recrawl it had pending
// is dropped when due instead of fetching the URL a second time. A
// refresh of a URL not done changes nothing; of one not seen, it is an
// ordinary link. A record written before the recrawl time was kept in
// it still has its recrawl done.
func TestRefreshSupersedesRecrawl(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	x := link("a", 1)
	if _, err := q.Add(ctx, []Link{x}); err != nil {
		t.Fatal(err)
	}
	commitDone(t, q, next(t, q), time.Now().Add(300*time.Millisecond))
	stale := time.Now().Add(300 * time.Millisecond)

	refresh := x
	refresh.Refresh = true
	if n, err := q.Add(ctx, []Link{refresh}); err != nil || n != 1 {
		t.Fatalf("refresh of a done URL: %d, %v; want it queued", n, err)
	}
	if c := q.Counts(); c.Queued != 1 || c.Done != 0 {
		t.Fatalf("after the refresh: %+v; want 1 queued, 0 done", c)
	}
	mustCheck(t, db)
	it := next(t, q)
	if it.URL != x.URL {
		t.Fatalf("got %s; want the refreshed %s", it.URL, x.URL)
	}
	commitDone(t, q, it, time.Now().Add(time.Hour))
	time.Sleep(time.Until(stale) + 200*time.Millisecond) // the superseded recrawl falls due
	if it := nextWithin(t, q, 200*time.Millisecond); it != nil {
		t.Fatalf("released %s: the recrawl the refresh superseded was done too", it.URL)
	}
	if c := q.Counts(); c.Queued != 0 || c.Done != 1 {
		t.Errorf("after the stale recrawl fell due: %+v; want 0 queued, 1 done", c)
	}
	mustCheck(t, db)

	// Not done: nothing changes; not seen: queued as any link.
	y, z := link("b", 1), link("c", 1)
	if _, err := q.Add(ctx, []Link{y}); err != nil {
		t.Fatal(err)
	}
	y.Refresh, z.Refresh = true, true
	if n, err := q.Add(ctx, []Link{y, z}); err != nil || n != 1 {
		t.Errorf("refresh of a queued and an unseen URL: %d new, %v; want 1 (the unseen one)", n, err)
	}
	if c := q.Counts(); c.Queued != 2 {
		t.Errorf("queued %d; want 2", c.Queued)
	}
	for range 2 {
		commitDone(t, q, next(t, q), time.Time{})
	}

	// A record of an older version, without the recrawl time: its
	// recrawl entry is current.
	w := link("d", 1)
	if _, err := q.Add(ctx, []Link{w}); err != nil {
		t.Fatal(err)
	}
	commitDone(t, q, next(t, q), time.Now().Add(300*time.Millisecond))
	err := db.Update(func(tx *store.Tx) error {
		b := tx.Bolt().Bucket(bucketSeen)
		r, err := unmarshalURLRecord(b.Get(seenKey(w.URL)))
		if err != nil || r.Recrawl == 0 {
			t.Fatalf("record of a URL due for recrawl: %+v, %v; want its recrawl time", r, err)
		}
		r.Recrawl = 0
		return b.Put(seenKey(w.URL), r.marshal())
	})
	if err != nil {
		t.Fatal(err)
	}
	if it := nextWithin(t, q, 2*time.Second); it == nil || it.URL != w.URL {
		t.Fatalf("got %v; want %s recrawled", it, w.URL)
	} else {
		commitDone(t, q, it, time.Time{})
	}
	mustCheck(t, db)
}

// A revisit queues a URL again from any finished state, with its
// attempts started over, its depth as it was seen and its item marked
// Revisit; per-host and crawl totals follow (the frontier check agrees).
// A queued URL and one never seen are left alone. The mark survives a
// retry.
func TestRevisitFinishedURLs(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	done, failed, disallowed, queued := link("a", 1), link("b", 1), link("c", 1), link("e", 1)
	failed.Depth = 3
	disallowed.Disallowed = true
	if _, err := q.Add(ctx, []Link{done, failed, disallowed}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		it := next(t, q)
		if it.Revisit {
			t.Errorf("%s: a first fetch is marked Revisit", it.URL)
		}
		st := StateDone
		if it.URL == failed.URL {
			st = StateFailed
		}
		commitWait(t, q, &Completion{Item: it, State: st})
	}
	if _, err := q.Add(ctx, []Link{queued}); err != nil {
		t.Fatal(err)
	}
	if c := q.Counts(); c.Done != 1 || c.Failed != 1 || c.Disallowed != 1 || c.Queued != 1 {
		t.Fatalf("before: %+v; want 1 done, 1 failed, 1 disallowed, 1 queued", c)
	}

	var links []Link
	for _, l := range []Link{done, failed, disallowed, queued, link("f", 1)} {
		l.Revisit, l.Disallowed, l.Depth = true, false, 0
		links = append(links, l)
	}
	if n, err := q.Add(ctx, links); err != nil || n != 3 {
		t.Fatalf("revisit: %d queued, %v; want 3 (done, failed, disallowed)", n, err)
	}
	if c := q.Counts(); c.Done != 0 || c.Failed != 0 || c.Disallowed != 0 || c.Queued != 4 {
		t.Errorf("after: %+v; want 4 queued, none finished", c)
	}
	mustCheck(t, db)
	err := db.View(func(tx *store.Tx) error {
		if _, err := URLState(tx, "http://f/p1"); err == nil {
			t.Errorf("a revisit of an unseen URL added it")
		}
		return ReadHosts(tx, func(h *HostInfo) error {
			if h.Queued != 1 || h.Done+h.Failed+h.Disallowed != 0 {
				t.Errorf("host %s: %+v; want 1 queued, none finished", h.Host, h)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	got := map[string]*Item{} // each URL as first handed out
	for finished := 0; finished < 4; {
		it := next(t, q)
		if got[it.URL] == nil {
			got[it.URL] = it
		}
		if want := it.URL != queued.URL; it.Revisit != want {
			t.Errorf("%s: Revisit %v; want %v", it.URL, it.Revisit, want)
		}
		if it.URL == failed.URL && it.Attempts == 0 { // retried: keeps its mark
			commitWait(t, q, &Completion{Item: it, RetryAt: time.Now()})
			continue
		}
		if it.URL == failed.URL && it.Attempts != 1 {
			t.Errorf("retried %s: %d attempts; want 1", it.URL, it.Attempts)
		}
		commitDone(t, q, it, time.Time{})
		finished++
	}
	if it := got[failed.URL]; it == nil || it.Depth != 3 || it.Attempts != 0 {
		t.Errorf("revisited failed URL: %+v; want depth 3 (as seen), attempts 0", it)
	}
	if c := q.Counts(); c.Done != 4 || c.Queued != 0 {
		t.Errorf("at the end: %+v; want 4 done", c)
	}
	mustCheck(t, db)
}

// A refreshed URL whose fetch is retried, fails or is disallowed keeps
// the recrawl entry it had until due, when promote drops it (its record
// is no longer done): check allows it, as it allows one of a URL still
// queued by the refresh.
func TestCheckAllowsRecrawlLeftByARefreshNotDone(t *testing.T) {
	for _, end := range []struct {
		name string
		c    Completion
	}{
		{"retried", Completion{RetryAt: time.Now().Add(time.Hour)}},
		{"failed", Completion{State: StateFailed}},
		{"disallowed", Completion{State: StateDisallowed}},
	} {
		t.Run(end.name, func(t *testing.T) {
			db, q := openTest(t, "", Options{PerHostConcurrency: 1})
			ctx := context.Background()
			x := link("a", 1)
			if _, err := q.Add(ctx, []Link{x}); err != nil {
				t.Fatal(err)
			}
			commitDone(t, q, next(t, q), time.Now().Add(time.Hour))
			x.Refresh = true
			if n, err := q.Add(ctx, []Link{x}); err != nil || n != 1 {
				t.Fatalf("refresh of a done URL: %d, %v; want it queued", n, err)
			}
			c := end.c
			c.Item = next(t, q)
			commitWait(t, q, &c)
			mustCheck(t, db)
		})
	}
}

// A host's first fetches (and their retries, which keep their depth) go
// before its revisits, recrawls come due and refreshes, whatever their
// depths; revisits go in the order they were queued. So a host too slow
// for recrawl.interval falls behind on its recrawls, not on its new URLs:
// shallow recrawls coming due without end held deeper first fetches and
// retries back for good (found in a soak).
func TestRevisitsGoAfterFirstFetches(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	a0, a1 := link("a", 0), link("a", 1)
	a1.Depth = 2
	if _, err := q.Add(ctx, []Link{a0, a1}); err != nil {
		t.Fatal(err)
	}
	commitDone(t, q, next(t, q), time.Time{})
	commitDone(t, q, next(t, q), time.Time{})

	// Refreshed: a1 (depth 2) before a0 (depth 0); then a new, deep URL.
	r0, r1 := a0, a1
	r0.Refresh, r1.Refresh = true, true
	deep := link("a", 5)
	deep.Depth = 5
	if n, err := q.Add(ctx, []Link{r1, r0, deep}); err != nil || n != 3 {
		t.Fatalf("Add: %d, %v; want 3", n, err)
	}
	var last *Item
	for _, want := range []string{deep.URL, a1.URL, a0.URL} {
		it := next(t, q)
		if it.URL != want {
			t.Fatalf("got %s; want %s (first fetches, then revisits as queued)", it.URL, want)
		}
		if it.URL == a0.URL {
			last = it
			continue
		}
		commitDone(t, q, it, time.Time{})
	}

	// A recrawl that comes due while the host is busy goes after a first
	// fetch found meanwhile, at any depth.
	commitDone(t, q, last, time.Now().Add(50*time.Millisecond)) // a0, due again soon
	busy := link("a", 6)
	if _, err := q.Add(ctx, []Link{busy}); err != nil {
		t.Fatal(err)
	}
	held := next(t, q)
	time.Sleep(200 * time.Millisecond) // a0's recrawl is queued
	deeper := link("a", 7)
	deeper.Depth = 9
	if _, err := q.Add(ctx, []Link{deeper}); err != nil {
		t.Fatal(err)
	}
	commitDone(t, q, held, time.Time{})
	if it := next(t, q); it.URL != deeper.URL || it.Revisit {
		t.Fatalf("got %s (revisit %v); want the first fetch %s before the recrawl of %s", it.URL, it.Revisit, deeper.URL, a0.URL)
	} else {
		commitDone(t, q, it, time.Time{})
	}
	if it := next(t, q); it.URL != a0.URL || !it.Revisit {
		t.Fatalf("got %s; want the recrawl of %s", it.URL, a0.URL)
	} else {
		commitDone(t, q, it, time.Time{})
	}
	mustCheck(t, db)
}
