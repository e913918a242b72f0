package frontier

import (
	"encoding/binary"
	"math/bits"

	bolt "go.etcd.io/bbolt"
)

// Finished marks. A URL's queue entry leaves the queue when the URL is
// finished, in the transaction that records the page. Rewriting its
// block for that (decode, drop the entry, compress, store) also dirtied
// the block's leaf: on a crawl of many hosts a commit finishes URLs of a
// hundred of them, each at the head of its own queue, so a hundred queue
// leaves were written out at every commit besides the seen and page
// records (bench/README.md has what that cost).
//
// So a finished entry stays in its block, marked in bucketFinished:
//
//	key:   the block's key
//	value: a uint32, big-endian; bit i set when the block's i-th entry
//	       (in seq order) is finished
//
// The marks of a crawl's few hundred head blocks are a few leaves, which
// a commit rewrites instead of one per host. Every reader of the queue
// (queueCursor, queueWriter) skips a marked entry as if it were gone. A
// block whose entries are all finished goes, its mark with it; a block
// that takes a new entry is rewritten without its finished ones, and its
// mark goes too. So a block is marked only while it has an entry still
// queued, and a mark never outlives its block.
//
// A file with marks is schema 4 (store.DB): a binary that knows only the
// queue of schema 3 would fetch the marked URLs again.
var bucketFinished = []byte("finished")

// readMarks returns the marks of the block under key k: none when b is
// nil (a file from before marks) or the mark does not decode (Check
// reports it; its entries read as queued, so at worst a URL is fetched
// twice, never lost).
func readMarks(b *bolt.Bucket, k []byte) uint32 {
	marks, _ := lookupMarks(b, k)
	return marks
}

// lookupMarks is readMarks, and whether the block has a mark stored at
// all (one that does not decode included).
func lookupMarks(b *bolt.Bucket, k []byte) (marks uint32, stored bool) {
	if b == nil {
		return 0, false
	}
	v := b.Get(k)
	marks, _ = decodeMarks(v)
	return marks, v != nil
}

// decodeMarks decodes a stored mark; ok is false when it does not decode.
func decodeMarks(v []byte) (marks uint32, ok bool) {
	if len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// marksValue is the stored form of marks.
func marksValue(marks uint32) []byte { return binary.BigEndian.AppendUint32(nil, marks) }

// finished reports whether the block's i-th entry is marked finished.
func (b *qblock) finished(i int) bool { return b.done&(1<<i) != 0 }

// live is how many of the block's entries are still queued.
func (b *qblock) live() int { return len(b.entries) - bits.OnesCount32(b.done) }

// setMarks applies the stored marks to a freshly decoded block, ignoring
// bits past its last entry.
func (b *qblock) setMarks(marks uint32) { b.done = marksOf(marks, len(b.entries)) }

// marksOf is marks without the bits past a block's n entries.
func marksOf(marks uint32, n int) uint32 {
	if n < 32 {
		marks &= 1<<n - 1
	}
	return marks
}

// compact drops the block's finished entries (before it is rewritten).
func (b *qblock) compact() {
	if b.done == 0 {
		return
	}
	kept := b.entries[:0]
	for i, e := range b.entries {
		if !b.finished(i) {
			kept = append(kept, e)
		}
	}
	clear(b.entries[len(kept):])
	b.entries, b.done = kept, 0
	b.size = blockSize(kept)
}

// storedLive is how many queued entries the stored value v of queue key
// k holds, given its block's marks: its count less the marked for a
// block, 1 for a single entry or a block whose header is damaged.
func storedLive(k, v []byte, marks uint32) int {
	if !isBlockKey(k) || len(v) < 2 || v[1] == 0 || v[1] > blockEntries {
		return 1
	}
	n := int(v[1])
	return n - bits.OnesCount32(marksOf(marks, n))
}

// flushMarks stores the marks the transaction changed and deletes those
// of blocks rewritten or gone; flush calls it before it clears its maps.
func (w *queueWriter) flushMarks() error {
	if w.marks == nil && len(w.marked) > 0 {
		var err error
		if w.marks, err = w.tx.CreateBucketIfNotExists(bucketFinished); err != nil {
			return err
		}
	}
	if w.marks == nil {
		return nil // a file from before marks, and none made
	}
	for b := range w.marked {
		if w.dirty[b] || w.gone[string(b.key)] {
			continue // rewritten without its finished entries, or gone
		}
		if err := w.marks.Put(b.key, marksValue(b.done)); err != nil {
			return err
		}
	}
	for b := range w.dirty {
		if b.hadMarks {
			if err := w.marks.Delete(b.key); err != nil {
				return err
			}
		}
	}
	for k := range w.gone {
		if !isBlockKey([]byte(k)) {
			continue
		}
		if b, ok := w.blocks[k]; ok && !b.hadMarks {
			continue
		}
		if err := w.marks.Delete([]byte(k)); err != nil {
			return err
		}
	}
	return nil
}
