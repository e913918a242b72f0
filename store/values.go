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
	"slices"
	"strconv"
	"strings"
	"sync"
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
// A replaced record or body stays in the log as garbage until it is
// reclaimed: while the daemon runs, by Reclaim (reclaim.go), which moves
// the live values into a log of the next generation in small transactions
// and then deletes the old log; with the daemon stopped, by `crawler
// compact`, which copies them into a log of the next generation beside the
// compacted bbolt file, so its rename switches both files at once. The file
// name carries the generation.
//
// So there are two log slots. The meta bucket names the generation and the
// committed end of each slot in use and which slot is appended to; a page
// reference says which slot each of its values is in. Outside a reclaim
// only one slot is in use.

// valuesInfix names the log files: the database path, ".values.", and
// the generation.
const valuesInfix = ".values."

var (
	// keyValuesGen is, per slot, the generation of its log. Slot 0's
	// absent: 1 (the only log of a file never reclaimed), 0: not in use;
	// slot 1's absent: not in use.
	keyValuesGen = [2][]byte{[]byte("values_gen"), []byte("values_gen_1")}
	// keyValuesEnd is, per slot, the bytes of its log committed (absent: 0).
	keyValuesEnd = [2][]byte{[]byte("values_end"), []byte("values_end_1")}
	// keyValuesActive is the slot appended to (absent: 0). The other slot,
	// when in use, is being drained by Reclaim: nothing new goes to it.
	keyValuesActive = []byte("values_active")
	// keyValuesGarbage is how many of the logs' committed bytes belong to
	// replaced records and bodies (headers included), and to values a
	// reclaim has copied out of the slot it drains: what compact would
	// reclaim. A read-write open of a file without it (written before it
	// was kept) computes it once from the references (initGarbage).
	keyValuesGarbage = []byte("values_garbage")
)

// Page references into the value log. recordInLog, then the record's
// offset and length, then the body's (length 0: no body), each a uvarint:
// both values in slot 0. recordInLogs, then a byte of slots (bit 0: the
// record is in slot 1; bit 1: the body is), then the same.
const (
	recordInLog  = 3
	recordInLogs = 4
)

// isLogRef reports whether a pages bucket value points into the value log
// (rather than being a record of an older file).
func isLogRef(v []byte) bool { return len(v) > 0 && (v[0] == recordInLog || v[0] == recordInLogs) }

// valueHeader is the bytes before each value in the log: its CRC-32C,
// little-endian.
const valueHeader = 4

// maxValueLen bounds a value's length as read from a reference, so a
// corrupt reference cannot make a reader allocate without limit.
const maxValueLen = maxBodyDecoded + 1<<20

// maxPendingKeep is the capacity of the append buffer kept between write
// transactions; a larger one (a commit of large bodies, a reclaim's chunk)
// is dropped. A crawl's commit appends some hundreds of KiB. With 4 MiB,
// the buffer of a reclaim's chunk stayed, and the soak's daemon went from
// 23 to 40 MB of anonymous memory after its first reclaim, for good
// (GOGC=400 lets the heap grow to five times what is live); with 1 MiB it
// stayed at 23.
const maxPendingKeep = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// valueRef is where one value is in the logs: the slot, the offset of its
// header and the length of the value after it. The zero valueRef is no
// value.
type valueRef struct {
	off, n int64
	slot   int
}

// span is how many bytes of the log r takes: its header and its value; 0
// for no value.
func (r valueRef) span() int64 {
	if r.n == 0 {
		return 0
	}
	return valueHeader + r.n
}

// logRefs is a decoded page reference.
type logRefs struct{ rec, body valueRef }

