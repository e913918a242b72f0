// Package store keeps the crawl in one embedded bbolt file: page records,
// compressed bodies, the counters the query CLI reports, and the last
// robots.txt file fetched from each origin (RobotsFile). The frontier
// keeps its queues and URL states in the same file (see package frontier),
// so that a page and the links it yielded commit in one transaction.
//
// bbolt holds an exclusive flock while a read-write DB is open, and a
// read-only open needs a shared lock, so a second process cannot open the
// file at all while the daemon runs. Open never waits forever: it fails
// with ErrLocked after Options.Timeout.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names owned by this package.
var (
	bucketPages  = []byte("pages")  // url -> where its record and body are in the value log (older files: the record itself)
	bucketBlobs  = []byte("blobs")  // blob id (8, big-endian, ascending) -> zstd(body): bodies of older files, read and replaced, never added to
	bucketBodies = []byte("bodies") // url -> zstd(body): bodies of older files still, read and replaced, never added to
	bucketMeta   = []byte("meta")   // counters and schema version
	bucketSeeds  = []byte("seeds")  // url -> "": seeds added after start (scope)
	bucketRobots = []byte("robots") // origin -> robots.txt file (RobotsFile): the last one fetched that was not unreachable
)

var (
	keySchema    = []byte("schema")
	keyPages     = []byte("pages")
	keyBodyBytes = []byte("body_bytes")
)

// schemaVersion is written at creation and checked at every open. Version
// 2 keeps records and bodies in the value log (values.go); version 3 may
// keep them in two logs while a reclaim drains one (reclaim.go); version
// 4 may keep finished URLs' entries in the frontier's queue, marked
// finished (frontier/finished.go), which a binary that knows only 3 would
// fetch again; version 5 may stage links robots.txt disallows
// (frontier/staged.go), which a binary that knows only 4 would take for
// damaged queue entries. A read-write open upgrades an older file, whose records it
// still reads, and a binary that knows only an older version refuses a
// newer file instead of misreading it.
const schemaVersion = 5

// oldestSchema is the oldest schema version this binary opens.
const oldestSchema = 1

// The body encoder's limits (see Open): at most maxEncoders compress at
// once, each with a window of encoderWindow bytes.
const (
	maxEncoders   = 8
	encoderWindow = 1 << 20
)

// maxBodyDecoded bounds what a stored body may decode to, so a corrupt
// record cannot make a reader allocate without limit.
const maxBodyDecoded = 1 << 30

// Options configures Open.
type Options struct {
	// ReadOnly opens the file with a shared lock and refuses writes.
	// A missing file is ErrMissing instead of being created.
	ReadOnly bool

	// Timeout is how long Open waits for the file lock before failing with
	// ErrLocked. Default 1s; zero means the default (never wait forever).
	Timeout time.Duration

	// NoSync skips fdatasync at commit. Only for throwaway stores in tests
	// and benchmarks: a power loss may corrupt the file. Default false.
	NoSync bool

	// MappedBudget is how many bytes of mapped files may count in the
	// process's RSS beyond what counted when the DB opened (RssFile then:
	// mostly the binary's own pages, which Linux does not tell apart from
	// the database's cheaply) before a read-write DB unmaps the database
	// file (see ReleaseMapped). It is checked every 10ms. It costs page
	// faults: see the store.max_mapped_bytes config key. Default 0: never
	// unmap (nor do read-only DBs). SetMappedBudget changes it while the
	// DB is open.
	MappedBudget int64
}

// DB is an open crawl database. It is safe for concurrent use; bbolt allows
// one writer and many readers at a time.
type DB struct {
	bolt   *bolt.DB
	path   string
	ro     bool
	values *valueLog
	// writeMu spans a write transaction and the value log's bookkeeping
	// after it: bbolt's own writer lock is released before Update can move
	// the log's end.
	writeMu sync.Mutex
	// reclaimMu lets one Reclaim run at a time.
	reclaimMu sync.Mutex
	// afterPin, when set (by tests), runs between pinView's pin and its
	// snapshot.
	afterPin func()
	enc      *zstd.Encoder
	dec      *zstd.Decoder

	mappedBudget atomic.Int64  // bytes; <= 0: never unmap (SetMappedBudget)
	mappedBase   int64         // RssFile when the DB opened, not counted against the budget
	releases     atomic.Int64  // times the release loop unmapped the file
	budgetSet    chan struct{} // SetMappedBudget wakes the release loop; capacity 1
	stopRelease  chan struct{} // closed by Close; nil when no release loop runs
	released     chan struct{} // closed when the release loop has returned
}

