package frontier

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"crawler/store"
)

// storedEntries returns copies of the entries of the block k, v.
func storedEntries(t *testing.T, k, v []byte) []blockEntry {
	t.Helper()
	b, err := decodeBlock(k, v)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]blockEntry, len(b.entries))
	for i, e := range b.entries {
		out[i] = blockEntry{seq: e.seq, rec: bytes.Clone(e.rec)}
	}
	return out
}

// openStore opens a fresh store, closed at cleanup.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir()+"/crawl.db", store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// updateQueue runs fn with a queueWriter in a transaction of db, and
// flushes it.
func updateQueue(t *testing.T, db *store.DB, fn func(w *queueWriter) error) {
	t.Helper()
	err := db.Update(func(tx *store.Tx) error {
		if _, err := tx.Bolt().CreateBucketIfNotExists(bucketQueue); err != nil {
			return err
		}
		w := newQueueWriter(tx.Bolt())
		if err := fn(w); err != nil {
			return err
		}
		return w.flush()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// queuedOnDisk returns the URLs of the queue bucket, in the order it holds them.
func queuedOnDisk(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	err := db.View(func(tx *store.Tx) error {
		qc := newQueueCursor(tx.Bolt())
		for k, v, err := qc.first(); k != nil; k, v, err = qc.next() {
			if err != nil {
				return err
			}
			e, err := unmarshalEntry(hostOfKey(k), v)
			if err != nil {
				return err
			}
			out = append(out, e.URL)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A host's queue comes out by depth, then in the order it was added,
// across blocks of at most blockEntries, packed at the commit; an entry
// taken out is skipped, and a block goes when its last entry does.
func TestQueueBlocks(t *testing.T) {
	db := openStore(t)
	url := func(depth, i int) string { return fmt.Sprintf("https://h.test/d%d/page-%d", depth, i) }
	var want []string
	for i := range 5 {
		want = append(want, url(0, i))
	}
	for i := range 100 {
		want = append(want, url(1, i))
	}
	var keys [][]byte
	err := db.Update(func(tx *store.Tx) error {
		if _, err := tx.Bolt().CreateBucketIfNotExists(bucketQueue); err != nil {
			return err
		}
		w := newQueueWriter(tx.Bolt())
		seq := uint64(0)
		for i := range 100 { // depth 1 first: depth 0 still comes first
			seq++
			e := entry{URL: url(1, i), Parent: "https://h.test/", Depth: 1}
			if err := w.add("h.test", 1, seq, e.marshal("h.test")); err != nil {
				return err
			}
			if i < 5 {
				seq++
				e := entry{URL: url(0, i)}
				if err := w.add("h.test", 0, seq, e.marshal("h.test")); err != nil {
					return err
				}
			}
		}
		return w.flush()
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := queuedOnDisk(t, db); !slices.Equal(got, want) {
		t.Fatalf("queue holds %v; want %v", got, want)
	}
	var counts []int
	_ = db.View(func(tx *store.Tx) error {
		return tx.Bolt().Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			if !isBlockKey(k) {
				t.Errorf("key %x is not a block's", k)
			}
			counts = append(counts, len(storedEntries(t, k, v)))
			return nil
		})
	})
	if want := []int{5, 32, 32, 32, 4}; !slices.Equal(counts, want) {
		t.Errorf("blocks of %v entries; want %v", counts, want)
	}
	// Take every other entry, then the rest.
	_ = db.View(func(tx *store.Tx) error {
		qc := newQueueCursor(tx.Bolt())
		for k, _, err := qc.first(); k != nil; k, _, err = qc.next() {
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		return nil
	})
	take := func(keys [][]byte) {
		t.Helper()
		err := db.Update(func(tx *store.Tx) error {
			w := newQueueWriter(tx.Bolt())
			for _, k := range keys {
				if n, err := w.remove(k); n != 1 || err != nil {
					return fmt.Errorf("remove %x: %d, %v", k, n, err)
				}
				if n, err := w.remove(k); n != 0 || err != nil { // gone already
					return fmt.Errorf("remove %x again: %d, %v", k, n, err)
				}
			}
			return w.flush()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var odd, even [][]byte
	var rest []string
	for i, k := range keys {
		if i%2 == 0 {
			even = append(even, k)
		} else {
			odd = append(odd, k)
			rest = append(rest, want[i])
		}
	}
	take(even)
	if got := queuedOnDisk(t, db); !slices.Equal(got, rest) {
		t.Fatalf("after taking every other one, the queue holds %v; want %v", got, rest)
	}
	take(odd)
	_ = db.View(func(tx *store.Tx) error {
		if k, _ := tx.Bolt().Bucket(bucketQueue).Cursor().First(); k != nil {
			t.Errorf("a block is left with no entry: %x", k)
		}
		return nil
	})
}

// An entry whose seq is older than some already queued (a staged URL
// merged late) still comes out in seq order, inside a block or between
// two, and a full block it falls in splits.
func TestQueueBlockOlderSeqKeepsItsPlace(t *testing.T) {
	db := openStore(t)
	var seqs []uint64
	for s := uint64(100); len(seqs) < blockEntries; s += 2 {
		seqs = append(seqs, s) // a full block: 100, 102, … 162
	}
	seqs = append(seqs, 10, 20, 15, 131, 3, 201, 163, 101, 12)
	err := db.Update(func(tx *store.Tx) error {
		if _, err := tx.Bolt().CreateBucketIfNotExists(bucketQueue); err != nil {
			return err
		}
		w := newQueueWriter(tx.Bolt())
		for _, seq := range seqs {
			e := entry{URL: fmt.Sprintf("https://h.test/%d", seq)}
			if err := w.add("h.test", 0, seq, e.marshal("h.test")); err != nil {
				return err
			}
		}
		return w.flush()
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(seqs)
	var want []string
	for _, seq := range seqs {
		want = append(want, fmt.Sprintf("https://h.test/%d", seq))
	}
	if got := queuedOnDisk(t, db); !slices.Equal(got, want) {
		t.Fatalf("queue holds %v; want %v", got, want)
	}
}

// The queue stores a URL in far fewer bytes than one key per URL did
// (about 145 on these URLs): the frontier's file is mostly its queue.
func TestQueueBlocksAreCompact(t *testing.T) {
	db, q := openTest(t, "", Options{})
	g := newLinkGen(20)
	added := 0
	for added < 20_000 {
		n, err := q.Add(context.Background(), g.batch(2_000))
		if err != nil {
			t.Fatal(err)
		}
		added += n
	}
	if err := q.Close(); err != nil { // merges what is staged
		t.Fatal(err)
	}
	var stored int
	_ = db.View(func(tx *store.Tx) error {
		return tx.Bolt().Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			stored += len(k) + len(v) + 16 // bbolt's leaf element
			return nil
		})
	})
	if per := float64(stored) / float64(added); per > 40 {
		t.Errorf("%d queued URLs take %d bytes, %.1f each; want at most 40", added, stored, per)
	} else {
		t.Logf("%d queued URLs take %d bytes, %.1f each", added, stored, per)
	}
	mustCheck(t, db)
}

// A file written before blocks holds one key per queued URL. Such a queue
// is still crawled, mixed with URLs added since, and the old entries go
// as their URLs are done.
func TestSingleEntryQueueOfOlderFiles(t *testing.T) {
	var links []Link
	for i := range 40 {
		links = append(links, link("a", i), link("b", i))
	}
	db, q := damage(t, links, func(tx *store.Tx) error {
		// Unpack every block into single entries, as older files hold them.
		b := tx.Bolt().Bucket(bucketQueue)
		type kv struct{ k, v []byte }
		var singles []kv
		var blocks [][]byte
		err := b.ForEach(func(k, v []byte) error {
			blocks = append(blocks, bytes.Clone(k))
			for _, e := range storedEntries(t, k, v) {
				singles = append(singles, kv{binary.BigEndian.AppendUint64(bytes.Clone(blockPrefix(k)), e.seq), e.rec})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range blocks {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for _, s := range singles {
			if !isEntryKey(s.k) {
				t.Fatalf("%x is not a single entry's key", s.k)
			}
			if err := b.Put(s.k, s.v); err != nil {
				return err
			}
		}
		return nil
	})
	if _, err := q.Add(context.Background(), []Link{link("a", 100), link("c", 1)}); err != nil {
		t.Fatal(err)
	}
	got := drain(t, q)
	if len(got) != len(links)+2 {
		t.Fatalf("crawled %d URLs; want %d: %v", len(got), len(links)+2, got)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, db)
	if left := queuedOnDisk(t, db); len(left) != 0 {
		t.Fatalf("queue still holds %v", left)
	}
}

// A block whose payload no longer decodes is set aside whole: its host's
// other URLs are still crawled, the crawl becomes idle, and the counts and
// Check agree with the disk.
func TestDamagedQueueBlockIsSetAside(t *testing.T) {
	var damaged []byte
	links := []Link{link("a", 1), link("a", 2), link("a", 3), {URL: "http://a/deeper", Host: "a", Depth: 2}}
	db, q := damage(t, links, func(tx *store.Tx) error {
		b := tx.Bolt().Bucket(bucketQueue)
		k, _ := b.Cursor().First() // the block of a/p1, a/p2, a/p3
		damaged = bytes.Clone(k)
		return b.Put(damaged, []byte{blockPacked, 3, 0xff, 0xff})
	})
	crawledAfterSetAside(t, db, q, damaged, nil, "http://a/deeper")
}

// An entry longer than a block's payload (a long redirect chain) gets a
// block of its own and comes back whole.
func TestLongQueueEntry(t *testing.T) {
	_, q := openTest(t, "", Options{})
	via := strings.Repeat("https://sso.example/"+strings.Repeat("x", 2000)+"\n", 10)
	l := Link{URL: "http://a/end", Host: "a", Hops: 10, Origin: "http://a/start", Via: via}
	if _, err := q.Add(context.Background(), []Link{link("a", 1), l, link("a", 2)}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{link("a", 1).URL, l.URL, link("a", 2).URL} {
		it := next(t, q)
		if it.URL != want || it.URL == l.URL && it.Via != via {
			t.Fatalf("got %s (via %d bytes); want %s", it.URL, len(it.Via), want)
		}
		q.Release(it, time.Now())
		if err := q.Commit(context.Background(), &Completion{Item: it, State: StateDone}); err != nil {
			t.Fatal(err)
		}
	}
}

// A listing that goes on in another transaction after a merge has put the
// staged URLs into their host's blocks neither repeats nor skips one.
func TestReadQueueAcrossMerge(t *testing.T) {
	db, q := openTest(t, "", Options{PerHostConcurrency: 1})
	ctx := context.Background()
	q.SetPaused(true) // no merge before stageAge
	if _, err := q.Add(ctx, []Link{link("s0", 0)}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ { // s0/p1, p2, p3 staged
		if _, err := q.Add(ctx, spread(stageFanout+1, i)); err != nil {
			t.Fatal(err)
		}
	}
	if stagedCount(t, db) == 0 {
		t.Fatal("nothing staged")
	}
	var listed []string
	var mark QueueMark
	page := func() {
		mark, _ = readPage(t, db, "s0", mark, 2, func(u *QueuedURL) { listed = append(listed, u.URL) })
	}
	page()                            // p0, p1 (staged)
	if err := q.Close(); err != nil { // merges
		t.Fatal(err)
	}
	if stagedCount(t, db) != 0 {
		t.Fatal("Close left URLs staged")
	}
	page() // p2, p3
	want := []string{link("s0", 0).URL, link("s0", 1).URL, link("s0", 2).URL, link("s0", 3).URL}
	if !slices.Equal(listed, want) {
		t.Fatalf("listed %v; want %v", listed, want)
	}
}

// Removing entries can leave a bbolt leaf empty until the commit, and
// bbolt's Cursor.Prev does not step over an empty leaf: an entry whose
// block sits before such a leaf is still found and removed.
func TestQueueRemoveAfterEmptiedLeaf(t *testing.T) {
	db := openStore(t)
	update := func(fn func(w *queueWriter) error) { t.Helper(); updateQueue(t, db, fn) }
	rec := func(u string) []byte { e := entry{URL: u}; return e.marshal("") }
	bHost := func(i int) string { return fmt.Sprintf("b%03d.test", i) }
	update(func(w *queueWriter) error {
		for s := uint64(100); s < 106; s++ {
			if err := w.add("a.test", 0, s, rec(fmt.Sprintf("http://a.test/%d", s))); err != nil {
				return err
			}
		}
		for i := range 300 { // a block each: several leaves
			if err := w.add(bHost(i), 0, uint64(1000+i), rec("http://"+bHost(i)+"/")); err != nil {
				return err
			}
		}
		return nil
	})
	update(func(w *queueWriter) error {
		for i := range 299 { // every b host but the last: the leaves between empty
			if n, err := w.remove(queueKey(bHost(i), 0, uint64(1000+i))); n != 1 || err != nil {
				return fmt.Errorf("remove %s: %d, %v", bHost(i), n, err)
			}
		}
		if n, err := w.remove(queueKey("a.test", 0, 103)); n != 1 || err != nil {
			return fmt.Errorf("remove a.test/103: %d, %v", n, err)
		}
		return nil
	})
	want := []string{"http://a.test/100", "http://a.test/101", "http://a.test/102", "http://a.test/104", "http://a.test/105", "http://b299.test/"}
	if got := queuedOnDisk(t, db); !slices.Equal(got, want) {
		t.Fatalf("queue holds %v; want %v", got, want)
	}
}
