package frontier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"crawler/store"
)

// commitLog records the size of every committed batch.
type commitLog chan int

func (l commitLog) onCommit(ops int, _ time.Duration) { l <- ops }

// wait returns the size of the next committed batch, failing the test
// if none comes within a few seconds (a writer stuck waiting).
func (l commitLog) wait(t *testing.T) int {
	t.Helper()
	select {
	case n := <-l:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no commit within 5s")
		return 0
	}
}

// none fails the test if a batch is committed within d.
func (l commitLog) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case n := <-l:
		t.Fatalf("committed a batch of %d while leased URLs were still out", n)
	case <-time.After(d):
	}
}

// The writer holds a small batch open while leased URLs are still out, so
// that their completions share one commit (and one fsync).
func TestCommitWaitGathersCompletions(t *testing.T) {
	log := make(commitLog, 16)
	_, q := openTest(t, "", Options{MaxLeased: 8, CommitBatch: 3, CommitWait: time.Hour, OnCommit: log.onCommit})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("b", 1), link("c", 1), link("d", 1)}); err != nil {
		t.Fatal(err)
	}
	if n := log.wait(t); n != 1 {
		t.Fatalf("Add with nothing leased: batch of %d; want 1", n)
	}
	its := []*Item{next(t, q), next(t, q), next(t, q)}
	for i, it := range its[:2] {
		q.Release(it, time.Now())
		if err := q.Commit(ctx, &Completion{Item: it, State: StateDone}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			log.none(t, 50*time.Millisecond)
		}
	}
	log.none(t, 50*time.Millisecond)
	q.Release(its[2], time.Now())
	if err := q.Commit(ctx, &Completion{Item: its[2], State: StateDone}); err != nil {
		t.Fatal(err)
	}
	if n := log.wait(t); n != 3 {
		t.Fatalf("batch of %d; want the 3 completions in one", n)
	}
}

// Once every leased URL has reached the writer, no more can come: it
// commits at once, below the target.
func TestCommitWaitStopsWhenNothingIsOut(t *testing.T) {
	log := make(commitLog, 16)
	_, q := openTest(t, "", Options{MaxLeased: 64, CommitWait: time.Hour, OnCommit: log.onCommit})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	log.wait(t)
	a, b := next(t, q), next(t, q)
	for _, it := range []*Item{a, b} {
		q.Release(it, time.Now())
		if err := q.Commit(ctx, &Completion{Item: it, State: StateDone}); err != nil {
			t.Fatal(err)
		}
	}
	got := log.wait(t)
	if got == 1 {
		got += log.wait(t)
	}
	if got != 2 {
		t.Fatalf("committed %d completions; want 2", got)
	}
	if c := q.Counts(); c.Done != 2 || c.InFlight != 0 {
		t.Fatalf("counts %+v; want 2 done, none in flight", c)
	}
}

// Close does not wait for a batch to fill: what reached the writer is
// committed, and the URL still leased stays queued.
func TestCloseCommitsAWaitingBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, q := openTest(t, path, Options{MaxLeased: 8, CommitBatch: 8, CommitWait: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	done, held := next(t, q), next(t, q)
	q.Release(done, time.Now())
	if err := q.Commit(ctx, &Completion{Item: done, State: StateDone}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- q.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the batch to fill")
	}
	q2, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	if c := q2.Counts(); c.Done != 1 || c.Queued != 1 {
		t.Fatalf("after reopen %+v; want 1 done (%s) and 1 queued (%s)", c, done.URL, held.URL)
	}
}

// Once Close was called, Add and Commit fail with ErrClosed: they used to
// race the closed writer and could leave their operation in its queue,
// Add waiting forever and a completion never written nor its Done called.
func TestAddAfterCloseFails(t *testing.T) {
	_, q := openTest(t, "", Options{})
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := q.Add(ctx, []Link{link("a", 1)})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v; want ErrClosed", err)
	}
}

