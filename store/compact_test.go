package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// freedDB is sampleDB with most of its space freed: a bucket as big as
// its pages, filled and then deleted, as a frontier's queue is once its
// URLs are fetched, and every other body replaced, as a recrawl does,
// which leaves the old ones in the value log. It returns the path and the
// pages' records and bodies.
func freedDB(t *testing.T) (path string, pages map[string]*Page, bodies map[string][]byte) {
	t.Helper()
	path, _, _ = sampleDB(t, 300)
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for round := range 3 {
		err := db.Update(func(tx *Tx) error {
			if round == 2 {
				for i := 0; i < 300; i += 2 {
					u := fmt.Sprintf("http://example.com/p/%d", i)
					if err := tx.PutPage(&Page{URL: u, Host: "example.com", Status: 200, Title: "recrawled"}); err != nil {
						return err
					}
					if err := tx.PutBody(u, db.CompressBody(fmt.Appendf(nil, "recrawled body %d", i))); err != nil {
						return err
					}
				}
				return nil
			}
			if round == 1 {
				return tx.Bolt().DeleteBucket([]byte("queue"))
			}
			b, err := tx.Bolt().CreateBucket([]byte("queue"))
			if err != nil {
				return err
			}
			for i := range 5_000 {
				if err := b.Put(fmt.Appendf(nil, "host%04d\x00%08d", i%97, i), []byte(strings.Repeat("q", 400))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	pages, bodies = make(map[string]*Page), make(map[string][]byte)
	err = db.View(func(tx *Tx) error {
		return tx.ForEachPage("", "", func(p *Page) error {
			pages[p.URL] = p
			b, err := tx.Body(p.URL)
			bodies[p.URL] = b
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return path, pages, bodies
}

func TestCompactReclaimsFreePages(t *testing.T) {
	path, pages, bodies := freedDB(t)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	logBefore, _ := os.Stat(valuesPath(path, 1))
	countsBefore := countsOf(t, path)
	res, err := Compact(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	logAfter, err := os.Stat(valuesPath(path, 2))
	if err != nil {
		t.Fatalf("no value log of the next generation: %v", err)
	}
	if _, err := os.Stat(valuesPath(path, 1)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old value log is still there: %v", err)
	}
	// The result is in the bytes stats reports, before and after.
	countsAfter := countsOf(t, path)
	if res.FileBefore != countsBefore.FileBytes || res.LogBefore != countsBefore.ValueBytes || res.Before != res.FileBefore+res.LogBefore ||
		res.FileAfter != countsAfter.FileBytes || res.LogAfter != countsAfter.ValueBytes || res.After != res.FileAfter+res.LogAfter {
		t.Errorf("result %+v; counts were %+v, are %+v", res, countsBefore, countsAfter)
	}
	if res.LogAfter != logAfter.Size() || res.FileAfter > after.Size() {
		t.Errorf("result %+v; the files are %d (database) and %d (log) bytes long", res, after.Size(), logAfter.Size())
	}
	if after.Size()*3 > before.Size() {
		t.Errorf("compacted %d bytes to %d: want under a third", before.Size(), after.Size())
	}
	// Half the bodies were replaced by short ones: the log loses the old.
	if logAfter.Size()*3 > logBefore.Size()*2 {
		t.Errorf("compacted the value log from %d bytes to %d: want under two thirds", logBefore.Size(), logAfter.Size())
	}
	if logAfter.Mode().Perm() != 0o640 {
		t.Errorf("value log mode %v; want the database file's 0640", logAfter.Mode().Perm())
	}
	if after.Mode().Perm() != 0o640 {
		t.Errorf("mode %v; want the original's 0640", after.Mode().Perm())
	}
	if _, err := os.Stat(path + compactSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy is still there: %v", err)
	}

	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkAll(t, db, pages, bodies)
	// A later write still gets the next blob id (bucket sequences copied).
	db.Close()
	rw, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	err = rw.Update(func(tx *Tx) error {
		if err := tx.PutPage(&Page{URL: "http://example.com/new", Host: "example.com", Status: 200}); err != nil {
			return err
		}
		return tx.PutBody("http://example.com/new", rw.CompressBody([]byte("new body")))
	})
	if err != nil {
		t.Fatal(err)
	}
	if errs := rw.Check(); len(errs) > 0 {
		t.Fatalf("check after a write to the compacted file: %v", errs)
	}
}

func TestCompactRefusesOpenFile(t *testing.T) {
	path, _, _ := freedDB(t)
	for _, ro := range []bool{false, true} {
		db, err := Open(path, Options{ReadOnly: ro})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		_, err = Compact(path, 50*time.Millisecond)
		db.Close()
		if !errors.Is(err, ErrLocked) {
			t.Errorf("compact while open (read-only %v): %v; want ErrLocked", ro, err)
		}
		if now, _ := os.ReadFile(path); string(now) != string(data) {
			t.Errorf("compact while open (read-only %v) changed the file", ro)
		}
	}
}

func TestCompactMissingAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "crawl.db")
	if _, err := Compact(missing, 0); !errors.Is(err, ErrMissing) {
		t.Errorf("missing file: %v; want ErrMissing", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("compact created %s", missing)
	}
	garbage := []byte(strings.Repeat("not a bbolt file ", 1000))
	if err := os.WriteFile(missing, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Compact(missing, 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage file: %v; want ErrCorrupt", err)
	}
	if now, _ := os.ReadFile(missing); string(now) != string(garbage) {
		t.Error("compact changed a garbage file")
	}
}

// checkAll checks that db passes Check and holds exactly pages, with
// bodies.
func checkAll(t *testing.T, db *DB, pages map[string]*Page, bodies map[string][]byte) {
	t.Helper()
	if errs := db.Check(); len(errs) > 0 {
		t.Fatalf("check after compact: %v", errs)
	}
	err := db.View(func(tx *Tx) error {
		if c := tx.Counts(); c.Pages != int64(len(pages)) {
			t.Errorf("page counter %d; want %d", c.Pages, len(pages))
		}
		n := 0
		err := tx.ForEachPage("", "", func(p *Page) error {
			n++
			want := pages[p.URL]
			if want == nil || p.Title != want.Title || p.Status != want.Status {
				t.Errorf("page %s = %+v; want %+v", p.URL, p, want)
			}
			b, err := tx.Body(p.URL)
			if err != nil || string(b) != string(bodies[p.URL]) {
				t.Errorf("body of %s: %d bytes, %v; want %d bytes", p.URL, len(b), err, len(bodies[p.URL]))
			}
			return nil
		})
		if n != len(pages) {
			t.Errorf("%d pages after compact; want %d", n, len(pages))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCompactFailureKeepsOriginal: whatever stops the copy, the original
// stays byte for byte, and no copy is left behind.
func TestCompactFailureKeepsOriginal(t *testing.T) {
	t.Run("no space", func(t *testing.T) {
		path, _, _ := freedDB(t)
		data, _ := os.ReadFile(path)
		old := freeBytes
		freeBytes = func(string) (int64, error) { return 4096, nil }
		defer func() { freeBytes = old }()
		_, err := Compact(path, 0)
		if !errors.Is(err, ErrNoSpace) {
			t.Fatalf("compact on a full disk: %v; want ErrNoSpace", err)
		}
		if now, _ := os.ReadFile(path); string(now) != string(data) {
			t.Error("the original changed")
		}
		if _, err := os.Stat(path + compactSuffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a copy was left: %v", err)
		}
	})
	t.Run("copy cannot be written", func(t *testing.T) {
		path, _, _ := freedDB(t)
		data, _ := os.ReadFile(path)
		// A directory where the copy goes, with a file in it so that
		// removing a stale copy fails too.
		if err := os.MkdirAll(filepath.Join(path+compactSuffix, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Compact(path, 0); err == nil {
			t.Fatal("compact succeeded with its copy's path taken by a directory")
		}
		if now, _ := os.ReadFile(path); string(now) != string(data) {
			t.Error("the original changed")
		}
	})
	t.Run("damaged value log", func(t *testing.T) {
		path, _, _ := freedDB(t)
		data, _ := os.ReadFile(path)
		log, _ := os.ReadFile(valuesPath(path, 1))
		bad := append([]byte(nil), log...)
		bad[len(bad)-1] ^= 1
		if err := os.WriteFile(valuesPath(path, 1), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Compact(path, 0)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("compact with a damaged value log: %v; want ErrCorrupt naming the checksum", err)
		}
		if now, _ := os.ReadFile(path); string(now) != string(data) {
			t.Error("the original changed")
		}
		if now, _ := os.ReadFile(valuesPath(path, 1)); string(now) != string(bad) {
			t.Error("the value log changed")
		}
		for _, left := range []string{path + compactSuffix, valuesPath(path, 2)} {
			if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was left: %v", filepath.Base(left), err)
			}
		}
	})
	t.Run("stale copy replaced", func(t *testing.T) {
		path, pages, _ := freedDB(t)
		if err := os.WriteFile(path+compactSuffix, []byte("half a copy from a crash"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(valuesPath(path, 2), []byte("half a log from a crash"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Compact(path, 0); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_ = db.View(func(tx *Tx) error {
			if c := tx.Counts(); c.Pages != int64(len(pages)) {
				t.Errorf("page counter %d; want %d", c.Pages, len(pages))
			}
			return nil
		})
	})
}

// TestCompactThroughSymlink replaces the file a link points to and
// leaves the link.
func TestCompactThroughSymlink(t *testing.T) {
	path, _, _ := freedDB(t)
	link := filepath.Join(t.TempDir(), "crawl.db")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Compact(link, 0); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := os.Stat(valuesPath(path, 2)); err != nil {
		t.Errorf("the value log is not beside the file the link points to: %v", err)
	}
	db, err := Open(link, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if errs := db.Check(); len(errs) > 0 {
		t.Errorf("check through the link: %v", errs)
	}
}

// TestLogsOfOtherGenerationsRemoved: a compact that crashed leaves a log
// of another generation (the next one before its rename, the previous one
// after); a read-write Open removes it, a read-only one leaves it.
func TestLogsOfOtherGenerationsRemoved(t *testing.T) {
	path, _, _ := freedDB(t)
	for _, g := range []uint64{0, 2, 17} {
		if err := os.WriteFile(valuesPath(path, g), []byte("stale"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keep := path + ".values.x" // not a generation: not ours to remove
	if err := os.WriteFile(keep, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(valuesPath(path, 2)); err != nil {
		t.Errorf("a read-only open removed a log: %v", err)
	}
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, g := range []uint64{0, 2, 17} {
		if _, err := os.Stat(valuesPath(path, g)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("log of generation %d left: %v", g, err)
		}
	}
	for _, p := range []string{keep, valuesPath(path, 1)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
	if errs := db.Check(); len(errs) > 0 {
		t.Errorf("check: %v", errs)
	}
}

// countsOf returns the Counts of the stopped store at path.
func countsOf(t *testing.T, path string) Counts {
	t.Helper()
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var c Counts
	if err := db.View(func(tx *Tx) error { c = tx.Counts(); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCompactKeepsBothLogsWhenTheDirectorySyncFails: once the copy is
// renamed over the file, a failing sync of the directory is reported but
// removes nothing: the file now at the path needs the new log (and after
// a power loss the old file might be back, needing the old one).
func TestCompactKeepsBothLogsWhenTheDirectorySyncFails(t *testing.T) {
	path, pages, bodies := freedDB(t)
	orig := syncDir
	defer func() { syncDir = orig }()
	calls := 0
	syncDir = func(d string) error {
		if calls++; calls == 2 { // the first syncs the new log's entry, the second the rename
			return os.ErrInvalid
		}
		return orig(d)
	}
	if _, err := Compact(path, 0); err == nil {
		t.Fatal("Compact reported no error with the directory's sync failing")
	}
	syncDir = orig
	for _, gen := range []uint64{1, 2} {
		if _, err := os.Stat(valuesPath(path, gen)); err != nil {
			t.Errorf("log of generation %d: %v", gen, err)
		}
	}
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("after a compact whose directory sync failed: %v", err)
	}
	defer db.Close()
	checkAll(t, db, pages, bodies)
}

// TestOpenRemovesACompactCopy: a copy left by a compact that crashed is
// removed by the next read-write Open, as Compact's comment promises.
func TestOpenRemovesACompactCopy(t *testing.T) {
	path, _, _ := freedDB(t)
	if err := os.WriteFile(path+compactSuffix, make([]byte, 1<<16), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path + compactSuffix); err != nil {
		t.Fatalf("a read-only Open removed the copy (a compact may be writing it): %v", err)
	}
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path + compactSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s is still there after a read-write Open: %v", path+compactSuffix, err)
	}
}
