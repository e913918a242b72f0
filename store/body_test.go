package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
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
		refs, err := decodeLogRefs(tx.Bolt().Bucket(bucketPages).Get([]byte(u)))
		if err != nil || refs.body.n != int64(len(two)) {
			t.Errorf("stored references %+v, %v; want the second body's %d bytes in the value log", refs, err, len(two))
		}
		if n := tx.Bolt().Bucket(bucketBlobs).Stats().KeyN; n != 0 {
			t.Errorf("%d blobs; want none: bodies go to the value log", n)
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

// putOlderRecord stores p the way files of schema 1 did: the record
// itself under its URL, with its body (compressed, nil: none) in the
// blobs bucket when blob is true, else in the bodies bucket.
func putOlderRecord(t *testing.T, tx *Tx, p *Page, body []byte, blob bool) {
	t.Helper()
	rec, err := MarshalRecord(p)
	if err != nil {
		t.Fatal(err)
	}
	var id uint64
	if body != nil {
		tx.addCounter(keyBodyBytes, int64(len(body)))
		if blob {
			blobs := tx.Bolt().Bucket(bucketBlobs)
			if id, err = blobs.NextSequence(); err != nil {
				t.Fatal(err)
			}
			err = blobs.Put(blobKey(id), body)
		} else {
			var b *bolt.Bucket
			if b, err = tx.Bolt().CreateBucketIfNotExists(bucketBodies); err == nil {
				err = b.Put([]byte(p.URL), body)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	tx.addCounter(keyPages, 1)
	if err := tx.Bolt().Bucket(bucketPages).Put([]byte(p.URL), joinRecord(id, rec[1:])); err != nil {
		t.Fatal(err)
	}
}

// TestBodyOfOlderFile reads bodies stored the way older versions did,
// under their URL in the bodies bucket or by id in the blobs bucket, with
// the record itself in the pages bucket, and replaces them: a new record
// that keeps the body moves it to the value log, a new body drops it.
func TestBodyOfOlderFile(t *testing.T) {
	for _, blob := range []bool{false, true} {
		t.Run(map[bool]string{false: "bodies", true: "blobs"}[blob], func(t *testing.T) {
			db := openBodyTest(t)
			const u, v = "http://example.com/old", "http://example.com/kept"
			old, kept, fresh := db.CompressBody([]byte("old body")), db.CompressBody([]byte("kept body")), db.CompressBody([]byte("new body"))
			err := db.Update(func(tx *Tx) error {
				putOlderRecord(t, tx, &Page{URL: u, Status: 200}, old, blob)
				putOlderRecord(t, tx, &Page{URL: v, Status: 200}, kept, blob)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			wantBody(t, db, u, "old body", int64(len(old)+len(kept)))
			wantBody(t, db, v, "kept body", int64(len(old)+len(kept)))
			err = db.Update(func(tx *Tx) error {
				if err := tx.PutBody(u, fresh); err != nil {
					return err
				}
				return tx.PutPage(&Page{URL: v, Status: 200, Title: "recrawled"})
			})
			if err != nil {
				t.Fatal(err)
			}
			wantBody(t, db, u, "new body", int64(len(fresh)+len(kept)))
			wantBody(t, db, v, "kept body", int64(len(fresh)+len(kept)))
			_ = db.View(func(tx *Tx) error {
				if b := tx.Bolt().Bucket(bucketBodies); b != nil && b.Stats().KeyN != 0 {
					t.Errorf("%d bodies left in the bodies bucket", b.Stats().KeyN)
				}
				if n := tx.Bolt().Bucket(bucketBlobs).Stats().KeyN; n != 0 {
					t.Errorf("%d blobs left", n)
				}
				if p, err := tx.Page(v); err != nil || p.Title != "recrawled" {
					t.Errorf("Page(%s) = %+v, %v", v, p, err)
				}
				return nil
			})
		})
	}
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
	const a, b = "http://example.com/a", "http://example.com/b"
	refsOf := func(tx *Tx, url string) logRefs {
		refs, err := decodeLogRefs(tx.Bolt().Bucket(bucketPages).Get([]byte(url)))
		if err != nil {
			t.Fatal(err)
		}
		return refs
	}
	for name, tc := range map[string]struct {
		older   bool // store a's record the way schema 1 did, body in a blob
		breakIt func(tx *Tx) error
		want    string
	}{
		"missing blob": {true, func(tx *Tx) error { return tx.Bolt().Bucket(bucketBlobs).Delete(blobKey(1)) }, "blob 1 is missing"},
		"orphan blob": {false, func(tx *Tx) error {
			return tx.Bolt().Bucket(bucketBlobs).Put(blobKey(99), []byte("x"))
		}, "named by no page record"},
		"body counter":  {false, func(tx *Tx) error { tx.addCounter(keyBodyBytes, 1); return nil }, "counter body_bytes"},
		"pages counter": {false, func(tx *Tx) error { tx.addCounter(keyPages, -1); return nil }, "counter pages"},
		"shared blob": {true, func(tx *Tx) error {
			tx.addCounter(keyPages, 1)
			return tx.Bolt().Bucket(bucketPages).Put([]byte(b), joinRecord(1, []byte(`{"url":"http://example.com/b"}`)))
		}, "named by another record"},
		"shared body": {false, func(tx *Tx) error {
			tx.addCounter(keyPages, 1)
			refs := refsOf(tx, a)
			refs.rec = tx.db.values.append([]byte(`{"url":"http://example.com/b"}`))
			tx.addCounter(keyBodyBytes, refs.body.n)
			return tx.Bolt().Bucket(bucketPages).Put([]byte(b), refs.encode())
		}, "named by another record"},
		"body past the end": {false, func(tx *Tx) error {
			refs := refsOf(tx, a)
			refs.body.off += 1 << 20
			return tx.Bolt().Bucket(bucketPages).Put([]byte(a), refs.encode())
		}, "past the value log's end"},
		"bad reference": {false, func(tx *Tx) error {
			return tx.Bolt().Bucket(bucketPages).Put([]byte(a), []byte{recordInLog, 0x80})
		}, "bad log reference"},
	} {
		t.Run(name, func(t *testing.T) {
			db := openTemp(t)
			err := db.Update(func(tx *Tx) error {
				body := db.CompressBody([]byte("body"))
				if tc.older {
					putOlderRecord(t, tx, &Page{URL: a}, body, true)
					return tc.breakIt(tx)
				}
				if err := tx.PutPage(&Page{URL: a}); err != nil {
					return err
				}
				if err := tx.PutBody(a, body); err != nil {
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

// TestCheckFindsDamagedValueLog flips a byte of each value in the log and
// expects Check to name the page, and reads to fail with ErrCorrupt.
func TestCheckFindsDamagedValueLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	const u = "http://example.com/a"
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutPage(&Page{URL: u, Title: "title"}); err != nil {
			return err
		}
		return tx.PutBody(u, db.CompressBody([]byte("body")))
	})
	if err != nil {
		t.Fatal(err)
	}
	var refs logRefs
	_ = db.View(func(tx *Tx) error {
		refs, err = decodeLogRefs(tx.Bolt().Bucket(bucketPages).Get([]byte(u)))
		return err
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	log := valuesPath(path, 1)
	good, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range []valueRef{refs.rec, refs.body} {
		bad := bytes.Clone(good)
		bad[r.off+valueHeader+r.n-1] ^= 0x20
		if err := os.WriteFile(log, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		errs := db.Check()
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "checksum mismatch") || !strings.Contains(errs[0].Error(), u) {
			t.Errorf("value %d: Check = %v; want one checksum mismatch naming %s", i, errs, u)
		}
		_ = db.View(func(tx *Tx) error {
			if i == 0 {
				_, err = tx.Page(u)
			} else {
				_, err = tx.Body(u)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("value %d: read = %v; want ErrCorrupt", i, err)
			}
			return nil
		})
		db.Close()
	}
}

// TestLargeBodyRoundTrip stores a body larger than the encoder's window
// whose second half repeats its first, so matches would reach back past
// the window: it must come back whole, from a frame that declares at most
// encoderWindow (what bounds each encoder's memory), and three goroutines
// compressing it at once, on encoders of their own, must agree.
func TestLargeBodyRoundTrip(t *testing.T) {
	db := openBodyTest(t)
	half := make([]byte, 3*encoderWindow/2)
	for i := range half {
		half[i] = "<p>lorem ipsum dolor, sit amet</p>\n"[(i*7+i/5)%35]
	}
	body := append(bytes.Clone(half), half...)
	done := make(chan []byte)
	for range 3 {
		go func() { done <- db.CompressBody(body) }()
	}
	var compressed []byte
	for range 3 {
		if c := <-done; compressed == nil {
			compressed = c
		} else if !bytes.Equal(c, compressed) {
			t.Fatal("the same body compressed at once by three goroutines came out different")
		}
	}
	var h zstd.Header
	if err := h.Decode(compressed); err != nil {
		t.Fatal(err)
	}
	window := h.WindowSize
	if h.SingleSegment { // the whole content is the window
		window = h.FrameContentSize
	}
	if window > encoderWindow {
		t.Errorf("frame window %d; want at most %d", window, encoderWindow)
	}
	const u = "http://example.com/large"
	if err := db.Update(func(tx *Tx) error {
		if err := tx.PutPage(&Page{URL: u, Status: 200}); err != nil {
			return err
		}
		return tx.PutBody(u, compressed)
	}); err != nil {
		t.Fatal(err)
	}
	wantBody(t, db, u, string(body), int64(len(compressed)))
}
