package frontier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/klauspost/compress/s2"
	bolt "go.etcd.io/bbolt"
)

// Queue blocks. A host queue is most of the frontier's file, and one
// bbolt key per URL cost about 145 bytes each (the key repeats the host,
// the leaf element has a header, and leaves split at host boundaries end
// up two-thirds full). So the queue bucket keeps each host queue as
// blocks of up to blockEntries entries of one depth:
//
//	key:   queueKey(host, depth, seq of its first entry) blockMark
//	value: kind(1) count(1) taken(4) last(8) payload
//
// The payload is the entries in the order they were added, each as
// uvarint(length) and the entry (entry.marshal), S2-compressed on disk
// (blockPacked): URLs of one host repeat their prefixes and their parent,
// and a block takes about 21 bytes an entry on the frontier benchmark's
// URLs instead of 145. taken is a big-endian bitmap of the entries that
// have left the queue, last the seq of the newest entry. A block goes
// when every entry has left it. Entries never move inside a block, so an
// entry's key, the block's key followed by its index (an item key), is
// stable while it is queued, as Item.key must be.
//
// An entry with seq s goes at the end of the block before s in key order
// when that block has room and holds only older entries, else into a new
// block under s. Blocks come out in key order and a block's entries in
// the order they were added, so a host's queue comes out by depth, then
// in discovery order, however late an entry reached the disk (a staged
// URL), except that one merged after a newer entry joined the block its
// seq falls in comes after that block.
//
// Files written before blocks hold one entry per key, the queueKey alone.
// Both are read, in key order; such an entry is removed when its URL is
// done, as before, and new entries always go to blocks: an old file's
// queue turns into blocks as the crawl goes on, with nothing to migrate.
const (
	blockEntries  = 32   // entries a block holds at most (taken's bits)
	blockMaxBytes = 4096 // raw payload a block holds at most, unless one entry is longer
	blockHeader   = 14
	blockMark     = 0xb1 // last byte of a block key

	blockRaw    = 1 // payload as it is; only inside a write transaction
	blockPacked = 2 // payload S2-compressed
)

// errBadBlock reports a queue block that does not decode.
var errBadBlock = errors.New("frontier: queue block does not decode")

// Kinds of queue-bucket keys, told apart by their length after the host.
const (
	keyEntry = iota // a single entry: queueKey (files before blocks)
	keyBlock        // a block: queueKey blockMark
	keyItem         // one entry of a block: block key, index; never stored
	keyBad
)

// queueKeyKind returns what k is.
func queueKeyKind(k []byte) int {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return keyBad
	}
	switch rest := len(k) - i - 1; {
	case rest == 12:
		return keyEntry
	case rest == 13 && k[len(k)-1] == blockMark:
		return keyBlock
	case rest == 14 && k[len(k)-2] == blockMark:
		return keyItem
	}
	return keyBad
}

// blockKey returns the key of the block of item key k.
func blockKey(k []byte) []byte { return k[:len(k)-1] }

// itemKey returns the key of entry i of block bk, in a new slice.
func itemKey(bk []byte, i int) []byte {
	return append(append(make([]byte, 0, len(bk)+1), bk...), byte(i))
}

// block is a decoded block header.
type block struct {
	kind    byte
	count   int    // entries written to it, taken or not
	taken   uint32 // bit i: entry i has left
	last    uint64 // seq of the newest entry
	payload []byte // as stored: raw or compressed
}

func parseBlock(v []byte) (block, error) {
	if len(v) < blockHeader || v[0] != blockRaw && v[0] != blockPacked || v[1] == 0 || v[1] > blockEntries {
		return block{}, errBadBlock
	}
	return block{kind: v[0], count: int(v[1]), taken: binary.BigEndian.Uint32(v[2:]),
		last: binary.BigEndian.Uint64(v[6:]), payload: v[blockHeader:]}, nil
}

// live is how many of the block's entries are still queued.
func (b block) live() int { return b.count - bits.OnesCount32(b.taken) }

// raw returns the block's payload uncompressed: in place when it is raw.
func (b block) raw() ([]byte, error) {
	if b.kind == blockRaw {
		return b.payload, nil
	}
	n, err := s2.DecodedLen(b.payload)
	if err != nil || n > blockMaxBytes*4 {
		return nil, errBadBlock
	}
	raw, err := s2.Decode(nil, b.payload)
	if err != nil {
		return nil, errBadBlock
	}
	return raw, nil
}

