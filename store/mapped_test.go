package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"crawler/internal/procstatus"
)

func TestFindMapping(t *testing.T) {
	const maps = `00400000-00c00000 r-xp 00000000 fd:01 11 /usr/bin/crawler
7f0000000000-7f0010000000 r--s 00000000 fd:01 42 /data/crawl.db
7f0010000000-7f0040000000 r--s 10000000 fd:01 42 /data/crawl.db
7f0040000000-7f0041000000 rw-p 00000000 00:00 0
7f0050000000-7f0060000000 r--s 00000000 fd:01 42 /data/crawl.db
7f0060000000-7f0070000000 r--p 00000000 fd:01 43 /data/other.db
7f0070000000-7f0080000000 rw-p 00000000 00:00 0 
`
	tests := []struct {
		name       string
		addr       uintptr
		ino        uint64
		start, end uintptr
		err        error
	}{
		{"split mapping is joined, stops at anonymous memory", 0x7f0000000000, 42, 0x7f0000000000, 0x7f0040000000, nil},
		{"mapping that is the last of its file", 0x7f0050000000, 42, 0x7f0050000000, 0x7f0060000000, nil},
		{"wrong inode at the address", 0x7f0000000000, 43, 0, 0, ErrNoMapping},
		{"private mapping", 0x7f0060000000, 43, 0, 0, ErrNoMapping},
		{"anonymous memory", 0x7f0070000000, 0, 0, 0, ErrNoMapping},
		{"inside a mapping, not at its start", 0x7f0000001000, 42, 0, 0, ErrNoMapping},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e, err := findMapping([]byte(maps), tt.addr, tt.ino)
			if !errors.Is(err, tt.err) || s != tt.start || e != tt.end {
				t.Fatalf("findMapping(%#x, %d) = %#x, %#x, %v; want %#x, %#x, %v", tt.addr, tt.ino, s, e, err, tt.start, tt.end, tt.err)
			}
		})
	}
}

// mappedStore opens a store that never unmaps by itself (the default),
// fills a bucket of its file (the store's own bodies go to the value log,
// which is not mapped; the frontier's buckets are) with 25 MiB of
// incompressible values and returns it with a function that reads every
// value back through bbolt's mapping and compares it.
func mappedStore(t *testing.T) (*DB, func()) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("RssFile is Linux's")
	}
	db, err := Open(filepath.Join(t.TempDir(), "crawl.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	const n, size = 400, 64 << 10
	bodies := make([][]byte, n)
	bucket := []byte("mapped-test")
	err = db.Update(func(tx *Tx) error {
		b, err := tx.Bolt().CreateBucket(bucket)
		if err != nil {
			return err
		}
		for i := range bodies {
			bodies[i] = make([]byte, size)
			_, _ = rand.Read(bodies[i])
			if err := b.Put(fmt.Appendf(nil, "%04d", i), bodies[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, func() {
		t.Helper()
		err := db.View(func(tx *Tx) error {
			for i, want := range bodies {
				got := tx.Bolt().Bucket(bucket).Get(fmt.Appendf(nil, "%04d", i))
				if !bytes.Equal(got, want) {
					return fmt.Errorf("body %d differs", i)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// rssFileKiB returns this process's RssFile.
func rssFileKiB(t *testing.T) int64 {
	t.Helper()
	kib, err := procstatus.Read(0)
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	return kib["RssFile"]
}

// The bodies are 25 MiB; a release must take at least 20 MiB of them out
// of RSS (the rest of RssFile is the binary and libraries).
const releasedKiB = 20 << 10

// TestReleaseMappedDropsRSSKeepsData reads every body of a store through
// bbolt's mapping, which makes the file count in RSS, then checks that
// ReleaseMapped takes it out again and that every body still reads back
// byte for byte.
func TestReleaseMappedDropsRSSKeepsData(t *testing.T) {
	db, readAll := mappedStore(t)
	readAll()
	read := rssFileKiB(t)
	if err := db.ReleaseMapped(); err != nil {
		t.Fatal(err)
	}
	released := rssFileKiB(t)
	if read-released < releasedKiB {
		t.Fatalf("RssFile %d KiB after reading the bodies, %d KiB after ReleaseMapped: want at least 20 MiB less", read, released)
	}
	readAll()
	if again := rssFileKiB(t); again-released < releasedKiB {
		t.Fatalf("RssFile %d KiB after reading again, %d KiB before: the pages did not map back", again, released)
	}
}

// TestReleaseLoopKeepsToBudget checks that once SetMappedBudget gives a
// budget, the DB unmaps by itself, and that Close stops its loop (goleak
// checks that no goroutine is left).
func TestReleaseLoopKeepsToBudget(t *testing.T) {
	db, readAll := mappedStore(t)
	if db.MappedBudget() != 0 {
		t.Fatalf("MappedBudget() = %d by default, want 0 (never)", db.MappedBudget())
	}
	readAll()
	read := rssFileKiB(t)
	time.Sleep(5 * mappedCheckEvery)
	if now := rssFileKiB(t); read-now >= releasedKiB {
		t.Fatalf("RssFile fell from %d to %d KiB with no budget set", read, now)
	}
	db.SetMappedBudget(1)
	deadline := time.Now().Add(10 * time.Second)
	for rssFileKiB(t) > read-releasedKiB {
		if time.Now().After(deadline) {
			t.Fatalf("RssFile still %d KiB (%d after reading) 10s after a 1-byte budget", rssFileKiB(t), read)
		}
		time.Sleep(mappedCheckEvery)
	}
	readAll()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestReadOnlyNeverUnmaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := Open(path, Options{NoSync: true, MappedBudget: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := db.MappedBudget(); got != 1 {
		t.Errorf("MappedBudget() = %d with Options.MappedBudget 1", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true, MappedBudget: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.stopRelease != nil {
		t.Fatal("a read-only DB runs a release loop")
	}
}

// The budget counts what mapped files add to RSS after the DB opened,
// not the binary's own pages that counted already: a budget above what
// the database itself has mapped never unmaps, however large the binary.
func TestBudgetLeavesOutWhatCountedAtOpen(t *testing.T) {
	db, readAll := mappedStore(t)
	if db.mappedBase <= 0 {
		t.Fatalf("mappedBase = %d; want the RssFile at open (the test binary's pages)", db.mappedBase)
	}
	// Below the RssFile of the process, above what the database adds.
	budget := int64(rssFileKiB(t)<<10) - db.mappedBase + 2<<20
	if budget >= db.mappedBase {
		t.Skipf("the binary's pages (%d bytes) do not exceed the budget (%d): the test shows nothing", db.mappedBase, budget)
	}
	db.SetMappedBudget(budget)
	time.Sleep(10 * mappedCheckEvery)
	if n := db.releases.Load(); n != 0 {
		t.Errorf("unmapped %d times under a budget the database alone never reached", n)
	}
	readAll() // the database's 25 MiB now count: over the budget
	deadline := time.Now().Add(10 * time.Second)
	for db.releases.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("never unmapped once the database's pages passed the budget")
		}
		time.Sleep(mappedCheckEvery)
	}
}
