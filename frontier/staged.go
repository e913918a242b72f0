package frontier

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"crawler/store"
)

// Staging: the write-optimised front of the host queues and the seen-set.
//
// A new URL costs two B+tree inserts: its record in the seen bucket and
// its entry at the end of its host's queue. Both keys begin with the
// host, so a page's links to its own host land on a leaf or two, but a
// transaction holding links to thousands of hosts, one or two each (the
// cross-host links of many pages), dirties two leaves per link: bbolt
// copies, splits and rewrites each one at commit. That write amplification
// bounded enqueue (issue 7's frontier benchmark: 10,000 hosts, 25% of
// links cross-host, the writer's commit and B+tree time were most of it).
//
// So a transaction with links to more than stageFanout sparse hosts
// (fewer than stageSparse links in it each) appends their links to the
// staged bucket instead, under the next sequence number: append-only,
// a leaf per ~40 URLs. The writer later merges everything staged, in key
// order, a range of hosts per transaction (mergeChunk), so each leaf of
// the seen bucket and each host queue's tail is rewritten once per merge
// instead of once per link. That doubled the benchmark's enqueue rate.
// It merges when stageMax URLs are staged, when the oldest is stageAge
// old, when the dispatcher has nothing to hand out (a host whose only URLs
// are staged is not ready), when the queue closes, and at Open (what a
// crash left staged).
//
// A crawl of a few hundred hosts never has that many sparse ones, but its
// random seen keys still put each new link on a seen leaf of its own
// within its host's range. So the new links of a host whose queue holds
// URLs for stageDrain or more at its recent pace are staged too, whatever
// the number of hosts (stageHosts): they go behind URLs that keep the
// host busy until the merge. A host that goes through its queue faster
// (a crawl of a few hosts with no delay) inserts them, and never waits
// for a merge for want of URLs. On issue 7's many-hosts benchmark (200
// hosts) that cut bbolt's page writes from 3.6 to 3.0 a crawled page and
// the milliseconds per commit by 13-16 %; the throughput benchmark (20
// hosts with no delay) stages nothing.
//
// A staged URL is queued in every sense but the host queue's order on
// disk: it is in the seen-set for the writer's dedup (Queue.staged), in
// its host's totals and in Counts.Queued, and readers of the file find it
// (seenSet.get, ReadQueue, Check). Its sequence number is the one a direct
// insert would have used, so the merge puts it exactly where it would have
// been in its host queue; until then its host may hand out a URL found
// later at a greater depth first.
//
// Links robots.txt disallows are always staged, whatever the number of
// hosts: each is a new seen record and nothing else, recorded
// so that `crawler urls` and the counters show it and so that it is not
// counted again, and most pages link to a few of their own (a login or
// cart URL that carries the page it came from). Inserted directly, each
// dirtied a leaf of the seen bucket of its own. On issue 7's many-hosts
// benchmark (200 hosts, a disallowed link per page) staging them cut
// bbolt's page writes from 3.8 to 3.1 a crawled page and the daemon's CPU
// by about 8 %. A staged disallowed link makes no host ready, so the
// dispatcher does not ask for a merge for it (stagedCount).
//
// A staged value is: seen key (seenKeyLen bytes), depth (uvarint), host
// key, 0x00, and the entry marshalled for that host (appendStaged), which
// is empty for a disallowed link (a marshalled entry never is). Its seen
// record is implied: queued (disallowed when the entry is empty), at that
// depth, no attempts.
var bucketStaged = []byte("staged") // seq(8) -> seenKey depth host 0x00 entry

const (
	// stageFanout is how many sparse hosts a transaction may have before
	// their links are staged: below it, the leaves saved are too few to
	// pay for writing the URLs twice (a crawl of a few hundred hosts
	// dirties those hosts' leaves in every commit anyway).
	stageFanout = 256
	// stageSparse: a host with fewer links than this in such a
	// transaction is sparse.
	stageSparse = 4
	// stageDrain: a host whose queue holds URLs for this long at its
	// recent pace (Queue.drainLocked) has its new links staged whatever
	// the number of hosts. They go to the end of its queue, behind URLs
	// that keep it busy until the merge (stageAge at the latest), and the
	// transaction rewrites no leaf of its seen-set or tail of its queue
	// for them.
	stageDrain = stageAge
	// stageDense: a host with this many links in a transaction has them
	// inserted directly, backlog or not (a sitemap, an index page): they
	// rewrite few leaves each.
	stageDense = 256
	// stageMax is how many staged URLs make the writer merge at once. It
	// bounds Queue.staged (about 50 bytes a URL), the staged bucket (~15
	// MB) and the passes a merge makes over it (one per mergeChunk).
	stageMax = 100_000
	// stageAge is the longest a URL stays staged while the crawl has
	// other work.
	stageAge = 5 * time.Second
)

