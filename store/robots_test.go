package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A robots.txt file is stored per origin and read back as it was put:
// fetch time, status and body (or none), the last put winning.
func TestRobotsRoundTrip(t *testing.T) {
	db := openBodyTest(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	big := bytes.Repeat([]byte("User-agent: *\nDisallow: /private/\n"), 15000) // 510 KB
	files := map[string]*RobotsFile{
		"http://a.example":       {Fetched: at, Status: 200, Body: []byte("User-agent: *\nDisallow: /x\n")},
		"https://b.example:8443": {Fetched: at.Add(time.Hour), Status: 404},
		"http://c.example":       {Fetched: at, Status: 200, Body: big},
	}
	err := db.Update(func(tx *Tx) error {
		if err := tx.PutRobots("http://a.example", &RobotsFile{Fetched: at.Add(-time.Hour), Status: 200, Body: []byte("old")}); err != nil {
			return err
		}
		for origin, f := range files {
			if err := tx.PutRobots(origin, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		for origin, want := range files {
			got, err := tx.Robots(origin)
			if err != nil {
				t.Errorf("%s: %v", origin, err)
				continue
			}
			if !got.Fetched.Equal(want.Fetched) || got.Status != want.Status || !bytes.Equal(got.Body, want.Body) {
				t.Errorf("%s: got %v %d %d bytes; want %v %d %d bytes", origin, got.Fetched, got.Status, len(got.Body),
					want.Fetched, want.Status, len(want.Body))
			}
		}
		if _, err := tx.Robots("http://unknown.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown origin: %v; want ErrNotFound", err)
		}
		if err := tx.PutRobots("http://a.example", files["http://a.example"]); !errors.Is(err, ErrReadOnly) {
			t.Errorf("PutRobots in a read-only transaction: %v; want ErrReadOnly", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// EachRobots lists every stored origin once, in order, and stops at its
// function's error.
func TestEachRobots(t *testing.T) {
	db := openBodyTest(t)
	origins := []string{"http://a.example", "http://c.example", "https://b.example:8443"}
	err := db.Update(func(tx *Tx) error {
		for _, o := range []string{origins[2], origins[0], origins[1], origins[0]} {
			if err := tx.PutRobots(o, &RobotsFile{Fetched: time.Now(), Status: 200, Body: []byte("User-agent: *\n")}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	err = db.View(func(tx *Tx) error {
		var got []string
		if err := tx.EachRobots(func(o string, _ *RobotsFile, err error) error { got = append(got, o); return err }); err != nil {
			return err
		}
		if strings.Join(got, " ") != strings.Join(origins, " ") {
			t.Errorf("origins %q; want %q", got, origins)
		}
		n := 0
		err := tx.EachRobots(func(string, *RobotsFile, error) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("stopping: %v after %d calls; want %v after 1", err, n, stop)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A file from before the robots bucket is read as one without robots.txt
// files (read-only, as check and the query verbs open it), and gets the
// bucket at its first read-write open.
func TestRobotsOnOlderFile(t *testing.T) {
	path, _, _ := sampleDB(t, 3)
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.bolt.Update(func(btx *bolt.Tx) error { return btx.DeleteBucket(bucketRobots) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		_, err := tx.Robots("http://a.example")
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("read-only, without the bucket: %v; want ErrNotFound", err)
	}
	if errs := db.Check(); len(errs) != 0 {
		t.Errorf("Check without the bucket = %v; want none", errs)
	}
	db.Close()

	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := &RobotsFile{Fetched: time.Now(), Status: 200, Body: []byte("User-agent: *\n")}
	if err := db.Update(func(tx *Tx) error { return tx.PutRobots("http://a.example", f) }); err != nil {
		t.Fatalf("PutRobots after a read-write open of an older file: %v", err)
	}
	if errs := db.Check(); len(errs) != 0 {
		t.Errorf("Check = %v; want none", errs)
	}
}

// Check reports a stored robots.txt file that does not decode.
func TestCheckFindsBrokenRobots(t *testing.T) {
	for name, v := range map[string][]byte{
		"short":        {robotsVersion, 0, 0},
		"version":      append([]byte{9}, make([]byte, robotsHeader)...),
		"body garbage": append(append([]byte{robotsVersion}, make([]byte, robotsHeader-1)...), "not zstd"...),
	} {
		t.Run(name, func(t *testing.T) {
			db := openTemp(t)
			err := db.Update(func(tx *Tx) error {
				if err := tx.PutRobots("http://good.example", &RobotsFile{Fetched: time.Now(), Status: 200, Body: []byte("x")}); err != nil {
					return err
				}
				return tx.Bolt().Bucket(bucketRobots).Put([]byte("http://bad.example"), v)
			})
			if err != nil {
				t.Fatal(err)
			}
			errs := db.Check()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), "robots.txt of http://bad.example") || !errors.Is(errs[0], ErrCorrupt) {
				t.Errorf("Check = %v; want one ErrCorrupt error naming http://bad.example", errs)
			}
			err = db.View(func(tx *Tx) error { _, err := tx.Robots("http://bad.example"); return err })
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Robots of the broken record: %v; want ErrCorrupt", err)
			}
		})
	}
}

// DeleteRobotsBefore deletes the files fetched before its time and keeps
// the rest, and a damaged record for check to report.
func TestDeleteRobotsBefore(t *testing.T) {
	db := openBodyTest(t)
	at := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	err := db.Update(func(tx *Tx) error {
		for i, origin := range []string{"http://old.example", "http://new.example", "http://edge.example"} {
			if err := tx.PutRobots(origin, &RobotsFile{Fetched: at.Add(time.Duration(i-1) * time.Hour), Status: 404}); err != nil {
				return err
			}
		}
		return tx.Bolt().Bucket(bucketRobots).Put([]byte("http://damaged.example"), []byte{9})
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Update(func(tx *Tx) (err error) { n, err = tx.DeleteRobotsBefore(at); return err }); err != nil || n != 1 {
		t.Fatalf("DeleteRobotsBefore = %d, %v; want the one fetched before", n, err)
	}
	_ = db.View(func(tx *Tx) error {
		for origin, want := range map[string]bool{"http://old.example": false, "http://new.example": true, "http://edge.example": true} {
			if _, err := tx.Robots(origin); (err == nil) != want {
				t.Errorf("%s after the prune: %v; want kept %v", origin, err, want)
			}
		}
		if tx.Bolt().Bucket(bucketRobots).Get([]byte("http://damaged.example")) == nil {
			t.Error("the damaged record was deleted; check should report it")
		}
		return nil
	})
	if err := db.View(func(tx *Tx) error { _, err := tx.DeleteRobotsBefore(at); return err }); !errors.Is(err, ErrReadOnly) {
		t.Errorf("in a read transaction: %v; want ErrReadOnly", err)
	}
	_ = db.Update(func(tx *Tx) error { return tx.Bolt().Bucket(bucketRobots).Delete([]byte("http://damaged.example")) })
}

// ExpireRobots marks a stored file to be fetched again and keeps the rest
// of it as it was; the next file put for the origin clears the mark. An
// origin without a file has nothing to mark, and a read-only transaction
// marks nothing.
func TestExpireRobots(t *testing.T) {
	db := openBodyTest(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	f := &RobotsFile{Fetched: at, Status: 200, Body: []byte("User-agent: *\nDisallow: /x\n")}
	expire := func(origin string) (marked bool) {
		t.Helper()
		if err := db.Update(func(tx *Tx) (err error) { marked, err = tx.ExpireRobots(origin); return err }); err != nil {
			t.Fatalf("ExpireRobots(%s): %v", origin, err)
		}
		return marked
	}
	read := func() *RobotsFile {
		t.Helper()
		var got *RobotsFile
		if err := db.View(func(tx *Tx) (err error) { got, err = tx.Robots("http://a.example"); return err }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutRobots("http://a.example", f) }); err != nil {
		t.Fatal(err)
	}
	if read().Refetch {
		t.Fatal("a file just put is marked to be fetched again")
	}
	first, again := expire("http://a.example"), expire("http://a.example")
	if !first || !again {
		t.Error("ExpireRobots of a stored file (twice) reported no file")
	}
	if expire("http://none.example") {
		t.Error("ExpireRobots of an origin without a file reported one")
	}
	got := read()
	if !got.Refetch || !got.Fetched.Equal(at) || got.Status != 200 || !bytes.Equal(got.Body, f.Body) {
		t.Errorf("after ExpireRobots: %+v; want the same file, marked", got)
	}
	if errs := db.Check(); len(errs) != 0 {
		t.Errorf("Check of a marked file = %v; want none", errs)
	}
	err := db.Update(func(tx *Tx) error {
		n, err := tx.DeleteRobotsBefore(at.Add(time.Second))
		if n != 1 {
			t.Errorf("DeleteRobotsBefore after the fetch deleted %d marked files; want 1", n)
		}
		return errors.Join(err, tx.PutRobots("http://a.example", f))
	})
	if err != nil {
		t.Fatal(err)
	}
	if read().Refetch {
		t.Error("a file put after the mark is still marked")
	}
	err = db.View(func(tx *Tx) error { _, err := tx.ExpireRobots("http://a.example"); return err })
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("ExpireRobots in a read-only transaction: %v; want ErrReadOnly", err)
	}
}