// encode returns the pages bucket value for r.
func (r logRefs) encode() []byte {
	b := make([]byte, 0, 2+4*binary.MaxVarintLen64)
	if r.body.n == 0 {
		r.body.slot = 0
	}
	if r.rec.slot == 0 && r.body.slot == 0 {
		b = append(b, recordInLog)
	} else {
		b = append(b, recordInLogs, byte(r.rec.slot|r.body.slot<<1))
	}
	for _, v := range []int64{r.rec.off, r.rec.n, r.body.off, r.body.n} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

// decodeLogRefs decodes a page reference. It never panics.
func decodeLogRefs(v []byte) (logRefs, error) {
	if !isLogRef(v) {
		return logRefs{}, fmt.Errorf("decode page: not a log reference: %w", ErrCorrupt)
	}
	rest, slots := v[1:], byte(0)
	if v[0] == recordInLogs {
		if len(rest) == 0 || rest[0] > 3 {
			return logRefs{}, fmt.Errorf("decode page: bad log reference: %w", ErrCorrupt)
		}
		slots, rest = rest[0], rest[1:]
	}
	var f [4]int64
	for i := range f {
		x, n := binary.Uvarint(rest)
		if n <= 0 || x > 1<<62 {
			return logRefs{}, fmt.Errorf("decode page: bad log reference: %w", ErrCorrupt)
		}
		f[i], rest = int64(x), rest[n:]
	}
	r := logRefs{rec: valueRef{f[0], f[1], int(slots & 1)}, body: valueRef{f[2], f[3], int(slots >> 1)}}
	if len(rest) != 0 || r.rec.n == 0 || r.rec.n > maxValueLen || r.body.n > maxValueLen {
		return logRefs{}, fmt.Errorf("decode page: bad log reference: %w", ErrCorrupt)
	}
	return r, nil
}

// initGarbage sets the garbage counter of a file that has none (one
// written before it was kept, or a new one) to the logs' ends less what
// the records name: one pass over the references, once. A reference that
// does not decode names nothing here; it does not keep the file from
// opening (crawler check reports it).
func initGarbage(tx *bolt.Tx) error {
	lm := readLogMeta(tx.Bucket(bucketMeta))
	var live int64
	_ = tx.Bucket(bucketPages).ForEach(func(_, v []byte) error {
		if refs, err := decodeLogRefs(v); err == nil { // records of older files are in bbolt
			live += refs.rec.span() + refs.body.span()
		}
		return nil
	})
	return tx.Bucket(bucketMeta).Put(keyValuesGarbage, putU64(uint64(max(lm.total()-live, 0))))
}

// logMeta is what the meta bucket says of the value logs.
type logMeta struct {
	gen    [2]uint64 // generation of each slot's log; 0: slot not in use
	end    [2]int64  // committed bytes of each slot's log
	active int       // the slot appended to
}

// readLogMeta reads the logs' state from the meta bucket m (nil: a fresh
// file, generation 1 in slot 0, empty).
func readLogMeta(m *bolt.Bucket) logMeta {
	lm := logMeta{gen: [2]uint64{1, 0}}
	if m == nil {
		return lm
	}
	for slot := range lm.gen {
		if v := m.Get(keyValuesGen[slot]); len(v) == 8 {
			lm.gen[slot] = u64(v)
		}
		if v := m.Get(keyValuesEnd[slot]); len(v) == 8 && lm.gen[slot] != 0 {
			lm.end[slot] = int64(u64(v))
		}
	}
	if v := m.Get(keyValuesActive); len(v) == 8 && u64(v) == 1 {
		lm.active = 1
	}
	return lm
}

// put writes lm to the meta bucket m, deleting the keys of a slot not in
// use (slot 0's generation stays, as 0).
func (lm logMeta) put(m *bolt.Bucket) error {
	var errs []error
	for slot, gen := range lm.gen {
		if gen != 0 || slot == 0 {
			errs = append(errs, m.Put(keyValuesGen[slot], putU64(gen)), m.Put(keyValuesEnd[slot], putU64(uint64(lm.end[slot]))))
		} else {
			errs = append(errs, m.Delete(keyValuesGen[slot]), m.Delete(keyValuesEnd[slot]))
		}
	}
	if lm.active != 0 {
		errs = append(errs, m.Put(keyValuesActive, putU64(uint64(lm.active))))
	} else {
		errs = append(errs, m.Delete(keyValuesActive))
	}
	return errors.Join(errs...)
}

// total is the committed bytes of both logs.
func (lm logMeta) total() int64 { return lm.end[0] + lm.end[1] }

// draining is the slot a reclaim is draining, or -1 when only one is in
// use.
func (lm logMeta) draining() int {
	if other := 1 - lm.active; lm.gen[other] != 0 {
		return other
	}
	return -1
}

// valueLog is the open value logs of a DB: the log set a transaction
// starting now reads, and the writer's append buffer.
type valueLog struct {
	base   string // the path the logs are named after (logPath)
	ro     bool
	noSync bool
	perm   fs.FileMode

	// mu guards set, and the pins and refs of every logSet and logFile.
	// set changes only under DB.writeMu too, so the writer reads it
	// without mu.
	mu  sync.Mutex
	set *logSet

	// end is the committed length of the active slot's log, where the
	// open write transaction's values go: begin takes it from the meta
	// bucket, done moves it past a commit. Only the writer uses it;
	// readers pread committed references.
	end atomic.Int64
	// pending holds what the open write transaction appended, to be
	// written at end. Only the writer touches it.
	pending []byte
}

// logFile is one open log file.
type logFile struct {
	gen  uint64
	path string
	f    *os.File // nil: a read-only DB's log that was never written, or an empty drained one
	refs int      // sets naming it that are current or pinned (valueLog.mu)
}

// logSet is the log files of both slots as of some commit. A read
// transaction reads through the set it pinned just before its snapshot
// was taken (DB.pinView). A reclaim makes the set without the drained
// slot current only after the commit that leaves nothing naming it, so
// the pinned set still has every file an older snapshot names, and the
// file stays open while it is pinned. It makes a set with a new slot
// current before the commit that names it; a snapshot taken after that
// commit through a set pinned before it is caught by holds, and pinView
// pins again. A file is closed once no current or pinned set names it.
type logSet struct {
	files   [2]*logFile
	active  int
	pins    int  // transactions reading through it (valueLog.mu)
	retired bool // no longer current (valueLog.mu)
}

// holds reports whether s has the log file of every slot lm names in
// use, of the generation lm names.
func (s *logSet) holds(lm logMeta) bool {
	for slot, gen := range lm.gen {
		if gen != 0 && (s.files[slot] == nil || s.files[slot].gen != gen) {
			return false
		}
	}
	return true
}

// valuesPath is the log file of generation gen of the database at path.
func valuesPath(path string, gen uint64) string {
	return path + valuesInfix + strconv.FormatUint(gen, 10)
}

// openValues opens the value logs the database at path names in tx's meta
// bucket. A log shorter than its committed end, or missing while the end
// says it holds values, is ErrCorrupt. A read-write open cuts what lies
// past the committed ends (an append whose commit never happened) and
// removes the logs of other generations (left by a compact that crashed
// before or after its rename, or by a reclaim that crashed after it
// created a log or before it removed one).
func openValues(path string, tx *bolt.Tx, ro, noSync bool, perm fs.FileMode) (*valueLog, error) {
	lm := readLogMeta(tx.Bucket(bucketMeta))
	l := &valueLog{base: path, ro: ro, noSync: noSync, perm: perm}
	l.end.Store(lm.end[lm.active])
	set := &logSet{active: lm.active}
	for slot, gen := range lm.gen {
		if gen == 0 {
			continue
		}
		lf, err := openLogFile(path, gen, lm.end[slot], ro || slot != lm.active, ro, perm)
		if err != nil {
			for _, o := range set.files {
				if o != nil && o.f != nil {
					_ = o.f.Close()
				}
			}
			return nil, err
		}
		set.files[slot] = lf
	}
	if lm.gen[lm.active] == 0 {
		return nil, fmt.Errorf("open %s: the value log slot appended to (%d) is not in use: %w", path, lm.active, ErrCorrupt)
	}
	if !ro {
		removeOtherLogs(path, lm.gen[0], lm.gen[1])
	}
	l.install(set)
	return l, nil
}

// openLogFile opens the log of generation gen holding end committed bytes.
// A missing one is created unless mayMiss (then it stays nil, which only
// an empty log may be); a read-write one (ro false) loses what lies past
// end.
func openLogFile(path string, gen uint64, end int64, mayMiss, ro bool, perm fs.FileMode) (*logFile, error) {
	lf := &logFile{gen: gen, path: valuesPath(path, gen)}
	flag := os.O_RDWR
	if ro {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(lf.path, flag, perm)
	switch {
	case errors.Is(err, fs.ErrNotExist) && end != 0:
		return nil, fmt.Errorf("open %s: value log %s is missing (it held %d bytes of records and bodies): %w", path, lf.path, end, ErrCorrupt)
	case errors.Is(err, fs.ErrNotExist) && mayMiss:
		return lf, nil
	case errors.Is(err, fs.ErrNotExist):
		f, err = os.OpenFile(lf.path, flag|os.O_CREATE, perm)
		if err == nil && !ro {
			// Commits will name it: its directory entry must last.
			if err = syncDir(filepath.Dir(lf.path)); err != nil {
				_ = f.Close()
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: value log: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open %s: value log: %w", path, err)
	}
	if fi.Size() < end {
		_ = f.Close()
		return nil, fmt.Errorf("open %s: value log %s truncated: %d bytes, the database needs %d: %w", path, lf.path, fi.Size(), end, ErrCorrupt)
	}
	if !ro && fi.Size() > end {
		if err := f.Truncate(end); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("open %s: value log: cut uncommitted tail: %w", path, err)
		}
	}
	lf.f = f
	return lf, nil
}

// removeOtherLogs removes the value logs of path other than generations
// keep. Failures are ignored: a stale log only takes space.
func removeOtherLogs(path string, keep ...uint64) {
	dir, prefix := filepath.Split(path)
	entries, _ := os.ReadDir(filepath.Clean(dir))
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix+valuesInfix)
		if g, err := strconv.ParseUint(rest, 10, 64); ok && err == nil && (g == 0 || !slices.Contains(keep, g)) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// install makes s the current set. The set it replaces is dropped once no
// transaction reads through it. The caller holds DB.writeMu (or is Open).
func (l *valueLog) install(s *logSet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lf := range s.files {
		if lf != nil {
			lf.refs++
		}
	}
	if old := l.set; old != nil {
		old.retired = true
		if old.pins == 0 {
			old.drop()
		}
	}
	l.set = s
}

// pin returns the current set, which stays open until unpin.
func (l *valueLog) pin() *logSet {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.set.pins++
	return l.set
}

// unpin ends a pin's use of s.
func (l *valueLog) unpin(s *logSet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.pins--
	if s.pins == 0 && s.retired {
		s.drop()
	}
}

// current returns the current set, for the writer (which holds
// DB.writeMu, under which alone the set changes).
func (l *valueLog) current() *logSet {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.set
}

// drop releases s's files, closing those no other set names. Called with
// valueLog.mu held, once per set.
func (s *logSet) drop() {
	for _, lf := range s.files {
		if lf == nil {
			continue
		}
		if lf.refs--; lf.refs == 0 && lf.f != nil {
			_ = lf.f.Close()
			lf.f = nil
		}
	}
}

// append adds value to the open write transaction's buffer, for the
// active slot's log, and returns where it will be once committed.
func (l *valueLog) append(value []byte) valueRef {
	return l.appendRaw(crc32.Checksum(value, castagnoli), value)
}

// appendRaw is append with the checksum given: a reclaim moves a value
// with the checksum it was stored with, so one that no longer matches
// stays found as damaged where it goes.
func (l *valueLog) appendRaw(crc uint32, value []byte) valueRef {
	if len(value) == 0 {
		return valueRef{}
	}
	r := valueRef{off: l.end.Load() + int64(len(l.pending)), n: int64(len(value)), slot: l.set.active}
	l.pending = binary.LittleEndian.AppendUint32(l.pending, crc)
	l.pending = append(l.pending, value...)
	return r
}

// read returns a copy of the value at r in the logs of s. The writer
// (pending true) also reads what its transaction appended. Bad offsets,
// a short file and a checksum mismatch are ErrCorrupt.
func (l *valueLog) read(s *logSet, r valueRef, pending bool) ([]byte, error) {
	crc, v, where, err := l.readRaw(s, r, pending)
	if err != nil {
		return nil, err
	}
	if crc != crc32.Checksum(v, castagnoli) {
		return nil, fmt.Errorf("value at %d+%d in %s: checksum mismatch: %w", r.off, r.n, where, ErrCorrupt)
	}
	return v, nil
}

// readRaw is read without the checksum's check: it returns the checksum
// stored with the value, the value, and the log it was read from (for
// errors).
func (l *valueLog) readRaw(s *logSet, r valueRef, pending bool) (crc uint32, v []byte, where string, err error) {
	if r.n <= 0 || r.n > maxValueLen || r.off < 0 {
		return 0, nil, "", fmt.Errorf("value at %d+%d: bad reference: %w", r.off, r.n, ErrCorrupt)
	}
	buf := make([]byte, valueHeader+r.n)
	lf, where := s.files[r.slot], fmt.Sprintf("slot %d", r.slot)
	if lf != nil {
		where = lf.path
	}
	if end := l.end.Load(); pending && r.slot == s.active && r.off >= end {
		i := r.off - end
		if i+int64(len(buf)) > int64(len(l.pending)) {
			return 0, nil, where, fmt.Errorf("value at %d+%d: past the end of the log: %w", r.off, r.n, ErrCorrupt)
		}
		copy(buf, l.pending[i:])
	} else {
		if lf == nil || lf.f == nil {
			return 0, nil, where, fmt.Errorf("value at %d+%d: no value log in %s: %w", r.off, r.n, where, ErrCorrupt)
		}
		if _, err := lf.f.ReadAt(buf, r.off); err != nil {
			if errors.Is(err, io.EOF) {
				return 0, nil, where, fmt.Errorf("value at %d+%d in %s: past the end of the file: %w", r.off, r.n, where, ErrCorrupt)
			}
			return 0, nil, where, fmt.Errorf("value at %d+%d in %s: %w", r.off, r.n, where, err)
		}
	}
	return binary.LittleEndian.Uint32(buf), buf[valueHeader:], where, nil
}

// begin starts a write transaction on btx: the active log's end is taken
// from what btx's meta bucket says was committed, not from the end kept
// in memory. The two differ only after a commit that failed late: bbolt
// may then have made it visible (its meta page written, the sync after it
// failed) while this log kept the old end, and appending at that end
// would overwrite values its references name.
func (l *valueLog) begin(btx *bolt.Tx) error {
	lm := readLogMeta(btx.Bucket(bucketMeta))
	if lm.active != l.set.active || lm.gen[lm.active] != l.set.files[lm.active].gen {
		return fmt.Errorf("the value log in use (slot %d) is not the one the database names (slot %d, generation %d): %w",
			l.set.active, lm.active, lm.gen[lm.active], ErrCorrupt)
	}
	l.end.Store(lm.end[lm.active])
	return nil
}

// flush writes what the open write transaction appended at the active
// log's committed end, syncs it, and records the new end in the meta
// bucket of btx, so that bbolt's commit makes the values and the
// references to them durable together. With nothing appended it does
// nothing.
func (l *valueLog) flush(btx *bolt.Tx) error {
	if len(l.pending) == 0 {
		return nil
	}
	lf := l.set.files[l.set.active]
	if l.ro || lf == nil || lf.f == nil {
		return ErrReadOnly
	}
	end := l.end.Load()
	if _, err := lf.f.WriteAt(l.pending, end); err != nil {
		return fmt.Errorf("write value log: %w", err)
	}
	if !l.noSync {
		if err := lf.f.Sync(); err != nil {
			return fmt.Errorf("sync value log: %w", err)
		}
	}
	// The generation is not written: it changes only with a reclaim or a
	// compact, which write it themselves.
	return btx.Bucket(bucketMeta).Put(keyValuesEnd[l.set.active], putU64(uint64(end)+uint64(len(l.pending))))
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

// close closes every file still open. No transaction may be running.
func (l *valueLog) close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.set != nil {
		for _, lf := range l.set.files {
			if lf != nil && lf.f != nil {
				err = errors.Join(err, lf.f.Close())
				lf.f = nil
			}
		}
	}
	return err
}
