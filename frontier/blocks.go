package frontier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/klauspost/compress/s2"
	bolt "go.etcd.io/bbolt"
)

// Queue blocks. A host queue is most of the frontier's file, and one
// bbolt key per URL cost about 145 bytes each (the key repeats the host,
// the leaf element has a header, and leaves split at host boundaries end
// up two-thirds full). So the queue bucket keeps each host queue as
// blocks of up to blockEntries entries of one depth:
//
//	key:   queueKey(host, depth, seq) blockMark
//	value: kind(1) count(1) payload
//
// The payload is the entries in ascending seq, each as uvarint(its seq
// minus the key's), uvarint(length) and the entry (entry.marshal),
// S2-compressed (URLs of one host repeat their prefixes and their
// parent): about 24 bytes an entry on the frontier benchmark's URLs
// instead of 145.
//
// Every entry keeps the key it had with a key per URL, queueKey(host,
// depth, seq): Item.key, the marks of ReadQueue and the keys of staged
// URLs are those, and the queue comes out in their order. A block's key
// is its host, depth and a seq no greater than any of its entries', and
// smaller than any entry's of the blocks after it: an entry lives in the
// last block whose key is before its own. A new entry goes into that
// block, which splits when it is full. An entry whose URL is finished
// stays, marked (finished.go), until the block is rewritten for a new
// entry; the block goes with its last entry still queued.
//
// Files written before blocks hold one entry per key, the queueKey alone.
// Both are read, in key order; such an entry is removed when its URL is
// done, as before, and new entries always go to blocks: an old file's
// queue turns into blocks as the crawl goes on, with nothing to migrate.
const (
	blockEntries  = 32   // entries a block holds at most
	blockMaxBytes = 4096 // payload bytes a block holds at most, unless one entry is longer
	blockMark     = 0xb1 // last byte of a block key
	blockPacked   = 2    // the kind of block: payload S2-compressed

	// maxBlockRaw bounds what a block may claim to decode to: a block
	// holds one entry longer than blockMaxBytes at most, and an entry
	// (a URL, its parent, its redirect chain) stays far under it.
	maxBlockRaw = 1 << 20
)

// errBadBlock reports a queue block that does not decode.
var errBadBlock = errors.New("frontier: queue block does not decode")

// isEntryKey reports whether k has the form of a queued entry's key,
// queueKey.
func isEntryKey(k []byte) bool {
	i := bytes.IndexByte(k, 0)
	return i >= 0 && len(k)-i-1 == 12
}

// isBlockKey reports whether the queue-bucket key k is a block's.
func isBlockKey(k []byte) bool {
	i := bytes.IndexByte(k, 0)
	return i >= 0 && len(k)-i-1 == 13 && k[len(k)-1] == blockMark
}

// blockPrefix is the host, NUL and depth of block key k.
func blockPrefix(k []byte) []byte { return k[:len(k)-9] }

// blockEntry is one entry of a block.
type blockEntry struct {
	seq uint64
	rec []byte // entry.marshal for the block's host
}

// qblock is a decoded block.
type qblock struct {
	key      []byte
	entries  []blockEntry // ascending seq
	size     int          // blockSize(entries)
	done     uint32       // the entries marked finished, by index (finished.go)
	hadMarks bool         // a mark is stored for it (queueWriter)
}

// decodeBlock decodes the stored block v under key k. Its entries are in
// a buffer of their own.
func decodeBlock(k, v []byte) (*qblock, error) {
	if len(v) < 2 || v[0] != blockPacked || v[1] == 0 || v[1] > blockEntries {
		return nil, errBadBlock
	}
	if n, err := s2.DecodedLen(v[2:]); err != nil || n > maxBlockRaw {
		return nil, errBadBlock
	}
	raw, err := s2.Decode(nil, v[2:])
	if err != nil {
		return nil, errBadBlock
	}
	b := &qblock{key: k, entries: make([]blockEntry, 0, v[1])}
	base := u64(k[len(k)-9 : len(k)-1])
	for len(raw) > 0 {
		d, w := binary.Uvarint(raw)
		if w <= 0 {
			return nil, errBadBlock
		}
		raw = raw[w:]
		n, w := binary.Uvarint(raw)
		if w <= 0 || n > uint64(len(raw)-w) {
			return nil, errBadBlock
		}
		seq := base + d
		if len(b.entries) > 0 && seq <= b.entries[len(b.entries)-1].seq {
			return nil, errBadBlock
		}
		b.entries = append(b.entries, blockEntry{seq: seq, rec: raw[w : w+int(n)]})
		raw = raw[w+int(n):]
	}
	if len(b.entries) != int(v[1]) {
		return nil, errBadBlock
	}
	b.size = blockSize(b.entries)
	return b, nil
}

