package frontier

import (
	"bytes"
	"fmt"
	"log/slog"

	bolt "go.etcd.io/bbolt"

	"crawler/store"
)

// keyMode is the meta key recording how the queued URLs' host keys were
// made (Options.KeyMode); a file without it was keyed by host.
var keyMode = []byte("key_mode")

// keyModeHost is the mode of files that do not record one.
const keyModeHost = "host"

// rekeyChunk is how many entries rekey moves per transaction.
var rekeyChunk = 20_000

// rekey moves every queued, retrying and recrawl entry of db to the host
// key hostKey gives its URL, when the file's mode is not mode, and then
// records mode. The per-host queued totals follow the entries they count
// (the other totals stay with the keys they were counted under), and a
// new key takes the strictest pace (Pace) of the keys its entries came
// from: the longest delay, the latest pause, the most breaker trips. It
// works a chunk per transaction: an entry leaves its old key in the
// transaction that writes it under the new one, and an entry already under
// its new key is left alone, so a crash part-way loses nothing and the
// next Open carries on. An entry that does not decode stays where it is,
// for the queue to set aside.
func rekey(db *store.DB, mode string, hostKey func(string) string, log *slog.Logger) error {
	var recorded string
	err := db.View(func(tx *store.Tx) error {
		recorded = string(tx.Bolt().Bucket(bucketMeta).Get(keyMode))
		return nil
	})
	if err != nil || recorded == mode {
		return err
	}
	from := recorded
	if from == "" {
		from = keyModeHost
	}
	if from != mode {
		if hostKey == nil {
			return fmt.Errorf("frontier: queued URLs are keyed by %s, not %s, and no HostKey to re-key them", from, mode)
		}
		log.Info("frontier: re-keying the queued URLs for the new politeness key", "from", from, "to", mode)
		moved := 0
		for _, bucket := range [][]byte{bucketQueue, bucketDelayed, bucketRecrawl} {
			var after []byte
			for {
				n, next, err := rekeyBatch(db, bucket, after, hostKey)
				if err != nil {
					return fmt.Errorf("frontier: re-key %s: %w", bucket, err)
				}
				moved += n
				if next == nil {
					break
				}
				after = next
			}
		}
		log.Info("frontier: re-keyed the queued URLs", "moved", moved)
	}
	return db.Update(func(tx *store.Tx) error {
		if from != mode {
			if err := dropOldKeyPaces(tx.Bolt().Bucket(bucketHosts), hostKey); err != nil {
				return err
			}
		}
		return tx.Bolt().Bucket(bucketMeta).Put(keyMode, []byte(mode))
	})
}

