package frontier

import (
	"context"
	"path/filepath"
	"testing"
	"time"
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
