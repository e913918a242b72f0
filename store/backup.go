package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// BackupInfo describes a backup Backup wrote.
type BackupInfo struct {
	DB         string `json:"db"`          // the copy of the bbolt file
	Values     string `json:"values"`      // the copy of its value log; "" when it holds nothing
	DBBytes    int64  `json:"db_bytes"`    // size of DB
	ValueBytes int64  `json:"value_bytes"` // size of Values
	// Draining is the copy of the log a reclaim was draining when the
	// backup was taken; "" when none was (or it held nothing).
	Draining      string `json:"values_draining,omitempty"`
	DrainingBytes int64  `json:"values_draining_bytes,omitempty"` // size of Draining
	Pages         int64  `json:"pages"`                           // page records in the copy
}

// Backup writes a consistent copy of the store into dir (created if
// needed), under the names a data_dir holds: the database file's base
// name and its value log's. It works on a database open read-write, while
// writers commit, or read-only: the bbolt file is copied in one read
// transaction (bbolt's Tx.WriteTo), and the value logs up to the ends that
// transaction's meta records, which later commits only append past (a
// reclaim's drained log stays open until the copy is made). A
// dir that already holds either file, or that another backup is writing
// into (each holds a lock on it), is ErrBackupExists. The copies are
// written under temporary names, synced, then renamed, and dir synced,
// with each directory made for it (so a backup reported done survives a
// power loss); on failure they are removed. A value log shorter than the
// database names is ErrCorrupt. The read transaction lasts as long as
// the bbolt file's copy (the frontier and the URL index, not the bodies),
// and copying the log holds no lock at all.
func (db *DB) Backup(ctx context.Context, dir string) (*BackupInfo, error) {
	base := filepath.Base(db.path)
	info := &BackupInfo{DB: filepath.Join(dir, base)}
	made := missingDirs(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, outputErr(err)
	}
	release, err := lockBackupDir(dir)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := refuseExisting(dir, base); err != nil {
		return nil, err
	}
	dbTmp, err := os.CreateTemp(dir, "."+base+".*.partial")
	if err != nil {
		return nil, outputErr(err)
	}
	tmps := []*os.File{dbTmp}
	defer func() {
		for _, f := range tmps {
			_ = f.Close()
			_ = os.Remove(f.Name()) // gone already once renamed
		}
	}()

	// The log set stays pinned until the copies are made.
	var lm logMeta
	logs, err := db.pinView(func(tx *bolt.Tx, _ *logSet) error {
		lm = readLogMeta(tx.Bucket(bucketMeta))
		info.Pages = counter(tx.Bucket(bucketMeta), keyPages)
		n, err := tx.WriteTo(outputWriter{dbTmp})
		info.DBBytes = n
		return err
	})
	defer db.values.unpin(logs)
	if err != nil {
		return nil, fmt.Errorf("backup: copy %s: %w", db.path, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var renames [][2]string // the logs first: a database copy in place is a backup in place
	for _, slot := range []int{lm.active, 1 - lm.active} {
		if lm.gen[slot] == 0 || lm.end[slot] == 0 {
			continue
		}
		lf := logs.files[slot]
		if lf == nil || lf.f == nil {
			return nil, fmt.Errorf("backup: the database names %d bytes of value log %d, and none is open: %w", lm.end[slot], lm.gen[slot], ErrCorrupt)
		}
		name := filepath.Join(dir, filepath.Base(valuesPath(db.path, lm.gen[slot])))
		tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.partial")
		if err != nil {
			return nil, outputErr(err)
		}
		tmps = append(tmps, tmp)
		n, err := io.Copy(outputWriter{tmp}, &ctxReader{ctx: ctx, r: io.NewSectionReader(lf.f, 0, lm.end[slot])})
		if err != nil {
			return nil, fmt.Errorf("backup: copy %s: %w", lf.path, err)
		}
		if n != lm.end[slot] { // a log shorter than the database says
			return nil, fmt.Errorf("backup: %s holds %d bytes, the database names %d: %w", lf.path, n, lm.end[slot], ErrCorrupt)
		}
		if slot == lm.active {
			info.Values, info.ValueBytes = name, n
		} else {
			info.Draining, info.DrainingBytes = name, n
		}
		renames = append(renames, [2]string{tmp.Name(), name})
	}
	for _, f := range tmps {
		if err := f.Sync(); err != nil {
			return nil, outputErr(err)
		}
	}
	renames = append(renames, [2]string{dbTmp.Name(), info.DB})
	if err := refuseExisting(dir, base); err != nil {
		return nil, err
	}
	for _, r := range renames {
		if err := os.Rename(r[0], r[1]); err != nil {
			return nil, outputErr(err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, outputErr(err)
	}
	for _, d := range made { // deepest first: each entry, then the one above
		if err := syncDir(filepath.Dir(d)); err != nil {
			return nil, outputErr(err)
		}
	}
	return info, nil
}

// lockBackupDir takes an exclusive flock on the directory dir itself
// (no lock file is left in it), so that two backups into one directory
// cannot interleave their renames; a backup that finds it held is
// ErrBackupExists. release drops it.
func lockBackupDir(dir string) (release func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, outputErr(err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("backup to %s: %w (another backup is writing into it)", dir, ErrBackupExists)
		}
		return nil, outputErr(fmt.Errorf("lock %s: %w", dir, err))
	}
	return func() { _ = d.Close() }, nil
}

// missingDirs returns dir and those of its parents that do not exist,
// deepest first: the directories MkdirAll(dir) is about to make, whose
// entries a durable backup syncs.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			return out
		}
		out = append(out, d)
	}
}

// refuseExisting returns ErrBackupExists when dir holds the database file
// base or one of its value logs.
func refuseExisting(dir, base string) error {
	if _, err := os.Lstat(filepath.Join(dir, base)); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup to %s: %w (%s)", dir, ErrBackupExists, base)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, base+valuesInfix+"*"))
	if len(logs) > 0 {
		return fmt.Errorf("backup to %s: %w (%s)", dir, ErrBackupExists, filepath.Base(logs[0]))
	}
	return nil
}

// outputErr marks err, met making or writing the backup directory, as
// ErrBackupOutput.
func outputErr(err error) error {
	return fmt.Errorf("backup: %w: %w", ErrBackupOutput, err)
}

// outputWriter marks its file's write errors as ErrBackupOutput, so a
// copy's failure says which side it came from.
type outputWriter struct{ f *os.File }

func (w outputWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrBackupOutput, err)
	}
	return n, err
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
