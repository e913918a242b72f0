package frontier

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"

	"crawler/store"
)

// QueuedURL is a URL waiting in the frontier, as operators see it.
type QueuedURL struct {
	URL      string    `json:"url"`
	Host     string    `json:"host"`
	Depth    int       `json:"depth"`
	Parent   string    `json:"parent,omitempty"`    // page it was found on; "" for seeds
	Attempts int       `json:"attempts,omitempty"`  // fetch attempts already made
	RetryAt  time.Time `json:"retry_at,omitzero"`   // a retry waiting for its time
	InFlight bool      `json:"in_flight,omitempty"` // in the fetch pipeline now (live daemon only; Queue.Leased)
	// Revisit marks a URL queued again after it was finished: its
	// recrawl came due, or a refresh or revisit queued it (Item.Revisit).
	// DueAt is when (Item.Due): zero when a version that did not keep it
	// queued the URL.
	Revisit bool      `json:"revisit,omitempty"`
	DueAt   time.Time `json:"due_at,omitzero"`

	key string // queue key, for Leased; "" for a retry
}

// QueueMark is where a ReadQueue listing stopped; the zero QueueMark is
// its start.
type QueueMark struct {
	retries bool         // past the host queues, in the retries
	key     []byte       // the last key listed
	staged  *stagedIndex // the staged URLs ahead, as the last call read them
}

// ReadQueue calls fn for at most max (> 0) URLs queued for host ("" for
// every host; the frontier's host key, host[:port]) from mark on: the
// host queues in host order, each in the order it is fetched (depth, then
// discovery, revisits last: queueRank; staged URLs where the merge will
// put them), then the retries
// waiting for their time, soonest first.
// It returns where it stopped and whether URLs may remain, so that a long
// listing can go on in another transaction. Pages waiting to be
// recrawled are not queued. The mark keeps the queue keys of the staged
// URLs ahead (stagedIndex, about 60 bytes each), so that a listing reads
// the staged bucket once, and then only what was staged since, not once
// per call. An entry that does not decode is skipped
// (crawler check reports it). On disk a URL in flight is still queued:
// Queue.Leased tells it.
func ReadQueue(tx *store.Tx, host string, mark QueueMark, max int, fn func(*QueuedURL) error) (QueueMark, bool, error) {
	btx := tx.Bolt()
	n := 0
	if !mark.retries {
		var prefix []byte
		if host != "" {
			prefix = hostPrefix(host)
		}
		mark.staged = readStaged(btx, mark.staged, prefix, mark.key)
		staged := stagedFrom(btx, mark.staged, mark.key)
		sk, s := staged.next()
		var k, v []byte
		var c *queueCursor
		if btx.Bucket(bucketQueue) != nil {
			c = newQueueCursor(btx)
			k, v, _ = c.seekAfter(prefix, mark.key)
		}
		for {
			inQueue := k != nil && bytes.HasPrefix(k, prefix)
			if !inQueue && sk == nil {
				break
			}
			if n == max {
				return mark, true, nil
			}
			if sk != nil && (!inQueue || bytes.Compare(sk, k) < 0) {
				mark.key = sk
				n++
				if err := fn(s.e.queued(s.host, "", time.Time{})); err != nil {
					return mark, true, err
				}
				sk, s = staged.next()
				continue
			}
			mark.key = k
			h := hostOfKey(k)
			var e *entry
			if v != nil {
				e, _ = unmarshalEntry(h, v)
			}
			k, v, _ = c.next()
			if e == nil {
				continue
			}
			n++
			if err := fn(e.queued(h, string(mark.key), time.Time{})); err != nil {
				return mark, true, err
			}
		}
		mark = QueueMark{retries: true}
	}
	k, v, c := seekAfter(btx.Bucket(bucketDelayed), nil, mark.key)
	for ; k != nil; k, v = c.Next() {
		if n == max {
			return mark, true, nil
		}
		mark.key = bytes.Clone(k)
		h, e, err := unmarshalTimed(v)
		if err != nil || host != "" && h != host {
			continue
		}
		n++
		if err := fn(e.queued(h, "", dueAt(k))); err != nil {
			return mark, true, err
		}
	}
	return mark, false, nil
}

// queued is e, of host's queue under key ("" for a retry, due at
// retryAt), as ReadQueue lists it.
func (e *entry) queued(host, key string, retryAt time.Time) *QueuedURL {
	return &QueuedURL{URL: e.URL, Host: host, Depth: e.Depth, Parent: e.Parent, Attempts: e.Attempts, RetryAt: retryAt,
		Revisit: e.Revisit, DueAt: dueTime(e.Due), key: key}
}

// seekAfter positions a cursor of b on the first key after after, or on
// the first key with prefix when after is nil; nil b has no keys.
func seekAfter(b *bolt.Bucket, prefix, after []byte) (k, v []byte, c *bolt.Cursor) {
	if b == nil {
		return nil, nil, nil
	}
	c = b.Cursor()
	if after == nil {
		k, v = c.Seek(prefix)
		return k, v, c
	}
	if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	return k, v, c
}

// Leased reports whether u, as ReadQueue gave it, is in flight now:
// handed to the fetch pipeline (picked for a worker, being fetched, or
// on its way to the writer) and not yet committed, as Counts.InFlight
// counts it.
func (q *Queue) Leased(u *QueuedURL) bool {
	if u.key == "" {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	h := q.hosts[u.Host]
	if h == nil {
		return false
	}
	_, ok := h.leased[u.key]
	return ok
}
