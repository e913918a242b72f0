package frontier

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"crawler/store"
)

// bucketAside keeps the entries that no longer decode (a damaged file),
// moved out of the queue, retry or recrawl bucket so that they stop
// blocking their host or the writer: source bucket 0x00 original key ->
// the stored bytes, kept for inspection. A queue block set aside keeps
// its finished marks beside it, under "finished" 0x00 its key. A queue
// or retry entry set aside leaves its URL record in state queued with no
// entry; Check allows as many such records as there are entries here,
// less those a block's marks say were finished.
var bucketAside = []byte("aside")

// asideKey is the key under which an entry of bucket with key k is kept.
func asideKey(bucket, k []byte) []byte {
	out := make([]byte, 0, len(bucket)+1+len(k))
	out = append(out, bucket...)
	out = append(out, 0)
	return append(out, k...)
}

// putAside moves the entry k of bucket b (named name) into bucketAside.
func putAside(btx *bolt.Tx, name []byte, b *bolt.Bucket, k, v []byte) error {
	ab, err := btx.CreateBucketIfNotExists(bucketAside)
	if err != nil {
		return err
	}
	if err := ab.Put(asideKey(name, k), bytes.Clone(v)); err != nil {
		return err
	}
	return b.Delete(k)
}

// markCorruptLocked records that the queue entry k of host h does not
// decode: the dispatcher skips it from now on, the in-memory counts stop
// counting it at once, and the writer moves it aside on disk (setAside).
func (q *Queue) markCorruptLocked(h *host, k []byte, n int, err error) {
	if _, ok := q.corrupt[string(k)]; ok {
		return
	}
	if q.corrupt == nil {
		q.corrupt = make(map[string]struct{})
	}
	q.corrupt[string(k)] = struct{}{}
	h.queued -= n
	q.counts.Queued -= int64(n)
	q.log.Error("frontier: queue entry does not decode; setting it aside", "host", h.key, "key", fmt.Sprintf("%x", k), "entries", n, "err", err)
	select {
	case q.nudge <- struct{}{}:
	default:
	}
}

// setAside moves the queue entries markCorruptLocked found into
// bucketAside, with their hosts' stored totals; the memory counts already
// left them out.
func (q *Queue) setAside() {
	q.mu.Lock()
	keys := make([][]byte, 0, len(q.corrupt))
	for k := range q.corrupt {
		keys = append(keys, []byte(k))
	}
	q.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	err := q.db.Update(func(tx *store.Tx) error {
		w := &txWriter{tx: tx, btx: tx.Bolt(), fx: &effects{hosts: make(map[string]*hostRecord)}}
		w.seq = u64(w.btx.Bucket(bucketMeta).Get(keySeq))
		qw := w.queue()
		for _, k := range keys {
			v := qw.entry(k)
			if v == nil {
				continue
			}
			ab, err := w.btx.CreateBucketIfNotExists(bucketAside)
			if err != nil {
				return err
			}
			if err := ab.Put(asideKey(bucketQueue, k), bytes.Clone(v)); err != nil {
				return err
			}
			if marks := readMarks(qw.marks, k); marks != 0 && isBlockKey(k) {
				if err := ab.Put(asideKey(bucketFinished, k), marksValue(marks)); err != nil {
					return err
				}
			}
			n, err := qw.remove(k)
			if err != nil {
				return err
			}
			w.fx.host(hostOfKey(k)).Queued -= int64(n)
		}
		return w.finish()
	})
	if err != nil {
		q.fail(fmt.Errorf("frontier: set aside corrupt queue entries: %w", err))
		return
	}
	q.mu.Lock()
	for _, k := range keys {
		delete(q.corrupt, string(k))
	}
	q.mu.Unlock()
}

// asideCount returns how many queue and retry entries were set aside.
func asideCount(btx *bolt.Tx) int64 {
	ab := btx.Bucket(bucketAside)
	if ab == nil {
		return 0
	}
	var n int64
	for _, name := range [][]byte{bucketQueue, bucketDelayed} {
		prefix := append(bytes.Clone(name), 0)
		c := ab.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if bytes.Equal(name, bucketQueue) {
				// A block set aside whole counts its entries not finished.
				n += int64(storedLive(k[len(prefix):], v, readMarks(ab, asideKey(bucketFinished, k[len(prefix):]))))
			} else {
				n++
			}
		}
	}
	return n
}
