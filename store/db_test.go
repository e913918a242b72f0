package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sampleDB creates a database holding n pages (with bodies) and returns
// its path, its bytes and the size its meta page says it needs.
func sampleDB(t *testing.T, n int) (path string, data []byte, need int64) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error {
		for i := range n {
			u := fmt.Sprintf("http://example.com/p/%d", i)
			if err := tx.PutPage(&Page{URL: u, Host: "example.com", Status: 200, Title: strings.Repeat("t", 300)}); err != nil {
				return err
			}
			if err := tx.PutBody(u, db.CompressBody([]byte(strings.Repeat("body ", 100+i)))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *Tx) error {
		need = tx.Counts().FileBytes
		return nil
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data, need
}

// withLog writes data as a crawl.db in a new temporary directory, with
// the value log of the sample database at sample beside it, and returns
// its path.
func withLog(t *testing.T, sample string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crawl.db")
	log, err := os.ReadFile(valuesPath(sample, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(valuesPath(path, 1), log, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// openNoPanic opens path and turns a panic into a test failure.
func openNoPanic(t *testing.T, path string, opts Options) (db *DB, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Open(%s, ReadOnly=%v) panicked: %v", filepath.Base(path), opts.ReadOnly, r)
		}
	}()
	return Open(path, opts)
}

// A file that is not a crawl database is refused with ErrCorrupt, read-only
// or not, and is left byte for byte as it was: never a panic, never a
// silent new database in its place.
func TestOpenRefusesBadFiles(t *testing.T) {
	sample, good, need := sampleDB(t, 2000)
	if need < 16*4096 {
		t.Fatalf("sample database needs only %d bytes; make it bigger", need)
	}
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*131 + i>>8)
	}
	cases := map[string][]byte{
		"empty":                {},
		"text":                 []byte(strings.Repeat("this is not a bbolt file\n", 1000)),
		"garbage":              garbage,
		"cut at 1":             good[:1],
		"cut at 100":           good[:100],
		"cut in meta 0":        good[:4096],
		"cut in meta 1":        good[:8191],
		"cut after metas":      good[:8192],
		"cut after 3 pages":    good[:3*4096],
		"cut at half":          good[:need/2],
		"cut one page short":   good[:need-4096],
		"cut one byte short":   good[:need-1],
		"metas zeroed, intact": append(make([]byte, 8192), good[8192:]...),
	}
	for name, data := range cases {
		for _, ro := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/readonly=%v", name, ro), func(t *testing.T) {
				path := withLog(t, sample, data)
				log, _ := os.ReadFile(valuesPath(path, 1))
				db, err := openNoPanic(t, path, Options{ReadOnly: ro})
				if err == nil {
					db.Close()
					t.Fatal("Open succeeded; want ErrCorrupt")
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("err = %v; want ErrCorrupt", err)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("err = %v; want it to name the file", err)
				}
				after, rerr := os.ReadFile(path)
				if rerr != nil || !bytes.Equal(after, data) {
					t.Errorf("file changed: %d bytes before, %d after (%v)", len(data), len(after), rerr)
				}
				if after, _ := os.ReadFile(valuesPath(path, 1)); !bytes.Equal(after, log) {
					t.Errorf("value log changed: %d bytes before, %d after", len(log), len(after))
				}
				if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 {
					t.Errorf("directory holds %d entries; Open must not create files beside the file and its log", len(entries))
				}
			})
		}
	}
}

// The control for the truncation cases above: a file cut only in the
// space bbolt allocated ahead (beyond what the meta page says is used)
// loses nothing and opens.
func TestOpenAcceptsFileCutInUnusedTail(t *testing.T) {
	sample, good, need := sampleDB(t, 400)
	if int64(len(good)) <= need {
		t.Skipf("file (%d bytes) has no unused tail beyond %d", len(good), need)
	}
	for _, ro := range []bool{true, false} {
		path := withLog(t, sample, good[:need])
		db, err := openNoPanic(t, path, Options{ReadOnly: ro})
		if err != nil {
			t.Fatalf("readonly=%v: %v", ro, err)
		}
		for _, err := range db.Check() {
			t.Errorf("readonly=%v: check: %v", ro, err)
		}
		var n int
		err = db.View(func(tx *Tx) error {
			if _, err := tx.Body("http://example.com/p/399"); err != nil {
				return err
			}
			return tx.ForEachPage("", "", func(*Page) error { n++; return nil })
		})
		if err != nil || n != 400 {
			t.Errorf("readonly=%v: %d pages, %v; want 400", ro, n, err)
		}
		db.Close()
	}
}

// A page overwritten with garbage (bit rot, a bad copy) inside an
// otherwise well-formed file: a read-write open refuses it, and Check on a
// read-only open reports it, each without panicking. bbolt itself asserts
// on such a page in a goroutine of its own, which would kill the process.
func TestGarbagePageIsReportedNotPanicked(t *testing.T) {
	sample, good, need := sampleDB(t, 2000)
	for _, off := range []int64{2 * 4096, 4 * 4096, need / 2, need - 4096} {
		data := bytes.Clone(good)
		for i := off; i < off+4096; i++ {
			data[i] = byte(i*7 + 3)
		}
		path := withLog(t, sample, data)
		db, err := openNoPanic(t, path, Options{})
		if err == nil {
			// The page was one nothing reaches (free): nothing to report.
			for _, err := range db.Check() {
				t.Errorf("page at %d: check on an open that passed: %v", off, err)
			}
			db.Close()
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("page at %d: read-write open: %v; want ErrCorrupt", off, err)
		}
		// Read-only, the page is found either at open (on the way to the
		// meta bucket) or by Check.
		db, err = openNoPanic(t, path, Options{ReadOnly: true})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("page at %d: read-only open: %v; want ErrCorrupt", off, err)
			}
		} else {
			errs := db.Check()
			db.Close()
			if len(errs) == 0 || !errors.Is(errs[0], ErrCorrupt) {
				t.Errorf("page at %d: Check = %v; want an ErrCorrupt problem", off, errs)
			}
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
			t.Errorf("page at %d: file changed", off)
		}
	}
}

func TestCheckHealthyDatabase(t *testing.T) {
	path, _, _ := sampleDB(t, 50)
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if errs := db.Check(); len(errs) != 0 {
		t.Errorf("Check = %v; want none", errs)
	}
}

func TestOpenReadOnlyMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrMissing) {
		t.Errorf("err = %v; want ErrMissing", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only open created the file: %v", err)
	}
}

func TestOpenWrongSchemaIsCorrupt(t *testing.T) {
	path, _, _ := sampleDB(t, 1)
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.bolt.Update(func(btx *bolt.Tx) error { return btx.Bucket(bucketMeta).Put(keySchema, putU64(99)) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{true, false} {
		if _, err := Open(path, Options{ReadOnly: ro}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("readonly=%v: err = %v; want ErrCorrupt", ro, err)
		}
	}
}
