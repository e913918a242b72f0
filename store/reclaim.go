package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Reclaiming the value log while the database is in use.
//
// Every recrawl replaces a page's record and body, and a 304 its record,
// so a daemon that recrawls grows its value log without end (about 1 KiB
// per recrawl answered 304, the body's size for one answered 200) although
// what it keeps does not grow. `crawler compact` reclaims that, but only
// with the daemon stopped. Reclaim does it while the crawl runs, the way a
// copying collector does (Badger's value-log GC is the model):
//
//  1. It creates a log of the next generation in the slot not in use and
//     makes it the one appended to. From that commit on, nothing new goes
//     to the old log, the drained one; a reference can only keep naming a
//     value already there (a 304 keeps its body).
//  2. It walks the pages bucket in key order, a chunk at a time. For each
//     chunk it reads, in a read transaction, the values the references
//     name in the drained log, then, in one write transaction, appends
//     them to the new log and repoints every reference that still names
//     the value it read (one replaced meanwhile is left alone: its old
//     value is garbage already). A chunk's transaction is small, so the
//     crawl's writer waits for one chunk at a time, and Reclaim rests
//     between chunks so that it keeps the writer at most a quarter of the
//     time.
//  3. When a read transaction finds no reference naming the drained log,
//     none can appear again, so one commit marks the slot unused, and the
//     file is deleted (readers that began before still read it, through
//     the log set they pinned).
//
// Every step is a bbolt commit (with the appended values synced before
// it), so a crash at any point leaves a database that opens and reads
// whole: two logs in use, which the next Reclaim goes on draining (or
// `crawler compact` merges). The drained log is garbage as soon as a
// chunk has moved its values, so the garbage counter grows by what each
// chunk copies and falls by the drained log's size when it is deleted.
// Disk use peaks at the old log plus the live values copied.

// Reclaim chunk bounds: the values moved in one write transaction, and the
// references one read transaction looks at (most of which may name the
// new log already, after a crash or on the second pass).
const (
	reclaimChunkBytes = 4 << 20
	reclaimChunkKeys  = 20_000
)

// reclaimRest is how long Reclaim rests after a chunk, as a multiple of the
// chunk's write transaction: 3 keeps the writer free three quarters of the
// time.
const reclaimRest = 3

// ReclaimStats is what a Reclaim did.
type ReclaimStats struct {
	Moved      int64 // values (records and bodies) copied into the new log
	MovedBytes int64 // their bytes in the log, headers included
	Freed      int64 // bytes of the drained log deleted; 0 when it was not finished
	Chunks     int   // write transactions that moved values
	Damaged    int64 // of the values moved, those whose checksum did not match: moved as they were, so Check still finds them
}

// Reclaim moves the values the page records name out of the current value
// log into a new one and deletes the old log with its garbage, while other
// transactions go on (see the comment above). A drain left unfinished (by
// a cancelled Reclaim or a crash) is finished instead of starting another.
// It returns ctx's error when ctx ends first; what it moved stays moved.
// Only one Reclaim runs at a time; a second waits. Read-only databases
// return ErrReadOnly.
func (db *DB) Reclaim(ctx context.Context) (ReclaimStats, error) {
	var st ReclaimStats
	if db.ro {
		return st, ErrReadOnly
	}
	db.reclaimMu.Lock()
	defer db.reclaimMu.Unlock()
	drain, err := db.startReclaim()
	if err != nil {
		return st, fmt.Errorf("reclaim: %w", err)
	}
	// One pass moves everything (nothing names the drained log anew); a
	// second is only for what a pass could not see, which should be none.
	for range 2 {
		var after []byte
		for more := true; more; {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			var chunk []movedValue
			chunk, after, more, err = db.readChunk(drain, after)
			if err != nil {
				return st, fmt.Errorf("reclaim: %w", err)
			}
			if len(chunk) == 0 {
				continue
			}
			start := time.Now()
			n, b, d, err := db.moveChunk(chunk)
			if err != nil {
				return st, fmt.Errorf("reclaim: %w", err)
			}
			st.Moved, st.MovedBytes, st.Chunks, st.Damaged = st.Moved+n, st.MovedBytes+b, st.Chunks+1, st.Damaged+d
			if err := rest(ctx, reclaimRest*time.Since(start)); err != nil {
				return st, err
			}
		}
		freed, done, err := db.finishReclaim(drain)
		if err != nil {
			return st, fmt.Errorf("reclaim: %w", err)
		}
		if done {
			st.Freed = freed
			return st, nil
		}
	}
	return st, fmt.Errorf("reclaim: values are still named in the drained log after two passes: %w", ErrCorrupt)
}

