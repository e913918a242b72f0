package frontier

import (
	"context"
	"slices"
	"testing"
	"time"

	"crawler/store"
)

// readAll lists the queue of host through ReadQueue in transactions of
// at most max URLs each.
func readAll(t *testing.T, db *store.DB, host string, max int) []*QueuedURL {
	t.Helper()
	var out []*QueuedURL
	var mark QueueMark
	for more := true; more; {
		err := db.View(func(tx *store.Tx) (err error) {
			mark, more, err = ReadQueue(tx, host, mark, max, func(u *QueuedURL) error {
				out = append(out, u)
				return nil
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// ReadQueue lists host queues in host order, each breadth-first, then the
// retries soonest first, across as many transactions as its max makes;
// a host filter keeps one host; Leased tells the URLs handed out.
func TestReadQueue(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	db, q := openTest(t, "", Options{PerHostConcurrency: 1, Now: clock.Now})
	ctx := context.Background()
	deep := Link{URL: "http://b/deep", Host: "b", Parent: "http://b/p1", Depth: 2}
	links := []Link{deep, link("b", 1), link("a", 1), link("a", 2), link("c", 1)}
	if _, err := q.Add(ctx, links); err != nil {
		t.Fatal(err)
	}
	// c's URL fails once and waits for its retry.
	it := next(t, q)
	for it.Host != "c" {
		q.Requeue(it, time.Time{})
		it = next(t, q)
	}
	q.Release(it, clock.Now())
	committed := make(chan struct{})
	if err := q.Commit(ctx, &Completion{Item: it, RetryAt: clock.Now().Add(time.Hour), Done: func() { close(committed) }}); err != nil {
		t.Fatal(err)
	}
	<-committed
	leased := next(t, q) // handed out, not committed
	want := []string{"http://a/p1", "http://a/p2", "http://b/p1", "http://b/deep", "http://c/p1"}
	for _, max := range []int{1, 2, 100} {
		got := readAll(t, db, "", max)
		var urls []string
		for _, u := range got {
			urls = append(urls, u.URL)
		}
		if !slices.Equal(urls, want) {
			t.Fatalf("max %d: listed %q; want %q", max, urls, want)
		}
		last := got[len(got)-1]
		if last.RetryAt != clock.Now().Add(time.Hour) || last.Attempts != 1 || last.Host != "c" {
			t.Errorf("the retry: %+v; want due in an hour after 1 attempt", last)
		}
		if d := got[3]; d.Depth != 2 || d.Parent != "http://b/p1" {
			t.Errorf("deep link: %+v; want depth 2 and its parent", d)
		}
		// The dispatcher may have picked the other host's next URL for
		// the pipeline already: at most one per host, never a retry.
		perHost := map[string]int{}
		for _, u := range got {
			if q.Leased(u) {
				perHost[u.Host]++
			}
			if u.URL == leased.URL && !q.Leased(u) {
				t.Errorf("Leased(%s) = false; it is handed out", u.URL)
			}
		}
		if perHost["a"] > 1 || perHost["b"] > 1 || perHost["c"] > 0 {
			t.Errorf("leased per host: %v; want at most one each on a and b, none among retries", perHost)
		}
	}
	for host, want := range map[string]int{"a": 2, "b": 2, "c": 1, "d": 0} {
		if got := readAll(t, db, host, 1); len(got) != want || (want > 0 && got[0].Host != host) {
			t.Errorf("host %s: %d listed (%v); want %d", host, len(got), got, want)
		}
	}
	q.Requeue(leased, time.Time{})
}