// linksPerHost counts the links of batch by host, for stageHosts.
func linksPerHost(batch []*op) map[string]int {
	perHost := make(map[string]int)
	for _, o := range batch {
		for _, l := range o.links {
			perHost[l.Host]++
		}
		if o.c != nil {
			for _, l := range o.c.Links {
				perHost[l.Host]++
			}
		}
	}
	return perHost
}

// stageHosts returns the hosts whose new links a batch with perHost
// links a host (linksPerHost) stages, nil for none: those with fewer than
// stageSparse links in it, when there are more than stageFanout of them;
// and, whatever their number, those with fewer than stageDense links in
// it whose queue holds stageDrain's worth of URLs or more (drain says how
// long it takes to hand them out).
func stageHosts(perHost map[string]int, drain func(host string) time.Duration) map[string]bool {
	var staged map[string]bool
	add := func(h string) {
		if staged == nil {
			staged = make(map[string]bool)
		}
		staged[h] = true
	}
	sparse := 0
	for h, n := range perHost {
		if n < stageSparse {
			sparse++
		}
		if n < stageDense && drain(h) >= stageDrain {
			add(h)
		}
	}
	if sparse > stageFanout {
		for h, n := range perHost {
			if n < stageSparse {
				add(h)
			}
		}
	}
	return staged
}

// isStaged reports whether key is staged: committed (Queue.staged) or in
// this transaction.
func (w *txWriter) isStaged(key []byte) bool {
	k := [seenKeyLen]byte(key)
	if _, ok := w.staged[k]; ok {
		return true
	}
	_, ok := w.fx.stagedSet[k]
	return ok
}

// stage appends the new URL of l, whose seen key is key, to the staged
// bucket, and counts it queued, or disallowed, as enqueue does.
func (w *txWriter) stage(l Link, key []byte) error {
	if w.stagedBucket == nil {
		b, err := w.btx.CreateBucketIfNotExists(bucketStaged)
		if err != nil {
			return err
		}
		b.FillPercent = 1 // append-only
		w.stagedBucket = b
	}
	w.seq++
	var raw []byte // none for a disallowed link
	if !l.Disallowed {
		e := entry{URL: l.URL, Parent: l.Parent, Depth: l.Depth, Hops: l.Hops, Origin: l.Origin, Via: l.Via}
		raw = e.marshal(l.Host)
	}
	if err := w.stagedBucket.Put(putU64(w.seq), appendStaged(nil, key, l.Depth, l.Host, raw)); err != nil {
		return err
	}
	if w.fx.stagedSet == nil {
		w.fx.stagedSet = make(map[[seenKeyLen]byte]struct{})
	}
	w.fx.stagedSet[[seenKeyLen]byte(key)] = struct{}{}
	if w.seen != nil {
		w.seen.add(key)
	}
	if l.Disallowed {
		w.fx.host(l.Host).Disallowed++
		w.fx.counts.Disallowed++
		return nil
	}
	w.fx.stagedQueued++
	w.countNew(l.Host)
	return nil
}

// stagedURL is a staged value decoded.
type stagedURL struct {
	key   []byte // seen key
	depth int
	host  string
	raw   []byte // the entry as stored
	e     *entry // decoded by whoever needs it; nil from splitStaged
}

// appendStaged appends the staged value of the URL with seen key key, at
// depth, of host, whose entry marshalled for host is e.
func appendStaged(dst, key []byte, depth int, host string, e []byte) []byte {
	dst = append(dst, key...)
	dst = binary.AppendUvarint(dst, uint64(depth))
	dst = append(append(dst, host...), 0)
	return append(dst, e...)
}

// stagedParts is a staged value split, nothing copied.
type stagedParts struct {
	key   []byte // seen key
	depth int
	host  []byte
	raw   []byte // the entry as stored
}