func TestCommitAfterCloseFails(t *testing.T) {
	_, q := openTest(t, "", Options{})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 1)}); err != nil {
		t.Fatal(err)
	}
	it := next(t, q)
	q.Release(it, time.Now())
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	done := false
	err := q.Commit(ctx, &Completion{Item: it, State: StateDone, Done: func() { done = true }})
	if err == nil && !done {
		t.Fatalf("Commit after Close returned nil, but the completion was never written and Done never called")
	}
}

// An Add waiting in the writer's queue when a commit fails gets the
// writer's error: the writer answers what it will never commit.
func TestAddQueuedWhenTheWriterFails(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := Open(db, Options{MaxBatch: 1, CommitWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("a", 2)}); err != nil {
		t.Fatal(err)
	}
	good, bad := next(t, q), next(t, q)
	q.Release(good, time.Now())
	q.Release(bad, time.Now())
	hold, held := make(chan struct{}), make(chan struct{})
	// The writer commits good alone and waits in its Done, so that what
	// follows queues up behind it.
	if err := q.Commit(ctx, &Completion{Item: good, State: StateDone, Done: func() { close(held); <-hold }}); err != nil {
		t.Fatal(err)
	}
	<-held
	if err := q.Commit(ctx, &Completion{Item: bad, State: StateQueued}); err != nil { // not a final state: the commit fails
		t.Fatal(err)
	}
	added := make(chan error, 1)
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	go func() { _, err := q.Add(actx, []Link{link("b", 1)}); added <- err }()
	for {
		q.mu.Lock()
		p := q.pending
		q.mu.Unlock()
		if p == 2 { // bad and the Add are in the writer's queue
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	<-q.Failed()
	if err := <-added; err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Add queued before the writer failed = %v; want the writer's error", err)
	}
}

// A URL the dispatcher picked but no worker took yet cannot reach the
// writer soon: it does not hold a batch open.
func TestCommitWaitIgnoresAPickNotHandedOut(t *testing.T) {
	_, q := openTest(t, "", Options{MaxLeased: 8, CommitWait: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := q.Add(ctx, []Link{link("a", 1)}); err != nil {
		t.Fatal(err)
	}
	for q.Live()["a"].InFlight == 0 { // picked, waiting for a worker
		if ctx.Err() != nil {
			t.Fatal("never picked")
		}
		time.Sleep(time.Millisecond)
	}
	if c := q.Counts(); c.InFlight != 0 {
		t.Fatalf("counts %+v", c)
	}
	actx, acancel := context.WithTimeout(ctx, 2*time.Second)
	defer acancel()
	start := time.Now()
	if _, err := q.Add(actx, []Link{link("b", 1)}); err != nil {
		t.Fatalf("Add with nothing in flight: %v after %v (CommitWait 1h)", err, time.Since(start))
	}
}

// TestGetAt checks the writer's Get through a reused cursor against
// Bucket.Get: keys present, absent between two keys and after the last,
// and after Puts and a delete made through the same transaction since the
// cursor was made.
func TestGetAt(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *store.Tx) error {
		b, err := tx.Bolt().CreateBucketIfNotExists([]byte("t"))
		if err != nil {
			return err
		}
		key := func(i int) []byte { return []byte(fmt.Sprintf("k%05d", i)) }
		for i := 0; i < 2000; i += 2 { // enough for several leaves
			if err := b.Put(key(i), []byte(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		c := b.Cursor()
		check := func(when string) {
			for i := -1; i <= 2001; i++ {
				k := key(i)
				if got, want := getAt(c, k), b.Get(k); !bytes.Equal(got, want) || (got == nil) != (want == nil) {
					t.Errorf("%s: getAt(%s) = %q; Get gives %q", when, k, got, want)
				}
			}
		}
		check("as made")
		for i := 1; i < 2000; i += 10 {
			if err := b.Put(key(i), []byte("new")); err != nil {
				return err
			}
		}
		if err := b.Delete(key(4)); err != nil {
			return err
		}
		check("after changes")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
