package frontier

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"crawler/store"
)

// promote moves the due entries of bucket (delayed or recrawl) into their
// host queues and returns when the next one is due (zero: none left). A
// recrawl also turns its URL from done back to queued.
func (w *txWriter) promote(bucket []byte, now time.Time, recrawl bool) (time.Time, error) {
	const maxPromote = 1024
	d, urls := w.btx.Bucket(bucket), w.btx.Bucket(bucketSeen)
	var due, damaged [][]byte
	c := d.Cursor()
	k, v := c.First()
	for ; k != nil && len(due) < maxPromote; k, v = c.Next() {
		if dueAt(k).After(now) {
			break
		}
		hostKey, e, err := unmarshalTimed(v)
		if err != nil || len(k) < 8 {
			// Damaged: set it aside (below) rather than stop the writer.
			// A retry was counted queued; a recrawl was counted done and
			// stays so.
			damaged = append(damaged, bytes.Clone(k))
			if !recrawl {
				if i := bytes.IndexByte(v, 0); i > 0 {
					w.fx.host(string(v[:i])).Queued--
				}
				w.fx.counts.Queued--
			}
			continue
		}
		var r urlRecord
		key := seenKey(e.URL)
		if recrawl {
			r, _ = unmarshalURLRecord(w.lookupSeen(key))
			if !r.recrawlCurrent(dueAt(k)) {
				// Left behind by a refresh, which queued the URL
				// itself: dropped.
				due = append(due, bytes.Clone(k))
				continue
			}
		}
		raw := v[len(hostKey)+1:] // the entry as stored
		if recrawl {
			// A revisit (Item.Revisit): its stored copy is kept should
			// it fail, with recrawl.interval turned off since too. It
			// came due when its key says (Item.Due).
			e.Revisit, e.Due = true, dueMillis(dueAt(k))
			raw = e.marshal(hostKey)
		}
		w.seq++
		if err := w.queue().add(hostKey, queueRank(e.Depth, e.Revisit), w.seq, raw); err != nil {
			return time.Time{}, err
		}
		w.fx.queued[hostKey]++
		if recrawl {
			r.State, r.Recrawl = StateQueued, 0
			if err := urls.Put(key, r.marshal()); err != nil {
				return time.Time{}, err
			}
			hr := w.fx.host(hostKey)
			hr.Done--
			hr.Queued++
			w.fx.counts.Done--
			w.fx.counts.Queued++
		}
		due = append(due, bytes.Clone(k))
	}
	var next time.Time
	if len(k) >= 8 {
		next = dueAt(k)
	}
	for _, k := range due {
		if err := d.Delete(k); err != nil {
			return time.Time{}, err
		}
	}
	for _, k := range damaged {
		if err := putAside(w.btx, bucket, d, k, d.Get(k)); err != nil {
			return time.Time{}, err
		}
		w.aside = append(w.aside, fmt.Sprintf("%s entry %x", bucket, k))
	}
	return next, nil
}

// txWriter applies operations inside one write transaction.
type txWriter struct {
	tx         *store.Tx
	btx        *bolt.Tx
	fx         *effects
	seq        uint64
	maxPerHost int64                 // Options.MaxPerHost
	hostLimits map[string]HostLimits // their MaxPerHost; never written to
	maxURLs    int64                 // Options.MaxURLs
	enqueued   int64                 // URLs ever queued before this transaction
	seen       *seenCache            // nil: always look in the bucket
	aside      []string              // damaged entries set aside, to log once committed
	// staged holds the seen keys staged by earlier transactions
	// (Queue.staged; never written to here); staging, the hosts whose
	// new URLs this transaction stages (stageHosts).
	staged       map[[seenKeyLen]byte]struct{}
	staging      map[string]bool
	stagedBucket *bolt.Bucket // once stage has made sure it exists
	// paces are the hosts' paces to write (Queue.paces, taken), as
	// of now.
	paces map[string]paceChange
	now   time.Time
	q     *queueWriter // once queue has made it
	// seenCur and hostsCur are the cursors lookupSeen and lookupHost
	// reuse, once they have made them.
	seenCur, hostsCur *bolt.Cursor
}

// lookupSeen returns the seen record of key, or nil if key is not in the
// seen bucket, through the transaction's one cursor (getAt).
func (w *txWriter) lookupSeen(key []byte) []byte {
	if w.seenCur == nil {
		w.seenCur = w.btx.Bucket(bucketSeen).Cursor()
	}
	return getAt(w.seenCur, key)
}

// lookupHost returns host key's record in the hosts bucket, or nil, through
// the transaction's one cursor of that bucket (getAt).
func (w *txWriter) lookupHost(key string) []byte {
	if w.hostsCur == nil {
		w.hostsCur = w.btx.Bucket(bucketHosts).Cursor()
	}
	return getAt(w.hostsCur, []byte(key))
}

// getAt is Bucket.Get through c, a cursor of that bucket, without Get's
// cost per call: Get makes a cursor and grows its stack each time (four
// allocations), and the writer looks up every link it is given. A seek
// starts from the root, so the bucket's changes since the cursor was made
// do not matter.
func getAt(c *bolt.Cursor, key []byte) []byte {
	if k, v := c.Seek(key); bytes.Equal(k, key) {
		return v
	}
	return nil
}

