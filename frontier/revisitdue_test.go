package frontier

import (
	"context"
	"testing"
	"time"

	"crawler/store"
)

// storedHost is host's HostInfo as ReadHosts gives it.
func storedHost(t *testing.T, db *store.DB, host string) *HostInfo {
	t.Helper()
	var got *HostInfo
	err := db.View(func(tx *store.Tx) error {
		return ReadHosts(tx, func(h *HostInfo) error {
			if h.Host == host {
				got = h
			}
			return nil
		})
	})
	if err != nil || got == nil {
		t.Fatalf("ReadHosts: host %s %v, %v", host, got, err)
	}
	return got
}

// listed is every URL ReadQueue lists, by URL.
func listed(t *testing.T, db *store.DB) map[string]*QueuedURL {
	t.Helper()
	out := make(map[string]*QueuedURL)
	err := db.View(func(tx *store.Tx) error {
		_, _, err := ReadQueue(tx, "", QueueMark{}, 1000, func(u *QueuedURL) error {
			out[u.URL] = u
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameMilli reports whether got is want to the millisecond, as entries
// keep it.
func sameMilli(got, want time.Time) bool { return !got.IsZero() && got.UnixMilli() == want.UnixMilli() }

// A revisit carries when it came due: a recrawl its scheduled time, a
// refresh the time it was queued; its retries keep it. While it waits,
// ReadHosts gives the host's next revisit's due time and ReadQueue marks
// it; a host with none in line has none.
func TestRevisitDue(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	x, busy := link("a", 1), link("a", 2)
	if _, err := q.Add(ctx, []Link{x}); err != nil {
		t.Fatal(err)
	}
	first := next(t, q)
	if first.Revisit || !first.Due.IsZero() {
		t.Fatalf("first fetch: revisit %v, due %v; want neither", first.Revisit, first.Due)
	}
	due := time.Now().Add(50 * time.Millisecond)
	commitDone(t, q, first, due)
	if _, err := q.Add(ctx, []Link{busy}); err != nil {
		t.Fatal(err)
	}
	held := next(t, q) // the host's one slot, while the recrawl comes due
	if h := storedHost(t, db, "a"); !h.RevisitDueAt.IsZero() {
		t.Errorf("no revisit queued yet, but RevisitDueAt %v", h.RevisitDueAt)
	}
	time.Sleep(time.Until(due) + 300*time.Millisecond)

	if h := storedHost(t, db, "a"); !sameMilli(h.RevisitDueAt, due) {
		t.Errorf("RevisitDueAt %v; want the recrawl's due time %v", h.RevisitDueAt, due)
	}
	u := listed(t, db)[x.URL]
	if u == nil || !u.Revisit || !sameMilli(u.DueAt, due) {
		t.Fatalf("ReadQueue lists %+v; want %s as a revisit due at %v", u, x.URL, due)
	}
	if b := listed(t, db)[busy.URL]; b == nil || b.Revisit || !b.DueAt.IsZero() {
		t.Errorf("ReadQueue lists the first fetch as %+v", b)
	}
	commitDone(t, q, held, time.Time{})

	it := next(t, q)
	if it.URL != x.URL || !it.Revisit || !sameMilli(it.Due, due) {
		t.Fatalf("got %s, revisit %v, due %v; want the recrawl of %s due at %v", it.URL, it.Revisit, it.Due, x.URL, due)
	}
	commitWait(t, q, &Completion{Item: it, State: StateFailed, RetryAt: time.Now().Add(50 * time.Millisecond)})
	if u := listed(t, db)[x.URL]; u == nil || u.RetryAt.IsZero() || !sameMilli(u.DueAt, due) {
		t.Errorf("the retry is listed as %+v; want its due time kept", u)
	}
	if h := storedHost(t, db, "a"); !h.RevisitDueAt.IsZero() {
		t.Errorf("a revisit waiting to be retried is not in line, but RevisitDueAt is %v", h.RevisitDueAt)
	}
	it = next(t, q)
	if it.URL != x.URL || it.Attempts != 1 || !sameMilli(it.Due, due) {
		t.Fatalf("retry: %s, attempts %d, due %v; want %s's second attempt due at %v", it.URL, it.Attempts, it.Due, x.URL, due)
	}
	commitDone(t, q, it, time.Time{})
	mustCheck(t, db)

	// A refresh comes due when it is queued.
	before := time.Now()
	refresh := x
	refresh.Refresh = true
	if n, err := q.Add(ctx, []Link{refresh}); err != nil || n != 1 {
		t.Fatalf("refresh: %d, %v", n, err)
	}
	after := time.Now()
	h := storedHost(t, db, "a")
	if h.RevisitDueAt.UnixMilli() < before.UnixMilli() || h.RevisitDueAt.After(after) {
		t.Errorf("refresh queued between %v and %v, but RevisitDueAt is %v", before, after, h.RevisitDueAt)
	}
	it = next(t, q)
	if !it.Revisit || !it.Due.Equal(h.RevisitDueAt) {
		t.Errorf("refreshed item: revisit %v, due %v; want due %v", it.Revisit, it.Due, h.RevisitDueAt)
	}
	commitDone(t, q, it, time.Time{})
	if h := storedHost(t, db, "a"); !h.RevisitDueAt.IsZero() {
		t.Errorf("nothing queued, but RevisitDueAt %v", h.RevisitDueAt)
	}
	mustCheck(t, db)
}

// A refresh or revisit of a done URL whose recrawl came due but is not
// promoted yet (promote lags after a restart, 1024 entries a
// transaction, and races the commits) takes its place: the URL has been
// due since its recrawl's time, not since the refresh, whichever of the
// two the writer ran first.
func TestRefreshOfOverdueRecrawlKeepsItsDue(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	x := link("a", 1)
	if _, err := q.Add(ctx, []Link{x}); err != nil {
		t.Fatal(err)
	}
	recrawl := time.Now().Add(time.Hour)
	commitDone(t, q, next(t, q), recrawl)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	// The writer's transaction for a refresh two hours on, before any
	// promote has run (as commit makes it).
	refresh := Link{URL: x.URL, Host: x.Host, Refresh: true}
	err := db.Update(func(tx *store.Tx) error {
		fx := &effects{hosts: make(map[string]*hostRecord), queued: make(map[string]int)}
		w := &txWriter{tx: tx, btx: tx.Bolt(), fx: fx, now: recrawl.Add(time.Hour)}
		w.seq = u64(w.btx.Bucket(bucketMeta).Get(keySeq))
		if added, err := w.enqueue(refresh, seenKey(refresh.URL)); err != nil || !added {
			t.Fatalf("refresh: %v, %v", added, err)
		}
		return w.finish()
	})
	if err != nil {
		t.Fatal(err)
	}
	if u := listed(t, db)[x.URL]; u == nil || !u.Revisit || !sameMilli(u.DueAt, recrawl) {
		t.Errorf("refreshed after its recrawl came due: listed as %+v; want due at the recrawl's time %v", u, recrawl)
	}
	if h := storedHost(t, db, "a"); !sameMilli(h.RevisitDueAt, recrawl) {
		t.Errorf("RevisitDueAt %v; want the recrawl's time %v", h.RevisitDueAt, recrawl)
	}
}
