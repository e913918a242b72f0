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
	// are never refused. A URL completed as StateDisallowed gives its place
	// back (it was never fetched), unless it was a revisit (Item.Revisit).
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
	// Default 5ms; zero means the default, a negative value never waits.
	CommitWait time.Duration

	// CommitBatch is the batch size CommitWait waits for. Default half of
	// MaxLeased, at least 1 (no wait without a lease cap) and at most
	// 128; zero means the default.
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
		o.CommitWait = 5 * time.Millisecond
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
	// how many of them are queued URLs, not disallowed links (under mu).
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
	// Pause, SetTrips).
	restored map[string]Pace
	paces    map[string]paceChange
	// writing holds the trips of the paces the writer has taken, until
	// its transaction returns: KeptTrips reads them meanwhile, since the
	// file does not have them yet.
	writing map[string]int
	wg      sync.WaitGroup
	once    sync.Once
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
