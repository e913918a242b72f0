package frontier

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"crawler/store"
)

// readAll lists the queue of host through ReadQueue in transactions of
// at most max URLs each.
func readAll(t testing.TB, db *store.DB, host string, max int) []*QueuedURL {
	t.Helper()
	var out []*QueuedURL
	var mark QueueMark
	for more := true; more; {
		mark, more = readPage(t, db, host, mark, max, func(u *QueuedURL) { out = append(out, u) })
	}
	return out
}

// readPage lists at most max URLs of host from mark on through ReadQueue
// in one transaction, calling fn with each; it returns where it stopped
// and whether URLs may remain.
func readPage(t testing.TB, db *store.DB, host string, mark QueueMark, max int, fn func(*QueuedURL)) (QueueMark, bool) {
	t.Helper()
	var more bool
	err := db.View(func(tx *store.Tx) (err error) {
		mark, more, err = ReadQueue(tx, host, mark, max, func(u *QueuedURL) error {
			fn(u)
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mark, more
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

// urlsOf returns the URLs of us.
func urlsOf(us []*QueuedURL) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.URL)
	}
	return out
}

// A listing in pages lists what one call lists, staged URLs among the
// inserted ones of their hosts; and it stays whole when URLs are staged
// and merged between its pages: each URL queued throughout is listed
// once, in its place, and a URL staged meanwhile is listed when its
// place is still ahead.
func TestReadQueuePagesStaged(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	q.SetPaused(true) // no merge before stageAge: nothing asks for the URLs
	add := func(links []Link) {
		t.Helper()
		if _, err := q.Add(ctx, links); err != nil {
			t.Fatal(err)
		}
	}
	const hosts = stageFanout + 44
	add(spread(hosts, 1)) // staged
	add([]Link{link("s1", 2), link("s10", 2), link("s2", 2), {URL: "http://s1/deep", Host: "s1", Depth: 2}})
	add(spread(hosts, 3)) // staged
	add([]Link{link("s1", 4), link("s100", 4), {URL: "http://s2/deep", Host: "s2", Depth: 1}})
	add(spread(hosts, 5)) // staged
	if n := stagedCount(t, db); n != 3*hosts {
		t.Fatalf("%d URLs staged; want %d", n, 3*hosts)
	}
	all := urlsOf(readAll(t, db, "", 1<<20))
	if len(all) != 3*hosts+7 {
		t.Fatalf("one call listed %d URLs; want %d", len(all), 3*hosts+7)
	}
	for _, max := range []int{1, 3, 256} {
		if got := urlsOf(readAll(t, db, "", max)); !slices.Equal(got, all) {
			t.Fatalf("pages of %d listed %d URLs; want the %d one call lists, in its order", max, len(got), len(all))
		}
	}
	s1 := []string{"http://s1/p1", "http://s1/p2", "http://s1/p3", "http://s1/p4", "http://s1/p5", "http://s1/deep"}
	if got := urlsOf(readAll(t, db, "s1", 2)); !slices.Equal(got, s1) {
		t.Fatalf("host s1 in pages of 2: %q; want %q", got, s1)
	}

	// Page by 3 while URLs are staged (on every host: ahead of the listing
	// or behind it), half merged, then all merged.
	var listed []string
	var mark QueueMark
	page := func() (more bool) {
		mark, more = readPage(t, db, "", mark, 3, func(u *QueuedURL) { listed = append(listed, u.URL) })
		return more
	}
	for range 40 {
		page()
	}
	behind := hostOfKey(mark.key) // the new URLs of hosts before it are behind the listing
	add(spread(hosts, 6))
	for range 40 {
		page()
	}
	err := db.Update(func(tx *store.Tx) error { // the first chunk of a merge
		w := &txWriter{tx: tx, btx: tx.Bolt(), fx: &effects{hosts: make(map[string]*hostRecord), queued: make(map[string]int)}}
		w.seq = u64(w.btx.Bucket(bucketMeta).Get(keySeq))
		if _, err := w.moveStaged(mergeRange{0, 127}, false); err != nil {
			return err
		}
		return w.finish()
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		page()
	}
	if err := q.Close(); err != nil { // merges the rest
		t.Fatal(err)
	}
	if n := stagedCount(t, db); n != 0 {
		t.Fatalf("%d URLs still staged after Close", n)
	}
	for page() {
	}
	var want []string
	for _, u := range urlsOf(readAll(t, db, "", 1<<20)) {
		if !strings.HasSuffix(u, "/p6") || hostOfURL(u) >= behind {
			want = append(want, u)
		}
	}
	if !slices.Equal(listed, want) {
		t.Fatalf("paging while URLs were staged and merged listed %d URLs; want %d:\n%q\nwant\n%q", len(listed), len(want), listed, want)
	}
}
