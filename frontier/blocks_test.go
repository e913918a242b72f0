package frontier

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"crawler/store"
)

// storedEntries returns copies of the entries of the stored block v.
func storedEntries(t *testing.T, v []byte) [][]byte {
	t.Helper()
	b, err := parseBlock(v)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := b.entries()
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = bytes.Clone(r)
	}
	return out
}

// rawBlock returns a raw block of recs, none taken.
func rawBlock(recs ...[]byte) []byte {
	v := []byte{blockRaw, byte(len(recs)), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for _, r := range recs {
		v = binary.AppendUvarint(v, uint64(len(r)))
		v = append(v, r...)
	}
	return v
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

// queuedOnDisk returns the URLs of the queue bucket, in the order it holds them.
func queuedOnDisk(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	err := db.View(func(tx *store.Tx) error {
		qc := newQueueCursor(tx.Bolt().Bucket(bucketQueue))
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
		w := newQueueWriter(tx.Bolt().Bucket(bucketQueue))
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
	var packed []int
	_ = db.View(func(tx *store.Tx) error {
		return tx.Bolt().Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			b, err := parseBlock(v)
			if err != nil || queueKeyKind(k) != keyBlock {
				t.Errorf("key %x: kind %d, %v", k, queueKeyKind(k), err)
			}
			if b.kind != blockPacked {
				t.Errorf("block %x of %d entries is not packed", k, b.count)
			}
			packed = append(packed, b.count)
			return nil
		})
	})
	if want := []int{5, 32, 32, 32, 4}; !slices.Equal(packed, want) {
		t.Errorf("blocks of %v entries; want %v", packed, want)
	}

	// Take every other entry, then the rest.
	_ = db.View(func(tx *store.Tx) error {
		qc := newQueueCursor(tx.Bolt().Bucket(bucketQueue))
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
			w := newQueueWriter(tx.Bolt().Bucket(bucketQueue))
			for _, k := range keys {
				if n, err := w.remove(k); n != 1 || err != nil {
					return fmt.Errorf("remove %x: %d, %v", k, n, err)
				}
				if n, err := w.remove(k); n != 0 || err != nil { // gone already
					return fmt.Errorf("remove %x again: %d, %v", k, n, err)
				}
			}
			return nil
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
// merged late) still comes out in seq order.
func TestQueueBlockOlderSeqKeepsItsPlace(t *testing.T) {
	db := openStore(t)
	err := db.Update(func(tx *store.Tx) error {
		b, err := tx.Bolt().CreateBucketIfNotExists(bucketQueue)
		if err != nil {
			return err
		}
		w := newQueueWriter(b)
		for _, seq := range []uint64{10, 11, 3, 12, 4, 9, 2} {
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
	var want []string
	for _, seq := range []int{2, 3, 4, 9, 10, 11, 12} {
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
			seq := u64(k[len(k)-9 : len(k)-1])
			for i, r := range storedEntries(t, v) {
				singles = append(singles, kv{binary.BigEndian.AppendUint64(bytes.Clone(k[:len(k)-9]), seq+uint64(i)), r})
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
			if queueKeyKind(s.k) != keyEntry {
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
		return b.Put(damaged, []byte{blockPacked, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff})
	})
	crawledAfterSetAside(t, db, q, damaged, nil, "http://a/deeper")
}
