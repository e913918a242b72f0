package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// Why page records and bodies live in a log beside the B+tree.
//
// bbolt reads its file through a shared memory map, and every page of that
// map the process has touched counts in its RSS. The writer touches leaves
// all over the file (a page record goes under its URL, among other hosts'
// records), and each read fault also maps the 64 KiB around it, so after
// some minutes of crawling the whole file counts as resident: a 300 MB
// crawl.db was 300 MB of RSS, and unmapping it (max_mapped_bytes) made the
// writer fault the same leaves back in again and again.
//
// So the bulk of what the store keeps, the page records and the bodies,
// is appended to a second file, the value log, which is written with
// pwrite and read with pread and never mapped. The pages bucket keeps,
// under each URL, only where its record and body are in the log (a few
// bytes), and bbolt's file shrinks to the index and the frontier.
//
// Atomicity is kept: a write transaction appends to a buffer in memory;
// just before bbolt commits, Update writes the buffer at the log's
// committed end, syncs it, and stores the new end in the meta bucket in
// the same bbolt transaction. The references and the end commit together
// or not at all, and what they point at is durable before they are. Bytes
// past the committed end (a crash between the two syncs, a failed commit)
// belong to nothing: a read-write Open truncates them and the next commit
// overwrites them. Values are never rewritten in place, so readers read
// committed values with pread while the writer appends.
//
// A replaced record or body stays in the log as garbage until `crawler
// compact`, which copies the live values into a log of the next
// generation (the file name carries it, and the meta bucket says which
// generation is current), so the rename of the compacted bbolt file
// switches both files at once.

// valuesInfix names the log files: the database path, ".values.", and
// the generation.
const valuesInfix = ".values."

var (
	keyValuesGen = []byte("values_gen") // generation of the current log file (absent: 1)
	keyValuesEnd = []byte("values_end") // bytes of the log committed (absent: 0)
	// keyValuesGarbage is how many of the log's committed bytes belong to
	// replaced records and bodies (headers included): what compact would
	// reclaim. A read-write open of a file without it (written before it
	// was kept) computes it once from the references (initGarbage).
	keyValuesGarbage = []byte("values_garbage")
)

// recordInLog marks a pages bucket value that points into the value log:
// recordInLog, then the record's offset and length, then the body's
// (length 0: no body), each a uvarint.
const recordInLog = 3

// valueHeader is the bytes before each value in the log: its CRC-32C,
// little-endian.
const valueHeader = 4

// maxValueLen bounds a value's length as read from a reference, so a
// corrupt reference cannot make a reader allocate without limit.
const maxValueLen = maxBodyDecoded + 1<<20

// maxPendingKeep is the capacity of the append buffer kept between write
// transactions; a larger one (a commit of large bodies) is dropped.
const maxPendingKeep = 4 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// valueRef is where one value is in the log: the offset of its header and
// the length of the value after it. The zero valueRef is no value.
type valueRef struct{ off, n int64 }

// span is how many bytes of the log r takes: its header and its value; 0
// for no value.
func (r valueRef) span() int64 {
	if r.n == 0 {
		return 0
	}
	return valueHeader + r.n
}

// logRefs is a decoded recordInLog value.
type logRefs struct{ rec, body valueRef }

// encode returns the pages bucket value for r.
func (r logRefs) encode() []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64)
	b = append(b, recordInLog)
	for _, v := range []int64{r.rec.off, r.rec.n, r.body.off, r.body.n} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

