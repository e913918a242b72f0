package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Why the store compacts offline.
//
// bbolt never shrinks its file: pages freed by a commit go on the
// freelist and are reused by later commits, but the file keeps its
// high-water size. A crawl's frontier is the big case: with a million
// URLs queued the queue bucket holds hundreds of megabytes, all of it free
// once they are fetched, and a recrawl's replaced bodies free their pages
// too. bbolt's Compact copies every bucket into a new file, leaves filled
// full (keys arrive in order), so the copy holds only what is live. It
// needs the daemon stopped: the copy must see every commit, and the
// rename must not race a writer.

// compactSuffix names the copy while it is written, next to the file.
const compactSuffix = ".compact"

// compactTxBytes bounds the keys and values copied per transaction of
// the new file, so compacting a large file does not hold all its dirty
// pages in memory at once.
const compactTxBytes = 64 << 20

// ErrNoSpace is returned by Compact when the file system holding the
// database has less free space than the copy needs. Nothing was changed.
var ErrNoSpace = errors.New("not enough free disk space to compact")

// CompactResult describes a finished Compact in the bytes Counts (and so
// crawler stats and check) reports: the bbolt file's pages up to its
// high-water mark (Counts.FileBytes; the file itself may be longer by up
// to bbolt's growth step, a hole that takes no disk space) and the value
// log's committed bytes (Counts.ValueBytes).
type CompactResult struct {
	Before, After         int64 // FileBytes plus ValueBytes
	FileBefore, FileAfter int64 // FileBytes
	LogBefore, LogAfter   int64 // ValueBytes
}

// freeBytes returns the bytes available to this user on dir's file
// system; tests replace it.
var freeBytes = func(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil // Bsize is uint32 on darwin
}

// Compact rewrites the crawl database at path without its free pages and
// replaces the file with the copy. It needs the file to itself: while any
// other process has it open (a running daemon, a CLI reading it) it fails
// with ErrLocked after timeout (zero means Options.Timeout's default);
// a missing file is ErrMissing and one that is not a crawl database
// ErrCorrupt, exactly as Open.
//
// The copy is written to path+".compact" beside the file, and the live
// records and bodies of the value log to a log of the next generation,
// which the copy names. Both are synced and checked (bbolt's page check,
// every bucket must hold as many keys as the original's, and every record
// must read back from the new log with its checksum), and only then is
// the copy renamed over path, while the original stays locked so no
// daemon can start on it meanwhile; the old log is removed after. Any
// failure, a crash or a full disk (ErrNoSpace when the free space is
// known to be short beforehand) leaves the original and its log
// untouched; a copy or log left by an earlier crash is removed first (and
// by the next read-write Open). The file's permissions are kept.
func Compact(path string, timeout time.Duration) (res CompactResult, err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // replace the file, not the link
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return res, fmt.Errorf("compact %s: %w", path, ErrMissing)
	case err != nil:
		return res, fmt.Errorf("compact %s: %w", path, err)
	case fi.Mode().IsRegular() && fi.Size() == 0:
		return res, fmt.Errorf("compact %s: empty file: %w", path, ErrCorrupt) // as Open says
	}
	if timeout <= 0 {
		timeout = time.Second // Options.Timeout's default
	}
	// Open as a read-write Open does (walk every page first, then take the
	// exclusive lock) but write nothing: the original must stay as it is
	// until the rename.
	if err := precheck(path, timeout); err != nil {
		return res, err
	}
	src, err := openBolt(path, &bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := src.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("compact %s: close: %w", path, cerr)
		}
	}()
	if err := src.View(func(tx *bolt.Tx) error { return checkSchema(tx, path) }); err != nil {
		return res, err
	}
	// The original's log, opened read-only as Open does: one missing or
	// shorter than its committed end is ErrCorrupt before anything is
	// written.
	logBase := logPath(path)
	var old *valueLog
	var lm logMeta
	if err := src.View(func(tx *bolt.Tx) (err error) {
		lm = readLogMeta(tx.Bucket(bucketMeta))
		old, err = openValues(logBase, tx, true, false, 0)
		return err
	}); err != nil {
		return res, err
	}
	defer old.close()
	// Both logs, when a reclaim was draining one, go into one of a
	// generation after both.
	gen, logEnd := max(lm.gen[0], lm.gen[1]), lm.total()
	st := src.Stats()
	pageSize := src.Info().PageSize
	_ = src.View(func(tx *bolt.Tx) error { res.FileBefore = tx.Size(); return nil })
	res.LogBefore = logEnd
	res.Before = res.FileBefore + res.LogBefore
	// The live pages, and the log: at most what the copy and the new log need.
	used := res.FileBefore - int64(st.FreePageN+st.PendingPageN)*int64(pageSize) + logEnd
	tmp := path + compactSuffix
	newLog := valuesPath(logBase, gen+1)
	for _, stale := range []string{tmp, newLog} {
		if err := os.Remove(stale); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("compact %s: remove the copy an earlier compact left: %w", path, err)
		}
	}
	dir := filepath.Dir(path)
	if avail, err := freeBytes(dir); err == nil && avail < used {
		return res, fmt.Errorf("compact %s: the copy needs up to %d bytes, %s has %d free: %w", path, used, dir, avail, ErrNoSpace)
	}
	renamed := false
	defer func() {
		if err != nil && !renamed {
			_ = os.Remove(tmp)
			_ = os.Remove(newLog)
		}
	}()
	if err := copyCompacted(src, tmp, pageSize, fi.Mode().Perm()); err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	logSize, err := compactValues(tmp, logBase, old, gen, fi.Mode().Perm())
	if err != nil {
		return res, fmt.Errorf("compact %s: value log: %w", path, err)
	}
	fileAfter, err := checkCopy(tmp, logBase)
	if err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(newLog)); err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		// The rename happened; only its durability is in doubt. After a
		// power loss either file may be the one at path, so both logs
		// stay (the next read-write Open removes the one it does not
		// need).
		return res, fmt.Errorf("compact %s: sync %s: %w", path, dir, err)
	}
	removeOtherLogs(logBase, gen+1)
	res.FileAfter, res.LogAfter = fileAfter, logSize
	res.After = res.FileAfter + res.LogAfter
	return res, nil
}

