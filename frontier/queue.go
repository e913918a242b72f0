// Package frontier decides which URL is fetched next and remembers every
// URL the crawl has seen. It is on disk and is the truth: per-host queues,
// the seen-set and URL states live in bbolt, in the store's file.
//
// Scheduling is politeness: a URL is released only when its host may be
// fetched now (a min-heap of per-host next-allowed times, one timer) and
// has a free concurrency slot. Workers never sleep holding a slot while
// another host is ready.
//
// Durability: a finished URL, its page record and the links it yielded
// commit in one transaction on one writer goroutine (batched across
// pages). A URL handed to a worker stays queued on disk until that commit,
// so a kill -9 at any instant loses nothing, and at start-up everything
// that was in flight is simply queued again.
package frontier

import (
	"bytes"
	"container/heap"
	"context"

	"fmt"
	"log/slog"
	"sync"
	"time"

	"crawler/store"
)

// Options configures a Queue.
type Options struct {
	// PerHostConcurrency is the most URLs of one host in flight at once.
	// Default 2; zero means the default.
	PerHostConcurrency int

	// PerHostDelay is the least time between two request starts on one
	// host. Zero means no delay (default 0).
	PerHostDelay time.Duration

	// MaxKeptDelay caps the delay a restart keeps for a host (Pace.Delay),
	// which the last process may have set under a higher cap: the crawl's
	// own cap on the delays it sets. A host's cap is never below its base
	// delay. Default 0: no cap; < 0: no delay above the base is kept.
	MaxKeptDelay time.Duration

	// ColdStart lets each host's first request go as soon as Open
	// returns, as if no process had crawled before this one. Default
	// false: when the file has held a URL before (a restart), a host's
	// first start waits its delay after Open, so that the gap between two
	// requests on a host holds across the restart (see hostLocked); a
	// file that never held one starts cold anyway.
	ColdStart bool

	// HostLimits overrides PerHostDelay and PerHostConcurrency for the
	// hosts it holds, by host key. Default none.
	HostLimits map[string]HostLimits

	// KeyMode names how callers make host keys (Link.Host): "host" for
	// host[:port], or another grouping (fetch.politeness_key), and HostKey
	// makes a URL's key that way. Open records the mode in the file; when
	// the file's queued URLs were keyed another way (a file without a
	// mode was keyed by host), Open re-keys them with HostKey first (see
	// rekey). Default "": keys are the callers' business, nothing is
	// checked or recorded.
	KeyMode string
	HostKey func(url string) string

	// MaxLeased caps the URLs leased at once, in every stage from release
	// to commit. It bounds what a crash can cause to be fetched again, and
	// makes a slow writer slow the fetchers. Zero means no cap (default 0).
	MaxLeased int

	// MaxPerHost is the most URLs ever queued for one host (a crawl-trap
	// budget); links beyond it are dropped and counted in Counts.Trapped.
	// Redirect targets count; seeds and a seed's redirect chain (depth 0)
	// do not.
	// Zero means no budget (default 0). HostLimits.MaxPerHost replaces it
	// for a host.
	MaxPerHost int

	// MaxURLs is the most URLs ever queued over all hosts (the crawl's
	// budget), counted as MaxPerHost is; links beyond it are dropped and
	// counted in Counts.Trapped. Zero means no budget (default 0).
	MaxURLs int

	// Window is how many queued entries of one host are held in memory.
	// Default 8 (at least PerHostConcurrency); zero means the default.
	Window int

	// WriteQueue is the capacity of the writer's input: when the store
	// falls this far behind, Commit blocks and the pipeline slows.
	// Default 256; zero means the default.
	WriteQueue int

	// MaxBatch is the most operations committed in one transaction.
	// Default 512; zero means the default.
	MaxBatch int

	// CommitWait is the longest the writer holds a small batch open for
	// more completions, so that one fsync covers more pages. It waits only
	// while leased URLs are still being fetched or parsed, and commits as
	// soon as the batch holds CommitBatch operations or every leased URL
	// has reached it: an Add with nothing in flight commits at once.
	// Default 2ms; zero means the default, a negative value never waits.
	CommitWait time.Duration

	// CommitBatch is the batch size CommitWait waits for. Default a
	// quarter of MaxLeased, at least 1 (no wait without a lease cap);
	// zero means the default.
	CommitBatch int

	// OnCommit, when set, is called after every write transaction with
	// the operations it committed and how long it took (for metrics); a
	// merge of staged URLs (staged.go) reports 0 operations and the time
	// of all its transactions.
	OnCommit func(ops int, took time.Duration)

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Logger receives state changes. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.PerHostConcurrency <= 0 {
		o.PerHostConcurrency = 2
	}
	if o.Window <= 0 {
		o.Window = 8
	}
	if o.Window < o.PerHostConcurrency {
		o.Window = o.PerHostConcurrency
	}
	for _, l := range o.HostLimits {
		o.Window = max(o.Window, l.Concurrency)
	}
	if o.WriteQueue <= 0 {
		o.WriteQueue = 256
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	if o.CommitWait == 0 {
		o.CommitWait = 2 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Queue is the crawl frontier. Its methods are safe for concurrent use.
type Queue struct {
	db   *store.DB
	opts Options
	log  *slog.Logger

	holdMu sync.Mutex // serializes Hold and Unhold; taken before mu

	mu     sync.Mutex
	hosts  map[string]*host
	ready  hostHeap // hosts with work and a free slot, by next start
	idle   hostHeap // hosts with nothing to do but wait out their clock
	counts Counts
	seq    uint64
	paused bool // no URL is released while set (disk guard)
	// The operator's holds (hold.go): as placed, and applied: the end of
	// the whole crawl's (zero when none) and of each held host key's.
	holdList  []Hold
	crawlHold time.Time
	held      map[string]time.Time
	pending   int       // operations sent to the writer and not yet applied
	leases    int       // items picked and not yet committed or put back
	delayed   time.Time // earliest retry time on disk; zero when none
	recrawl   time.Time // earliest recrawl time on disk; zero when none
	// enqueued counts the URLs ever queued, over all hosts (the sum of
	// their hostRecord.Enqueued): what Options.MaxURLs bounds.
	enqueued   int64
	overBudget bool // MaxURLs has dropped a link since Open (logged once)

	wake   chan struct{} // nudges the dispatcher; capacity 1
	pause  chan struct{} // tells a dispatcher holding a URL to put it back; capacity 1
	nudge  chan struct{} // nudges the writer about retries; capacity 1
	out    chan *Item    // dispatcher -> workers, unbuffered
	writes chan *op      // workers -> writer, bounded
	unsent chan struct{} // a producer gave up before its op reached the writer; capacity 1
	stop   chan struct{} // closed by Close
	closed bool          // Close was called, under mu: send refuses new operations
	failed chan struct{} // closed when the writer fails
	err    error         // why the writer failed, under mu
	seen   *seenCache    // seen keys the writer knows; writer goroutine only
	starve chan struct{} // the dispatcher asks the writer to merge what is staged; capacity 1

	// Staging (staged.go): the seen keys of the URLs staged and not yet
	// merged, and when the oldest was staged (writer goroutine only); and
	// their number, under mu.
	staged      map[[seenKeyLen]byte]struct{}
	stagedSince time.Time
	stagedCount int

	corrupt map[string]struct{} // queue keys that do not decode, until the writer sets them aside
	// opened is when Open ran. Unless cold, no host's first start in this
	// process is before opened plus its delay (see hostLocked). cold is
	// Options.ColdStart, or set by load for a file that never held a URL.
	opened time.Time
	cold   bool
	// startDelays holds delays read from the file (load) or given to
	// SetDelay for hosts without state yet, while the restart hold still
	// runs for them: a host first seen before opened plus that delay
	// starts with it (hostLocked). Dropped once startUntil, the latest
	// such end, has passed.
	startDelays map[string]time.Duration
	startUntil  time.Time
	// restored is each host's pace as load read it, until
	// RestoredPaces; paces is what the next commit writes (SetDelay,
	// Pause).
	restored map[string]Pace
	paces    map[string]paceChange
	wg       sync.WaitGroup
	once     sync.Once
}

// Counts are the frontier's totals.
type Counts struct {
	Queued     int64 // waiting, retries included, in-flight excluded
	InFlight   int64 // leased to workers, not yet committed
	Done       int64
	Failed     int64
	Disallowed int64
	Trapped    int64 // links dropped as crawler traps (budget, repeats, limits)
	Hosts      int64 // hosts with queued or in-flight URLs
}

// Open loads the frontier kept in db and starts its dispatcher and writer.
// Every URL that was in flight when the process last stopped is queued.
func Open(db *store.DB, opts Options) (*Queue, error) {
	opts.setDefaults()
	q := &Queue{
		db:     db,
		opts:   opts,
		log:    opts.Logger,
		hosts:  make(map[string]*host),
		ready:  hostHeap{slot: readySlot},
		idle:   hostHeap{slot: idleSlot},
		wake:   make(chan struct{}, 1),
		pause:  make(chan struct{}, 1),
		nudge:  make(chan struct{}, 1),
		out:    make(chan *Item),
		writes: make(chan *op, opts.WriteQueue),
		unsent: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		failed: make(chan struct{}),
		seen:   newSeenCache(),
		starve: make(chan struct{}, 1),
		opened: opts.Now(),
		cold:   opts.ColdStart,
	}
	var older bool // a file from before seen keys
	err := db.Update(func(tx *store.Tx) error {
		older = tx.Bolt().Bucket(bucketURLs) != nil
		return createBuckets(tx)
	})
	if err != nil {
		return nil, err
	}
	if older {
		if err := migrateURLs(db); err != nil {
			return nil, err
		}
	}
	if err := mergeStagedFile(db, opts.Logger); err != nil {
		return nil, err
	}
	if opts.KeyMode != "" {
		if err := rekey(db, opts.KeyMode, opts.HostKey, opts.Logger); err != nil {
			return nil, err
		}
	}
	if err := db.View(q.load); err != nil {
		return nil, err
	}
	q.wg.Add(2)
	go q.dispatch()
	go q.write()
	return q, nil
}

func createBuckets(tx *store.Tx) error {
	for _, name := range [][]byte{bucketSeen, bucketQueue, bucketDelayed, bucketRecrawl, bucketHosts, bucketMeta} {
		if _, err := tx.Bolt().CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// load rebuilds the in-memory state from disk: one pass over the queues.
func (q *Queue) load(tx *store.Tx) error {
	btx := tx.Bolt()
	m := btx.Bucket(bucketMeta)
	q.seq = u64(m.Get(keySeq))
	if q.seq == 0 { // never held a URL: no process crawled from it
		q.cold = true
	}
	q.counts.Done = int64(u64(m.Get(keyDone)))
	q.counts.Failed = int64(u64(m.Get(keyFailed)))
	q.counts.Disallowed = int64(u64(m.Get(keyDisallowed)))
	q.counts.Trapped = int64(u64(m.Get(keyTrapped)))
	// A host's queued total counts its queue entries and its retries; the
	// queue's share is the total less the retries. The totals commit with
	// the entries, so this reads hosts and retries, never the queue itself
	// (a scan of millions of entries, and of every page of the file). Should
	// a count run ahead of the disk, pick trusts the disk.
	retries := make(map[string]int64)
	d := btx.Bucket(bucketDelayed)
	dc := d.Cursor()
	k, v := dc.First()
	if k != nil {
		q.delayed = dueAt(k)
	}
	for ; k != nil; k, v = dc.Next() {
		if i := bytes.IndexByte(v, 0); i >= 0 {
			retries[string(v[:i])]++
		}
		q.counts.Queued++
	}
	now := q.opts.Now()
	err := btx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
		r := unmarshalHostRecord(v)
		q.enqueued += r.Enqueued
		p := r.pace(now)
		if p.Delay > 0 { // before hostLocked makes the host's state
			q.restoreDelayLocked(string(k), p.Delay)
		}
		if n := r.Queued - retries[string(k)]; n > 0 {
			q.hostLocked(string(k)).queued = int(n)
			q.counts.Queued += n
		}
		q.restorePaceLocked(string(k), p, r.Queued > 0)
		return nil
	})
	if err != nil {
		return err
	}
	if k, _ := btx.Bucket(bucketRecrawl).Cursor().First(); k != nil {
		q.recrawl = dueAt(k)
	}
	if err := q.loadHolds(tx); err != nil {
		return err
	}
	for _, h := range q.hosts {
		q.refileReadyLocked(h)
	}
	q.counts.Hosts = int64(len(q.hosts) - q.idle.Len()) // the others are paused with nothing queued
	return nil
}

// hostLocked returns the state of host key, creating it.
//
// A new host's first start is not before the queue's Open plus the host's
// delay: the process before this one (a restart, a crash loop under a
// supervisor) may have sent it a request just before it stopped, and
// nothing on disk says when. So a restart keeps the gap between two
// requests on a host, robots.txt included, at the cost of one delay per
// host at start-up. A file that never held a URL (q.cold) skips it: no
// process crawled from it. A host first seen once its delay after Open has run
// is not held back at all.
func (q *Queue) hostLocked(key string) *host {
	h := q.hosts[key]
	if h == nil {
		h = newHost(key, q.baseDelay(key))
		if d, ok := q.startDelays[key]; ok {
			delete(q.startDelays, key)
			h.delay = max(h.delay, d)
			h.kept = q.keptDelay(key, h.delay) // the file keeps it, or the first commit writes it (restoreDelayLocked)
		}
		if !q.cold {
			h.next = q.opened.Add(h.delay)
		}
		h.held = q.held[key]
		q.hosts[key] = h
	}
	if q.startDelays != nil && !q.opts.Now().Before(q.startUntil) {
		q.startDelays = nil // every release passes here
	}
	return h
}

// HostLimits overrides Options.PerHostDelay, PerHostConcurrency and
// MaxPerHost for one host.
type HostLimits struct {
	Delay       time.Duration // < 0: Options.PerHostDelay
	Concurrency int           // <= 0: Options.PerHostConcurrency
	MaxPerHost  int           // <= 0: Options.MaxPerHost
}

// Limits are what SetLimits changes while the queue runs, each as the
// Options field of the same name.
type Limits struct {
	PerHostConcurrency int
	PerHostDelay       time.Duration
	HostLimits         map[string]HostLimits
	MaxLeased          int
	MaxPerHost         int
	MaxURLs            int
}

// baseDelay is host key's least delay: its HostLimits.Delay, or
// Options.PerHostDelay.
func (q *Queue) baseDelay(key string) time.Duration {
	if l, ok := q.opts.HostLimits[key]; ok && l.Delay >= 0 {
		return l.Delay
	}
	return q.opts.PerHostDelay
}

// concurrency is host key's most URLs in flight: its
// HostLimits.Concurrency, or Options.PerHostConcurrency.
func (q *Queue) concurrency(key string) int {
	if l, ok := q.opts.HostLimits[key]; ok && l.Concurrency > 0 {
		return l.Concurrency
	}
	return q.opts.PerHostConcurrency
}

// refileReadyLocked puts h in the ready heap, at its place, when it has
// work and a free concurrency slot, and takes it out otherwise.
func (q *Queue) refileReadyLocked(h *host) { q.ready.set(h, h.ready(q.concurrency(h.key))) }

// updateLocked re-files h after a change (in the ready heap when it has
// work and a free slot, in the idle heap when it has nothing queued,
// leased or in flight), forgets the idle hosts whose clock has run out,
// and wakes the dispatcher.
func (q *Queue) updateLocked(h *host) {
	q.refileReadyLocked(h)
	q.idle.set(h, h.idle())
	q.forgetLocked(q.opts.Now())
	q.wakeLocked()
}

// forgetLocked forgets the idle hosts whose politeness clock has run out
// by now. A host that gets work again later starts afresh, with the
// default delay until the engine sets its own again (SetDelay, after its
// next fetch or robots.txt check); no earlier start is possible either
// way, since its clock had run out.
//
// The heap may be stale here: applyEffects changes several hosts before it
// re-files each, so a host near the top may have got work, or a later
// start, since it was filed. Such a host is re-filed, never forgotten.
func (q *Queue) forgetLocked(now time.Time) {
	for q.idle.Len() > 0 && !now.Before(q.idle.top().due()) {
		h := heap.Pop(&q.idle).(*host)
		switch {
		case !h.idle():
			// Got work; its own update files it in the ready heap.
		case now.Before(h.due()):
			heap.Push(&q.idle, h)
		default:
			delete(q.hosts, h.key)
		}
	}
}

// dispatch is the scheduler: it hands the URL of the host whose next
// allowed start is earliest to the first free worker.
func (q *Queue) dispatch() {
	defer q.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		it, wait := q.pick()
		if it == nil {
			if wait > 0 {
				timer.Reset(wait)
			}
			select {
			case <-q.wake:
			case <-timer.C:
			case <-q.stop:
				return
			case <-q.failed:
				return
			}
			if wait > 0 && !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			continue
		}
		// A pause asked for while this URL was being picked wins over a
		// worker that is already waiting: select picks at random among
		// ready cases, and a URL must not start after SetPaused(true).
		select {
		case <-q.pause:
			q.unpick(it)
			continue
		default:
		}
		select {
		case q.out <- it: // Next does the hand-over's bookkeeping
		case <-q.pause:
			q.unpick(it) // pick will not release it while paused
		case <-q.stop:
			q.unpick(it)
			return
		case <-q.failed:
			return
		}
	}
}

// pick takes the next URL to release, or says how long until one may be.
// A zero wait with a nil item means nothing is queued.
func (q *Queue) pick() (*Item, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.forgetLocked(q.opts.Now())
	for q.ready.Len() > 0 {
		if q.paused {
			return nil, 0 // SetPaused(false) wakes the dispatcher
		}
		if wait := q.crawlHeldLocked(q.opts.Now()); wait > 0 {
			return nil, wait // so does Unhold
		}
		if q.opts.MaxLeased > 0 && q.leases >= q.opts.MaxLeased {
			return nil, 0 // a commit or requeue wakes the dispatcher
		}
		h := q.ready.top()
		now := q.opts.Now()
		if wait := h.due().Sub(now); wait > 0 {
			return nil, wait
		}
		if len(h.window) == 0 {
			if err := q.refillLocked(h); err != nil {
				q.log.Error("frontier: read host queue", "host", h.key, "err", err)
			}
			if len(h.window) == 0 {
				// The count ran ahead of the disk: trust the disk.
				if extra := h.queued - len(h.leased); extra > 0 {
					q.log.Error("frontier: host's queued count ran ahead of its queue", "host", h.key, "extra", extra)
					q.counts.Queued -= int64(extra)
				}
				h.queued = len(h.leased)
				q.updateLocked(h)
				continue
			}
		}
		it := h.window[0]
		h.window[0] = nil
		h.window = h.window[1:]
		h.leased[string(it.key)] = struct{}{}
		q.leases++
		h.inflight++
		h.starting++
		it.started = false
		it.prevNext = h.next
		h.next = now.Add(h.delay)
		it.reserved = h.next
		it.released = false // a requeued item is picked again
		q.refileReadyLocked(h)
		return it, 0
	}
	if !q.paused && q.crawlHeldLocked(q.opts.Now()) == 0 {
		q.starveLocked() // no host is ready: the staged URLs' hosts may be
	}
	return nil, 0
}

// refillLocked reads the host's next entries from disk into its window,
// skipping those already leased or windowed, up to Window and to the
// entries the host has counted.
func (q *Queue) refillLocked(h *host) error {
	skip := make(map[string]struct{}, len(h.window))
	for _, it := range h.window {
		skip[string(it.key)] = struct{}{}
	}
	prefix := hostPrefix(h.key)
	// Take no more than the host's counted entries (pending): the disk may
	// already hold a commit's entries that applyEffects has yet to count,
	// and one handed out before that took the queued count below zero.
	return q.db.View(func(tx *store.Tx) error {
		c := tx.Bolt().Bucket(bucketQueue).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(h.window) < q.opts.Window && h.pending() > 0; k, v = c.Next() {
			if _, ok := h.leased[string(k)]; ok {
				continue
			}
			if _, ok := skip[string(k)]; ok {
				continue
			}
			e, err := unmarshalEntry(h.key, v)
			if err != nil {
				q.markCorruptLocked(h, k, err)
				continue
			}
			h.window = append(h.window, e.item(h.key, bytes.Clone(k)))
		}
		return nil
	})
}

func (e *entry) item(host string, key []byte) *Item {
	return &Item{URL: e.URL, Host: host, Parent: e.Parent, Depth: e.Depth, Attempts: e.Attempts,
		Hops: e.Hops, Origin: e.Origin, Via: e.Via, Revisit: e.Revisit, key: key}
}

// unpick puts back an item the dispatcher took but never handed out.
func (q *Queue) unpick(it *Item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h := q.hostLocked(it.Host)
	h.inflight--
	h.settleStart(it)
	delete(h.leased, string(it.key))
	q.leases--
	if h.next.Equal(it.reserved) { // no request was made: give the slot back
		h.next = it.prevNext
	}
	h.window = append([]*Item{it}, h.window...)
	q.updateLocked(h)
}

// Next blocks until a URL may be fetched now and returns it, leased to the
// caller. The caller must call Release when its request ends, then Commit
// or Requeue. Once ctx is done Next returns no URL, even one the
// dispatcher offered as ctx ended (select picks at random among ready
// cases): that URL goes back to the front of its queue.
func (q *Queue) Next(ctx context.Context) (*Item, error) {
	select {
	case it := <-q.out:
		if err := ctx.Err(); err != nil {
			q.unpick(it)
			return nil, err
		}
		q.handedOut(it)
		return it, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-q.stop:
		return nil, ErrClosed
	case <-q.failed:
		return nil, q.Err()
	}
}

// handedOut moves it from queued to in flight and restarts its host's
// politeness clock: the worker starts the request now, and that is what
// the delay counts from. The worker does this before Next returns, so
// that its Commit cannot reach the counts first (the dispatcher did it
// after the hand-over, and in flight could go below zero).
func (q *Queue) handedOut(it *Item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.counts.InFlight++
	q.counts.Queued--
	h := q.hosts[it.Host]
	if h == nil {
		return
	}
	if n := q.opts.Now().Add(h.delay); n.After(h.next) {
		if h.next.Equal(it.reserved) {
			it.reserved = n
		}
		h.next = n
		q.refileReadyLocked(h)
	}
}

// Started records that it's request (the first of a redirect chain or of
// a robots.txt fetch) was sent at the instant at: the host's next start is
// at least at plus its delay. A host with a delay is given no other URL
// between handing it out and this call, or the Release or Requeue that
// ends its lease unsent. Later calls for the same lease are ignored.
//
// The delay counts from the client's send: the server may see the request
// later (a slow accept), so two starts can reach it closer than the delay
// when only the first was held up on the way; Release, counting from the
// first response byte, guards the start after a request that ended.
func (q *Queue) Started(it *Item, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h := q.hosts[it.Host] // a leased item's host is never forgotten
	if h == nil || it.started || it.released {
		return // a later hop, or a lease already ended
	}
	h.settleStart(it)
	if n := at.Add(h.delay); n.After(h.next) {
		h.next = n
	}
	q.updateLocked(h)
}

// Release frees the host concurrency slot of a leased item once its
// request has ended. sent is the instant the request's politeness delay
// counts from; the host's next start is at least sent plus its delay. A
// zero sent means no request reached the host (robots.txt disallowed the
// URL, or the connection failed before sending): the politeness slot the
// item reserved is given back when nothing else has moved the clock since.
func (q *Queue) Release(it *Item, sent time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releaseLocked(it, sent)
}

func (q *Queue) releaseLocked(it *Item, sent time.Time) {
	h := q.hostLocked(it.Host)
	h.inflight--
	h.settleStart(it)
	it.released = true
	switch {
	case !sent.IsZero():
		if n := sent.Add(h.delay); n.After(h.next) {
			h.next = n
		}
	case !it.reserved.IsZero() && h.next.Equal(it.reserved):
		h.next = it.prevNext
	}
	q.updateLocked(h)
}

// Requeue frees a leased item's slot as Release(it, sent) does and
// returns the item, unfinished, to the front of its host's queue, e.g.
// after its slot was spent fetching robots.txt. Both happen under one
// lock: between a Release and a separate requeue, the dispatcher could
// hand the freed slot to the host's next URL, which then went first.
func (q *Queue) Requeue(it *Item, sent time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h := q.hostLocked(it.Host)
	if _, ok := h.leased[string(it.key)]; !ok {
		return
	}
	if !it.released { // a caller may have called Release already
		q.releaseLocked(it, sent)
	}
	delete(h.leased, string(it.key))
	q.leases--
	h.window = append([]*Item{it}, h.window...)
	q.counts.InFlight--
	q.counts.Queued++
	q.updateLocked(h)
}

// SetLimits changes the scheduling limits while the queue runs (config
// reload): per-host concurrency and delay and their per-host overrides,
// the lease cap and the budgets. Hosts whose delay was their old base get
// the new one; hosts with their own (Crawl-delay, adaptive) keep it until
// next set, unless it is below the new base.
func (q *Queue) SetLimits(l Limits) {
	q.mu.Lock()
	defer q.mu.Unlock()
	old := make(map[*host]time.Duration, len(q.hosts))
	for _, h := range q.hosts {
		old[h] = q.baseDelay(h.key)
	}
	q.opts.PerHostConcurrency = max(l.PerHostConcurrency, 1)
	q.opts.PerHostDelay = l.PerHostDelay
	q.opts.HostLimits = l.HostLimits
	q.opts.Window = max(q.opts.Window, q.opts.PerHostConcurrency)
	for _, hl := range l.HostLimits {
		q.opts.Window = max(q.opts.Window, hl.Concurrency)
	}
	q.opts.MaxLeased = l.MaxLeased
	q.opts.MaxPerHost = l.MaxPerHost
	q.opts.MaxURLs = l.MaxURLs
	for _, h := range q.hosts {
		if base := q.baseDelay(h.key); h.delay == old[h] || h.delay < base {
			h.next = h.next.Add(base - h.delay)
			h.delay = base
		}
		q.refileReadyLocked(h)
		q.idle.set(h, h.idle()) // its next start may have moved
	}
	q.forgetLocked(q.opts.Now())
	q.wakeLocked()
}

// SetPaused stops (true) or resumes (false) releasing URLs. Leased URLs
// are not affected; a URL the dispatcher holds is put back, unless a
// worker is taking it at that very instant.
func (q *Queue) SetPaused(p bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.paused = p
	q.wakeLocked()
	if p {
		select {
		case q.pause <- struct{}{}:
		default:
		}
	} else {
		select {
		case <-q.pause: // not taken by the dispatcher: no longer wanted
		default:
		}
	}
}

func (q *Queue) wakeLocked() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Counts returns the frontier's current totals.
func (q *Queue) Counts() Counts {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.counts
	c.Hosts = int64(len(q.hosts) - q.idle.Len())
	return c
}

// Idle reports whether nothing is in flight or waiting to be written, and
// nothing queued (retries included) can be fetched but after an
// operator's Unhold: every queued URL is under a hold without an end.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.counts.InFlight != 0 || q.pending != 0 {
		return false
	}
	return q.counts.Queued == 0 || int64(q.heldForeverLocked()) == q.counts.Queued
}

// Err returns why the writer failed, or nil.
func (q *Queue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Failed is closed when the writer fails; Err says why.
func (q *Queue) Failed() <-chan struct{} { return q.failed }

// Close stops dispatching, commits everything already sent to Commit or
// Add, and waits for both goroutines. The DB stays open (the caller closes
// it last). Close is safe to call more than once; it returns the writer's
// error, if any.
func (q *Queue) Close() error {
	q.once.Do(func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		close(q.stop)
	})
	q.wg.Wait()
	return q.Err()
}

func (q *Queue) fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err == nil {
		q.err = err
		close(q.failed)
	}
}
