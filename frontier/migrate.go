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
		done := false
		err := db.Update(func(tx *store.Tx) error {
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
		if err != nil {
			return fmt.Errorf("frontier: migrate seen-set: %w", err)
		}
		if done {
			return nil
		}
	}
}

// seenBucket returns the seen-set and its key function: the seen bucket,
// or in a file from before seen keys not yet migrated (a stopped crawl
// read by the query CLI), the urls bucket keyed by the URL itself.
func seenBucket(btx *bolt.Tx) (*bolt.Bucket, func(url string) []byte) {
	if b := btx.Bucket(bucketURLs); b != nil {
		return b, func(url string) []byte { return []byte(url) }
	}
	return btx.Bucket(bucketSeen), seenKey
}