// dropOldKeyPaces moves the pace (Pace) of every host key the new mode no
// longer makes (a host's, once hosts are grouped by domain) to the key
// that replaces it, keeping the strictest, and clears it from the old
// key: otherwise one pause would count as two hosts backed off, and the
// old key would be filed at load until it ended. rekeyBatch has merged
// the paces of keys with moved entries already; this also covers a key
// with no entry left to move. hostKey sees the key as an origin's URL.
func dropOldKeyPaces(hosts *bolt.Bucket, hostKey func(string) string) error {
	type move struct {
		from, to string
		r        hostRecord
	}
	var moves []move
	err := hosts.ForEach(func(k, v []byte) error {
		r := unmarshalHostRecord(v)
		if !r.paced() {
			return nil
		}
		if to := hostKey("http://" + string(k) + "/"); to != "" && to != string(k) {
			moves = append(moves, move{string(k), to, r})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range moves {
		r := unmarshalHostRecord(hosts.Get([]byte(m.to)))
		r.stricter(m.r)
		if err := hosts.Put([]byte(m.to), r.marshal()); err != nil {
			return err
		}
		m.r.clearPace()
		if err := hosts.Put([]byte(m.from), m.r.marshal()); err != nil {
			return err
		}
	}
	return nil
}

// rekeyBatch re-keys up to rekeyChunk entries of bucket after the key
// after (from the first when nil) in one transaction. It returns how many
// it moved and the last key it read, nil when the bucket is done.
func rekeyBatch(db *store.DB, bucket, after []byte, hostKey func(string) string) (moved int, last []byte, err error) {
	err = db.Update(func(tx *store.Tx) error {
		btx := tx.Bolt()
		b, hosts := btx.Bucket(bucket), btx.Bucket(bucketHosts)
		type change struct {
			oldKey, newKey, value []byte
			to                    string // the new host key
			depth                 int
			seq                   uint64 // a queue entry's: its place in the new host's queue
		}
		var changes []change
		queued := map[string]int64{}      // per-host queued total changes
		moves := map[[2]string]struct{}{} // old key, new key
		isQueue := bytes.Equal(bucket, bucketQueue)
		next := seekEntries(btx, bucket, after)
		read := 0
		k, v, err := next()
		for ; k != nil && read < rekeyChunk; k, v, err = next() {
			read++
			last = bytes.Clone(k)
			var host string
			var e *entry
			if err != nil {
				continue // set aside by the queue when it reads it
			}
			if isQueue {
				host = hostOfKey(k)
				e, err = unmarshalEntry(host, v)
			} else {
				host, e, err = unmarshalTimed(v)
			}
			if err != nil {
				continue // set aside by the queue when it reads it
			}
			to := hostKey(e.URL)
			if to == "" || to == host {
				continue
			}
			ch := change{oldKey: bytes.Clone(k), newKey: bytes.Clone(k), to: to, depth: queueRank(e.Depth, e.Revisit), seq: u64(k[len(k)-8:])}
			if isQueue {
				ch.value = e.marshal(to)
			} else {
				ch.value = marshalTimed(to, e)
			}
			if !bytes.Equal(bucket, bucketRecrawl) { // recrawl entries are not counted as queued
				queued[host]--
				queued[to]++
			}
			moves[[2]string{host, to}] = struct{}{}
			changes = append(changes, ch)
		}
		if k == nil {
			last = nil
		}
		if isQueue {
			// An entry keeps its rank and seq: its place among the
			// new host key's entries is where it was found.
			qw := newQueueWriter(btx)
			for _, ch := range changes {
				if _, err := qw.remove(ch.oldKey); err != nil {
					return err
				}
				if err := qw.add(ch.to, ch.depth, ch.seq, ch.value); err != nil {
					return err
				}
			}
			if err := qw.flush(); err != nil {
				return err
			}
		}
		for _, ch := range changes {
			if isQueue {
				break
			}
			if !bytes.Equal(ch.oldKey, ch.newKey) {
				if err := b.Delete(ch.oldKey); err != nil {
					return err
				}
			}
			if err := b.Put(ch.newKey, ch.value); err != nil {
				return err
			}
		}
		for h, d := range queued {
			r := unmarshalHostRecord(hosts.Get([]byte(h)))
			r.Queued += d
			if err := hosts.Put([]byte(h), r.marshal()); err != nil {
				return err
			}
		}
		for m := range moves { // the new key keeps the strictest pace of the old ones
			from := unmarshalHostRecord(hosts.Get([]byte(m[0])))
			if !from.paced() {
				continue
			}
			r := unmarshalHostRecord(hosts.Get([]byte(m[1])))
			r.stricter(from)
			if err := hosts.Put([]byte(m[1]), r.marshal()); err != nil {
				return err
			}
		}
		moved = len(changes)
		return nil
	})
	return moved, last, err
}

// seekEntries returns a function that yields the entries of tx's bucket
// after the key after (from the first when nil), then a nil key; the
// queue bucket's through a queueCursor, with the error of a block that
// does not decode.
func seekEntries(tx *bolt.Tx, bucket, after []byte) func() (k, v []byte, err error) {
	if bytes.Equal(bucket, bucketQueue) {
		qc := newQueueCursor(tx)
		k, v, err := qc.seekAfter(nil, after)
		return func() ([]byte, []byte, error) {
			defer func() { k, v, err = qc.next() }()
			return k, v, err
		}
	}
	k, v, c := seekAfter(tx.Bucket(bucket), nil, after)
	return func() ([]byte, []byte, error) {
		defer func() { k, v = c.Next() }()
		return k, v, nil
	}
}