// rest waits d or until ctx ends.
func rest(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ReclaimUnfinished reports whether a reclaim has a log left to drain (it
// was cancelled, or the process stopped, before it finished): the next
// Reclaim finishes it.
func (db *DB) ReclaimUnfinished() bool {
	var c Counts
	_ = db.View(func(tx *Tx) error { c = tx.Counts(); return nil })
	return c.ValueLogs > 1
}

// startReclaim returns the slot to drain: the one an unfinished reclaim
// was draining, or else the active one, after creating a log of the next
// generation in the other slot and making it the one appended to.
func (db *DB) startReclaim() (drain int, err error) {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	var lm logMeta
	if err := db.bolt.View(func(tx *bolt.Tx) error { lm = readLogMeta(tx.Bucket(bucketMeta)); return nil }); err != nil {
		return 0, err
	}
	if d := lm.draining(); d >= 0 {
		return d, nil
	}
	l := db.values
	old := l.current()
	drain, slot := lm.active, 1-lm.active
	gen := max(lm.gen[0], lm.gen[1]) + 1
	lf := &logFile{gen: gen, path: valuesPath(l.base, gen)}
	if lf.f, err = os.OpenFile(lf.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, l.perm); err != nil {
		return 0, fmt.Errorf("create %s: %w", lf.path, err)
	}
	if err := syncDir(filepath.Dir(lf.path)); err != nil {
		_ = lf.f.Close()
		_ = os.Remove(lf.path)
		return 0, fmt.Errorf("create %s: %w", lf.path, err)
	}
	// The set naming the new log is current before the commit that names
	// it: see logSet.
	next := &logSet{files: old.files, active: slot}
	next.files[slot] = lf
	l.install(next)
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		lm.gen[slot], lm.end[slot], lm.active = gen, 0, slot
		return lm.put(tx.Bucket(bucketMeta))
	})
	if err != nil {
		l.install(&logSet{files: old.files, active: old.active})
		_ = os.Remove(lf.path)
		return 0, err
	}
	l.end.Store(0)
	return drain, nil
}

// movedValue is one value a chunk moves: the record or body reference of
// key as read, and the value.
type movedValue struct {
	key     []byte
	body    bool
	ref     valueRef
	crc     uint32 // the checksum stored with value
	value   []byte
	damaged bool // value does not match crc
}