// splitParts splits a staged value into its parts without decoding the
// entry. On error the host, and the entry, are set when they read.
func splitParts(v []byte) (stagedParts, error) {
	if len(v) < seenKeyLen {
		return stagedParts{}, ErrCorrupt
	}
	depth, n := binary.Uvarint(v[seenKeyLen:])
	if n <= 0 {
		return stagedParts{}, ErrCorrupt
	}
	rest := v[seenKeyLen+n:]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 {
		return stagedParts{}, ErrCorrupt
	}
	if depth > 1<<31 {
		return stagedParts{host: rest[:i], raw: rest[i+1:]}, ErrCorrupt
	}
	return stagedParts{key: v[:seenKeyLen], depth: int(depth), host: rest[:i], raw: rest[i+1:]}, nil
}

// splitStaged splits a staged value into its parts without decoding the
// entry (what a merge needs: an entry that does not decode reaches its
// host queue, where the dispatcher sets it aside as any other). On error
// the host is set when it reads.
func splitStaged(v []byte) (stagedURL, error) {
	p, err := splitParts(v)
	return p.url(), err
}

// url returns p with its host copied out.
func (p stagedParts) url() stagedURL {
	return stagedURL{key: p.key, depth: p.depth, host: string(p.host), raw: p.raw}
}

// disallowed reports whether s is a link robots.txt disallows: a seen
// record to write, no queue entry.
func (s stagedURL) disallowed() bool { return len(s.raw) == 0 }

// record is the seen record a staged URL implies.
func (s stagedURL) record() urlRecord {
	if s.disallowed() {
		return urlRecord{State: StateDisallowed, Depth: s.depth}
	}
	return urlRecord{State: StateQueued, Depth: s.depth}
}

// mergeChunk is about how many staged URLs one merge transaction moves
// (4,096: in the 1M-URL benchmark, enqueue within 5% of 16,384's and a
// peak RSS of 378 MB against 530). A merge goes by ranges of the seen key's first byte, and a seen key
// begins with a hash of the URL's authority, so each transaction holds the
// URLs of its own hosts: every leaf of the seen bucket and every host
// queue's tail is still rewritten once per merge, while one transaction's
// dirty pages (bbolt's page buffers, ~4 KiB each) stay those of an
// ordinary commit. Nothing staged is copied out of the file: each
// transaction reads the staged values its range holds where bbolt maps
// them.
const mergeChunk = 4096

// keyStagedMark is the meta key holding, while a merge is under way, the
// last seen-key first byte it has merged: staged URLs whose keys begin
// with a byte up to it are in the host queues already (a merge cut short
// by a crash), and readers skip them.
var keyStagedMark = []byte("staged-merged")

// mergedBefore reports whether the staged URL with seen key key was moved
// by a merge still under way, whose mark is mark (nil: none).
func mergedBefore(key, mark []byte) bool { return len(mark) == 1 && key[0] <= mark[0] }

// forStaged calls fn for every staged value of btx that a merge under way
// has not moved yet, with its sequence number and its parts (splitStaged:
// the entry is not decoded); a value that does not split comes with the
// error (and its host, when that reads).
func forStaged(btx *bolt.Tx, fn func(k []byte, s stagedURL, err error)) {
	forStagedFrom(btx, nil, func(k []byte, p stagedParts, err error) { fn(k, p.url(), err) })
}

// forStagedFrom is forStaged for the values after the sequence number
// after (all when nil), their parts not copied.
func forStagedFrom(btx *bolt.Tx, after []byte, fn func(k []byte, p stagedParts, err error)) {
	k, v, c := seekAfter(btx.Bucket(bucketStaged), nil, after)
	if c == nil {
		return
	}
	mark := btx.Bucket(bucketMeta).Get(keyStagedMark)
	for ; k != nil; k, v = c.Next() {
		p, err := splitParts(v)
		switch {
		case err == nil && len(k) != 8:
			err = ErrCorrupt
		case err == nil && mergedBefore(p.key, mark):
			continue
		}
		fn(k, p, err)
	}
}

// mergeRange is the seen keys one merge transaction moves: those whose
// first byte is in [lo, hi].
type mergeRange struct{ lo, hi byte }