// queue returns the transaction's writer of the queue bucket.
func (w *txWriter) queue() *queueWriter {
	if w.q == nil {
		w.q = newQueueWriter(w.btx)
	}
	return w.q
}

// complete commits c; itemKey is c.Item's seen key.
func (w *txWriter) complete(c *Completion, rec, itemKey []byte) error {
	it := c.Item
	w.fx.counts.Trapped += int64(c.Trapped)
	urls := w.btx.Bucket(bucketSeen)
	if _, err := w.queue().remove(it.key); err != nil {
		return err
	}
	w.fx.leases = append(w.fx.leases, it)
	w.fx.counts.InFlight--
	hr := w.fx.host(it.Host)
	attempts := it.Attempts + 1
	if !c.RetryAt.IsZero() {
		w.seq++
		e := entry{URL: it.URL, Parent: it.Parent, Depth: it.Depth, Attempts: attempts, Hops: it.Hops, Origin: it.Origin, Via: it.Via, Revisit: it.Revisit, Due: dueMillis(it.Due)}
		v := marshalTimed(it.Host, &e)
		if err := w.btx.Bucket(bucketDelayed).Put(delayedKey(c.RetryAt, w.seq), v); err != nil {
			return err
		}
		if w.fx.delayed.IsZero() || c.RetryAt.Before(w.fx.delayed) {
			w.fx.delayed = c.RetryAt
		}
		w.fx.counts.Queued++
		return urls.Put(itemKey, urlRecord{State: StateQueued, Depth: it.Depth, Attempts: attempts}.marshal())
	}
	hr.Queued--
	switch c.State {
	case StateDone:
		w.fx.counts.Done++
		hr.Done++
	case StateFailed:
		w.fx.counts.Failed++
		hr.Failed++
	case StateDisallowed:
		w.fx.counts.Disallowed++
		hr.Disallowed++
		if !it.Revisit {
			// Queued before its robots.txt was known, and never
			// fetched: its place in the budgets goes back, as a link
			// judged when found never takes one. A revisit was
			// counted when first queued, and fetched then.
			hr.Enqueued--
			w.fx.enqueued--
		}
	default:
		return fmt.Errorf("complete %s: invalid final state %v", it.URL, c.State)
	}
	r := urlRecord{State: c.State, Depth: it.Depth, Attempts: attempts}
	if !c.RecrawlAt.IsZero() && c.State == StateDone {
		r.Recrawl = c.RecrawlAt.UnixNano()
	}
	if err := urls.Put(itemKey, r.marshal()); err != nil {
		return err
	}
	if !c.RecrawlAt.IsZero() && c.State == StateDone {
		w.seq++
		e := entry{URL: it.URL, Parent: it.Parent, Depth: it.Depth}
		v := marshalTimed(it.Host, &e)
		if err := w.btx.Bucket(bucketRecrawl).Put(delayedKey(c.RecrawlAt, w.seq), v); err != nil {
			return err
		}
		if w.fx.recrawl.IsZero() || c.RecrawlAt.Before(w.fx.recrawl) {
			w.fx.recrawl = c.RecrawlAt
		}
	}
	switch {
	case rec == nil:
		return nil
	case c.KeepBody:
		return w.tx.ReplaceRecord(c.Page.URL, rec)
	}
	return w.tx.PutRecord(c.Page.URL, rec, c.Body)
}

// putSeen adds a URL to the seen-set with its first record. (A link over
// a host's budget is not added: raising the budget lets it in later.)
func (w *txWriter) putSeen(key []byte, r urlRecord) error {
	if err := w.btx.Bucket(bucketSeen).Put(key, r.marshal()); err != nil {
		return err
	}
	if w.seen != nil {
		w.seen.add(key)
	}
	return nil
}

// enqueue adds l, whose seen key is key, unless its URL was seen before.
func (w *txWriter) enqueue(l Link, key []byte) (bool, error) {
	if l.Refresh || l.Revisit {
		if v := w.lookupSeen(key); v != nil {
			return w.refresh(l, key, v)
		}
		if l.Revisit {
			return false, nil
		}
	}
	if w.seen != nil && w.seen.has(key) || w.isStaged(key) {
		return false, nil
	}
	if w.lookupSeen(key) != nil {
		if w.seen != nil {
			w.seen.add(key)
		}
		return false, nil
	}
	if l.Depth > 0 && w.overBudget(l.Host) {
		w.fx.counts.Trapped++
		return false, nil
	}
	if l.Disallowed || w.staging[l.Host] {
		return true, w.stage(l, key)
	}
	if err := w.putSeen(key, urlRecord{State: StateQueued, Depth: l.Depth}); err != nil {
		return false, err
	}
	w.seq++
	e := entry{URL: l.URL, Parent: l.Parent, Depth: l.Depth, Hops: l.Hops, Origin: l.Origin, Via: l.Via}
	if err := w.queue().add(l.Host, l.Depth, w.seq, e.marshal(l.Host)); err != nil {
		return false, err
	}
	w.countNew(l.Host)
	w.fx.queued[l.Host]++
	return true, nil
}

