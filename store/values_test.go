package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// putSample stores one page with a body in its own transaction.
func putSample(t *testing.T, db *DB, i int) {
	t.Helper()
	u := fmt.Sprintf("http://example.com/p/%d", i)
	err := db.Update(func(tx *Tx) error {
		if err := tx.PutPage(&Page{URL: u, Status: 200, Title: fmt.Sprint("title ", i)}); err != nil {
			return err
		}
		return tx.PutBody(u, db.CompressBody(fmt.Appendf(nil, "body %d", i)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wantSamples checks that pages 0..n-1 of putSample read back, and that
// Check finds nothing.
func wantSamples(t *testing.T, db *DB, n int) {
	t.Helper()
	err := db.View(func(tx *Tx) error {
		for i := range n {
			u := fmt.Sprintf("http://example.com/p/%d", i)
			p, err := tx.Page(u)
			if err != nil || p.Title != fmt.Sprint("title ", i) {
				t.Errorf("Page(%s) = %+v, %v", u, p, err)
			}
			b, err := tx.Body(u)
			if err != nil || string(b) != fmt.Sprint("body ", i) {
				t.Errorf("Body(%s) = %q, %v", u, b, err)
			}
		}
		if c := tx.Counts(); c.Pages != int64(n) {
			t.Errorf("%d pages counted; want %d", c.Pages, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range db.Check() {
		t.Errorf("check: %v", err)
	}
}

// TestRecordsGoToTheValueLog: a stored page leaves only references in
// bbolt's file; its record and body are in the log, which only grows by
// what was committed.
func TestRecordsGoToTheValueLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	title := strings.Repeat("a long title ", 50)
	err = db.Update(func(tx *Tx) error {
		return tx.PutPage(&Page{URL: "http://example.com/", Title: title})
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *Tx) error {
		v := tx.Bolt().Bucket(bucketPages).Get([]byte("http://example.com/"))
		if len(v) > 16 || bytes.Contains(v, []byte("a long title")) {
			t.Errorf("pages bucket holds %d bytes %q; want only references", len(v), v)
		}
		c := tx.Counts()
		log, err := os.ReadFile(valuesPath(path, 1))
		if err != nil || int64(len(log)) != c.ValueBytes || !bytes.Contains(log, []byte("a long title")) {
			t.Errorf("value log %d bytes (%v), counted %d; want the record in it", len(log), err, c.ValueBytes)
		}
		return nil
	})
}

// TestFailedUpdateAppendsNothing: a transaction that fails leaves the log
// as it was, and the next one's values land where its would have.
func TestFailedUpdateAppendsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	putSample(t, db, 0)
	before, _ := os.Stat(valuesPath(path, 1))
	boom := errors.New("boom")
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutPage(&Page{URL: "http://example.com/lost", Title: "lost"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v; want boom", err)
	}
	if after, _ := os.Stat(valuesPath(path, 1)); after.Size() != before.Size() {
		t.Errorf("a failed transaction grew the log from %d to %d bytes", before.Size(), after.Size())
	}
	putSample(t, db, 1)
	wantSamples(t, db, 2)
	if _, err := os.Stat(valuesPath(path, 1)); err != nil {
		t.Fatal(err)
	}
	if log, _ := os.ReadFile(valuesPath(path, 1)); bytes.Contains(log, []byte("lost")) {
		t.Error("the failed transaction's record is in the log")
	}
}

// TestUncommittedTailIsCut: bytes past the committed end (a crash between
// the log's sync and bbolt's commit) are cut by a read-write open and
// ignored by a read-only one; nothing committed is lost.
func TestUncommittedTailIsCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		putSample(t, db, i)
	}
	db.Close()
	log := valuesPath(path, 1)
	good, _ := os.ReadFile(log)
	if err := os.WriteFile(log, append(bytes.Clone(good), "half a commit"...), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{true, false} {
		db, err := Open(path, Options{ReadOnly: ro, NoSync: true})
		if err != nil {
			t.Fatalf("readonly=%v: %v", ro, err)
		}
		wantSamples(t, db, 3)
		if !ro {
			putSample(t, db, 3)
			wantSamples(t, db, 4)
		}
		db.Close()
	}
	if now, _ := os.ReadFile(log); !bytes.HasPrefix(now, good) || bytes.Contains(now, []byte("half a commit")) {
		t.Errorf("log after a read-write open: %q...; want the committed bytes, then the new commit", now[:min(len(now), 40)])
	}
}

// TestMissingOrShortValueLogIsCorrupt: a database whose log is gone or cut
// short is refused with ErrCorrupt naming the log, read-only or not, and
// neither file is changed.
func TestMissingOrShortValueLogIsCorrupt(t *testing.T) {
	sample, data, _ := sampleDB(t, 20)
	for _, tc := range []struct {
		name string
		cut  func(log []byte) []byte // nil: no log
	}{
		{"missing", nil},
		{"empty", func([]byte) []byte { return []byte{} }},
		{"one byte short", func(l []byte) []byte { return l[:len(l)-1] }},
	} {
		for _, ro := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/readonly=%v", tc.name, ro), func(t *testing.T) {
				path := withLog(t, sample, data)
				log := valuesPath(path, 1)
				if tc.cut == nil {
					_ = os.Remove(log)
				} else {
					full, _ := os.ReadFile(log)
					if err := os.WriteFile(log, tc.cut(full), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				logBefore, _ := os.ReadFile(log)
				db, err := openNoPanic(t, path, Options{ReadOnly: ro})
				if err == nil {
					db.Close()
					t.Fatal("Open succeeded; want ErrCorrupt")
				}
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), log) {
					t.Errorf("err = %v; want ErrCorrupt naming %s", err, log)
				}
				if now, _ := os.ReadFile(path); !bytes.Equal(now, data) {
					t.Error("the database file changed")
				}
				now, _ := os.ReadFile(log)
				if _, statErr := os.Stat(log); (tc.cut == nil) != errors.Is(statErr, os.ErrNotExist) || !bytes.Equal(now, logBefore) {
					t.Errorf("the value log changed (or was created): %v", statErr)
				}
			})
		}
	}
}

// TestSchema1FileIsUpgraded opens a file written the way schema 1 did
// (records and bodies in bbolt): a read-only open reads it as it is, a
// read-write one marks it schema 2, reads the old records, and stores new
// ones in the log.
func TestSchema1FileIsUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	body := db.CompressBody([]byte("body 0"))
	err = db.Update(func(tx *Tx) error {
		putOlderRecord(t, tx, &Page{URL: "http://example.com/p/0", Status: 200, Title: "title 0"}, body, true)
		return tx.Bolt().Bucket(bucketMeta).Put(keySchema, putU64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Remove(valuesPath(path, 1)); err != nil {
		t.Fatal(err)
	}
	schema := func() uint64 {
		b, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		var v uint64
		_ = b.View(func(tx *bolt.Tx) error { v = u64(tx.Bucket(bucketMeta).Get(keySchema)); return nil })
		return v
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a schema 1 file: %v", err)
	}
	wantSamples(t, ro, 1)
	ro.Close()
	if v := schema(); v != 1 {
		t.Errorf("a read-only open changed the schema to %d", v)
	}
	rw, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	putSample(t, rw, 1)
	wantSamples(t, rw, 2)
	rw.Close()
	if v := schema(); v != schemaVersion {
		t.Errorf("schema %d after a read-write open; want %d", v, schemaVersion)
	}
}

// TestValueRefsCodec: references round-trip, and bad ones are ErrCorrupt,
// never a panic.
func TestValueRefsCodec(t *testing.T) {
	for _, r := range []logRefs{
		{rec: valueRef{off: 0, n: 1}},
		{rec: valueRef{off: 1 << 40, n: 300}, body: valueRef{off: 1<<40 + 304, n: maxValueLen}},
		{rec: valueRef{off: 7, n: 3, slot: 1}},
		{rec: valueRef{off: 7, n: 3, slot: 1}, body: valueRef{off: 20, n: 5}},
		{rec: valueRef{off: 7, n: 3}, body: valueRef{off: 20, n: 5, slot: 1}},
		{rec: valueRef{off: 7, n: 3, slot: 1}, body: valueRef{off: 20, n: 5, slot: 1}},
	} {
		got, err := decodeLogRefs(r.encode())
		if err != nil || got != r {
			t.Errorf("decode(encode(%+v)) = %+v, %v", r, got, err)
		}
		if enc := r.encode(); (r.rec.slot == 0 && r.body.slot == 0) != (enc[0] == recordInLog) {
			t.Errorf("encode(%+v) starts with %d: slot 0 alone must keep the old encoding", r, enc[0])
		}
	}
	for _, bad := range [][]byte{
		nil, {recordInLog}, {recordInLog, 0, 0, 0, 0}, // no record
		{recordInLog, 0, 1, 0}, {recordInLog, 0, 1, 0, 0, 0}, // short, long
		{recordInLog, 0x80}, {1, '{', '}'},
		append([]byte{recordInLog, 0}, logRefs{rec: valueRef{off: 0, n: maxValueLen + 1}}.encode()[2:]...),
		{recordInLogs}, {recordInLogs, 4, 0, 1, 0, 0}, {recordInLogs, 1, 0, 1, 0}, // no slots, bad slots, short
	} {
		if _, err := decodeLogRefs(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeLogRefs(%x) = %v; want ErrCorrupt", bad, err)
		}
	}
}

// TestConcurrentUpdates: writers on several goroutines (the frontier's
// writer, the robots.txt saver, API seed additions) each append to the
// log; every value lands where its reference says.
func TestConcurrentUpdates(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "crawl.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const writers, each = 4, 50
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range each {
				n := w*each + i
				u := fmt.Sprintf("http://example.com/p/%d", n)
				err := db.Update(func(tx *Tx) error {
					if err := tx.PutPage(&Page{URL: u, Status: 200, Title: fmt.Sprint("title ", n)}); err != nil {
						return err
					}
					return tx.PutBody(u, db.CompressBody(fmt.Appendf(nil, "body %d", n)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	wantSamples(t, db, writers*each)
}

// TestWriterTakesTheEndFromTheDatabase: when the log's end kept in memory
// falls behind the one committed (bbolt can make a commit visible whose
// final sync failed, and the log then kept its old end), the next write
// transaction appends after what the database names, not over it.
func TestWriterTakesTheEndFromTheDatabase(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "crawl.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	putSample(t, db, 0)
	before := db.values.end.Load()
	putSample(t, db, 1)
	db.values.end.Store(before) // as done(false) leaves it after such a commit
	putSample(t, db, 2)
	wantSamples(t, db, 3)
}

// TestCreatedLogIsSyncedIntoItsDirectory: a read-write Open that creates
// the value log syncs its directory, so that the file's entry outlives a
// power loss once commits name it.
func TestCreatedLogIsSyncedIntoItsDirectory(t *testing.T) {
	dir := t.TempDir()
	var synced []string
	orig := syncDir
	syncDir = func(d string) error { synced = append(synced, d); return orig(d) }
	defer func() { syncDir = orig }()
	db, err := Open(filepath.Join(dir, "crawl.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !slices.Contains(synced, dir) {
		t.Fatalf("a new value log was created in %s without syncing it (synced: %q)", dir, synced)
	}
}