// planMerge counts the staged URLs not yet merged by the first byte of
// their seen keys and cuts them into ranges of at least mergeChunk URLs
// (the last takes the rest); it also returns the keys of staged values
// that do not decode.
func planMerge(btx *bolt.Tx) (ranges []mergeRange, damaged [][]byte) {
	var count [256]int
	forStaged(btx, func(k []byte, s stagedURL, err error) {
		if err != nil {
			damaged = append(damaged, bytes.Clone(k))
			return
		}
		count[s.key[0]]++
	})
	lo, n := 0, 0
	if mark := btx.Bucket(bucketMeta).Get(keyStagedMark); len(mark) == 1 {
		lo = int(mark[0]) + 1
	}
	for b := lo; b < 256; b++ {
		n += count[b]
		if n >= mergeChunk || b == 255 && n > 0 {
			ranges = append(ranges, mergeRange{byte(lo), byte(b)})
			lo, n = b+1, 0
		}
	}
	return ranges, damaged
}

// mergeStaged moves every staged URL into the seen bucket and its host
// queue, a range of seen keys (planMerge) per transaction, and deletes
// the staged bucket with the last. A staged value whose key, depth or
// host does not decode is set aside, and uncounted from its host when its
// host is readable. After each commit it calls applied with what the
// transaction changed and the seen keys it moved (nil at Open, where
// nothing is in memory yet). It returns how many URLs it moved.
func mergeStaged(db *store.DB, log *slog.Logger, applied func(fx *effects, moved [][seenKeyLen]byte)) (int, error) {
	var ranges []mergeRange
	var damaged [][]byte
	err := db.View(func(tx *store.Tx) error {
		ranges, damaged = planMerge(tx.Bolt())
		return nil
	})
	if err != nil || len(ranges)+len(damaged) == 0 {
		return 0, err
	}
	if len(ranges) == 0 { // only damaged values: one transaction sets them aside
		ranges = []mergeRange{{1, 0}}
	}
	total := 0
	for i, r := range ranges {
		fx := &effects{hosts: make(map[string]*hostRecord), queued: make(map[string]int)}
		var aside []string
		var moved [][seenKeyLen]byte
		err := db.Update(func(tx *store.Tx) error {
			w := &txWriter{tx: tx, btx: tx.Bolt(), fx: fx}
			w.seq = u64(w.btx.Bucket(bucketMeta).Get(keySeq))
			if i == 0 {
				if err := w.setAsideStaged(damaged); err != nil {
					return err
				}
			}
			var err error
			if moved, err = w.moveStaged(r, i == len(ranges)-1); err != nil {
				return err
			}
			aside = w.aside
			return w.finish()
		})
		if err != nil {
			return total, err
		}
		for _, a := range aside {
			log.Error("frontier: entry does not decode; set it aside", "entry", a)
		}
		total += len(moved)
		if applied != nil {
			applied(fx, moved)
		}
	}
	return total, nil
}

