package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// pageWant is what a page of the reclaim tests was last written with: its
// record's title and the tag its body was generated from (bodyFor).
type pageWant struct {
	title   string
	bodyTag string
	size    int
}

// bodyFor is the body of tag: the tag, a newline and size bytes that do
// not compress, the same every time.
func bodyFor(tag string, size int) []byte {
	var seed [32]byte
	h := fnv.New128a()
	h.Write([]byte(tag))
	h.Sum(seed[:0])
	b := make([]byte, len(tag)+1+size)
	copy(b, tag)
	b[len(tag)] = '\n'
	_, _ = rand.NewChaCha8(seed).Read(b[len(tag)+1:])
	return b
}

// reclaimURL is the URL of page i of the reclaim tests.
func reclaimURL(i int) string { return fmt.Sprintf("http://example.com/r/%05d", i) }

// putFull stores a recrawl answered 200: a new record (whose Hash names
// the body's tag) and a new body, in tx, and notes it in m.
func putFull(tx *Tx, m map[string]pageWant, url, title, tag string, size int) error {
	rec, err := MarshalRecord(&Page{URL: url, Host: "example.com", Status: 200, Title: title, Hash: tag})
	if err != nil {
		return err
	}
	if err := tx.PutRecord(url, rec, tx.db.CompressBody(bodyFor(tag, size))); err != nil {
		return err
	}
	m[url] = pageWant{title: title, bodyTag: tag, size: size}
	return nil
}

// put304 stores a recrawl answered 304: a new record, the body kept.
func put304(tx *Tx, m map[string]pageWant, url, title string) error {
	w := m[url]
	rec, err := MarshalRecord(&Page{URL: url, Host: "example.com", Status: 304, Title: title, Hash: w.bodyTag})
	if err != nil {
		return err
	}
	if err := tx.ReplaceRecord(url, rec); err != nil {
		return err
	}
	w.title = title
	m[url] = w
	return nil
}

// putPageBody replaces the record with PutPage and then the body with
// PutBody, as older callers do.
func putPageBody(tx *Tx, m map[string]pageWant, url, title, tag string, size int) error {
	if err := tx.PutPage(&Page{URL: url, Host: "example.com", Status: 200, Title: title, Hash: tag}); err != nil {
		return err
	}
	if err := tx.PutBody(url, tx.db.CompressBody(bodyFor(tag, size))); err != nil {
		return err
	}
	m[url] = pageWant{title: title, bodyTag: tag, size: size}
	return nil
}