// decodeLogRefs decodes a recordInLog value. It never panics.
func decodeLogRefs(v []byte) (logRefs, error) {
	if len(v) == 0 || v[0] != recordInLog {
		return logRefs{}, fmt.Errorf("decode page: not a log reference: %w", ErrCorrupt)
	}
	var f [4]int64
	rest := v[1:]
	for i := range f {
		x, n := binary.Uvarint(rest)
		if n <= 0 || x > 1<<62 {
			return logRefs{}, fmt.Errorf("decode page: bad log reference: %w", ErrCorrupt)
		}
		f[i], rest = int64(x), rest[n:]
	}
	r := logRefs{rec: valueRef{f[0], f[1]}, body: valueRef{f[2], f[3]}}
	if len(rest) != 0 || r.rec.n == 0 || r.rec.n > maxValueLen || r.body.n > maxValueLen {
		return logRefs{}, fmt.Errorf("decode page: bad log reference: %w", ErrCorrupt)
	}
	return r, nil
}

// initGarbage sets the garbage counter of a file that has none (one
// written before it was kept, or a new one) to the log's end less what
// the records name: one pass over the references, once. A reference that
// does not decode names nothing here; it does not keep the file from
// opening (crawler check reports it).
func initGarbage(tx *bolt.Tx) error {
	_, end := logState(tx.Bucket(bucketMeta))
	var live int64
	_ = tx.Bucket(bucketPages).ForEach(func(_, v []byte) error {
		if refs, err := decodeLogRefs(v); err == nil { // records of older files are in bbolt
			live += refs.rec.span() + refs.body.span()
		}
		return nil
	})
	return tx.Bucket(bucketMeta).Put(keyValuesGarbage, putU64(uint64(max(end-live, 0))))
}

// valueLog is the open value log of a DB.
type valueLog struct {
	path   string
	gen    uint64
	f      *os.File // nil: a read-only DB whose log was never written
	noSync bool

	// end is the committed length: only Update changes it, after bbolt
	// commits. Readers never need it (they pread committed references).
	end atomic.Int64
	// pending holds what the open write transaction appended, to be
	// written at end. Only the writer touches it.
	pending []byte
}

// valuesPath is the log file of generation gen of the database at path.
func valuesPath(path string, gen uint64) string {
	return path + valuesInfix + strconv.FormatUint(gen, 10)
}

// logState reads the generation and committed end from the meta bucket
// (nil: a fresh file, generation 1, empty).
func logState(m *bolt.Bucket) (gen uint64, end int64) {
	gen = 1
	if m == nil {
		return gen, 0
	}
	if v := m.Get(keyValuesGen); len(v) == 8 && u64(v) > 0 {
		gen = u64(v)
	}
	if v := m.Get(keyValuesEnd); len(v) == 8 {
		end = int64(u64(v))
	}
	return gen, end
}

// openValues opens the value log the database at path names in tx's meta
// bucket. A log shorter than its committed end, or missing while the end
// says it holds values, is ErrCorrupt. A read-write open cuts what lies
// past the committed end (an append whose commit never happened) and
// removes the logs of other generations (left by a compact that crashed
// before or after its rename).
func openValues(path string, tx *bolt.Tx, ro, noSync bool, perm fs.FileMode) (*valueLog, error) {
	gen, end := logState(tx.Bucket(bucketMeta))
	l := &valueLog{path: valuesPath(path, gen), gen: gen, noSync: noSync}
	l.end.Store(end)
	flag := os.O_RDWR
	if ro {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(l.path, flag, perm)
	switch {
	case errors.Is(err, fs.ErrNotExist) && end != 0:
		return nil, fmt.Errorf("open %s: value log %s is missing (it held %d bytes of records and bodies): %w", path, l.path, end, ErrCorrupt)
	case errors.Is(err, fs.ErrNotExist) && ro:
		return l, nil
	case errors.Is(err, fs.ErrNotExist):
		f, err = os.OpenFile(l.path, flag|os.O_CREATE, perm)
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("open %s: value log: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open %s: value log: %w", path, err)
	}
	if fi.Size() < end {
		_ = f.Close()
		return nil, fmt.Errorf("open %s: value log %s truncated: %d bytes, the database needs %d: %w", path, l.path, fi.Size(), end, ErrCorrupt)
	}
	if !ro {
		if fi.Size() > end {
			if err := f.Truncate(end); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("open %s: value log: cut uncommitted tail: %w", path, err)
			}
		}
		removeOtherLogs(path, gen)
	}
	l.f = f
	return l, nil
}

