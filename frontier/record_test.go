package frontier

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"crawler/store"
)

func TestEntryRoundTrip(t *testing.T) {
	const host = "example.com:8080"
	for _, e := range []entry{
		{URL: "https://example.com:8080/a/b?c=d", Parent: "https://example.com:8080/", Depth: 3, Attempts: 2},
		{URL: "http://example.com:8080/", Parent: "http://example.com:8080/x", Depth: 1},
		{URL: "https://example.com:8080/p", Parent: "http://example.com:8080/p"},   // parent on another scheme
		{URL: "https://example.com:8080/p", Parent: "https://other.example/p"},     // parent on another host
		{URL: "https://example.com:8080/p", Parent: "https://example.com:80801/p"}, // a longer port is another host
		{URL: "https://example.com:80801/p", Parent: "https://example.com:80801/"}, // URL not on the host key
		{URL: "https://example.com:8080", Parent: ""},                              // no path: stored whole
		{URL: "ftp://example.com:8080/x"},
		{URL: "https://example.com:8080/r", Hops: 2, Origin: "https://a.example/", Via: "https://a.example/\nhttps://b.example/"},
		{URL: "https://example.com:8080/v", Revisit: true, Due: 1_795_000_000_123},                   // no Via: an empty one is written
		{URL: "https://example.com:8080/w", Revisit: true, Due: 1, Via: "https://example.com:8080/"}, // Via and Due
	} {
		b := e.marshal(host)
		got, err := unmarshalEntry(host, b)
		if err != nil {
			t.Fatalf("%+v: %v", e, err)
		}
		if *got != e {
			t.Errorf("round trip of %+v gave %+v", e, *got)
		}
	}
}

func TestEntryCompactSavesHostAndParent(t *testing.T) {
	e := entry{URL: "https://www.example.com/articles/2024/1", Parent: "https://www.example.com/articles/", Depth: 1}
	b := e.marshal("www.example.com")
	if n := len("https://www.example.com"); len(b) > len(e.URL)+len(e.Parent)+8-2*n {
		t.Errorf("compact entry is %d bytes: %q", len(b), b)
	}
}

// oldEntry encodes e as entries were written before compaction.
func oldEntry(e entry) []byte {
	b := appendString(nil, e.URL)
	b = appendString(b, e.Parent)
	b = binary.AppendUvarint(b, uint64(e.Depth))
	b = binary.AppendUvarint(b, uint64(e.Attempts))
	b = binary.AppendUvarint(b, uint64(e.Hops))
	return appendString(b, e.Origin)
}

// TestEntryOldEncoding reads entries written before compaction (no marker:
// the URL's length first), which files from older versions still hold.
func TestEntryOldEncoding(t *testing.T) {
	long := "https://example.com/" + string(bytes.Repeat([]byte("x"), 300)) // length varint of 2 bytes
	for _, e := range []entry{
		{URL: "https://example.com/a", Parent: "https://example.com/", Depth: 2, Attempts: 1},
		{URL: long, Parent: "https://example.com/"},
	} {
		got, err := unmarshalEntry("example.com", oldEntry(e))
		if err != nil {
			t.Fatal(err)
		}
		if *got != e {
			t.Errorf("old entry %+v read as %+v", e, *got)
		}
	}
}

func TestSeenKeyGroupsHosts(t *testing.T) {
	a1, a2 := seenKey("https://a.example/1"), seenKey("https://a.example/2")
	b1 := seenKey("https://b.example/1")
	if len(a1) != 16 || bytes.Equal(a1, a2) {
		t.Fatalf("keys %x %x", a1, a2)
	}
	if !bytes.Equal(a1[:4], a2[:4]) || bytes.Equal(a1[:4], b1[:4]) {
		t.Errorf("host prefixes: a %x %x, b %x", a1[:4], a2[:4], b1[:4])
	}
	if !bytes.Equal(seenKey("https://a.example/1"), a1) {
		t.Error("seenKey is not deterministic")
	}
}