// Open opens or creates the crawl database at path.
//
// An existing file that is not a crawl database is refused with ErrCorrupt
// and left byte for byte as it is: an empty file, a file bbolt does not
// recognize, a truncated one (shorter than its meta page says the database
// is), an unknown schema, and, for a read-write open, which walks every
// page first, a page that does not parse. Open never panics on such a file
// and never starts a new database in its place. A read-only open reads
// only the pages it needs; Check finds damage elsewhere.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	bopts := &bolt.Options{
		Timeout:        opts.Timeout,
		ReadOnly:       opts.ReadOnly,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
		NoSync:         opts.NoSync,
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && opts.ReadOnly:
		return nil, fmt.Errorf("open %s: %w", path, ErrMissing)
	case errors.Is(err, fs.ErrNotExist):
		// bbolt creates it.
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	case fi.Mode().IsRegular() && fi.Size() == 0:
		// bbolt would silently start a new database in it.
		return nil, fmt.Errorf("open %s: empty file: %w", path, ErrCorrupt)
	case !opts.ReadOnly:
		// A read-write open scans every page at once (the freelist is
		// not synced), so a truncated file must be refused before it.
		if err := precheck(path, opts.Timeout); err != nil {
			return nil, err
		}
	}
	if !opts.ReadOnly {
		// Address space, not memory: avoids remapping (which waits for
		// readers) while the file grows up to this size.
		bopts.InitialMmapSize = 1 << 30
	}
	b, err := openBolt(path, bopts)
	if err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		if err := checkSize(b, path); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	db := &DB{bolt: b, path: path, ro: opts.ReadOnly, budgetSet: make(chan struct{}, 1)}
	// The value log is opened (and checked against what the meta page
	// says it holds) before init writes anything, so a database refused
	// for its log is left as it was.
	perm := fs.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	err = noPanic("open "+path, func() error {
		return b.View(func(tx *bolt.Tx) (err error) {
			if err := checkSchema(tx, path); err != nil {
				return err
			}
			db.values, err = openValues(logPath(path), tx, opts.ReadOnly, opts.NoSync, perm)
			return err
		})
	})
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	if err := db.init(); err != nil {
		_ = db.values.close()
		_ = b.Close()
		return nil, err
	}
	if !opts.ReadOnly {
		// A copy a crashed Compact left: no Compact runs while this
		// process holds the file's lock.
		_ = os.Remove(logPath(path) + compactSuffix)
	}
	// EncodeAll takes one of the writer's encoders for each call and waits
	// while all are busy: one per P (up to maxEncoders) lets the parse
	// workers compress at once. An encoder keeps twice its window once it
	// has compressed a body larger than a block (128 KiB): about 2.6 MB
	// with a 1 MiB window, against 8.8 MB with zstd's default 8 MiB; the
	// cost is no match reaching back more than 1 MiB, in bodies larger
	// than that.
	db.enc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(min(runtime.GOMAXPROCS(0), maxEncoders)), zstd.WithWindowSize(encoderWindow))
	db.dec, _ = zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxBodyDecoded), zstd.WithDecoderConcurrency(0))
	if !opts.ReadOnly {
		db.mappedBase, _ = rssFile() // 0 where there is none: the budget then counts everything
		db.SetMappedBudget(opts.MappedBudget)
		db.stopRelease, db.released = make(chan struct{}), make(chan struct{})
		go db.releaseLoop(db.stopRelease, db.released)
	}
	return db, nil
}

