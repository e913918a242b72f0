package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Tx is a transaction on the crawl database. Like bbolt's, it must not be
// used from more than one goroutine, and nothing it returns stays valid
// after the transaction ends unless copied (the methods here copy).
type Tx struct {
	btx  *bolt.Tx
	db   *DB
	logs *logSet // the value logs its snapshot names
}

// Bolt returns the underlying bbolt transaction, for packages that keep
// their own buckets in the same file (the frontier).
func (tx *Tx) Bolt() *bolt.Tx { return tx.btx }

// Writable reports whether tx may write.
func (tx *Tx) Writable() bool { return tx.btx.Writable() }

// Page returns the stored record for a normalized URL, or ErrNotFound.
func (tx *Tx) Page(url string) (*Page, error) {
	b := tx.btx.Bucket(bucketPages)
	if b == nil {
		return nil, ErrNotFound
	}
	v := b.Get([]byte(url))
	if v == nil {
		return nil, ErrNotFound
	}
	return tx.decodeStored(v)
}

// decodeStored decodes a pages bucket value: a reference into the value
// log, or a record of an older file.
func (tx *Tx) decodeStored(v []byte) (*Page, error) {
	if !isLogRef(v) {
		return UnmarshalRecord(v)
	}
	refs, err := decodeLogRefs(v)
	if err != nil {
		return nil, err
	}
	js, err := tx.db.values.read(tx.logs, refs.rec, tx.btx.Writable())
	if err != nil {
		return nil, fmt.Errorf("decode page: %w", err)
	}
	return decodePage(js)
}

// PutPage stores p under p.URL, replacing any earlier record; the body
// stored with that record stays attached (PutBody replaces it).
func (tx *Tx) PutPage(p *Page) error {
	v, err := MarshalRecord(p)
	if err != nil {
		return err
	}
	return tx.ReplaceRecord(p.URL, v)
}

// PutRecord stores a page record already encoded with MarshalRecord under
// url, with body (compressed by DB.CompressBody) as its body, replacing
// any earlier record and its body; a nil body leaves the record without
// one. Encoding before the transaction keeps that work off the single
// writer.
func (tx *Tx) PutRecord(url string, rec, body []byte) error {
	return tx.putRecord(url, rec, body, false)
}

// ReplaceRecord stores a page record encoded with MarshalRecord under url,
// replacing any earlier record but keeping the body stored with it (a
// recrawl answered 304).
func (tx *Tx) ReplaceRecord(url string, rec []byte) error {
	return tx.putRecord(url, rec, nil, true)
}

// putRecord is PutRecord, or with keep ReplaceRecord.
func (tx *Tx) putRecord(url string, rec, body []byte, keep bool) error {
	if !tx.btx.Writable() {
		return ErrReadOnly
	}
	if len(rec) == 0 || rec[0] != recordVersion {
		return fmt.Errorf("put page %s: not a MarshalRecord record", url)
	}
	pages := tx.btx.Bucket(bucketPages)
	key := []byte(url)
	var refs logRefs
	if old := pages.Get(key); old == nil {
		tx.addCounter(keyPages, 1)
	} else {
		var err error
		if refs, err = tx.storedBody(key, old, keep); err != nil {
			return fmt.Errorf("put page %s: %w", url, err)
		}
	}
	garbage := refs.rec.span()
	if !keep {
		tx.addCounter(keyBodyBytes, int64(len(body))-refs.body.n)
		garbage += refs.body.span()
		refs.body = tx.db.values.append(body)
	}
	if garbage > 0 {
		tx.addCounter(keyValuesGarbage, garbage)
	}
	refs.rec = tx.db.values.append(rec[1:])
	if err := pages.Put(key, refs.encode()); err != nil {
		return fmt.Errorf("put page %s: %w", url, err)
	}
	return nil
}

// PutBody stores a body compressed by DB.CompressBody as the body of
// url's record, which must be stored first (ErrNotFound otherwise),
// replacing the body it had. A nil body deletes the stored one.
func (tx *Tx) PutBody(url string, compressed []byte) error {
	if !tx.btx.Writable() {
		return ErrReadOnly
	}
	pages := tx.btx.Bucket(bucketPages)
	key := []byte(url)
	stored := pages.Get(key)
	if stored == nil {
		return fmt.Errorf("put body %s: no page record: %w", url, ErrNotFound)
	}
	refs, err := tx.storedBody(key, stored, false)
	if err != nil {
		return fmt.Errorf("put body %s: %w", url, err)
	}
	if !isLogRef(stored) {
		_, js, err := splitRecord(stored)
		if err != nil {
			return fmt.Errorf("put body %s: %w", url, err)
		}
		refs.rec = tx.db.values.append(js)
	}
	tx.addCounter(keyBodyBytes, int64(len(compressed))-refs.body.n)
	if g := refs.body.span(); g > 0 {
		tx.addCounter(keyValuesGarbage, g)
	}
	refs.body = tx.db.values.append(compressed)
	if err := pages.Put(key, refs.encode()); err != nil {
		return fmt.Errorf("put body %s: %w", url, err)
	}
	return nil
}

