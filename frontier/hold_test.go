package frontier

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crawler/store"
)

// tryNext returns the next item released within wait, or nil.
func tryNext(t *testing.T, q *Queue, wait time.Duration) *Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	it, err := q.Next(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return it
}

// A held host releases nothing until it is lifted, while the other hosts
// go on; lifting it releases its URLs again. The hold is in the file: it
// outlives a restart, and so does lifting it.
func TestHoldHostOutlivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("a", 2), link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	placed, err := q.Hold(Hold{Host: "a"})
	if err != nil || len(placed) != 1 {
		t.Fatalf("Hold = %+v, %v", placed, err)
	}
	if h := placed[0]; h.Host != "a" || h.Since.IsZero() || !h.Until.IsZero() {
		t.Fatalf("Hold = %+v, %v", h, err)
	}
	if it := next(t, q); it.Host != "b" {
		t.Fatalf("got %s while a is held", it.URL)
	}
	if it := tryNext(t, q, 50*time.Millisecond); it != nil {
		t.Fatalf("got %s while a is held", it.URL)
	}
	if got := q.Holds(); len(got) != 1 || got[0].Host != "a" {
		t.Fatalf("Holds = %+v; want a's", got)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	// Restarted: still held (b's URL, never committed, is queued again).
	q, err = Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if it := next(t, q); it.Host != "b" {
		t.Fatalf("after a restart, got %s while a is held", it.URL)
	}
	if it := tryNext(t, q, 50*time.Millisecond); it != nil {
		t.Fatalf("after a restart, got %s while a is held", it.URL)
	}
	if n, err := q.Unhold("a"); n != 1 || err != nil {
		t.Fatalf("Unhold(a) = %v, %v; want 1", n, err)
	}
	if it := next(t, q); it.Host != "a" {
		t.Fatalf("lifted: got %s; want a's", it.URL)
	}
	if n, err := q.Unhold("a"); n != 0 || err != nil {
		t.Fatalf("Unhold(a) again = %v, %v; want 0", n, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q, err = Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if got := q.Holds(); len(got) != 0 {
		t.Fatalf("lifted, then restarted: Holds = %+v", got)
	}
	seen := map[string]bool{}
	for range 3 {
		seen[next(t, q).URL] = true
	}
	if len(seen) != 3 {
		t.Fatalf("lifted, then restarted: released %v; want all three URLs", seen)
	}
}

// A hold of the whole crawl releases nothing, from any host, until its
// end; then the crawl goes on by itself, and the ended hold is no longer
// listed.
func TestHoldCrawlUntil(t *testing.T) {
	_, q := openTest(t, "", Options{})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(150 * time.Millisecond)
	if _, err := q.Hold(Hold{Until: until}); err != nil {
		t.Fatal(err)
	}
	if got := q.Holds(); len(got) != 1 || got[0].Host != "" || !got[0].Until.Equal(until) {
		t.Fatalf("Holds = %+v; want the crawl's, until %v", got, until)
	}
	it := next(t, q)
	if at := time.Now(); at.Before(until) {
		t.Fatalf("got %s at %v, before the hold's end %v", it.URL, at, until)
	}
	next(t, q)
	if got := q.Holds(); len(got) != 0 {
		t.Fatalf("ended: Holds = %+v", got)
	}
}

// A URL the dispatcher picked before the hold, waiting for a worker, is
// put back: no worker gets it under the hold.
func TestHoldTakesBackAPickedURL(t *testing.T) {
	_, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := q.Add(ctx, []Link{link("a", 1)}); err != nil {
		t.Fatal(err)
	}
	waitPicked(ctx, t, q, "a")
	if _, err := q.Hold(Hold{Host: "a"}); err != nil {
		t.Fatal(err)
	}
	if it := tryNext(t, q, 50*time.Millisecond); it != nil {
		t.Fatalf("got %s under the hold", it.URL)
	}
	if _, err := q.Unhold("a"); err != nil {
		t.Fatal(err)
	}
	if it := next(t, q); it.URL != link("a", 1).URL {
		t.Fatalf("got %s after the hold", it.URL)
	}
}

// Under a politeness key that groups hosts, holding one host holds its
// group: the unit the queue schedules.
func TestHoldGroupedHost(t *testing.T) {
	domain := func(url string) string {
		host := strings.TrimPrefix(url, "http://")
		host, _, _ = strings.Cut(host, "/")
		return strings.TrimPrefix(host, "www.")
	}
	_, q := openTest(t, "", Options{KeyMode: "domain", HostKey: domain})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{
		{URL: "http://example.com/1", Host: "example.com"},
		{URL: "http://other.org/1", Host: "other.org"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Hold(Hold{Host: "www.example.com"}); err != nil {
		t.Fatal(err)
	}
	if it := next(t, q); it.Host != "other.org" {
		t.Fatalf("got %s while www.example.com is held", it.URL)
	}
	if it := tryNext(t, q, 50*time.Millisecond); it != nil {
		t.Fatalf("got %s while www.example.com is held", it.URL)
	}
}

// A stopped crawl's file takes holds directly; ended ones are dropped at
// the next write and never listed; a damaged one is left out of the
// listing, reported by Check, and dropped by the next write.
func TestStoredHolds(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Unix(1_000_000, 0).UTC()
	err = db.Update(func(tx *store.Tx) error {
		if _, err := PutHold(tx, Hold{Host: "ended.test", Since: now.Add(-2 * time.Hour), Until: now.Add(-time.Hour)}, now.Add(-90*time.Minute)); err != nil {
			return err
		}
		if _, err := PutHold(tx, Hold{Since: now}, now); err != nil {
			return err
		}
		_, err := PutHold(tx, Hold{Host: "b.test", Since: now, Until: now.Add(time.Hour)}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var holds []Hold
	read := func() {
		t.Helper()
		if err := db.View(func(tx *store.Tx) (err error) { holds, err = ReadHolds(tx, now); return err }); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if len(holds) != 2 || holds[0].Host != "" || !holds[0].Until.IsZero() || holds[1].Host != "b.test" || !holds[1].Until.Equal(now.Add(time.Hour)) {
		t.Fatalf("ReadHolds = %+v; want the crawl's, then b.test's", holds)
	}
	err = db.Update(func(tx *store.Tx) error {
		if n := tx.Bolt().Bucket(bucketHolds).Stats().KeyN; n != 2 {
			t.Errorf("%d holds stored; want the ended one dropped", n)
		}
		return tx.Bolt().Bucket(bucketHolds).Put([]byte("bad.test"), []byte("short"))
	})
	if err != nil {
		t.Fatal(err)
	}
	read()
	if len(holds) != 2 {
		t.Fatalf("ReadHolds with a damaged hold = %+v; want it left out", holds)
	}
	if err := db.View(func(tx *store.Tx) error { return Check(tx) }); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bad.test") {
		t.Fatalf("Check = %v; want the damaged hold", err)
	}
	err = db.Update(func(tx *store.Tx) error {
		n, err := DeleteHolds(tx, []string{""}, now)
		if n != 1 {
			t.Errorf("DeleteHolds of the crawl's hold: lifted %d; want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	read()
	if len(holds) != 1 || holds[0].Host != "b.test" {
		t.Fatalf("after lifting the crawl's: ReadHolds = %+v; want b.test's", holds)
	}
	if err := db.View(func(tx *store.Tx) error { return Check(tx) }); err != nil {
		t.Fatalf("Check after the write dropped the damaged hold: %v", err)
	}
}

// A queue whose every queued URL waits for an operator's Unhold is idle
// (exit-when-idle must not wait forever); a hold with an end, or a host
// not held, keeps it busy.
func TestIdleUnderHolds(t *testing.T) {
	_, q := openTest(t, "", Options{})
	if _, err := q.Add(context.Background(), []Link{link("a", 1), link("a", 2), link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do   func() error
		idle bool
	}{
		{func() error { _, err := q.Hold(Hold{Host: "a"}); return err }, false},                                   // b is not held
		{func() error { _, err := q.Hold(Hold{Host: "b", Until: time.Now().Add(time.Hour)}); return err }, false}, // b's hold ends
		{func() error { _, err := q.Hold(Hold{Host: "b"}); return err }, true},
		{func() error { _, err := q.Unhold("b"); return err }, false},
		{func() error { _, err := q.Hold(Hold{}); return err }, true}, // the whole crawl
		{func() error { _, err := q.Hold(Hold{Until: time.Now().Add(time.Hour)}); return err }, false},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatal(err)
		}
		if got := q.Idle(); got != s.idle {
			t.Errorf("step %d: Idle = %v; want %v (holds %+v)", i, got, s.idle, q.Holds())
		}
	}
}

// MarkHeld marks the listed hosts a hold holds, by the key they are listed
// under, with the latest end of the holds on one key.
func TestMarkHeld(t *testing.T) {
	until := time.Unix(2_000_000_000, 0).UTC()
	hosts := []*HostInfo{{Host: "a.test"}, {Host: "b.test"}, {Host: "example.com"}, {Host: "free.test"}}
	MarkHeld(hosts, []Hold{
		{}, // the whole crawl's marks no host
		{Host: "a.test"},
		{Host: "b.test", Until: until},
		{Host: "www.example.com", Until: until},
		{Host: "example.com", Until: until.Add(-time.Hour)},
	}, func(h string) string { return strings.TrimPrefix(h, "www.") })
	want := []struct {
		paused bool
		until  time.Time
	}{{true, time.Time{}}, {true, until}, {true, until}, {false, time.Time{}}}
	for i, h := range hosts {
		if h.Paused != want[i].paused || !h.PausedUntil.Equal(want[i].until) {
			t.Errorf("%s: paused %v until %v; want %v until %v", h.Host, h.Paused, h.PausedUntil, want[i].paused, want[i].until)
		}
	}
}

// A hold placed before its host has any URL applies to the URLs that come
// later.
func TestHoldBeforeHostAppears(t *testing.T) {
	_, q := openTest(t, "", Options{})
	if _, err := q.Hold(Hold{Host: "later"}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Add(context.Background(), []Link{link("later", 1), link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	if it := next(t, q); it.Host != "b" {
		t.Fatalf("got %s while its host is held", it.URL)
	}
	if it := tryNext(t, q, 50*time.Millisecond); it != nil {
		t.Fatalf("got %s while its host is held", it.URL)
	}
}