// countNew counts a URL queued for the first time for host: its totals,
// the crawl's budget and Counts.Queued (the queue entry's in-memory
// count, fx.queued, is the caller's: a staged URL has none yet).
func (w *txWriter) countNew(host string) {
	hr := w.fx.host(host)
	hr.Queued++
	hr.Enqueued++
	w.fx.enqueued++
	w.fx.counts.Queued++
}

// overBudget reports whether a new URL of host would exceed its budget
// (Options.MaxPerHost, or its HostLimits.MaxPerHost) or the crawl's
// (Options.MaxURLs). Seeds and their redirect chains are exempt (the
// caller's check). Discovered links count, redirect targets among them:
// otherwise a host that redirects every page to a new URL gets
// max_redirects+1 fetches for each URL of its budget.
func (w *txWriter) overBudget(host string) bool {
	if w.maxURLs > 0 && w.enqueued+w.fx.enqueued >= w.maxURLs {
		w.fx.overBudget = true
		return true
	}
	limit := w.maxPerHost
	if l, ok := w.hostLimits[host]; ok && l.MaxPerHost > 0 {
		limit = int64(l.MaxPerHost)
	}
	if limit <= 0 {
		return false
	}
	total := unmarshalHostRecord(w.lookupHost(host)).Enqueued
	if d := w.fx.hosts[host]; d != nil {
		total += d.Enqueued
	}
	return total >= limit
}

// refresh queues l, whose seen record is v, again if it is done, or with
// l.Revisit failed or disallowed too (see Link.Refresh and Link.Revisit).
// Its recrawl entry, if it has one, stays until due, when promote drops it
// (urlRecord.recrawlCurrent).
func (w *txWriter) refresh(l Link, key, v []byte) (bool, error) {
	r, err := unmarshalURLRecord(v)
	if err != nil {
		return false, nil
	}
	switch {
	case r.State == StateDone:
		w.fx.counts.Done--
		w.fx.host(l.Host).Done--
	case l.Revisit && r.State == StateFailed:
		w.fx.counts.Failed--
		w.fx.host(l.Host).Failed--
	case l.Revisit && r.State == StateDisallowed:
		w.fx.counts.Disallowed--
		w.fx.host(l.Host).Disallowed--
	default:
		return false, nil
	}
	// It comes due now (Item.Due), or when its recrawl did if that is
	// past and promote has not queued it yet (it lags after a restart,
	// and races the commits): the entry is dropped when promoted.
	due := w.now
	if r.State == StateDone && r.Recrawl > 0 {
		if at := time.Unix(0, r.Recrawl); at.Before(due) {
			due = at
		}
	}
	r.State, r.Attempts, r.Recrawl = StateQueued, 0, recrawlNone
	if err := w.btx.Bucket(bucketSeen).Put(key, r.marshal()); err != nil {
		return false, err
	}
	w.seq++
	e := entry{URL: l.URL, Parent: l.Parent, Depth: r.Depth, Revisit: true, Due: dueMillis(due)}
	if err := w.queue().add(l.Host, queueRank(r.Depth, true), w.seq, e.marshal(l.Host)); err != nil {
		return false, err
	}
	w.fx.host(l.Host).Queued++
	w.fx.queued[l.Host]++
	w.fx.counts.Queued++
	return true, nil
}

// finish writes the per-host totals and counters.
func (w *txWriter) finish() error {
	if w.q != nil {
		if err := w.q.flush(); err != nil {
			return err
		}
	}
	hb := w.btx.Bucket(bucketHosts)
	// In key order: a transaction can touch thousands of hosts, and
	// neighbouring keys share their leaf.
	for _, key := range slices.Sorted(maps.Keys(w.fx.hosts)) {
		d := w.fx.hosts[key]
		r := unmarshalHostRecord(w.lookupHost(key))
		r.add(*d)
		if c, ok := w.paces[key]; ok {
			c.apply(&r, w.now)
			delete(w.paces, key)
		}
		if err := hb.Put([]byte(key), r.marshal()); err != nil {
			return err
		}
	}
	for key, c := range w.paces { // hosts without totals to change
		v := w.lookupHost(key)
		if v == nil {
			continue // never queued a URL: no host to keep a pace for
		}
		r := unmarshalHostRecord(v)
		c.apply(&r, w.now)
		if err := hb.Put([]byte(key), r.marshal()); err != nil {
			return err
		}
	}
	m := w.btx.Bucket(bucketMeta)
	for _, c := range []struct {
		key []byte
		n   int64
	}{{keyDone, w.fx.counts.Done}, {keyFailed, w.fx.counts.Failed}, {keyDisallowed, w.fx.counts.Disallowed},
		{keyTrapped, w.fx.counts.Trapped}} {
		if c.n != 0 {
			if err := m.Put(c.key, putU64(uint64(int64(u64(m.Get(c.key)))+c.n))); err != nil {
				return err
			}
		}
	}
	return m.Put(keySeq, putU64(w.seq))
}