// readChunk reads, in one read transaction, the values that the references
// after the key after (all of them when nil) name in slot drain, until it
// has reclaimChunkBytes of them or has looked at reclaimChunkKeys
// references. It returns them, the last key it looked at, and whether any
// key follows.
func (db *DB) readChunk(drain int, after []byte) (chunk []movedValue, last []byte, more bool, err error) {
	last = after
	err = db.View(func(tx *Tx) error {
		c := tx.btx.Bucket(bucketPages).Cursor()
		k, v := c.First()
		if after != nil {
			if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		var size int64
		for n := 0; k != nil && n < reclaimChunkKeys && size < reclaimChunkBytes; k, v = c.Next() {
			n++
			last = bytes.Clone(k)
			if !isLogRef(v) {
				continue // a record of an older file, its body in bbolt
			}
			refs, err := decodeLogRefs(v)
			if err != nil {
				return fmt.Errorf("page %s: %w", k, err)
			}
			for i, r := range []valueRef{refs.rec, refs.body} {
				if r.n == 0 || r.slot != drain {
					continue
				}
				// A value whose checksum does not match is moved as it is
				// (Check reports it where it goes): refusing it would
				// keep the drained log, and every reclaim after, for good.
				crc, value, _, err := db.values.readRaw(tx.logs, r, false)
				if err != nil {
					return fmt.Errorf("page %s: %w", k, err)
				}
				chunk = append(chunk, movedValue{key: last, body: i == 1, ref: r, crc: crc, value: value,
					damaged: crc != crc32.Checksum(value, castagnoli)})
				size += r.span()
			}
		}
		more = k != nil
		return nil
	})
	return chunk, last, more, err
}

// moveChunk appends the values of chunk to the active log and repoints
// each reference that still names the value it was read from. It returns
// how many values it moved, their bytes in the log, and how many of them
// were damaged.
func (db *DB) moveChunk(chunk []movedValue) (moved, size, damaged int64, err error) {
	err = db.Update(func(tx *Tx) error {
		moved, size, damaged = 0, 0, 0
		pages := tx.btx.Bucket(bucketPages)
		for i := 0; i < len(chunk); {
			key := chunk[i].key
			v := pages.Get(key)
			var refs logRefs
			if isLogRef(v) {
				var err error
				if refs, err = decodeLogRefs(v); err != nil {
					return fmt.Errorf("page %s: %w", key, err)
				}
			}
			changed := false
			for ; i < len(chunk) && bytes.Equal(chunk[i].key, key); i++ {
				m := &chunk[i]
				r := &refs.rec
				if m.body {
					r = &refs.body
				}
				if v == nil || *r != m.ref {
					continue // replaced or deleted since it was read: garbage already
				}
				*r = db.values.appendRaw(m.crc, m.value)
				moved, size, changed = moved+1, size+r.span(), true
				if m.damaged {
					damaged++
				}
			}
			if changed {
				if err := pages.Put(key, refs.encode()); err != nil {
					return fmt.Errorf("page %s: %w", key, err)
				}
			}
		}
		// The copies are live; what they were copied from is garbage.
		tx.addCounter(keyValuesGarbage, size)
		return nil
	})
	return moved, size, damaged, err
}

// finishReclaim looks, in a read transaction, for a reference naming slot
// drain; when there is none it marks the slot unused, installs the log set
// without it and deletes its log, returning the bytes freed and true.
// Nothing names the drained log anew, so once a snapshot shows none, none
// will be.
func (db *DB) finishReclaim(drain int) (freed int64, done bool, err error) {
	named := false
	err = db.View(func(tx *Tx) error {
		return tx.btx.Bucket(bucketPages).ForEach(func(k, v []byte) error {
			if !isLogRef(v) {
				return nil
			}
			refs, err := decodeLogRefs(v)
			if err != nil {
				return fmt.Errorf("page %s: %w", k, err)
			}
			if (refs.rec.n > 0 && refs.rec.slot == drain) || (refs.body.n > 0 && refs.body.slot == drain) {
				named = true
				return errStop
			}
			return nil
		})
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil || named {
		return 0, false, err
	}

	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	l := db.values
	var gone *logFile
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		lm := readLogMeta(m)
		if lm.draining() != drain {
			return fmt.Errorf("the log being drained changed under the reclaim")
		}
		freed = lm.end[drain]
		garbage := max(counter(m, keyValuesGarbage)-freed, 0)
		if err := m.Put(keyValuesGarbage, putU64(uint64(garbage))); err != nil {
			return err
		}
		lm.gen[drain], lm.end[drain] = 0, 0
		return lm.put(m)
	})
	if err != nil {
		return 0, false, err
	}
	old := l.current()
	next := &logSet{files: old.files, active: old.active}
	gone, next.files[drain] = next.files[drain], nil
	// The set without the drained log is current only after the commit
	// that leaves nothing naming it; pinned sets keep the file open.
	l.install(next)
	if gone != nil {
		if err := os.Remove(gone.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return freed, true, fmt.Errorf("remove the drained log: %w", err) // Open removes it
		}
		_ = syncDir(filepath.Dir(gone.path))
	}
	return freed, true, nil
}

// errStop ends a ForEach early.
var errStop = errors.New("stop")