// removeOtherLogs removes the value logs of path other than generation
// keep. Failures are ignored: a stale log only takes space.
func removeOtherLogs(path string, keep uint64) {
	dir, prefix := filepath.Split(path)
	entries, _ := os.ReadDir(filepath.Clean(dir))
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix+valuesInfix)
		if g, err := strconv.ParseUint(rest, 10, 64); ok && err == nil && g != keep {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// append adds value to the open write transaction's buffer and returns
// where it will be once committed.
func (l *valueLog) append(value []byte) valueRef {
	if len(value) == 0 {
		return valueRef{}
	}
	r := valueRef{off: l.end.Load() + int64(len(l.pending)), n: int64(len(value))}
	l.pending = binary.LittleEndian.AppendUint32(l.pending, crc32.Checksum(value, castagnoli))
	l.pending = append(l.pending, value...)
	return r
}

// read returns a copy of the value at r. The writer (pending true) also
// reads what its transaction appended. Bad offsets, a short file and a
// checksum mismatch are ErrCorrupt.
func (l *valueLog) read(r valueRef, pending bool) ([]byte, error) {
	if r.n <= 0 || r.n > maxValueLen || r.off < 0 {
		return nil, fmt.Errorf("value at %d+%d: bad reference: %w", r.off, r.n, ErrCorrupt)
	}
	buf := make([]byte, valueHeader+r.n)
	if end := l.end.Load(); pending && r.off >= end {
		i := r.off - end
		if i+int64(len(buf)) > int64(len(l.pending)) {
			return nil, fmt.Errorf("value at %d+%d: past the end of the log: %w", r.off, r.n, ErrCorrupt)
		}
		copy(buf, l.pending[i:])
	} else {
		if l.f == nil {
			return nil, fmt.Errorf("value at %d+%d: no value log: %w", r.off, r.n, ErrCorrupt)
		}
		if _, err := l.f.ReadAt(buf, r.off); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("value at %d+%d in %s: past the end of the file: %w", r.off, r.n, l.path, ErrCorrupt)
			}
			return nil, fmt.Errorf("value at %d+%d in %s: %w", r.off, r.n, l.path, err)
		}
	}
	v := buf[valueHeader:]
	if binary.LittleEndian.Uint32(buf) != crc32.Checksum(v, castagnoli) {
		return nil, fmt.Errorf("value at %d+%d in %s: checksum mismatch: %w", r.off, r.n, l.path, ErrCorrupt)
	}
	return v, nil
}

// flush writes what the open write transaction appended at the committed
// end, syncs it, and records the new end in the meta bucket of btx, so
// that bbolt's commit makes the values and the references to them
// durable together. With nothing appended it does nothing.
func (l *valueLog) flush(btx *bolt.Tx) error {
	if len(l.pending) == 0 {
		return nil
	}
	if l.f == nil {
		return ErrReadOnly
	}
	end := l.end.Load()
	if _, err := l.f.WriteAt(l.pending, end); err != nil {
		return fmt.Errorf("write value log: %w", err)
	}
	if !l.noSync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("sync value log: %w", err)
		}
	}
	// The generation is not written: it is 1 (the default) until a
	// compact, which writes the next one with the copy.
	return btx.Bucket(bucketMeta).Put(keyValuesEnd, putU64(uint64(end)+uint64(len(l.pending))))
}

// done ends a write transaction: committed moves the end past what it
// appended; either way the buffer is emptied.
func (l *valueLog) done(committed bool) {
	if committed {
		l.end.Add(int64(len(l.pending)))
	}
	if cap(l.pending) > maxPendingKeep {
		l.pending = nil
	} else {
		l.pending = l.pending[:0]
	}
}

// size is the committed length of the log.
func (l *valueLog) size() int64 { return l.end.Load() }

func (l *valueLog) close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
