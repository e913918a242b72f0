package frontier

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"crawler/store"
)

// blocksOnDisk returns the queue bucket's block keys and values, and the
// finished marks by block key.
func blocksOnDisk(t *testing.T, db *store.DB) (keys, vals [][]byte, marks map[string]uint32) {
	t.Helper()
	marks = make(map[string]uint32)
	err := db.View(func(tx *store.Tx) error {
		qb := tx.Bolt().Bucket(bucketQueue)
		if qb == nil {
			return nil
		}
		err := qb.ForEach(func(k, v []byte) error {
			keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
			return nil
		})
		if err != nil {
			return err
		}
		if mb := tx.Bolt().Bucket(bucketFinished); mb != nil {
			return mb.ForEach(func(k, v []byte) error {
				marks[string(k)] = readMarks(mb, k)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, vals, marks
}

// marksProblems returns what checkMarks reports.
func marksProblems(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	_ = db.View(func(tx *store.Tx) error {
		checkMarks(tx.Bolt(), func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) })
		return nil
	})
	return out
}

// A finished entry is marked, its block left as stored; readers pass
// over it; a block that takes a new entry is rewritten without its
// finished ones and loses its mark; a block goes with its last entry
// still queued, its mark with it.
func TestFinishedEntriesAreMarked(t *testing.T) {
	db := openStore(t)
	url := func(seq uint64) string { return fmt.Sprintf("https://h.test/p%d", seq) }
	update := func(fn func(w *queueWriter) error) { t.Helper(); updateQueue(t, db, fn) }
	add := func(w *queueWriter, seq uint64) error {
		e := entry{URL: url(seq)}
		return w.add("h.test", 0, seq, e.marshal("h.test"))
	}
	take := func(seqs ...uint64) {
		t.Helper()
		update(func(w *queueWriter) error {
			for _, s := range seqs {
				if n, err := w.remove(queueKey("h.test", 0, s)); n != 1 || err != nil {
					return fmt.Errorf("remove %d: %d, %v", s, n, err)
				}
				if n, err := w.remove(queueKey("h.test", 0, s)); n != 0 || err != nil {
					return fmt.Errorf("remove %d again: %d, %v", s, n, err)
				}
			}
			return nil
		})
	}
	var queued []uint64 // seqs, in order
	for s := uint64(2); len(queued) < blockEntries+8; s += 2 {
		queued = append(queued, s)
	}
	update(func(w *queueWriter) error {
		for _, s := range queued {
			if err := add(w, s); err != nil {
				return err
			}
		}
		return nil
	})
	wantQueue := func(when string) {
		t.Helper()
		var want []string
		for _, s := range queued {
			want = append(want, url(s))
		}
		if got := queuedOnDisk(t, db); !slices.Equal(got, want) {
			t.Fatalf("%s: the queue holds %v; want %v", when, got, want)
		}
		if p := marksProblems(t, db); len(p) > 0 {
			t.Fatalf("%s: %v", when, p)
		}
	}
	keys0, vals0, _ := blocksOnDisk(t, db)
	if len(keys0) != 2 {
		t.Fatalf("%d blocks; want 2", len(keys0))
	}

	take(2, 6, 8)
	queued = slices.DeleteFunc(queued, func(s uint64) bool { return s == 2 || s == 6 || s == 8 })
	keys, vals, marks := blocksOnDisk(t, db)
	if !slices.EqualFunc(keys, keys0, bytes.Equal) || !slices.EqualFunc(vals, vals0, bytes.Equal) {
		t.Fatal("finishing three entries rewrote their block")
	}
	if want := map[string]uint32{string(keys0[0]): 1<<0 | 1<<2 | 1<<3}; !maps.Equal(marks, want) {
		t.Fatalf("marks %v; want %v", marks, want)
	}
	wantQueue("after finishing three")
	take(4) // marked in a transaction of its own: the marks add up
	queued = slices.DeleteFunc(queued, func(s uint64) bool { return s == 4 })
	if _, _, marks = blocksOnDisk(t, db); marks[string(keys0[0])] != 0b1111 {
		t.Fatalf("marks %b; want 1111", marks[string(keys0[0])])
	}
	wantQueue("after finishing a fourth")

	// A new entry inside the first block: rewritten without the finished
	// four, unmarked.
	update(func(w *queueWriter) error { return add(w, 11) })
	queued = append(queued, 11)
	slices.Sort(queued)
	keys, vals, marks = blocksOnDisk(t, db)
	if len(marks) != 0 {
		t.Fatalf("marks %v left on a rewritten block", marks)
	}
	if n := len(storedEntries(t, keys[0], vals[0])); n != blockEntries-4+1 {
		t.Fatalf("the rewritten block holds %d entries; want %d", n, blockEntries-4+1)
	}
	wantQueue("after a new entry")

	// The second block, all but one entry finished, then the last: it
	// goes, and its mark.
	last := queued[len(queued)-8:]
	take(last[:7]...)
	if _, _, marks = blocksOnDisk(t, db); marks[string(keys0[1])] != 0b1111111 {
		t.Fatalf("marks %v; want 1111111 on the second block", marks)
	}
	take(last[7])
	queued = queued[:len(queued)-8]
	keys, _, marks = blocksOnDisk(t, db)
	if len(keys) != 1 || len(marks) != 0 {
		t.Fatalf("%d blocks and marks %v left; want 1 and none", len(keys), marks)
	}
	wantQueue("after the second block's last")

	// Finishing and adding in one transaction: the block is rewritten
	// once, with no mark.
	update(func(w *queueWriter) error {
		if _, err := w.remove(queueKey("h.test", 0, 10)); err != nil {
			return err
		}
		if err := add(w, 13); err != nil {
			return err
		}
		_, err := w.remove(queueKey("h.test", 0, 12))
		return err
	})
	queued = slices.DeleteFunc(queued, func(s uint64) bool { return s == 10 || s == 12 })
	queued = append(queued, 13)
	slices.Sort(queued)
	if _, _, marks = blocksOnDisk(t, db); len(marks) != 0 {
		t.Fatalf("marks %v on a block rewritten in the transaction", marks)
	}
	wantQueue("after finishing and adding in one transaction")

	// Every entry but one finished, over several transactions, then the
	// last: nothing left.
	take(queued[:len(queued)-1]...)
	take(queued[len(queued)-1])
	queued = nil
	if keys, _, marks = blocksOnDisk(t, db); len(keys) != 0 || len(marks) != 0 {
		t.Fatalf("%d blocks and marks %v left in an empty queue", len(keys), marks)
	}
	wantQueue("empty")
}

// Through the queue: finished URLs leave their blocks marked, a restart
// does not fetch them again, and Check holds throughout.
func TestFinishedSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, q := openTest(t, path, Options{})
	ctx := context.Background()
	var links []Link
	for i := range 100 {
		links = append(links, link("a", i))
	}
	if _, err := q.Add(ctx, links); err != nil {
		t.Fatal(err)
	}
	done := make(map[string]bool)
	finish := func(q *Queue, n int) {
		t.Helper()
		for range n {
			it := next(t, q)
			if done[it.URL] {
				t.Fatalf("%s fetched again", it.URL)
			}
			done[it.URL] = true
			commitDone(t, q, it, time.Time{})
		}
	}
	finish(q, 10)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)
	if _, _, marks := blocksOnDisk(t, db); len(marks) == 0 {
		t.Error("no finished marks after finishing 10 of a host's 100 URLs")
	}
	q, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	if c := q.Counts(); c.Done != 10 || c.Queued != 90 {
		t.Fatalf("after reopen counts = %+v; want done 10, queued 90", c)
	}
	finish(q, 90)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	var c Counts
	_ = db.View(func(tx *store.Tx) error { c = ReadCounts(tx); return nil })
	if c.Done != 100 || c.Queued != 0 {
		t.Fatalf("stored counts = %+v; want done 100, queued 0", c)
	}
	if keys, _, marks := blocksOnDisk(t, db); len(keys) != 0 || len(marks) != 0 {
		t.Errorf("%d blocks and %d marks left once every URL is done", len(keys), len(marks))
	}
}

// Check reports a mark that does not decode, one with no block, and one
// that marks every entry of its block.
func TestCheckReportsBadMarks(t *testing.T) {
	db := openStore(t)
	var bk []byte
	err := db.Update(func(tx *store.Tx) error {
		if _, err := tx.Bolt().CreateBucketIfNotExists(bucketQueue); err != nil {
			return err
		}
		w := newQueueWriter(tx.Bolt())
		for s := uint64(1); s <= 3; s++ {
			e := entry{URL: fmt.Sprintf("https://h.test/%d", s)}
			if err := w.add("h.test", 0, s, e.marshal("h.test")); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		bk, _ = tx.Bolt().Bucket(bucketQueue).Cursor().First()
		bk = bytes.Clone(bk)
		_, err := tx.Bolt().CreateBucketIfNotExists(bucketFinished)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key, val []byte
		want     string
	}{
		{bk, []byte{1, 2}, "does not decode"},
		{append(bytes.Clone(bk[:len(bk)-2]), 9, blockMark), marksValue(1), "no such queue block"},
		{bk, marksValue(0b111), "marks every entry"},
	} {
		err := db.Update(func(tx *store.Tx) error {
			if err := tx.Bolt().DeleteBucket(bucketFinished); err != nil {
				return err
			}
			mb, err := tx.Bolt().CreateBucket(bucketFinished)
			if err != nil {
				return err
			}
			return mb.Put(c.key, c.val)
		})
		if err != nil {
			t.Fatal(err)
		}
		p := marksProblems(t, db)
		if len(p) != 1 || !bytes.Contains([]byte(p[0]), []byte(c.want)) {
			t.Errorf("mark %x = %x: Check says %q; want %q", c.key, c.val, p, c.want)
		}
	}
	// A mark of two of the three: fine, and the third alone is queued.
	err = db.Update(func(tx *store.Tx) error {
		return tx.Bolt().Bucket(bucketFinished).Put(bk, marksValue(0b011))
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := marksProblems(t, db); len(p) != 0 {
		t.Errorf("Check says %q of a valid mark", p)
	}
	if got := queuedOnDisk(t, db); !slices.Equal(got, []string{"https://h.test/3"}) {
		t.Errorf("queue holds %v; want only https://h.test/3", got)
	}
}

// A block that no longer decodes is set aside with its marks: the
// entries set aside are those still queued, not the finished ones, and
// no mark is left behind.
func TestDamagedMarkedBlockIsSetAside(t *testing.T) {
	finishTwo := func(q *Queue) {
		commitDone(t, q, next(t, q), time.Time{})
		commitDone(t, q, next(t, q), time.Time{})
	}
	var bk []byte
	links := []Link{link("a", 1), link("a", 2), link("a", 3), link("a", 4), link("a", 5)}
	db, q := damageAfter(t, links, finishTwo, func(tx *store.Tx) error {
		b := tx.Bolt().Bucket(bucketQueue)
		k, _ := b.Cursor().First()
		bk = bytes.Clone(k)
		if m := readMarks(tx.Bolt().Bucket(bucketFinished), bk); m != 0b11 {
			return fmt.Errorf("marks %b; want 11", m)
		}
		return b.Put(bk, []byte{blockPacked, 5, 0xff, 0xff})
	})
	if got := drain(t, q); len(got) != 0 {
		t.Fatalf("crawled %v; want nothing", got)
	}
	// The dispatcher counts the block out at once; the writer moves it
	// aside when it next runs.
	aside := func() (n int64) {
		_ = db.View(func(tx *store.Tx) error { n = asideCount(tx.Bolt()); return nil })
		return n
	}
	for deadline := time.Now().Add(5 * time.Second); aside() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)
	_ = db.View(func(tx *store.Tx) error {
		if n := asideCount(tx.Bolt()); n != 3 {
			t.Errorf("%d entries set aside; want the 3 still queued", n)
		}
		if m := readMarks(tx.Bolt().Bucket(bucketFinished), bk); m != 0 {
			t.Errorf("the block's mark %b is left in the queue's marks", m)
		}
		if c := ReadCounts(tx); c.Queued != 0 || c.Done != 2 {
			t.Errorf("stored counts %+v; want 2 done, none queued", c)
		}
		return nil
	})
}

// FuzzQueueMarks drives a queue of one host and depth through random
// transactions of adds (new seqs, anywhere among the queued ones) and
// removals (queued or not), and checks after each that the queue reads
// back as a model set in seq order, that every mark is sound, and that
// removing reports whether the entry was queued.
func FuzzQueueMarks(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 200, 201, 202, 255, 10, 11, 12})
	f.Add(bytes.Repeat([]byte{7, 130, 131, 132, 133, 255}, 20))
	seed := make([]byte, 0, 600)
	for i := range 600 {
		seed = append(seed, byte(i*37))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 2000 {
			return
		}
		db := openStore(t)
		model := map[uint64]bool{}
		rec := func(seq uint64) []byte {
			e := entry{URL: fmt.Sprintf("https://h.test/%d", seq)}
			return e.marshal("h.test")
		}
		for len(ops) > 0 {
			n := min(len(ops), 1+int(ops[0])%40)
			batch := ops[:n]
			ops = ops[n:]
			updateQueue(t, db, func(w *queueWriter) error {
				for _, b := range batch {
					// Under 128: add seq b*4+1 if new (so entries fall
					// between others); 128 and over: remove seq
					// (b-128)*4+1, queued or not. 255 ends the
					// transaction early.
					switch {
					case b == 255:
						return nil
					case b < 128:
						seq := uint64(b)*4 + 1
						if model[seq] {
							continue
						}
						if err := w.add("h.test", 0, seq, rec(seq)); err != nil {
							return err
						}
						model[seq] = true
					default:
						seq := uint64(b-128)*4 + 1
						n, err := w.remove(queueKey("h.test", 0, seq))
						if err != nil {
							return err
						}
						if want := map[bool]int{true: 1, false: 0}[model[seq]]; n != want {
							return fmt.Errorf("remove %d: %d; want %d", seq, n, want)
						}
						delete(model, seq)
					}
				}
				return nil
			})
			var want []string
			for _, seq := range slices.Sorted(maps.Keys(model)) {
				want = append(want, fmt.Sprintf("https://h.test/%d", seq))
			}
			if got := queuedOnDisk(t, db); !slices.Equal(got, want) {
				t.Fatalf("queue holds %v; want %v", got, want)
			}
			if p := marksProblems(t, db); len(p) > 0 {
				t.Fatal(p)
			}
		}
		if len(model) == 0 {
			if keys, _, marks := blocksOnDisk(t, db); len(keys) != 0 || len(marks) != 0 {
				t.Fatalf("%d blocks and %d marks in an empty queue", len(keys), len(marks))
			}
		}
	})
}
