package frontier

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"crawler/store"
)

// Files written before seen keys keep the seen-set in the urls bucket,
// keyed by the URL itself. Open migrates them; until then the readers
// (URLState, Check) read them as they are.

// migrateChunk is how many URLs migrateURLs moves per transaction.
var migrateChunk = 50_000

// migrateURLs moves the seen-set of files written before seen keys (the
// urls bucket, keyed by the URL itself) into the seen bucket, a chunk per
// transaction: each URL leaves urls in the transaction that adds it to
// seen, so a crash part-way loses nothing and the next Open carries on.
func migrateURLs(db *store.DB) error {
	for {
		done, err := migrateURLsChunk(db)
		if err != nil {
			return fmt.Errorf("frontier: migrate seen-set: %w", err)
		}
		if done {
			return nil
		}
	}
}

// migrateURLsChunk moves up to migrateChunk URLs in one transaction, and
// deletes the urls bucket once it is empty; done reports that nothing is
// left to move.
func migrateURLsChunk(db *store.DB) (done bool, err error) {
	err = db.Update(func(tx *store.Tx) error {
		btx := tx.Bolt()
		old := btx.Bucket(bucketURLs)
		if old == nil {
			done = true
			return nil
		}
		seen := btx.Bucket(bucketSeen)
		var moved [][]byte
		c := old.Cursor()
		for k, v := c.First(); k != nil && len(moved) < migrateChunk; k, v = c.Next() {
			if err := seen.Put(seenKey(string(k)), bytes.Clone(v)); err != nil {
				return err
			}
			moved = append(moved, bytes.Clone(k))
		}
		if len(moved) == 0 {
			done = true
			return btx.DeleteBucket(bucketURLs)
		}
		for _, k := range moved {
			if err := old.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return done, err
}

// seenSet reads the seen-set of a file in any layout: the seen bucket,
// keyed by seen key, and in a file from before seen keys not yet wholly
// migrated (a stopped crawl read by the query CLI, or one whose migration
// a crash cut short) the urls bucket, keyed by the URL itself. A URL is
// in exactly one of the two: migration moves each in one transaction.
//
// A URL the writer staged (staged.go) has no record yet: get finds it in
// staged, under the key its record will have; forEach does not.
type seenSet struct {
	seen, urls *bolt.Bucket
	staged     *stagedReader
}

func readSeenSet(btx *bolt.Tx) seenSet {
	return seenSet{seen: btx.Bucket(bucketSeen), urls: btx.Bucket(bucketURLs), staged: newStagedReader(btx)}
}

// empty reports that the file has no seen-set at all (never crawled).
func (s seenSet) empty() bool { return s.seen == nil && s.urls == nil }

// get returns url's record and its key: the bucket's key prefixed by 's'
// (seen) or 'u' (urls), so that keys of the two buckets never collide.
// Both are nil when the crawl never saw url.
func (s seenSet) get(url string) (v, key []byte) {
	if s.seen != nil {
		k := seenKey(url)
		if v := s.seen.Get(k); v != nil {
			return v, append([]byte{'s'}, k...)
		}
	}
	if s.urls != nil {
		if v := s.urls.Get([]byte(url)); v != nil {
			return v, append([]byte{'u'}, url...)
		}
	}
	if s.staged != nil {
		k := seenKey(url)
		if v := s.staged.get(k); v != nil {
			return v, append([]byte{'s'}, k...)
		}
	}
	return nil, nil
}

// forEach calls fn for every record of both buckets, with keys as get
// returns them.
func (s seenSet) forEach(fn func(key, v []byte)) {
	for _, b := range []struct {
		bucket *bolt.Bucket
		prefix byte
	}{{s.seen, 's'}, {s.urls, 'u'}} {
		if b.bucket == nil {
			continue
		}
		_ = b.bucket.ForEach(func(k, v []byte) error {
			fn(append([]byte{b.prefix}, k...), v)
			return nil
		})
	}
}