// entries returns the block's entries, in place for a raw block.
func (b block) entries() ([][]byte, error) {
	raw, err := b.raw()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, b.count)
	for len(raw) > 0 {
		n, w := binary.Uvarint(raw)
		if w <= 0 || n > uint64(len(raw)-w) {
			return nil, errBadBlock
		}
		out = append(out, raw[w:w+int(n)])
		raw = raw[w+int(n):]
	}
	if len(out) != b.count {
		return nil, errBadBlock
	}
	return out, nil
}

// storedLive is how many queued entries the stored value v of queue key
// k holds: 1 for a single entry or a block whose header is damaged.
func storedLive(k, v []byte) int {
	if queueKeyKind(k) != keyBlock {
		return 1
	}
	b, err := parseBlock(v)
	if err != nil {
		return 1
	}
	return b.live()
}

// queueWriter changes the queue bucket inside one write transaction, and
// flush must be called before it commits. A block it appends to is held
// raw (blockRaw), as a value it owns, changed in place and put again
// after every change (bbolt keeps what Put is given until the commit, and
// copies it when it remaps); flush packs it. So a block is compressed
// once per transaction, not once per entry.
type queueWriter struct {
	b     *bolt.Bucket
	owned map[string][]byte // block key -> its value, owned
}

func newQueueWriter(b *bolt.Bucket) *queueWriter {
	b.FillPercent = queueFill
	return &queueWriter{b: b, owned: make(map[string][]byte)}
}

// get returns the value of block key k: the owned one, else the stored one.
func (w *queueWriter) get(k []byte) []byte {
	if v, ok := w.owned[string(k)]; ok {
		return v
	}
	return w.b.Get(k)
}

// put stores the owned value v under block key k.
func (w *queueWriter) put(k, v []byte) error {
	w.owned[string(k)] = v
	return w.b.Put(bytes.Clone(k), v)
}

// add appends the entry rec (entry.marshal for host) with sequence
// number seq to the queue of host at depth. seq must be new to the host
// and depth: a fresh one from the frontier's sequence, or a staged URL's.
func (w *queueWriter) add(host string, depth int, seq uint64, rec []byte) error {
	prefix := make([]byte, 0, len(host)+5)
	prefix = append(append(prefix, host...), 0)
	prefix = binary.BigEndian.AppendUint32(prefix, uint32(depth))
	c := w.b.Cursor()
	k, v := c.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), seq))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	size := binary.MaxVarintLen32 + len(rec)
	if k != nil && len(k) == len(prefix)+9 && bytes.HasPrefix(k, prefix) && k[len(k)-1] == blockMark {
		v = w.get(k)
		if b, err := parseBlock(v); err == nil && b.count < blockEntries && b.last < seq {
			raw, err := b.raw()
			if err == nil && len(raw)+size <= blockMaxBytes {
				if _, owned := w.owned[string(k)]; !owned || b.kind != blockRaw {
					// Unpacked into a value of its own, with room to grow.
					o := make([]byte, blockHeader, blockHeader+blockMaxBytes)
					copy(o, v[:blockHeader])
					o[0] = blockRaw
					v = append(o, raw...)
				}
				v = binary.AppendUvarint(v, uint64(len(rec)))
				v = append(v, rec...)
				v[1]++
				binary.BigEndian.PutUint64(v[6:], seq)
				return w.put(k, v)
			}
		}
	}
	k = binary.BigEndian.AppendUint64(prefix, seq)
	k = append(k, blockMark)
	v = make([]byte, blockHeader, blockHeader+max(size, blockMaxBytes/4))
	v[0], v[1] = blockRaw, 1
	binary.BigEndian.PutUint64(v[6:], seq)
	v = binary.AppendUvarint(v, uint64(len(rec)))
	v = append(v, rec...)
	return w.put(k, v)
}

// flush packs the blocks the transaction appended to.
func (w *queueWriter) flush() error {
	for k, v := range w.owned {
		if v[0] != blockRaw {
			continue
		}
		out := make([]byte, blockHeader, blockHeader+s2.MaxEncodedLen(len(v)-blockHeader))
		copy(out, v[:blockHeader])
		out[0] = blockPacked
		enc := s2.Encode(out[blockHeader:cap(out)], v[blockHeader:])
		out = out[:blockHeader+len(enc)]
		if err := w.put([]byte(k), out); err != nil {
			return err
		}
	}
	return nil
}