// precheck opens an existing file read-only, which maps it but reads no
// page beyond the two meta pages, refuses it when checkSize does, and then
// walks every page. A read-write open walks them too (to rebuild the
// freelist, which is not synced), but on a bbolt goroutine, where an
// assertion on a garbage page is a panic that kills the process.
func precheck(path string, timeout time.Duration) error {
	b, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkSize(b, path); err != nil {
		return err
	}
	return b.View(func(tx *bolt.Tx) error {
		if err := walk(tx); err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		return nil
	})
}

// checkSize refuses a file shorter than what its meta page says the
// database holds: a truncated file. bbolt does not check this, and
// reading a page past the end of the file is a SIGBUS that no recover
// catches, so this must run before anything walks the pages.
func checkSize(b *bolt.DB, path string) error {
	var need int64
	_ = b.View(func(tx *bolt.Tx) error {
		need = tx.Size()
		return nil
	})
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if fi.Size() < need {
		return fmt.Errorf("open %s: truncated: %d bytes, the database needs %d: %w", path, fi.Size(), need, ErrCorrupt)
	}
	return nil
}

// openBolt opens the file, turning bbolt's failures (and panics on
// garbage files) into this package's errors.
func openBolt(path string, opts *bolt.Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("open %s: %v: %w", path, r, ErrCorrupt)
		}
	}()
	db, err = bolt.Open(path, 0o600, opts)
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, fmt.Errorf("open %s: %v: %w", path, err, ErrCorrupt)
	case strings.HasPrefix(err.Error(), "file size too small"):
		// bbolt has no sentinel for a file shorter than its two meta pages.
		return nil, fmt.Errorf("open %s: %v: %w", path, err, ErrCorrupt)
	default:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
}

// noPanic runs fn on the calling goroutine, turning bbolt's assertion
// panics and memory faults on a garbage page (a page id pointing outside
// the mapping) into ErrCorrupt, prefixed with what.
func noPanic(what string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v: %w", what, r, ErrCorrupt)
		}
	}()
	return fn()
}

// init creates this package's buckets and marks the schema current, in a
// read-write DB; Open has checked the schema already. A garbage page on the
// way to the meta bucket makes bbolt panic; that is ErrCorrupt too.
func (db *DB) init() error {
	if db.ro {
		return nil
	}
	return noPanic("open "+db.path, func() error {
		return db.bolt.Update(func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bucketPages, bucketBlobs, bucketMeta, bucketSeeds, bucketRobots} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
			}
			m := tx.Bucket(bucketMeta)
			if v := m.Get(keySchema); v == nil || u64(v) != schemaVersion {
				if err := m.Put(keySchema, putU64(schemaVersion)); err != nil {
					return err
				}
			}
			if m.Get(keyValuesGarbage) == nil {
				return initGarbage(tx)
			}
			return nil
		})
	})
}

// checkSchema refuses a file whose schema version this binary does not
// know; a file without the meta bucket (not initialized yet) passes.
func checkSchema(tx *bolt.Tx, path string) error {
	m := tx.Bucket(bucketMeta)
	if m == nil {
		return nil
	}
	v := m.Get(keySchema)
	if len(v) != 8 || u64(v) < oldestSchema || u64(v) > schemaVersion {
		return fmt.Errorf("open %s: schema version %x, want %d to %d: %w", path, v, oldestSchema, schemaVersion, ErrCorrupt)
	}
	return nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// ReadOnly reports whether the database was opened read-only.
func (db *DB) ReadOnly() bool { return db.ro }

// Close releases the file lock. It is safe to call more than once, and
// not while a Reclaim runs (cancel it first).
func (db *DB) Close() error {
	if db.stopRelease != nil {
		close(db.stopRelease)
		<-db.released
		db.stopRelease = nil
	}
	if db.enc != nil {
		_ = db.enc.Close()
		db.dec.Close()
		db.enc = nil
	}
	err := db.bolt.Close()
	if cerr := db.values.close(); err == nil {
		err = cerr
	}
	return err
}

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(*Tx) error) error {
	logs, err := db.pinView(func(btx *bolt.Tx, logs *logSet) error { return fn(&Tx{btx: btx, db: db, logs: logs}) })
	db.values.unpin(logs)
	return err
}

