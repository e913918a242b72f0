package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// counts returns db's Counts.
func counts(t *testing.T, db *DB) Counts {
	t.Helper()
	var c Counts
	if err := db.View(func(tx *Tx) error { c = tx.Counts(); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

// recSpan is the log bytes a record of p takes.
func recSpan(t *testing.T, p *Page) int64 {
	t.Helper()
	rec, err := MarshalRecord(p)
	if err != nil {
		t.Fatal(err)
	}
	return valueHeader + int64(len(rec)-1)
}

// TestGarbageIsCounted: replacing a record (a recrawl), only the record
// (a 304) or only the body adds what it replaced to GarbageBytes, which
// Check verifies against the references and compact resets; a file
// without the counter gets it computed at a read-write open.
func TestGarbageIsCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	const u = "http://example.com/a"
	p1 := &Page{URL: u, Status: 200, Title: "first"}
	b1 := db.CompressBody([]byte(strings.Repeat("first body ", 100)))
	put := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := db.Update(fn); err != nil {
			t.Fatal(err)
		}
		for _, err := range db.Check() {
			t.Errorf("check: %v", err)
		}
	}
	want := func(step string, garbage int64) {
		t.Helper()
		if c := counts(t, db); c.GarbageBytes != garbage {
			t.Errorf("%s: %d garbage bytes of %d; want %d", step, c.GarbageBytes, c.ValueBytes, garbage)
		}
	}
	record := func(p *Page, body []byte, keep bool) func(tx *Tx) error {
		return func(tx *Tx) error {
			rec, err := MarshalRecord(p)
			if err != nil {
				return err
			}
			if keep {
				return tx.ReplaceRecord(p.URL, rec)
			}
			return tx.PutRecord(p.URL, rec, body)
		}
	}

	put(record(p1, b1, false))
	want("first fetch", 0)

	p2 := &Page{URL: u, Status: 200, Title: "second, longer"}
	b2 := db.CompressBody([]byte(strings.Repeat("second body ", 80)))
	put(record(p2, b2, false))
	garbage := recSpan(t, p1) + valueHeader + int64(len(b1))
	want("recrawl", garbage)

	p3 := &Page{URL: u, Status: 304, Title: "second, longer"}
	put(record(p3, nil, true))
	garbage += recSpan(t, p2)
	want("304 keeps the body", garbage)

	b3 := db.CompressBody([]byte("third"))
	put(func(tx *Tx) error { return tx.PutBody(u, b3) })
	garbage += valueHeader + int64(len(b2))
	want("body replaced", garbage)

	if c := counts(t, db); c.ValueBytes-c.GarbageBytes != recSpan(t, p3)+valueHeader+int64(len(b3)) {
		t.Errorf("%d of %d bytes live; want the last record and body only", c.ValueBytes-c.GarbageBytes, c.ValueBytes)
	}

	// A wrong counter is what check reports.
	setGarbage := func(v []byte) {
		t.Helper()
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			m := tx.Bucket(bucketMeta)
			if v == nil {
				return m.Delete(keyValuesGarbage)
			}
			return m.Put(keyValuesGarbage, v)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setGarbage(putU64(uint64(garbage + 1)))
	if errs := db.Check(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "values_garbage") {
		t.Errorf("check with a wrong garbage counter = %v; want it named", errs)
	}

	// A file without the counter (written before it was kept) gets it at
	// the next read-write open.
	setGarbage(nil)
	if c := counts(t, db); c.GarbageBytes != 0 {
		t.Fatalf("counter deleted, still %d", c.GarbageBytes)
	}
	db.Close()
	if db, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	want("reopened without the counter", garbage)
	before := counts(t, db)

	// A damaged reference does not keep such a file from opening: it
	// counts as naming nothing, and check reports it.
	setGarbage(nil)
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPages).Put([]byte("http://example.com/damaged"), []byte{recordInLog, 0xff})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatalf("open with a damaged reference and no garbage counter: %v", err)
	}
	if errs := db.Check(); len(errs) == 0 || !strings.Contains(errors.Join(errs...).Error(), "damaged") {
		t.Errorf("check with a damaged reference: %v; want it reported", errs)
	}
	_ = db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketPages).Delete([]byte("http://example.com/damaged")) })
	db.Close()

	res, err := Compact(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if db, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	want("compacted", 0)
	if c := counts(t, db); c.ValueBytes != before.ValueBytes-before.GarbageBytes {
		t.Errorf("compacted log %d bytes; want the %d live ones (result %+v)", c.ValueBytes, before.ValueBytes-before.GarbageBytes, res)
	}
	for _, err := range db.Check() {
		t.Errorf("check after compact: %v", err)
	}
}
