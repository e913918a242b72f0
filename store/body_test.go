package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// openBodyTest is openTemp, checked at cleanup.
func openBodyTest(t *testing.T) *DB {
	t.Helper()
	db := openTemp(t)
	t.Cleanup(func() {
		for _, err := range db.Check() {
			t.Errorf("check: %v", err)
		}
	})
	return db
}

// openTemp opens a new store in a temporary directory, closed at cleanup.
func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "crawl.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// wantBody checks url's body and the store's body byte total.
func wantBody(t *testing.T, db *DB, url, want string, bodyBytes int64) {
	t.Helper()
	err := db.View(func(tx *Tx) error {
		got, err := tx.Body(url)
		switch {
		case want == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("Body(%s) = %q, %v; want ErrNotFound", url, got, err)
		case want != "" && (err != nil || string(got) != want):
			t.Errorf("Body(%s) = %q, %v; want %q", url, got, err, want)
		}
		if c := tx.Counts(); c.BodyBytes != bodyBytes {
			t.Errorf("body bytes = %d; want %d", c.BodyBytes, bodyBytes)
		}
		p, err := tx.Page(url)
		if err != nil || p.URL != url {
			t.Errorf("Page(%s) = %+v, %v", url, p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBodyFollowsItsRecord(t *testing.T) {
	db := openBodyTest(t)
	const u = "http://example.com/a"
	one, two := db.CompressBody([]byte("first body")), db.CompressBody([]byte("second body"))
	update := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := db.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	err := db.Update(func(tx *Tx) error { return tx.PutBody(u, one) })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutBody without a record: %v; want ErrNotFound", err)
	}
	update(func(tx *Tx) error {
		if err := tx.PutPage(&Page{URL: u, Status: 200}); err != nil {
			return err
		}
		return tx.PutBody(u, one)
	})
	wantBody(t, db, u, "first body", int64(len(one)))

	// A new record (a recrawl answered 304) keeps the body.
	update(func(tx *Tx) error { return tx.PutPage(&Page{URL: u, Status: 200, Title: "again"}) })
	wantBody(t, db, u, "first body", int64(len(one)))

	// A new body replaces the old one, whose bytes are no longer counted.
	update(func(tx *Tx) error { return tx.PutBody(u, two) })
	wantBody(t, db, u, "second body", int64(len(two)))
	_ = db.View(func(tx *Tx) error {
		if n := tx.Bolt().Bucket(bucketBlobs).Stats().KeyN; n != 1 {
			t.Errorf("%d blobs; want 1", n)
		}
		return nil
	})

	// A record stored with a body (the writer's one call per page)
	// replaces the body too.
	three := db.CompressBody([]byte("third body"))
	update(func(tx *Tx) error {
		rec, err := MarshalRecord(&Page{URL: u, Status: 200, Title: "third"})
		if err != nil {
			return err
		}
		return tx.PutRecord(u, rec, three)
	})
	wantBody(t, db, u, "third body", int64(len(three)))

	// A nil body deletes it.
	update(func(tx *Tx) error { return tx.PutBody(u, nil) })
	wantBody(t, db, u, "", 0)
}

// TestBodyOfOlderFile reads a body stored the way older versions did,
// under its URL in the bodies bucket, and replaces it.
func TestBodyOfOlderFile(t *testing.T) {
	db := openBodyTest(t)
	const u = "http://example.com/old"
	old, fresh := db.CompressBody([]byte("old body")), db.CompressBody([]byte("new body"))
	err := db.Update(func(tx *Tx) error {
		if err := tx.PutPage(&Page{URL: u, Status: 200}); err != nil {
			return err
		}
		b, err := tx.Bolt().CreateBucket(bucketBodies)
		if err != nil {
			return err
		}
		tx.addCounter(keyBodyBytes, int64(len(old)))
		return b.Put([]byte(u), old)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantBody(t, db, u, "old body", int64(len(old)))
	if err := db.Update(func(tx *Tx) error { return tx.PutBody(u, fresh) }); err != nil {
		t.Fatal(err)
	}
	wantBody(t, db, u, "new body", int64(len(fresh)))
	_ = db.View(func(tx *Tx) error {
		if v := tx.Bolt().Bucket(bucketBodies).Get([]byte(u)); v != nil {
			t.Error("the old body is still in the bodies bucket")
		}
		return nil
	})
}

func TestRecordFraming(t *testing.T) {
	js := []byte(`{"url":"http://example.com/"}`)
	for _, blob := range []uint64{0, 1, 300, 1 << 40} {
		id, got, err := splitRecord(joinRecord(blob, js))
		if err != nil || id != blob || string(got) != string(js) {
			t.Errorf("split(join(%d)) = %d, %s, %v", blob, id, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {recordWithBlob}, {recordWithBlob, 0}, {recordWithBlob, 0x80}, {9, '{', '}'}} {
		if _, _, err := splitRecord(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("splitRecord(%x) = %v; want ErrCorrupt", bad, err)
		}
	}
}

// TestCheckFindsBrokenBodies breaks each promise checkRecords verifies and
// expects Check to say so.
func TestCheckFindsBrokenBodies(t *testing.T) {
	for name, tc := range map[string]struct {
		breakIt func(tx *Tx) error
		want    string
	}{
		"missing blob": {func(tx *Tx) error { return tx.Bolt().Bucket(bucketBlobs).Delete(blobKey(1)) }, "blob 1 is missing"},
		"orphan blob": {func(tx *Tx) error {
			return tx.Bolt().Bucket(bucketBlobs).Put(blobKey(99), []byte("x"))
		}, "named by no page record"},
		"body counter":  {func(tx *Tx) error { tx.addCounter(keyBodyBytes, 1); return nil }, "counter body_bytes"},
		"pages counter": {func(tx *Tx) error { tx.addCounter(keyPages, -1); return nil }, "counter pages"},
		"shared blob": {func(tx *Tx) error {
			return tx.Bolt().Bucket(bucketPages).Put([]byte("http://example.com/b"), joinRecord(1, []byte(`{"url":"http://example.com/b"}`)))
		}, "named by another record"},
	} {
		t.Run(name, func(t *testing.T) {
			db := openTemp(t)
			err := db.Update(func(tx *Tx) error {
				if err := tx.PutPage(&Page{URL: "http://example.com/a"}); err != nil {
					return err
				}
				if err := tx.PutBody("http://example.com/a", db.CompressBody([]byte("body"))); err != nil {
					return err
				}
				return tc.breakIt(tx)
			})
			if err != nil {
				t.Fatal(err)
			}
			errs := db.Check()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Errorf("Check = %v; want one error saying %q", errs, tc.want)
			}
		})
	}
}