// pinView runs fn in a read-only bbolt transaction with the value logs
// its snapshot names, and returns them still pinned: the caller unpins
// them once done with what fn found. The set is pinned before the
// snapshot is taken, so a reclaim cannot close a log the snapshot names
// (see logSet); but a reclaim may make a new log current between the two,
// and the snapshot then names a log the pinned set lacks (or an older
// file in its slot), so pinView pins again and retries before fn runs.
func (db *DB) pinView(fn func(*bolt.Tx, *logSet) error) (*logSet, error) {
	for {
		logs := db.values.pin()
		if db.afterPin != nil {
			db.afterPin()
		}
		stale := false
		err := db.bolt.View(func(btx *bolt.Tx) error {
			if stale = !logs.holds(readLogMeta(btx.Bucket(bucketMeta))); stale {
				return nil
			}
			return fn(btx, logs)
		})
		if !stale {
			return logs, err
		}
		db.values.unpin(logs)
	}
}

// Update runs fn in a read-write transaction, committed when fn returns nil.
// What fn appended to the value log is written and synced before bbolt
// commits, and the log's new end commits with the references to it.
func (db *DB) Update(fn func(*Tx) error) error {
	if db.ro {
		return ErrReadOnly
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	err := db.bolt.Update(func(btx *bolt.Tx) error {
		if err := db.values.begin(btx); err != nil {
			return err
		}
		if err := fn(&Tx{btx: btx, db: db, logs: db.values.current()}); err != nil {
			return err
		}
		return db.values.flush(btx)
	})
	db.values.done(err == nil)
	return err
}

// CompressBody compresses a page body for PutBody. It is safe for
// concurrent use and meant to run on the parse workers, off the writer.
func (db *DB) CompressBody(body []byte) []byte {
	if len(body) == 0 {
		return nil
	}
	return db.enc.EncodeAll(body, make([]byte, 0, len(body)/3+64))
}

// Check runs bbolt's own consistency check over the whole file, then the
// store's (see checkRecords and checkRobots), and returns every problem it
// finds, the store's joined as one error. It never panics: a page so
// broken that walking it panics or faults is reported as one error
// wrapping ErrCorrupt, and bbolt's check (which would panic on it) is
// skipped.
func (db *DB) Check() []error {
	file, records := db.CheckParts()
	if len(records) > 0 {
		return append(file, errors.Join(records...))
	}
	return file
}

// CheckParts is Check with bbolt's problems and the store's apart, and
// each of the store's one error. The store's checks run only when bbolt's
// found nothing.
func (db *DB) CheckParts() (file, records []error) {
	logs, _ := db.pinView(func(tx *bolt.Tx, logs *logSet) error {
		if err := walk(tx); err != nil {
			file = append(file, err)
			return nil
		}
		for err := range tx.Check() {
			file = append(file, err)
		}
		if len(file) == 0 {
			for _, err := range []error{checkRecords(tx, db.values, logs), checkRobots(tx, db.dec)} {
				switch j, ok := err.(interface{ Unwrap() []error }); {
				case ok: // errors.Join's
					records = append(records, j.Unwrap()...)
				case err != nil:
					records = append(records, err)
				}
			}
		}
		return nil
	})
	db.values.unpin(logs)
	return file, records
}

// walk visits every key of every bucket, so every branch and leaf page,
// on the calling goroutine, turning bbolt's assertion panics and memory
// faults (a page id pointing outside the mapping) into ErrCorrupt.
func walk(tx *bolt.Tx) error {
	return noPanic("walk pages", func() error { return walkBuckets(tx) })
}

func walkBuckets(tx *bolt.Tx) error {
	var bucket func(b *bolt.Bucket)
	bucket = func(b *bolt.Bucket) {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if sub := b.Bucket(k); sub != nil {
					bucket(sub)
				}
			}
		}
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
		bucket(b)
		return nil
	})
}
