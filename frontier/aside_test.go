package frontier

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"crawler/store"
)

// damage opens a fresh frontier, adds links, closes it, and lets corrupt
// change the file before the frontier is opened again.
func damage(t *testing.T, links []Link, corrupt func(btx *store.Tx) error) (*store.DB, *Queue) {
	t.Helper()
	return damageAfter(t, links, nil, corrupt)
}

// damageAfter is damage, with crawl (when not nil) run on the frontier
// after the links are added.
func damageAfter(t *testing.T, links []Link, crawl func(q *Queue), corrupt func(btx *store.Tx) error) (*store.DB, *Queue) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Add(context.Background(), links); err != nil {
		t.Fatal(err)
	}
	if crawl != nil {
		crawl(q)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(corrupt); err != nil {
		t.Fatal(err)
	}
	q, err = Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return db, q
}

// drain takes and finishes every URL until the frontier is idle, and
// returns the URLs it got.
func drain(t *testing.T, q *Queue) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []string
	for !q.Idle() {
		nctx, ncancel := context.WithTimeout(ctx, 20*time.Millisecond)
		it, err := q.Next(nctx)
		ncancel()
		if ctx.Err() != nil {
			t.Fatalf("never idle: counts %+v, got %v", q.Counts(), got)
		}
		if err != nil {
			continue
		}
		got = append(got, it.URL)
		q.Release(it, time.Now())
		if err := q.Commit(ctx, &Completion{Item: it, State: StateDone}); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// A queue entry that no longer decodes is set aside: the host's other
// URLs are still crawled, the crawl becomes idle, the counts and Check
// agree with the disk, and the damaged bytes are kept.
func TestDamagedQueueEntryIsSetAside(t *testing.T) {
	var damaged []byte
	db, q := damage(t, []Link{link("a", 1), link("a", 2), link("a", 3)}, func(tx *store.Tx) error {
		b := tx.Bolt().Bucket(bucketQueue)
		k, v := b.Cursor().First() // the block of a/p1, a/p2, a/p3
		entries := storedEntries(t, k, v)
		damaged = queueKey("a", 0, entries[0].seq)
		entries[0].rec = []byte{entryCompact, 0, 0xff}
		return b.Put(bytes.Clone(k), (&qblock{key: k, entries: entries}).encode(nil))
	})
	crawledAfterSetAside(t, db, q, damaged, []byte{entryCompact, 0, 0xff}, link("a", 2).URL, link("a", 3).URL)
}

// crawledAfterSetAside drains q, whose queue entry key was damaged to
// bytes (nil: any), and checks that it crawled exactly want, that Check
// passes, that the bytes are kept aside, and that the counts agree.
func crawledAfterSetAside(t *testing.T, db *store.DB, q *Queue, key, damaged []byte, want ...string) {
	t.Helper()
	if got := drain(t, q); !slices.Equal(got, want) {
		t.Fatalf("crawled %v; want %v", got, want)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)
	var disk Counts
	_ = db.View(func(tx *store.Tx) error {
		disk = ReadCounts(tx)
		v := tx.Bolt().Bucket(bucketAside).Get(asideKey(bucketQueue, key))
		if v == nil || damaged != nil && !bytes.Equal(v, damaged) {
			t.Errorf("aside holds %x; want the damaged bytes", v)
		}
		return nil
	})
	if c, n := q.Counts(), int64(len(want)); disk.Queued != 0 || disk.Done != n || c.Queued != 0 || c.Done != n {
		t.Fatalf("counts %+v, stored %+v; want %d done, none queued", c, disk, n)
	}
}

// A retry entry that no longer decodes is set aside too, instead of
// failing the writer (and with it the crawl).
func TestDamagedRetryEntryIsSetAside(t *testing.T) {
	var before Counts
	db, q := damage(t, []Link{link("a", 1)}, func(tx *store.Tx) error {
		btx := tx.Bolt()
		qb := btx.Bucket(bucketQueue)
		k, v := qb.Cursor().First()
		host, entry := hostOfKey(k), storedEntries(t, k, v)[0].rec
		if err := qb.Delete(bytes.Clone(k)); err != nil {
			return err
		}
		// As a retry, due already, with its entry's bytes cut short.
		timed := append(append([]byte(host), 0), entry[:len(entry)/2]...)
		if err := btx.Bucket(bucketDelayed).Put(delayedKey(time.Unix(1, 0), 1), timed); err != nil {
			return err
		}
		before = ReadCounts(tx)
		return nil
	})
	// Read in the damaging transaction: the reopened queue sets the due
	// retry aside at once, so its live counts may already be past this.
	if before.Queued != 1 {
		t.Fatalf("before: stored counts %+v; want the retry queued", before)
	}
	if got := drain(t, q); len(got) != 0 {
		t.Fatalf("crawled %v; want nothing", got)
	}
	select {
	case <-q.Failed():
		t.Fatalf("writer failed: %v", q.Err())
	default:
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)
	_ = db.View(func(tx *store.Tx) error {
		if n := asideCount(tx.Bolt()); n != 1 {
			t.Errorf("%d entries set aside; want 1", n)
		}
		if c := ReadCounts(tx); c.Queued != 0 {
			t.Errorf("stored counts %+v; want none queued", c)
		}
		return nil
	})
}