// update runs fn in a write transaction of db, failing the test on error.
func update(t *testing.T, db *DB, fn func(tx *Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// openReclaimStore creates a store of n pages with bodies of size bytes,
// then recrawls them so that a good part of its value log is garbage:
// every fourth page answered 200 (record and body replaced), every fourth
// 304 (record replaced, body kept), every fourth rewritten with PutPage
// and PutBody, twice over for some. It returns the open store (closed at
// cleanup unless closed before), its path and what every page holds.
func openReclaimStore(t *testing.T, n, size int) (*DB, string, map[string]pageWant) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := make(map[string]pageWant, n)
	for lo := 0; lo < n; lo += 250 {
		update(t, db, func(tx *Tx) error {
			for i := lo; i < min(lo+250, n); i++ {
				if err := putFull(tx, m, reclaimURL(i), fmt.Sprint("first ", i), fmt.Sprint("b0-", i), size); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for round := range 2 {
		update(t, db, func(tx *Tx) error {
			for i := range n {
				if round == 1 && i%3 != 0 {
					continue
				}
				u, title, tag := reclaimURL(i), fmt.Sprintf("round %d of %d", round, i), fmt.Sprintf("b%d-%d", round+1, i)
				var err error
				switch i % 4 {
				case 0:
					err = putFull(tx, m, u, title, tag, size)
				case 1:
					err = put304(tx, m, u, title)
				case 2:
					err = putPageBody(tx, m, u, title, tag, size)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	return db, path, m
}

// reopen opens the store at path, closed at cleanup.
func reopen(t *testing.T, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkPages checks that db holds exactly the pages of m, each with the
// record and body last written.
func checkPages(t *testing.T, db *DB, m map[string]pageWant) {
	t.Helper()
	bad := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	err := db.View(func(tx *Tx) error {
		for u, w := range m {
			p, err := tx.Page(u)
			if err != nil || p.Title != w.title || p.URL != u {
				fail("Page(%s) = %+v, %v; want title %q", u, p, err, w.title)
				continue
			}
			b, err := tx.Body(u)
			if err != nil || !bytes.Equal(b, bodyFor(w.bodyTag, w.size)) {
				fail("Body(%s) = %.20q (%d bytes), %v; want the body of %s", u, b, len(b), err, w.bodyTag)
			}
		}
		n := 0
		err := tx.ForEachPage("", "", func(p *Page) error {
			n++
			if w, ok := m[p.URL]; !ok || p.Title != w.title {
				fail("ForEachPage: %s titled %q; want %q", p.URL, p.Title, w.title)
			}
			return nil
		})
		if err != nil || n != len(m) {
			fail("ForEachPage visited %d pages (%v); want %d", n, err, len(m))
		}
		if c := tx.Counts(); c.Pages != int64(len(m)) {
			fail("%d pages counted; want %d", c.Pages, len(m))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkClean fails the test with every problem db.Check finds.
func checkClean(t *testing.T, db *DB, when string) {
	t.Helper()
	for _, err := range db.Check() {
		t.Errorf("check %s: %v", when, err)
	}
}

// refStats sums what the page references of db name: their bytes in the
// logs (headers included) and how many values each slot holds.
func refStats(t *testing.T, db *DB) (live int64, perSlot [2]int) {
	t.Helper()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPages).ForEach(func(k, v []byte) error {
			refs, err := decodeLogRefs(v)
			if err != nil {
				return fmt.Errorf("page %s: %w", k, err)
			}
			for _, r := range []valueRef{refs.rec, refs.body} {
				if r.n > 0 {
					live += r.span()
					perSlot[r.slot]++
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return live, perSlot
}

// rawRef returns the pages bucket value of url.
func rawRef(t *testing.T, db *DB, url string) []byte {
	t.Helper()
	var v []byte
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketPages).Get([]byte(url)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// metaOf returns what db's meta bucket says of its logs.
func metaOf(t *testing.T, db *DB) logMeta {
	t.Helper()
	var lm logMeta
	if err := db.bolt.View(func(tx *bolt.Tx) error { lm = readLogMeta(tx.Bucket(bucketMeta)); return nil }); err != nil {
		t.Fatal(err)
	}
	return lm
}

// reclaimAndCheck runs a whole Reclaim of db (at path), then checks that
// only the log of generation gen is left, every page of m reads back, and
// Check is clean.
func reclaimAndCheck(t *testing.T, db *DB, path string, m map[string]pageWant, gen uint64, when string) {
	t.Helper()
	if _, err := db.Reclaim(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLogs(t, path, gen)
	checkPages(t, db, m)
	checkClean(t, db, when)
}

// wantLogs checks which value log generations of path exist: exactly
// those in gens among 1 to 5.
func wantLogs(t *testing.T, path string, gens ...uint64) {
	t.Helper()
	for g := uint64(1); g <= 5; g++ {
		_, err := os.Stat(valuesPath(path, g))
		want := false
		for _, w := range gens {
			want = want || w == g
		}
		switch {
		case want && err != nil:
			t.Errorf("log of generation %d: %v; want it", g, err)
		case !want && !errors.Is(err, os.ErrNotExist):
			t.Errorf("log of generation %d exists (%v); want it gone", g, err)
		}
	}
}

// fileSize returns the size of the file at path.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// startDrain starts a reclaim of db with its unexported steps and moves
// the first half of the values it reads (all of them fit in one chunk),
// leaving a drain half done. It returns the slot drained and the values
// moved and left.
func startDrain(t *testing.T, db *DB) (drain int, moved, left []movedValue) {
	t.Helper()
	drain, err := db.startReclaim()
	if err != nil {
		t.Fatal(err)
	}
	chunk, _, more, err := db.readChunk(drain, nil)
	if err != nil || more {
		t.Fatalf("readChunk = %d values, more %v, %v; want all in one chunk", len(chunk), more, err)
	}
	moved, left = chunk[:len(chunk)/2], chunk[len(chunk)/2:]
	n, _, _, err := db.moveChunk(moved)
	if err != nil || n != int64(len(moved)) {
		t.Fatalf("moveChunk = %d, %v; want %d moved", n, err, len(moved))
	}
	return drain, moved, left
}

// TestReclaimMovesLiveValues: a reclaim copies the live records and bodies
// into a log of the next generation in the other slot and deletes the old
// log with all its garbage; every page reads back as last written, and
// the counters and check agree.
func TestReclaimMovesLiveValues(t *testing.T) {
	db, path, m := openReclaimStore(t, 300, 2000)
	before := counts(t, db)
	live, perSlot := refStats(t, db)
	if before.GarbageBytes < before.ValueBytes/3 || before.ValueBytes-before.GarbageBytes != live {
		t.Fatalf("before: %+v, %d bytes live; want much garbage", before, live)
	}
	if perSlot != [2]int{600, 0} {
		t.Fatalf("values per slot %v before", perSlot)
	}
	oldSize := fileSize(t, valuesPath(path, 1))
	if oldSize != before.ValueBytes {
		t.Fatalf("log of %d bytes, %d counted", oldSize, before.ValueBytes)
	}

	st, err := db.Reclaim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Moved != 600 || st.MovedBytes != live || st.Freed != oldSize || st.Chunks != 1 {
		t.Errorf("stats %+v; want 600 values of %d bytes moved in 1 chunk, %d freed", st, live, oldSize)
	}
	after := counts(t, db)
	if after.ValueBytes != live || after.GarbageBytes != 0 || after.Pages != 300 || after.BodyBytes != before.BodyBytes {
		t.Errorf("after: %+v; want %d value bytes, no garbage, the pages and body bytes of before %+v", after, live, before)
	}
	if n := fileSize(t, valuesPath(path, 2)); n != live {
		t.Errorf("new log of %d bytes; want %d", n, live)
	}
	wantLogs(t, path, 2)
	if lm := metaOf(t, db); lm != (logMeta{gen: [2]uint64{0, 2}, end: [2]int64{0, live}, active: 1}) {
		t.Errorf("log meta %+v; want generation 2 alone in slot 1", lm)
	}
	if l, perSlot := refStats(t, db); l != live || perSlot != [2]int{0, 600} {
		t.Errorf("after: %d bytes named, values per slot %v; want %d, all in slot 1", l, perSlot, live)
	}
	if v := rawRef(t, db, reclaimURL(7)); v[0] != recordInLogs || v[1] != 3 {
		t.Errorf("reference % x; want both values in slot 1", v)
	}
	if db.ReclaimUnfinished() {
		t.Error("ReclaimUnfinished after a finished reclaim")
	}
	checkPages(t, db, m)
	checkClean(t, db, "after reclaim")

	// Writes go to the new log, and it all survives a reopen.
	update(t, db, func(tx *Tx) error {
		if err := putFull(tx, m, reclaimURL(0), "after", "after-0", 100); err != nil {
			return err
		}
		return putFull(tx, m, "http://example.com/new", "new", "new", 100)
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, path, Options{NoSync: true})
	checkPages(t, db, m)
	checkClean(t, db, "reopened")
	wantLogs(t, path, 2)
	if c := counts(t, db); c.GarbageBytes == 0 || c.ValueBytes != fileSize(t, valuesPath(path, 2)) {
		t.Errorf("reopened: %+v; want the replaced page's garbage, the whole new log counted", c)
	}
}

// TestReclaimTwice: the second reclaim drains slot 1 into generation 3 in
// slot 0, and the meta is as a file never reclaimed has it, but for the
// generation.
func TestReclaimTwice(t *testing.T) {
	db, path, m := openReclaimStore(t, 200, 500)
	ctx := context.Background()
	if _, err := db.Reclaim(ctx); err != nil {
		t.Fatal(err)
	}
	// Some garbage in the second log.
	update(t, db, func(tx *Tx) error {
		for i := 0; i < 200; i += 5 {
			if err := putFull(tx, m, reclaimURL(i), "between", fmt.Sprint("between-", i), 300); err != nil {
				return err
			}
			if err := put304(tx, m, reclaimURL(i+1), "between 304"); err != nil {
				return err
			}
		}
		return nil
	})
	before := counts(t, db)
	live, _ := refStats(t, db)
	size2 := fileSize(t, valuesPath(path, 2))
	if before.GarbageBytes == 0 || before.ValueBytes != size2 {
		t.Fatalf("before the second reclaim: %+v, log 2 of %d bytes", before, size2)
	}
	st, err := db.Reclaim(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Moved != 400 || st.MovedBytes != live || st.Freed != size2 {
		t.Errorf("stats %+v; want 400 values of %d bytes moved, %d freed", st, live, size2)
	}
	wantLogs(t, path, 3)
	if lm := metaOf(t, db); lm != (logMeta{gen: [2]uint64{3, 0}, end: [2]int64{live, 0}, active: 0}) {
		t.Errorf("log meta %+v; want generation 3 alone in slot 0", lm)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		for _, k := range [][]byte{keyValuesGen[1], keyValuesEnd[1], keyValuesActive} {
			if v := m.Get(k); v != nil {
				t.Errorf("meta key %s = % x; want it deleted", k, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := rawRef(t, db, reclaimURL(3)); v[0] != recordInLog {
		t.Errorf("reference % x; want both values in slot 0 (recordInLog)", v)
	}
	if c := counts(t, db); c.ValueBytes != live || c.GarbageBytes != 0 {
		t.Errorf("after: %+v; want %d value bytes, no garbage", c, live)
	}
	checkPages(t, db, m)
	checkClean(t, db, "after the second reclaim")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, path, Options{ReadOnly: true})
	checkPages(t, db, m)
	checkClean(t, db, "reopened read-only")
}

// TestReclaimInterrupted: a reclaim stopped between its commits (as a
// crash or a cancelled context leaves it) leaves a store with two logs
// that opens read-write and read-only and reads whole; the next Reclaim
// finishes the drain instead of starting another.
func TestReclaimInterrupted(t *testing.T) {
	db, path, m := openReclaimStore(t, 200, 1000)
	before := counts(t, db)
	oldEnd := before.ValueBytes
	drain, moved, left := startDrain(t, db)
	if drain != 0 {
		t.Fatalf("draining slot %d; want 0", drain)
	}
	var movedBytes int64
	for _, v := range moved {
		movedBytes += v.ref.span()
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash after an append that never committed leaves bytes past the
	// new log's end.
	f, err := os.OpenFile(valuesPath(path, 2), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("uncommitted")); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db = reopen(t, path, Options{NoSync: true})
	if !db.ReclaimUnfinished() {
		t.Error("ReclaimUnfinished false with a drain half done")
	}
	wantLogs(t, path, 1, 2)
	if n := fileSize(t, valuesPath(path, 2)); n != movedBytes {
		t.Errorf("new log of %d bytes after a read-write open; want the %d moved", n, movedBytes)
	}
	if c := counts(t, db); c.ValueBytes != oldEnd+movedBytes || c.GarbageBytes != before.GarbageBytes+movedBytes {
		t.Errorf("mid-drain: %+v; want %d value bytes, %d garbage", c, oldEnd+movedBytes, before.GarbageBytes+movedBytes)
	}
	if _, perSlot := refStats(t, db); perSlot != [2]int{len(left), len(moved)} {
		t.Errorf("values per slot %v; want %d, %d", perSlot, len(left), len(moved))
	}
	checkPages(t, db, m)
	checkClean(t, db, "mid-drain")
	db.Close()

	db = reopen(t, path, Options{ReadOnly: true})
	if !db.ReclaimUnfinished() {
		t.Error("ReclaimUnfinished false, read-only, with a drain half done")
	}
	checkPages(t, db, m)
	checkClean(t, db, "mid-drain, read-only")
	if _, err := db.Reclaim(context.Background()); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Reclaim of a read-only store: %v; want ErrReadOnly", err)
	}
	db.Close()

	db = reopen(t, path, Options{NoSync: true})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if st, err := db.Reclaim(cancelled); !errors.Is(err, context.Canceled) || st.Moved != 0 {
		t.Errorf("Reclaim with a cancelled context: %+v, %v; want context.Canceled, nothing moved", st, err)
	}
	wantLogs(t, path, 1, 2) // it went on with the drain, no third log
	st, err := db.Reclaim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Moved != int64(len(left)) || st.Freed != oldEnd {
		t.Errorf("stats %+v; want the %d values left moved, %d freed", st, len(left), oldEnd)
	}
	wantLogs(t, path, 2)
	live, perSlot := refStats(t, db)
	if c := counts(t, db); c.ValueBytes != live || c.GarbageBytes != 0 || perSlot[0] != 0 {
		t.Errorf("after: %+v, values per slot %v; want %d value bytes, no garbage, all in slot 1", c, perSlot, live)
	}
	checkPages(t, db, m)
	checkClean(t, db, "after the drain was finished")
}

// TestReclaimCancelledAtOnce: a Reclaim whose context is cancelled stops
// after creating the new log; the store reads whole across a reopen, and
// the next Reclaim drains into that log, not a third one.
func TestReclaimCancelledAtOnce(t *testing.T) {
	db, path, m := openReclaimStore(t, 50, 300)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Reclaim(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Reclaim = %v; want context.Canceled", err)
	}
	if !db.ReclaimUnfinished() {
		t.Error("ReclaimUnfinished false after a cancelled start")
	}
	wantLogs(t, path, 1, 2)
	checkPages(t, db, m)
	checkClean(t, db, "after a cancelled start")
	db.Close()
	db = reopen(t, path, Options{ReadOnly: true})
	checkPages(t, db, m)
	db.Close()
	db = reopen(t, path, Options{NoSync: true})
	reclaimAndCheck(t, db, path, m, 2, "after the reclaim")
}

// TestReclaim304WhileDraining: a 304 during a drain puts the new record in
// the new log and keeps the body in the drained one; a new body alone goes
// to the new log beside a record still in the drained one. Both read
// back, in the writing transaction and after, and the reclaim then moves
// what is left.
func TestReclaim304WhileDraining(t *testing.T) {
	db, path, m := openReclaimStore(t, 20, 300)
	drain, err := db.startReclaim()
	if err != nil || drain != 0 {
		t.Fatalf("startReclaim = %d, %v", drain, err)
	}
	a, b := reclaimURL(5), reclaimURL(6)
	update(t, db, func(tx *Tx) error {
		if err := put304(tx, m, a, "304 while draining"); err != nil {
			return err
		}
		m[b] = pageWant{title: m[b].title, bodyTag: "new body", size: 200}
		if err := tx.PutBody(b, db.CompressBody(bodyFor("new body", 200))); err != nil {
			return err
		}
		// The writer reads what it appended.
		if p, err := tx.Page(a); err != nil || p.Title != "304 while draining" {
			return fmt.Errorf("Page in the writing transaction = %+v, %v", p, err)
		}
		if got, err := tx.Body(b); err != nil || !bytes.Equal(got, bodyFor("new body", 200)) {
			return fmt.Errorf("Body in the writing transaction = %.12q, %v", got, err)
		}
		return nil
	})
	for u, slots := range map[string]byte{a: 1, b: 2} { // bit 0: the record in slot 1; bit 1: the body
		v := rawRef(t, db, u)
		if len(v) < 2 || v[0] != recordInLogs || v[1] != slots {
			t.Errorf("reference of %s % x; want recordInLogs, slots %d", u, v, slots)
		}
	}
	checkPages(t, db, m)
	checkClean(t, db, "after a 304 while draining")

	st, err := db.Reclaim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Moved != 2*20-2 {
		t.Errorf("moved %d values; want %d (all but the two written while draining)", st.Moved, 2*20-2)
	}
	for _, u := range []string{a, b} {
		if v := rawRef(t, db, u); len(v) < 2 || v[0] != recordInLogs || v[1] != 3 {
			t.Errorf("reference of %s % x after the reclaim; want both values in slot 1", u, v)
		}
	}
	wantLogs(t, path, 2)
	if c := counts(t, db); c.GarbageBytes != 0 {
		t.Errorf("%d garbage bytes; want none", c.GarbageBytes)
	}
	checkPages(t, db, m)
	checkClean(t, db, "after the reclaim")
}

// TestReclaimKeepsValuesReplacedMeanwhile: a value replaced between the
// read of a chunk and its move is left alone (the stale copy is not
// written over the new value), the others of its page are moved, and the
// garbage counter stays exact (check verifies it against the references).
func TestReclaimKeepsValuesReplacedMeanwhile(t *testing.T) {
	db, path, m := openReclaimStore(t, 40, 400)
	oldEnd := counts(t, db).ValueBytes
	drain, err := db.startReclaim()
	if err != nil {
		t.Fatal(err)
	}
	chunk, _, more, err := db.readChunk(drain, nil)
	if err != nil || more || len(chunk) != 80 {
		t.Fatalf("readChunk = %d values, more %v, %v; want 80", len(chunk), more, err)
	}
	full, r304, body, page := reclaimURL(3), reclaimURL(10), reclaimURL(17), reclaimURL(24)
	update(t, db, func(tx *Tx) error {
		if err := putFull(tx, m, full, "replaced meanwhile", "meanwhile", 500); err != nil { // both values
			return err
		}
		if err := put304(tx, m, r304, "304 meanwhile"); err != nil { // the record
			return err
		}
		m[body] = pageWant{title: m[body].title, bodyTag: "body meanwhile", size: 100}
		if err := tx.PutBody(body, db.CompressBody(bodyFor("body meanwhile", 100))); err != nil { // the body
			return err
		}
		w := m[page]
		m[page] = pageWant{title: "PutPage meanwhile", bodyTag: w.bodyTag, size: w.size}
		return tx.PutPage(&Page{URL: page, Status: 200, Title: "PutPage meanwhile"}) // the record
	})
	checkClean(t, db, "after the replacements")
	moved, _, _, err := db.moveChunk(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(chunk) - 5); moved != want {
		t.Errorf("moved %d values; want %d (all but the 5 replaced)", moved, want)
	}
	checkPages(t, db, m)
	checkClean(t, db, "after the move")
	if _, perSlot := refStats(t, db); perSlot[0] != 0 {
		t.Errorf("%d values still in the drained slot", perSlot[0])
	}

	// A second move of the same chunk finds every value moved already.
	if moved, size, _, err := db.moveChunk(chunk); err != nil || moved != 0 || size != 0 {
		t.Errorf("moving the chunk again: %d values, %d bytes, %v; want nothing", moved, size, err)
	}
	freed, done, err := db.finishReclaim(drain)
	if err != nil || !done || freed != oldEnd {
		t.Fatalf("finishReclaim = %d, %v, %v; want %d freed", freed, done, err, oldEnd)
	}
	wantLogs(t, path, 2)
	live, _ := refStats(t, db)
	if c := counts(t, db); c.GarbageBytes != 0 || c.ValueBytes != live {
		t.Errorf("after: %+v; want no garbage, %d value bytes", c, live)
	}
	checkPages(t, db, m)
	checkClean(t, db, "after the reclaim")
}

// TestReadChunkPages: readChunk returns the values named in the drained
// slot a chunk of reclaimChunkBytes at a time, in key order, each once,
// from the key after the one given, and skips values in the other slot.
func TestReadChunkPages(t *testing.T) {
	db, _, _ := openReclaimStore(t, 700, 8<<10)
	live, _ := refStats(t, db)
	if live < reclaimChunkBytes*5/4 {
		t.Fatalf("%d live bytes: not more than a chunk", live)
	}
	drain, err := db.startReclaim()
	if err != nil {
		t.Fatal(err)
	}
	var after []byte
	var chunks [][]movedValue
	seen := make(map[string]int)
	for more := true; more; {
		var chunk []movedValue
		var last []byte
		chunk, last, more, err = db.readChunk(drain, after)
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		for _, v := range chunk {
			size += v.ref.span()
			if v.ref.slot != drain || bytes.Compare(v.key, after) <= 0 || bytes.Compare(v.key, last) > 0 {
				t.Fatalf("chunk after %q up to %q holds %q in slot %d", after, last, v.key, v.ref.slot)
			}
			seen[string(v.key)]++
		}
		if more && (size < reclaimChunkBytes || size > reclaimChunkBytes+(10<<10)) {
			t.Errorf("a chunk that is not the last holds %d bytes; want about %d", size, reclaimChunkBytes)
		}
		if len(chunks) > 5 {
			t.Fatal("no end of the chunks")
		}
		chunks, after = append(chunks, chunk), last
	}
	if len(chunks) != 2 || len(seen) != 700 {
		t.Fatalf("%d chunks, %d keys; want 2 chunks of all 700", len(chunks), len(seen))
	}
	for k, n := range seen {
		if n != 2 {
			t.Errorf("%s read %d times; want its record and body", k, n)
		}
	}
	chunk, last, more, err := db.readChunk(drain, []byte(reclaimURL(9)))
	if err != nil || len(chunk) < 2 || string(chunk[0].key) != reclaimURL(10) || chunk[0].body || !chunk[1].body || !more {
		t.Errorf("readChunk after %s: %d values up to %q, more %v, %v; want page 10's record and body first, more", reclaimURL(9), len(chunk), last, more, err)
	}
	for _, c := range chunks {
		if _, _, _, err := db.moveChunk(c); err != nil {
			t.Fatal(err)
		}
	}
	if chunk, _, more, err := db.readChunk(drain, nil); err != nil || len(chunk) != 0 || more {
		t.Errorf("readChunk once all is moved = %d values, more %v, %v; want none", len(chunk), more, err)
	}
}

// TestFinishReclaimWaitsForReferences: finishReclaim does not drop a log
// a reference still names.
func TestFinishReclaimWaitsForReferences(t *testing.T) {
	db, path, m := openReclaimStore(t, 10, 100)
	drain, _, _ := startDrain(t, db)
	if freed, done, err := db.finishReclaim(drain); err != nil || done || freed != 0 {
		t.Errorf("finishReclaim with values left = %d, %v, %v; want not done", freed, done, err)
	}
	wantLogs(t, path, 1, 2)
	checkPages(t, db, m)
	checkClean(t, db, "after an early finishReclaim")
}

// TestReclaimReadOnly: a read-only store refuses to reclaim and is left
// as it was.
func TestReclaimReadOnly(t *testing.T) {
	db, path, _ := openReclaimStore(t, 10, 100)
	db.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if st, err := ro.Reclaim(context.Background()); !errors.Is(err, ErrReadOnly) || st != (ReclaimStats{}) {
		t.Errorf("Reclaim = %+v, %v; want ErrReadOnly", st, err)
	}
	if ro.ReclaimUnfinished() {
		t.Error("ReclaimUnfinished on a read-only store")
	}
	wantLogs(t, path, 1)
}
