package frontier

import (
	"bytes"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Readers of the staged URLs: the seen-set's (stagedReader) and the
// queue listing's (stagedIndex). See staged.go for what staging is.

// stagedReader finds staged URLs by seen key, for readers of the file
// (seenSet). It reads the staged bucket once, on first use, and keeps each
// URL's implied record; the bucket holds at most about stageMax URLs, and
// none once the writer has merged.
type stagedReader struct {
	btx     *bolt.Tx
	read    bool
	records map[[seenKeyLen]byte]urlRecord
}

// newStagedReader returns a reader of btx's staged URLs, or nil when
// none are staged.
func newStagedReader(btx *bolt.Tx) *stagedReader {
	if btx.Bucket(bucketStaged) == nil {
		return nil
	}
	return &stagedReader{btx: btx}
}

// get returns the record the staged URL with seen key key implies, or nil.
func (r *stagedReader) get(key []byte) []byte {
	if !r.read {
		r.read = true
		r.records = make(map[[seenKeyLen]byte]urlRecord)
		forStaged(r.btx, func(_ []byte, s stagedURL, err error) {
			if err == nil { // Check reports the others
				r.records[[seenKeyLen]byte(s.key)] = s.record()
			}
		})
	}
	rec, ok := r.records[[seenKeyLen]byte(key)]
	if !ok {
		return nil
	}
	return rec.marshal()
}

// stagedIndex is the queue keys the merge will give the staged URLs of a
// listing (ReadQueue: those with its prefix, past where it was when the
// index was made), sorted: a long listing reads the staged bucket once,
// not once per call. It stays true across transactions, since a staged URL
// only ever goes by a merge (or set aside), and a new one is staged under a
// sequence number greater than any before: the URLs staged since are
// those after seen, the staged bucket's last key when the index last read
// it, and are added then; a URL merged since is no longer staged when its
// turn comes (stagedCursor skips it), and the host queue lists it under
// the same key. An index is not changed once made: listings may share it.
type stagedIndex struct {
	prefix []byte
	seen   []byte
	keys   [][]byte
}

// readStaged returns the index of the URLs staged in btx with prefix after
// after: idx brought up to date, or a new one if idx is nil or for another
// prefix; nil when nothing is staged.
func readStaged(btx *bolt.Tx, idx *stagedIndex, prefix, after []byte) *stagedIndex {
	sb := btx.Bucket(bucketStaged)
	if sb == nil {
		return nil
	}
	last, _ := sb.Cursor().Last()
	if idx != nil && !bytes.Equal(idx.prefix, prefix) {
		idx = nil
	}
	if idx != nil && bytes.Equal(idx.seen, last) {
		return idx
	}
	var from []byte // read from the start, or past what idx has read
	if idx != nil {
		from = idx.seen
	}
	// The keys are appended to one buffer, a skipped URL's taken back
	// off: nothing is allocated per URL.
	var buf []byte
	var ends []int
	forStagedFrom(btx, from, func(k []byte, p stagedParts, err error) {
		if err != nil || len(p.raw) == 0 {
			return // left out, as everywhere (Check reports it), or a disallowed link
		}
		start := len(buf)
		buf = appendQueueKey(buf, p.host, p.depth, u64(k))
		if qk := buf[start:]; !bytes.HasPrefix(qk, prefix) || after != nil && bytes.Compare(qk, after) <= 0 {
			buf = buf[:start]
			return
		}
		ends = append(ends, len(buf))
	})
	added := make([][]byte, len(ends))
	for i, end := range ends {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		added[i] = buf[start:end:end]
	}
	slices.SortFunc(added, bytes.Compare)
	var old [][]byte
	if idx != nil {
		old = idx.after(after)
	}
	keys := make([][]byte, 0, len(old)+len(added))
	for len(old) > 0 && len(added) > 0 {
		if bytes.Compare(old[0], added[0]) < 0 {
			keys, old = append(keys, old[0]), old[1:]
		} else {
			keys, added = append(keys, added[0]), added[1:]
		}
	}
	keys = append(append(keys, old...), added...)
	return &stagedIndex{prefix: prefix, seen: bytes.Clone(last), keys: keys}
}

// after returns the keys of idx after k (all when k is nil).
func (idx *stagedIndex) after(k []byte) [][]byte {
	if k == nil {
		return idx.keys
	}
	i, found := slices.BinarySearchFunc(idx.keys, k, bytes.Compare)
	if found {
		i++
	}
	return idx.keys[i:]
}

// stagedCursor goes through the URLs of an index still staged in a
// transaction, in key order.
type stagedCursor struct {
	sb   *bolt.Bucket
	mark []byte // keyStagedMark: a merge under way
	keys [][]byte
}

// stagedFrom returns a cursor on the URLs of idx staged in btx after k.
func stagedFrom(btx *bolt.Tx, idx *stagedIndex, k []byte) *stagedCursor {
	if idx == nil {
		return &stagedCursor{}
	}
	return &stagedCursor{sb: btx.Bucket(bucketStaged), mark: btx.Bucket(bucketMeta).Get(keyStagedMark), keys: idx.after(k)}
}

// next returns the next staged URL whose entry decodes, with its queue
// key; nil at the end.
func (c *stagedCursor) next() (key []byte, s *stagedURL) {
	for len(c.keys) > 0 {
		key, c.keys = c.keys[0], c.keys[1:]
		v := c.sb.Get(key[len(key)-8:])
		if v == nil {
			continue // merged (or set aside) since the index read it
		}
		u, err := splitStaged(v)
		if err != nil || u.disallowed() || mergedBefore(u.key, c.mark) {
			continue
		}
		if u.e, err = unmarshalEntry(u.host, u.raw); err == nil {
			return key, &u
		}
	}
	return nil, nil
}