// encode returns the block as stored. It builds the uncompressed block in
// *scratch (grown as needed, and kept for the next call) when scratch is
// not nil: a transaction encodes thousands of blocks, and only the
// compressed one must outlive the call.
func (b *qblock) encode(scratch *[]byte) []byte {
	base := u64(b.key[len(b.key)-9 : len(b.key)-1])
	var raw []byte
	if scratch != nil {
		raw = (*scratch)[:0]
	}
	raw = slices.Grow(raw, b.size+len(b.entries)*6)
	for _, e := range b.entries {
		raw = binary.AppendUvarint(raw, e.seq-base)
		raw = binary.AppendUvarint(raw, uint64(len(e.rec)))
		raw = append(raw, e.rec...)
	}
	out := make([]byte, 2, 2+s2.MaxEncodedLen(len(raw)))
	out[0], out[1] = blockPacked, byte(len(b.entries))
	enc := s2.Encode(out[2:cap(out)], raw)
	if scratch != nil {
		*scratch = raw[:0]
	}
	return out[:2+len(enc)]
}

// find returns the index of seq in the block, or where it would go.
func (b *qblock) find(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(b.entries, seq, func(e blockEntry, s uint64) int {
		switch {
		case e.seq < s:
			return -1
		case e.seq > s:
			return 1
		}
		return 0
	})
}

// queueWriter changes the queue bucket inside one write transaction, and
// flush must be called before it commits. The blocks it changes are held
// decoded, their entries in memory of their own (bbolt may remap the file
// during the transaction), and encoded once by flush: a block is
// compressed once per transaction, not once per change.
//
// It deletes keys only in flush, too: a delete can leave a bbolt leaf
// empty until the commit rebalances it, and Cursor.Prev does not step
// over an empty leaf (it returns nil), which holder relies on.
//
// A finished entry is marked (finished.go), not taken out, unless its
// block is rewritten in the transaction anyway: a block is dirty only
// with no entry marked.
type queueWriter struct {
	tx     *bolt.Tx
	b      *bolt.Bucket
	marks  *bolt.Bucket       // bucketFinished; nil until the first mark in a file from before marks
	blocks map[string]*qblock // by block key: the blocks loaded
	dirty  map[*qblock]bool   // the blocks to store
	marked map[*qblock]bool   // the blocks whose marks changed
	gone   map[string]bool    // keys to delete: emptied blocks, taken single entries
	raw    []byte             // encode's scratch
}

// newQueueWriter returns the writer of tx's queue bucket.
func newQueueWriter(tx *bolt.Tx) *queueWriter {
	b := tx.Bucket(bucketQueue)
	b.FillPercent = queueFill
	return &queueWriter{tx: tx, b: b, marks: tx.Bucket(bucketFinished), blocks: make(map[string]*qblock),
		dirty: make(map[*qblock]bool), marked: make(map[*qblock]bool), gone: make(map[string]bool)}
}

// load returns the block under key k, nil if it does not decode.
func (w *queueWriter) load(k, v []byte) *qblock {
	if b, ok := w.blocks[string(k)]; ok {
		return b
	}
	b, err := decodeBlock(bytes.Clone(k), v)
	if err != nil {
		return nil
	}
	marks, stored := lookupMarks(w.marks, k)
	b.setMarks(marks)
	b.hadMarks = stored
	w.blocks[string(k)] = b
	return b
}

// holder returns the block that holds, or would hold, the entry with
// queue key qk (queueKey), nil if none; single is set when qk is a
// single entry's key (a file from before blocks).
func (w *queueWriter) holder(qk []byte) (b *qblock, single bool) {
	c := w.b.Cursor()
	k, v := c.Seek(qk)
	switch {
	case bytes.Equal(k, qk):
		return nil, true
	case len(k) == len(qk)+1 && bytes.HasPrefix(k, qk) && k[len(k)-1] == blockMark:
		return w.load(k, v), false // the block qk starts
	case k == nil:
		k, v = c.Last()
	default:
		k, v = c.Prev()
	}
	if k != nil && isBlockKey(k) && bytes.Equal(blockPrefix(k), qk[:len(qk)-8]) {
		return w.load(k, v), false
	}
	return nil, false
}