// storedBody returns the log references of the stored value old of the
// record key. A record of an older file, whose body is in the blobs or
// bodies bucket, has that body deleted there: with keepBody moved to the
// log (it keeps counting in the body bytes), without it dropped from the
// count. Such a record is returned without a record reference, for the
// caller to append.
//
// Bodies never live under their URL in bbolt: the log takes them, so a
// commit appends instead of rewriting a leaf per page, and nothing the
// writer stored is read back through bbolt's memory map.
func (tx *Tx) storedBody(key, old []byte, keepBody bool) (logRefs, error) {
	if isLogRef(old) {
		return decodeLogRefs(old)
	}
	blob, _, err := splitRecord(old)
	if err != nil {
		return logRefs{}, err
	}
	var refs logRefs
	if blob != 0 {
		blobs := tx.btx.Bucket(bucketBlobs)
		bk := blobKey(blob)
		if v := blobs.Get(bk); v != nil {
			if keepBody {
				refs.body = tx.db.values.append(v)
			} else {
				tx.addCounter(keyBodyBytes, -int64(len(v)))
			}
			if err := blobs.Delete(bk); err != nil {
				return logRefs{}, err
			}
		}
	}
	if legacy := tx.btx.Bucket(bucketBodies); legacy != nil {
		if v := legacy.Get(key); v != nil {
			if keepBody && refs.body.n == 0 {
				refs.body = tx.db.values.append(v)
			} else {
				tx.addCounter(keyBodyBytes, -int64(len(v)))
			}
			if err := legacy.Delete(key); err != nil {
				return logRefs{}, err
			}
		}
	}
	return refs, nil
}

func blobKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// Body returns the decompressed body stored for url, or ErrNotFound.
func (tx *Tx) Body(url string) ([]byte, error) {
	pages := tx.btx.Bucket(bucketPages)
	if pages == nil {
		return nil, ErrNotFound
	}
	stored := pages.Get([]byte(url))
	if stored == nil {
		return nil, ErrNotFound
	}
	var v []byte
	if isLogRef(stored) {
		refs, err := decodeLogRefs(stored)
		if err != nil {
			return nil, fmt.Errorf("body %s: %w", url, err)
		}
		if refs.body.n == 0 {
			return nil, ErrNotFound
		}
		if v, err = tx.db.values.read(tx.logs, refs.body, tx.btx.Writable()); err != nil {
			return nil, fmt.Errorf("body %s: %w", url, err)
		}
	} else {
		blob, _, err := splitRecord(stored)
		if err != nil {
			return nil, fmt.Errorf("body %s: %w", url, err)
		}
		if blob != 0 {
			if b := tx.btx.Bucket(bucketBlobs); b != nil {
				v = b.Get(blobKey(blob))
			}
		} else if b := tx.btx.Bucket(bucketBodies); b != nil {
			v = b.Get([]byte(url))
		}
	}
	if v == nil {
		return nil, ErrNotFound
	}
	body, err := tx.db.dec.DecodeAll(v, nil)
	if err != nil {
		return nil, fmt.Errorf("decode body %s: %v: %w", url, err, ErrCorrupt)
	}
	return body, nil
}

// ForEachPage calls fn for every stored page whose URL starts with prefix,
// in URL order, starting at the first URL >= after when after is non-empty
// (exclusive). It stops at the first error fn returns and returns it.
// Memory stays constant however many pages there are.
func (tx *Tx) ForEachPage(prefix, after string, fn func(*Page) error) error {
	b := tx.btx.Bucket(bucketPages)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	pfx := []byte(prefix)
	var k, v []byte
	if after != "" && after >= prefix {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(pfx)
	}
	for ; k != nil && bytes.HasPrefix(k, pfx); k, v = c.Next() {
		p, err := tx.decodeStored(v)
		if err != nil {
			return fmt.Errorf("page %q: %w", k, err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// PutSeed records a seed added while the crawl runs or is stopped, so its
// host stays in scope across restarts.
func (tx *Tx) PutSeed(url string) error {
	if !tx.btx.Writable() {
		return ErrReadOnly
	}
	return tx.btx.Bucket(bucketSeeds).Put([]byte(url), []byte{})
}

// ForEachSeed calls fn for every seed recorded with PutSeed.
func (tx *Tx) ForEachSeed(fn func(url string) error) error {
	b := tx.btx.Bucket(bucketSeeds)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, _ []byte) error { return fn(string(k)) })
}

// Counts are the totals the store keeps up to date in every transaction.
type Counts struct {
	Pages      int64 // page records
	BodyBytes  int64 // compressed body bytes
	FileBytes  int64 // size of the database file (bbolt's)
	ValueBytes int64 // size of its value logs: records and bodies, live or replaced
	// GarbageBytes is the part of ValueBytes that replaced records and
	// bodies take (a recrawl replaces both, a 304 the record): what
	// `crawler compact` reclaims. It is 0 on a file this version has not
	// yet opened read-write.
	GarbageBytes int64
	// ValueLogs is how many value log files are in use: 2 while a reclaim
	// is unfinished (DB.ReclaimUnfinished), else 1.
	ValueLogs int
}

// Counts returns the store's totals without scanning.
func (tx *Tx) Counts() Counts {
	lm := readLogMeta(tx.btx.Bucket(bucketMeta))
	logs := 1
	if lm.draining() >= 0 {
		logs = 2
	}
	return Counts{
		Pages:        tx.counter(keyPages),
		BodyBytes:    tx.counter(keyBodyBytes),
		FileBytes:    tx.btx.Size(),
		ValueBytes:   lm.total(),
		GarbageBytes: tx.counter(keyValuesGarbage),
		ValueLogs:    logs,
	}
}

func (tx *Tx) counter(key []byte) int64 { return counter(tx.btx.Bucket(bucketMeta), key) }

// counter reads a counter of the meta bucket m (nil: none yet).
func counter(m *bolt.Bucket, key []byte) int64 {
	if m == nil {
		return 0
	}
	v := m.Get(key)
	if len(v) != 8 {
		return 0
	}
	return int64(u64(v))
}

func (tx *Tx) addCounter(key []byte, n int64) {
	m := tx.btx.Bucket(bucketMeta)
	_ = m.Put(key, putU64(uint64(tx.counter(key)+n)))
}

func u64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func putU64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}