// TestOpenMigratesOldFile opens a frontier written before seen keys and
// compact entries (urls bucket keyed by URL, entries without a marker),
// more URLs than one migration chunk: every URL keeps its state, old
// entries are handed out, and nothing seen is queued again.
func TestOpenMigratesOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawl.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 100
	writeOldFile(t, db)
	// Read as it is (a stopped crawl queried by the CLI): states and the
	// invariants hold in the old layout.
	err = db.View(func(tx *store.Tx) error {
		if st, err := URLState(tx, "http://a.example/done/3"); err != nil || st != StateDone {
			t.Errorf("old file: URLState = %v, %v; want done", st, err)
		}
		return Check(tx)
	})
	if err != nil {
		t.Fatalf("old file: %v", err)
	}
	db.Close()

	db, q := openTest(t, path, Options{})
	err = db.View(func(tx *store.Tx) error {
		if tx.Bolt().Bucket(bucketURLs) != nil {
			t.Error("the urls bucket is still there")
		}
		for u, want := range map[string]State{"http://a.example/done/0": StateDone, "http://a.example/done/249": StateDone, "http://a.example/q/1": StateQueued} {
			if got, err := URLState(tx, u); err != nil || got != want {
				t.Errorf("URLState(%s) = %v, %v; want %v", u, got, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := q.Counts(); c.Queued != 2 || c.Done != oldFileDone {
		t.Fatalf("counts %+v; want 2 queued, %d done", c, oldFileDone)
	}
	// The new URL has the old entries' depth: a shallower one would sort
	// before them, and whether it came out first would depend on whether
	// the dispatcher had already picked q/0.
	n, err := q.Add(context.Background(), []Link{{URL: "http://a.example/p9", Host: "a.example", Depth: 1}, {URL: "http://a.example/done/7", Host: "a.example"}, {URL: "http://a.example/q/0", Host: "a.example"}})
	if err != nil || n != 1 {
		t.Fatalf("Add = %d, %v; want only the new URL added", n, err)
	}
	for _, want := range []string{"http://a.example/q/0", "http://a.example/q/1"} {
		it := next(t, q)
		if it.URL != want || it.Parent != "http://a.example/" || it.Depth != 1 {
			t.Fatalf("Next = %s (parent %q, depth %d); want %s found on http://a.example/", it.URL, it.Parent, it.Depth, want)
		}
		q.Release(it, time.Now())
		if err := q.Commit(context.Background(), &Completion{Item: it, State: StateDone}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHalfMigratedFileReads reads a file whose migration a crash cut
// short after one chunk, as the query CLI does before any daemon opens it
// again: a URL already moved to the seen bucket and one still in the urls
// bucket both keep their state, and the invariants hold.
func TestHalfMigratedFileReads(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 100
	writeOldFile(t, db)
	if err := db.Update(createBuckets); err != nil { // as Open does first
		t.Fatal(err)
	}
	if done, err := migrateURLsChunk(db); done || err != nil {
		t.Fatalf("migrateURLsChunk = %v, %v; want one chunk moved", done, err)
	}
	err = db.View(func(tx *store.Tx) error {
		seen, urls := tx.Bolt().Bucket(bucketSeen).Stats().KeyN, tx.Bolt().Bucket(bucketURLs).Stats().KeyN
		if seen != 100 || urls != oldFileDone+2-100 {
			t.Fatalf("after one chunk: %d URLs in seen, %d in urls; want 100 and %d", seen, urls, oldFileDone+2-100)
		}
		for u, want := range map[string]State{"http://a.example/done/0": StateDone, "http://a.example/done/99": StateDone, "http://a.example/q/1": StateQueued} {
			if got, err := URLState(tx, u); err != nil || got != want {
				t.Errorf("URLState(%s) = %v, %v; want %v", u, got, err, want)
			}
		}
		if _, err := URLState(tx, "http://a.example/never"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("URLState of an unseen URL: %v; want ErrNotFound", err)
		}
		return Check(tx)
	})
	if err != nil {
		t.Fatalf("half-migrated file: %v", err)
	}
}

// oldFileDone is how many done URLs writeOldFile writes.
const oldFileDone = 250

// writeOldFile writes, into db, a frontier from before seen keys and
// compact entries (urls bucket keyed by URL, entries without a marker):
// oldFileDone done URLs and two queued ones on a.example.
func writeOldFile(t *testing.T, db *store.DB) {
	t.Helper()
	const done = oldFileDone
	err := db.Update(func(tx *store.Tx) error {
		btx := tx.Bolt()
		for _, name := range [][]byte{bucketURLs, bucketQueue, bucketDelayed, bucketRecrawl, bucketHosts, bucketMeta} {
			if _, err := btx.CreateBucket(name); err != nil {
				return err
			}
		}
		urls := btx.Bucket(bucketURLs)
		for i := range done {
			if err := urls.Put([]byte(fmt.Sprintf("http://a.example/done/%d", i)), urlRecord{State: StateDone}.marshal()); err != nil {
				return err
			}
		}
		for i, u := range []string{"http://a.example/q/0", "http://a.example/q/1"} {
			if err := urls.Put([]byte(u), urlRecord{State: StateQueued, Depth: 1}.marshal()); err != nil {
				return err
			}
			e := entry{URL: u, Parent: "http://a.example/", Depth: 1}
			if err := btx.Bucket(bucketQueue).Put(queueKey("a.example", 1, uint64(i+1)), oldEntry(e)); err != nil {
				return err
			}
		}
		m := btx.Bucket(bucketMeta)
		if err := m.Put(keySeq, binary.BigEndian.AppendUint64(nil, 2)); err != nil {
			return err
		}
		if err := m.Put(keyDone, binary.BigEndian.AppendUint64(nil, done)); err != nil {
			return err
		}
		return btx.Bucket(bucketHosts).Put([]byte("a.example"), hostRecord{Queued: 2, Done: done, Enqueued: done + 2}.marshal())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// URL records round-trip with and without a recrawl time, and a record
// written before the field existed reads as "unknown" (0).
func TestURLRecordRecrawl(t *testing.T) {
	for _, r := range []urlRecord{
		{State: StateDone, Depth: 3, Attempts: 1},
		{State: StateDone, Depth: 1, Recrawl: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).UnixNano()},
		{State: StateQueued, Recrawl: recrawlNone},
	} {
		got, err := unmarshalURLRecord(r.marshal())
		if err != nil || got != r {
			t.Errorf("round trip of %+v: %+v, %v", r, got, err)
		}
	}
	old := []byte{byte(StateDone), 2, 0} // state, depth, attempts: an older record
	if r, err := unmarshalURLRecord(old); err != nil || r.Recrawl != 0 || !r.recrawlCurrent(time.Now()) {
		t.Errorf("older record: %+v, %v; want every recrawl entry current", r, err)
	}
}