// add queues the entry rec (entry.marshal for host) with sequence number
// seq (new to the frontier: a fresh one, or a staged URL's) in the queue
// of host at depth.
func (w *queueWriter) add(host string, depth int, seq uint64, rec []byte) error {
	qk := queueKey(host, depth, seq)
	e := blockEntry{seq: seq, rec: bytes.Clone(rec)}
	b, _ := w.holder(qk)
	if b == nil {
		return w.create(qk, []blockEntry{e})
	}
	if b.done != 0 { // rewritten, without its finished entries
		b.compact()
		w.dirty[b] = true
	}
	i, _ := b.find(seq)
	size := entrySize(rec)
	if len(b.entries) < blockEntries && b.size+size <= blockMaxBytes {
		b.entries = slices.Insert(b.entries, i, e)
		b.size += size
		w.dirty[b] = true
		delete(w.gone, string(b.key)) // emptied earlier in the transaction
		return nil
	}
	if i == len(b.entries) {
		// Full, and the entry comes last: a block of its own after it,
		// which later entries fill (the usual case: appending).
		return w.create(qk, []blockEntry{e})
	}
	// Full, and the entry goes inside it: split it in two.
	entries := slices.Insert(slices.Clone(b.entries), i, e)
	half := len(entries) / 2
	b.entries, b.size = entries[:half:half], blockSize(entries[:half])
	w.dirty[b] = true
	return w.create(queueKey(host, depth, entries[half].seq), entries[half:])
}

// entrySize is the payload bytes an entry takes at most.
func entrySize(rec []byte) int { return len(rec) + 2*binary.MaxVarintLen32 }

// blockSize is the payload size of entries, as add counts it.
func blockSize(entries []blockEntry) int {
	n := 0
	for _, e := range entries {
		n += entrySize(e.rec)
	}
	return n
}

// create makes a block of entries under the queue key of the first.
func (w *queueWriter) create(qk []byte, entries []blockEntry) error {
	k := append(bytes.Clone(qk), blockMark)
	b := &qblock{key: k, entries: entries, size: blockSize(entries)}
	w.blocks[string(k)] = b
	return w.b.Put(k, b.encode(&w.raw)) // now, so that cursors find its key
}

// remove takes the entry with queue key k out of the queue; a block key
// removes the whole block. An entry no longer there is no error. It
// returns how many queued entries left.
func (w *queueWriter) remove(k []byte) (int, error) {
	if isBlockKey(k) {
		v := w.b.Get(k)
		if v == nil || w.gone[string(k)] {
			return 0, nil
		}
		n := storedLive(k, v, readMarks(w.marks, k))
		if b, ok := w.blocks[string(k)]; ok {
			n = b.live()
			b.entries, b.size, b.done = nil, 0, 0
			delete(w.dirty, b)
		}
		w.gone[string(k)] = true
		return n, nil
	}
	b, single := w.holder(k)
	if single {
		if w.gone[string(k)] {
			return 0, nil
		}
		w.gone[string(k)] = true
		return 1, nil
	}
	if b == nil {
		return 0, nil // gone, or in a block that does not decode: set aside when read
	}
	i, ok := b.find(u64(k[len(k)-8:]))
	if !ok || b.finished(i) {
		return 0, nil
	}
	switch {
	case b.live() == 1: // the block goes
		b.entries, b.size, b.done = nil, 0, 0
		delete(w.dirty, b)
		w.gone[string(b.key)] = true
	case w.dirty[b]: // rewritten anyway
		b.size -= entrySize(b.entries[i].rec)
		b.entries = slices.Delete(b.entries, i, i+1)
	default:
		b.done |= 1 << i
		w.marked[b] = true
	}
	return 1, nil
}

// entry returns the stored bytes of the entry under queue key k (a
// block's whole value for a block key), nil if none.
func (w *queueWriter) entry(k []byte) []byte {
	if w.gone[string(k)] {
		return nil
	}
	if isBlockKey(k) {
		return w.b.Get(k)
	}
	b, single := w.holder(k)
	if single {
		return w.b.Get(k)
	}
	if b == nil {
		return nil
	}
	if i, ok := b.find(u64(k[len(k)-8:])); ok && !b.finished(i) {
		return b.entries[i].rec
	}
	return nil
}

// flush stores the blocks and marks the transaction changed and deletes
// the keys it emptied.
func (w *queueWriter) flush() error {
	for b := range w.dirty {
		if err := w.b.Put(b.key, b.encode(&w.raw)); err != nil {
			return err
		}
	}
	if err := w.flushMarks(); err != nil {
		return err
	}
	for k := range w.gone {
		if err := w.b.Delete([]byte(k)); err != nil {
			return err
		}
	}
	clear(w.dirty)
	clear(w.marked)
	clear(w.gone)
	clear(w.blocks)
	return nil
}