// checkCopy syncs the compacted copy at tmp and checks its records
// against the value log of logBase it names: every reference in range,
// every checksum matching, the counters right. It returns the copy's
// Counts.FileBytes.
func checkCopy(tmp, logBase string) (fileBytes int64, err error) {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return 0, fmt.Errorf("sync the copy: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	b, err := bolt.Open(tmp, 0, &bolt.Options{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		fileBytes = tx.Size()
		values, err := openValues(logBase, tx, true, false, 0)
		if err != nil {
			return err
		}
		defer values.close()
		if err := checkRecords(tx, values, values.current()); err != nil {
			return fmt.Errorf("check the copy: %w", err)
		}
		return nil
	})
	return fileBytes, err
}

// copyCompacted writes src's buckets to a new file at dst, syncs it and
// checks the copy against src.
func copyCompacted(src *bolt.DB, dst string, pageSize int, perm fs.FileMode) (err error) {
	out, err := bolt.Open(dst, perm, &bolt.Options{
		PageSize:       pageSize,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
		NoSync:         true, // one sync at the end
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := bolt.Compact(out, src, compactTxBytes); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("sync the copy: %w", err)
	}
	if err := os.Chmod(dst, perm); err != nil { // bbolt's mode is masked by umask
		return err
	}
	return sameKeys(src, out)
}

// sameKeys checks the copy: bbolt's page check finds nothing, and each
// top-level bucket holds as many keys as the original's.
func sameKeys(src, copy *bolt.DB) error {
	want, err := bucketKeys(src)
	if err != nil {
		return err
	}
	got, err := bucketKeys(copy)
	if err != nil {
		return err
	}
	for name, n := range want {
		if got[name] != n {
			return fmt.Errorf("the copy's bucket %q holds %d keys, the original's %d", name, got[name], n)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("the copy has %d buckets, the original %d", len(got), len(want))
	}
	return copy.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("check the copy: %w", err)
		}
		return nil
	})
}

// bucketKeys counts the keys of each top-level bucket.
func bucketKeys(db *bolt.DB) (map[string]int, error) {
	out := make(map[string]int)
	err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			out[string(name)] = b.Stats().KeyN
			return nil
		})
	})
	return out, err
}

// syncDir makes a rename, or a file created, in dir durable. A variable
// for the tests, which make it fail.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
