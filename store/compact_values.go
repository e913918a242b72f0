package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// compactRefsPerTx bounds the page references rewritten per transaction
// of the compacted copy.
const compactRefsPerTx = 10_000

// logPath is the path value logs are named after: the database file's,
// with symbolic links resolved, so that the log lies beside the file
// however it is reached.
func logPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// compactValues copies the values that the records of the compacted copy
// at dst name, from the original's value logs old (of generations up to
// gen), into a log of path of generation gen+1 in slot 0, repoints the
// records at it and records the new generation and end in the copy. The new log is synced
// before it returns; the copy is synced by the caller. It returns the new
// log's size.
func compactValues(dst, path string, old *valueLog, gen uint64, perm fs.FileMode) (size int64, err error) {
	logs := old.current()
	newPath := valuesPath(path, gen+1)
	f, err := os.OpenFile(newPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(newPath)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	copyValue := func(r valueRef) (valueRef, error) {
		if r.n == 0 {
			return valueRef{}, nil
		}
		v, err := old.read(logs, r, false)
		if err != nil {
			return valueRef{}, err
		}
		out := valueRef{off: size, n: r.n}
		var h [valueHeader]byte
		binary.LittleEndian.PutUint32(h[:], crc32.Checksum(v, castagnoli))
		if _, err := w.Write(h[:]); err != nil {
			return valueRef{}, err
		}
		if _, err := w.Write(v); err != nil {
			return valueRef{}, err
		}
		size += valueHeader + r.n
		return out, nil
	}

	db, err := bolt.Open(dst, perm, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true, NoSync: true})
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	var after []byte // the last key rewritten
	for more := true; more; {
		err := db.Update(func(tx *bolt.Tx) error {
			pages := tx.Bucket(bucketPages)
			if pages == nil {
				more = false
				return nil
			}
			type put struct{ k, v []byte }
			var puts []put
			c := pages.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(puts) < compactRefsPerTx; k, v = c.Next() {
				after = append(after[:0], k...)
				if !isLogRef(v) {
					continue // a record of an older file, body in bbolt
				}
				refs, err := decodeLogRefs(v)
				if err != nil {
					return fmt.Errorf("page %s: %w", k, err)
				}
				if refs.rec, err = copyValue(refs.rec); err != nil {
					return fmt.Errorf("page %s: record: %w", k, err)
				}
				if refs.body, err = copyValue(refs.body); err != nil {
					return fmt.Errorf("page %s: body: %w", k, err)
				}
				puts = append(puts, put{bytes.Clone(k), refs.encode()})
			}
			more = k != nil
			for _, p := range puts {
				if err := pages.Put(p.k, p.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync the new value log: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return nil // not initialized: nothing references a log
		}
		if err := m.Put(keyValuesGarbage, putU64(0)); err != nil {
			return err
		}
		return logMeta{gen: [2]uint64{gen + 1, 0}, end: [2]int64{size, 0}}.put(m)
	})
	return size, err
}