// queueCursor walks the queued entries of the queue bucket in key order,
// single entries and the entries of blocks alike, each under its queue
// key.
type queueCursor struct {
	c     *bolt.Cursor
	marks *bolt.Bucket // bucketFinished, nil in a file from before marks
	blk   *qblock      // the block being read; nil when none
	i     int          // its next entry
	pref  []byte       // its host, NUL and depth
}

// newQueueCursor returns a cursor over tx's queue bucket, which must
// exist. It passes over the entries marked finished.
func newQueueCursor(tx *bolt.Tx) *queueCursor {
	return &queueCursor{c: tx.Bucket(bucketQueue).Cursor(), marks: tx.Bucket(bucketFinished)}
}

// decode decodes the block stored under k with its marks.
func (qc *queueCursor) decode(k, v []byte) (*qblock, error) {
	b, err := decodeBlock(k, v)
	if err == nil {
		b.setMarks(readMarks(qc.marks, k))
	}
	return b, err
}

// stored is how many queued entries the key k holds, as storedLive
// counts them.
func (qc *queueCursor) stored(k []byte) int {
	return storedLive(k, qc.c.Bucket().Get(k), readMarks(qc.marks, k))
}

// seek returns the first entry whose key is k or after it, with its key
// (a new slice) and its stored bytes (valid for the transaction). At the
// end key is nil. A block that does not decode comes as its block key,
// nil rec and errBadBlock.
func (qc *queueCursor) seek(k []byte) (key, rec []byte, err error) {
	got, v := qc.c.Seek(k)
	// The block before got may hold entries at or after k: those of
	// its host and depth, when k has them too.
	var pk, pv []byte
	if got == nil {
		pk, pv = qc.c.Last()
	} else {
		pk, pv = qc.c.Prev()
	}
	if pk != nil && isBlockKey(pk) && bytes.HasPrefix(k, blockPrefix(pk)) {
		if b, err := qc.decode(pk, pv); err == nil {
			qc.blk, qc.pref = b, blockPrefix(pk)
			var from uint64 // the first seq whose entry key is k or after it
			if rest := k[len(qc.pref):]; len(rest) >= 8 {
				from = u64(rest[:8])
				if len(rest) > 8 { // a block's key: its entry of that seq is before it
					from++
				}
			}
			qc.i, _ = b.find(from)
			if key, rec := qc.fromBlock(); key != nil {
				return key, rec, nil
			}
		}
	}
	if got == nil {
		qc.blk = nil
		return nil, nil, nil
	}
	qc.c.Seek(k) // back onto got
	return qc.load(got, v)
}

// seekAfter returns the first entry after the key after, or the first
// with prefix when after is nil, as seek does (list.go's seekAfter for
// the queue bucket).
func (qc *queueCursor) seekAfter(prefix, after []byte) (key, rec []byte, err error) {
	if after == nil {
		return qc.seek(prefix)
	}
	if key, rec, err = qc.seek(after); key != nil && bytes.Equal(key, after) {
		return qc.next()
	}
	return key, rec, err
}

// first returns the bucket's first entry, as seek does.
func (qc *queueCursor) first() (key, rec []byte, err error) {
	k, v := qc.c.First()
	return qc.load(k, v)
}

// next returns the entry after the last one returned, as seek does.
func (qc *queueCursor) next() (key, rec []byte, err error) {
	if qc.blk != nil {
		if key, rec := qc.fromBlock(); key != nil {
			return key, rec, nil
		}
	}
	k, v := qc.c.Next()
	return qc.load(k, v)
}

// load starts reading the stored key k.
func (qc *queueCursor) load(k, v []byte) (key, rec []byte, err error) {
	qc.blk = nil
	for ; k != nil; k, v = qc.c.Next() {
		if !isBlockKey(k) {
			return bytes.Clone(k), v, nil
		}
		b, err := qc.decode(k, v)
		if err != nil {
			return bytes.Clone(k), nil, err
		}
		qc.blk, qc.i, qc.pref = b, 0, blockPrefix(k)
		if key, rec := qc.fromBlock(); key != nil {
			return key, rec, nil
		}
	}
	qc.blk = nil
	return nil, nil, nil
}

// fromBlock returns the block's next entry, nil when none is left.
func (qc *queueCursor) fromBlock() (key, rec []byte) {
	for qc.i < len(qc.blk.entries) && qc.blk.finished(qc.i) {
		qc.i++
	}
	if qc.i >= len(qc.blk.entries) {
		return nil, nil
	}
	e := qc.blk.entries[qc.i]
	qc.i++
	key = make([]byte, 0, len(qc.pref)+8)
	return binary.BigEndian.AppendUint64(append(key, qc.pref...), e.seq), e.rec
}