// remove takes the entry under key k (an item key, or a single entry's
// key) out of the queue; a key no longer there is no error. A block key
// removes the whole block. It returns how many queued entries left.
func (w *queueWriter) remove(k []byte) (int, error) {
	switch queueKeyKind(k) {
	case keyItem:
		bk, i := blockKey(k), int(k[len(k)-1])
		v := w.get(bk)
		if v == nil {
			return 0, nil
		}
		b, err := parseBlock(v)
		if err != nil {
			return 0, nil // the dispatcher sets it aside when it reads it
		}
		if i >= b.count || b.taken&(1<<i) != 0 {
			return 0, nil
		}
		if b.live() == 1 {
			delete(w.owned, string(bk))
			return 1, w.b.Delete(bk)
		}
		if _, owned := w.owned[string(bk)]; !owned {
			v = bytes.Clone(v)
		}
		binary.BigEndian.PutUint32(v[2:], b.taken|1<<i)
		return 1, w.put(bk, v)
	default:
		v := w.get(k)
		if v == nil {
			return 0, nil
		}
		n := storedLive(k, v)
		delete(w.owned, string(k))
		return n, w.b.Delete(k)
	}
}

// entry returns the stored bytes of the entry under key k, nil if none.
func (w *queueWriter) entry(k []byte) []byte {
	if queueKeyKind(k) != keyItem {
		return w.get(k)
	}
	v := w.get(blockKey(k))
	if v == nil {
		return nil
	}
	b, err := parseBlock(v)
	if err != nil {
		return nil
	}
	recs, err := b.entries()
	if i := int(k[len(k)-1]); err != nil || i >= len(recs) || b.taken&(1<<i) != 0 {
		return nil
	}
	return recs[k[len(k)-1]]
}

// queueCursor walks the queued entries of the queue bucket in key order,
// single entries and the live entries of blocks alike.
type queueCursor struct {
	c    *bolt.Cursor
	bk   []byte   // the block being read; nil when none
	recs [][]byte // its entries
	b    block
	i    int // the next entry of bk to look at
}

func newQueueCursor(b *bolt.Bucket) *queueCursor { return &queueCursor{c: b.Cursor()} }

// seek returns the first entry whose key is k or after it, with its key
// (a new slice) and its stored bytes (valid for the transaction). At the
// end key is nil. A block that does not decode comes as its block key,
// nil rec and errBadBlock.
func (qc *queueCursor) seek(k []byte) (key, rec []byte, err error) {
	start := 0
	if queueKeyKind(k) == keyItem {
		bk := blockKey(k)
		if got, v := qc.c.Seek(bk); bytes.Equal(got, bk) {
			start = int(k[len(k)-1])
			return qc.load(got, v, start)
		}
		k = bk
	}
	got, v := qc.c.Seek(k)
	return qc.load(got, v, start)
}

// first returns the bucket's first entry, as seek does.
func (qc *queueCursor) first() (key, rec []byte, err error) {
	k, v := qc.c.First()
	return qc.load(k, v, 0)
}

// next returns the entry after the last one returned, as seek does.
func (qc *queueCursor) next() (key, rec []byte, err error) {
	if qc.bk != nil {
		if key, rec := qc.fromBlock(); key != nil {
			return key, rec, nil
		}
	}
	k, v := qc.c.Next()
	return qc.load(k, v, 0)
}

// load starts reading the stored key k, from entry start of a block.
func (qc *queueCursor) load(k, v []byte, start int) (key, rec []byte, err error) {
	for k != nil {
		qc.bk = nil
		if queueKeyKind(k) != keyBlock {
			return bytes.Clone(k), v, nil
		}
		b, err := parseBlock(v)
		var recs [][]byte
		if err == nil {
			recs, err = b.entries()
		}
		if err != nil {
			return bytes.Clone(k), nil, err
		}
		qc.bk, qc.b, qc.recs, qc.i = k, b, recs, start
		if key, rec := qc.fromBlock(); key != nil {
			return key, rec, nil
		}
		k, v = qc.c.Next()
		start = 0
	}
	qc.bk = nil
	return nil, nil, nil
}

// fromBlock returns the block's next live entry, nil when none is left.
func (qc *queueCursor) fromBlock() (key, rec []byte) {
	for ; qc.i < len(qc.recs); qc.i++ {
		if qc.b.taken&(1<<qc.i) == 0 {
			qc.i++
			return itemKey(qc.bk, qc.i-1), qc.recs[qc.i-1]
		}
	}
	return nil, nil
}