// moveStaged puts the staged URLs of range r into the seen bucket and the
// host queues, each bucket's keys in order, and records how far the merge
// got: the staged bucket goes with the last range. It returns the seen
// keys it moved.
func (w *txWriter) moveStaged(r mergeRange, last bool) ([][seenKeyLen]byte, error) {
	if w.btx.Bucket(bucketStaged) == nil {
		return nil, nil
	}
	type kv struct{ k, v []byte }
	type queued struct {
		k []byte // its queue key: where it goes in its host's queue
		s stagedURL
	}
	var seen []kv
	var queue []queued
	var moved [][seenKeyLen]byte
	// bbolt keeps what Put is given for the transaction's life, and copies
	// values still in the map before it remaps: the staged values are
	// read in place.
	forStaged(w.btx, func(k []byte, s stagedURL, err error) {
		if err != nil || s.key[0] < r.lo || s.key[0] > r.hi {
			return // set aside by setAsideStaged, or another range's
		}
		seen = append(seen, kv{s.key, s.record().marshal()})
		moved = append(moved, [seenKeyLen]byte(s.key))
		if s.disallowed() {
			return
		}
		queue = append(queue, queued{queueKey(s.host, s.depth, u64(k)), s})
		w.fx.queued[s.host]++
	})
	slices.SortFunc(seen, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	slices.SortFunc(queue, func(a, b queued) int { return bytes.Compare(a.k, b.k) })
	sb := w.btx.Bucket(bucketSeen)
	for _, p := range seen {
		if err := sb.Put(p.k, p.v); err != nil {
			return nil, err
		}
	}
	for _, p := range queue {
		if err := w.queue().add(p.s.host, p.s.depth, u64(p.k[len(p.s.host)+5:]), p.s.raw); err != nil {
			return nil, err
		}
	}
	m := w.btx.Bucket(bucketMeta)
	if !last {
		return moved, m.Put(keyStagedMark, []byte{r.hi})
	}
	if err := m.Delete(keyStagedMark); err != nil {
		return nil, err
	}
	return moved, w.btx.DeleteBucket(bucketStaged)
}

// setAsideStaged moves the staged values of keys, which do not decode,
// into bucketAside, uncounting each from its host when the host reads.
func (w *txWriter) setAsideStaged(keys [][]byte) error {
	sb := w.btx.Bucket(bucketStaged)
	for _, k := range keys {
		v := sb.Get(k)
		if v == nil {
			continue
		}
		// A value whose host does not read is counted queued: most are.
		if s, _ := splitStaged(v); s.host != "" && s.disallowed() {
			w.fx.host(s.host).Disallowed--
			w.fx.counts.Disallowed--
		} else {
			if s.host != "" {
				w.fx.host(s.host).Queued--
			}
			w.fx.counts.Queued--
		}
		if err := putAside(w.btx, bucketStaged, sb, k, v); err != nil {
			return err
		}
		w.aside = append(w.aside, fmt.Sprintf("%s entry %x", bucketStaged, k))
	}
	return nil
}

// mergeStagedFile merges what a stopped crawl left staged (Open).
func mergeStagedFile(db *store.DB, log *slog.Logger) error {
	n, err := mergeStaged(db, log, nil)
	if err != nil {
		return fmt.Errorf("frontier: merge staged URLs: %w", err)
	}
	if n > 0 {
		log.Info("frontier: merged the URLs the last run left staged", "urls", n)
	}
	return nil
}

// merge moves everything staged into the host queues (writer goroutine
// only); each chunk's hosts become ready as it commits. Its failure fails
// the queue, as a commit's does.
func (q *Queue) merge() error {
	if len(q.staged) == 0 {
		return nil
	}
	start := time.Now()
	n, err := mergeStaged(q.db, q.log, func(fx *effects, moved [][seenKeyLen]byte) {
		for _, k := range moved {
			delete(q.staged, k)
		}
		q.mu.Lock()
		for _, n := range fx.queued {
			q.stagedCount -= n
		}
		q.mu.Unlock()
		q.applyEffects(fx, 0)
	})
	if q.opts.OnCommit != nil {
		q.opts.OnCommit(0, time.Since(start))
	}
	if err != nil {
		err = fmt.Errorf("frontier merge staged URLs: %w", err)
		q.fail(err)
		return err
	}
	q.log.Debug("frontier: merged staged URLs into their host queues", "urls", n, "took", time.Since(start))
	clear(q.staged) // all merged (and a key whose value was set aside)
	q.stagedSince = time.Time{}
	q.mu.Lock()
	q.stagedCount = 0
	q.mu.Unlock()
	return nil
}

// noteStaged records what a committed transaction staged (writer
// goroutine only).
func (q *Queue) noteStaged(fx *effects) {
	if len(fx.stagedSet) == 0 {
		return
	}
	if q.staged == nil {
		q.staged = make(map[[seenKeyLen]byte]struct{}, len(fx.stagedSet))
	}
	for k := range fx.stagedSet {
		q.staged[k] = struct{}{}
	}
	if q.stagedSince.IsZero() {
		q.stagedSince = time.Now()
	}
	q.mu.Lock()
	q.stagedCount += fx.stagedQueued
	q.wakeLocked() // a dispatcher with nothing to offer asks for a merge
	q.mu.Unlock()
}

// mergeDue says how long until the writer must merge what is staged: 0
// for now, < 0 when nothing is staged (writer goroutine only).
func (q *Queue) mergeDue() time.Duration {
	switch {
	case len(q.staged) == 0:
		return -1
	case len(q.staged) >= stageMax:
		return 0
	}
	return max(stageAge-time.Since(q.stagedSince), 0)
}

// starveLocked asks the writer to merge at once: the dispatcher has no
// host to offer while URLs are staged (disallowed links do not count:
// merging them makes no host ready).
func (q *Queue) starveLocked() {
	if q.stagedCount == 0 {
		return
	}
	select {
	case q.starve <- struct{}{}:
	default:
	}
}
