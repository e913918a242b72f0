package frontier

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"crawler/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openTest opens a store and a queue on it, closing both (and checking the
// file's consistency) at cleanup.
func openTest(t *testing.T, path string, opts Options) (*store.DB, *Queue) {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "crawl.db")
	}
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Open(db, opts)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("close queue: %v", err)
		}
		mustCheck(t, db)
		db.Close()
	})
	return db, q
}

func mustCheck(t *testing.T, db *store.DB) {
	t.Helper()
	for _, err := range db.Check() {
		t.Errorf("bbolt check: %v", err)
	}
	if err := db.View(func(tx *store.Tx) error { return Check(tx) }); err != nil {
		t.Errorf("frontier check: %v", err)
	}
}

func link(host string, i int) Link {
	return Link{URL: fmt.Sprintf("http://%s/p%d", host, i), Host: host}
}

func next(t *testing.T, q *Queue) *Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	it, err := q.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return it
}

func TestAddDedup(t *testing.T) {
	_, q := openTest(t, "", Options{})
	ctx := context.Background()
	n, err := q.Add(ctx, []Link{link("a", 1), link("a", 2), link("a", 1)})
	if err != nil || n != 2 {
		t.Fatalf("Add = %d, %v; want 2 new", n, err)
	}
	n, _ = q.Add(ctx, []Link{link("a", 2), link("b", 1)})
	if n != 1 {
		t.Fatalf("second Add = %d; want 1 new", n)
	}
	if c := q.Counts(); c.Queued != 3 {
		t.Fatalf("queued = %d; want 3", c.Queued)
	}
}

func TestCommitIsAtomicAndDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 0)}); err != nil {
		t.Fatal(err)
	}
	it := next(t, q)
	q.Release(it, time.Now())
	page := &store.Page{URL: it.URL, Status: 200, Title: "zero"}
	err = q.Commit(ctx, &Completion{Item: it, State: StateDone, Page: page, Body: db.CompressBody([]byte("<html>")),
		Links: []Link{link("a", 1), link("b", 1), link("a", 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, q = openTest(t, path, Options{})
	c := q.Counts()
	if c.Done != 1 || c.Queued != 2 || c.InFlight != 0 {
		t.Fatalf("after reopen counts = %+v; want done 1, queued 2", c)
	}
	err = db.View(func(tx *store.Tx) error {
		p, err := tx.Page(it.URL)
		if err != nil || p.Title != "zero" {
			return fmt.Errorf("page = %+v, %v", p, err)
		}
		body, err := tx.Body(it.URL)
		if err != nil || string(body) != "<html>" {
			return fmt.Errorf("body = %q, %v", body, err)
		}
		st, err := URLState(tx, it.URL)
		if err != nil || st != StateDone {
			return fmt.Errorf("state = %v, %v", st, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An item leased but never committed (the process died) is queued again
// at the next open, and is the only thing fetched twice.
func TestLeasedItemSurvivesCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, _ := store.Open(path, store.Options{NoSync: true})
	q, _ := Open(db, Options{})
	ctx := context.Background()
	q.Add(ctx, []Link{link("a", 1), link("a", 2)})
	lost := next(t, q) // leased, never committed
	done := next(t, q)
	q.Release(done, time.Now())
	q.Release(lost, time.Now())
	q.Commit(ctx, &Completion{Item: done, State: StateDone})
	q.Close()
	db.Close()

	_, q = openTest(t, path, Options{})
	if c := q.Counts(); c.Queued != 1 || c.Done != 1 {
		t.Fatalf("counts = %+v; want queued 1 done 1", c)
	}
	if it := next(t, q); it.URL != lost.URL {
		t.Fatalf("requeued %s; want %s", it.URL, lost.URL)
	}
}

func TestPerHostConcurrencyAndDelay(t *testing.T) {
	const delay = 30 * time.Millisecond
	_, q := openTest(t, "", Options{PerHostConcurrency: 1, PerHostDelay: delay})
	ctx := context.Background()
	var links []Link
	for i := range 4 {
		links = append(links, link("a", i), link("b", i))
	}
	q.Add(ctx, links)
	var mu sync.Mutex
	starts := map[string][]time.Time{}
	inflight := map[string]int{}
	var wg sync.WaitGroup
	for range 4 { // more workers than hosts
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				it, err := q.Next(cctx)
				cancel()
				if err != nil {
					return
				}
				now := time.Now()
				mu.Lock()
				inflight[it.Host]++
				if inflight[it.Host] > 1 {
					t.Errorf("host %s has %d in flight", it.Host, inflight[it.Host])
				}
				starts[it.Host] = append(starts[it.Host], now)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
				mu.Lock()
				inflight[it.Host]--
				mu.Unlock()
				q.Release(it, now)
				q.Commit(ctx, &Completion{Item: it, State: StateDone})
				if q.Idle() {
					return
				}
			}
		}()
	}
	wg.Wait()
	for h, ts := range starts {
		if len(ts) != 4 {
			t.Errorf("host %s fetched %d times; want 4", h, len(ts))
		}
		for i := 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap < delay {
				t.Errorf("host %s: gap %v < delay %v", h, gap, delay)
			}
		}
	}
}

func TestRetryWaitsThenReturns(t *testing.T) {
	_, q := openTest(t, "", Options{})
	ctx := context.Background()
	q.Add(ctx, []Link{link("a", 1)})
	it := next(t, q)
	q.Release(it, time.Now())
	at := time.Now().Add(50 * time.Millisecond)
	q.Commit(ctx, &Completion{Item: it, RetryAt: at})
	again := next(t, q)
	if time.Now().Before(at) {
		t.Fatalf("retry released before its time")
	}
	if again.URL != it.URL || again.Attempts != 1 {
		// Exported fields only: the dispatcher may still set an item's
		// clock fields, under the queue's lock, after handing it out.
		t.Fatalf("retry = %s with %d attempts; want %s with 1", again.URL, again.Attempts, it.URL)
	}
	q.Release(again, time.Now())
	q.Commit(ctx, &Completion{Item: again, State: StateFailed})
	deadline := time.Now().Add(2 * time.Second)
	for !q.Idle() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c := q.Counts(); c.Failed != 1 || c.Queued != 0 || c.InFlight != 0 {
		t.Fatalf("counts = %+v", c)
	}
}

func TestRequeueKeepsOrder(t *testing.T) {
	_, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	q.Add(ctx, []Link{link("a", 1), link("a", 2)})
	for range 50 { // the dispatcher races a requeue only now and then
		it := next(t, q)
		q.Requeue(it, time.Time{})
		again := next(t, q)
		if again.URL != it.URL {
			t.Fatalf("after requeue got %s; want %s first", again.URL, it.URL)
		}
		q.Requeue(again, time.Time{})
	}
}

func TestBreadthFirstWithinHost(t *testing.T) {
	_, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	deep := link("a", 1)
	deep.Depth = 3
	shallow := link("a", 2)
	shallow.Depth = 1
	q.Add(ctx, []Link{deep, shallow})
	if it := next(t, q); it.URL != shallow.URL {
		t.Fatalf("first = %s; want the shallower %s", it.URL, shallow.URL)
	}
}

// A URL that made no request gives its politeness slot back: with the
// clock frozen, the host's next URL is released at once. Without the
// give-back it would wait for a delay that never passes.
func TestReleaseWithoutRequestGivesSlotBack(t *testing.T) {
	frozen := time.Unix(1000, 0)
	_, q := openTest(t, "", Options{PerHostConcurrency: 1, PerHostDelay: time.Hour, Now: func() time.Time { return frozen }})
	ctx := context.Background()
	q.Add(ctx, []Link{link("a", 1), link("a", 2)})
	first := next(t, q)
	q.Release(first, time.Time{}) // e.g. disallowed by robots.txt
	q.Commit(ctx, &Completion{Item: first, State: StateDisallowed})
	second := next(t, q)
	q.Release(second, frozen) // a real request: the hour now applies
	q.Commit(ctx, &Completion{Item: second, State: StateDone})
	if second.URL == first.URL {
		t.Fatalf("same URL twice")
	}
}

// Links known to be disallowed are recorded, never queued.
func TestDisallowedLinkIsNotQueued(t *testing.T) {
	db, q := openTest(t, "", Options{})
	l := link("a", 1)
	l.Disallowed = true
	if n, err := q.Add(context.Background(), []Link{l, link("a", 2)}); err != nil || n != 2 {
		t.Fatalf("Add = %d, %v", n, err)
	}
	if c := q.Counts(); c.Queued != 1 || c.Disallowed != 1 {
		t.Fatalf("counts = %+v; want 1 queued, 1 disallowed", c)
	}
	db.View(func(tx *store.Tx) error {
		if st, _ := URLState(tx, l.URL); st != StateDisallowed {
			t.Errorf("state = %v; want disallowed", st)
		}
		return nil
	})
}

// A URL the dispatcher picked but could not hand out before a pause goes
// back uncounted: it is queued again, not in flight, and its host's
// politeness slot is given back, since no request was made.
// waitPicked waits until the dispatcher has picked a URL of host, which
// it holds until a worker takes it.
func waitPicked(ctx context.Context, t *testing.T, q *Queue, host string) {
	t.Helper()
	for q.Live()[host].InFlight == 0 {
		if ctx.Err() != nil {
			t.Fatal("the dispatcher never picked the URL")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPauseGivesAPickedURLBack(t *testing.T) {
	frozen := time.Unix(1000, 0)
	_, q := openTest(t, "", Options{PerHostConcurrency: 1, PerHostDelay: time.Hour, Now: func() time.Time { return frozen }})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := q.Add(ctx, []Link{link("a", 1)}); err != nil {
		t.Fatal(err)
	}
	// No worker is waiting: the dispatcher picks the URL and blocks
	// handing it out.
	waitPicked(ctx, t, q, "a")
	if c := q.Counts(); c.Queued != 1 || c.InFlight != 0 {
		t.Fatalf("picked, not handed out: counts %+v; want 1 queued, none in flight", c)
	}
	q.SetPaused(true)
	for q.Live()["a"].InFlight != 0 {
		if ctx.Err() != nil {
			t.Fatal("the pause did not take the URL back")
		}
		time.Sleep(time.Millisecond)
	}
	if c := q.Counts(); c.Queued != 1 || c.InFlight != 0 {
		t.Fatalf("paused: counts %+v; want 1 queued, none in flight", c)
	}
	if at := q.Live()["a"].NextAt; at.After(frozen) {
		t.Fatalf("paused: host a may start next at %v; want no later than %v (no request was made)", at, frozen)
	}
	q.SetPaused(false)
	if it := next(t, q); it.URL != link("a", 1).URL {
		t.Fatalf("got %s after the pause", it.URL)
	}
	// Next returns with the counts moved, so a Commit cannot reach them
	// first.
	if c := q.Counts(); c.Queued != 0 || c.InFlight != 1 {
		t.Fatalf("resumed: counts %+v; want none queued, 1 in flight", c)
	}
}

// Entries a commit has written but not yet applied in memory (the writer
// applies its effects after bbolt's commit returns, and the dispatcher may
// read the host's queue in between) are not handed out before they are
// counted: the queued count never goes below zero and a host never has
// more URLs leased and windowed than it has queued.
func TestRefillTakesOnlyCountedEntries(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 2, Window: 4})
	ctx := context.Background()
	// A committed entry the queue has not applied yet: written straight
	// into the host's queue, behind the URL added next.
	ghost := queueKey("a", 0, 1<<40)
	e := entry{URL: "http://a/ghost"}
	if err := db.Update(func(tx *store.Tx) error {
		return tx.Bolt().Bucket(bucketQueue).Put(ghost, e.marshal("a"))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Add(ctx, []Link{link("a", 1)}); err != nil {
		t.Fatal(err)
	}
	first := next(t, q)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if second, err := q.Next(cctx); err == nil {
		t.Errorf("Next handed out %s and then %s: one URL is counted queued", first.URL, second.URL)
		q.Requeue(second, time.Time{})
	}
	if c := q.Counts(); c.Queued < 0 || c.InFlight != 1 {
		t.Errorf("counts %+v; want 0 queued, 1 in flight", c)
	}
	// Undo the stand-in for the unapplied commit, so that the checks at
	// cleanup see a consistent file, and finish the real URL.
	if err := db.Update(func(tx *store.Tx) error { return tx.Bolt().Bucket(bucketQueue).Delete(ghost) }); err != nil {
		t.Fatal(err)
	}
	q.Release(first, time.Now())
	if err := q.Commit(ctx, &Completion{Item: first, State: StateDone}); err != nil {
		t.Fatal(err)
	}
	if first.URL != "http://a/p1" {
		t.Errorf("handed out %s first; want http://a/p1", first.URL)
	}
}
