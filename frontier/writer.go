package frontier

import (
	"context"
	"fmt"
	"time"

	"crawler/store"
)

// op is one unit of work for the writer: a Completion, or links to add.
type op struct {
	c     *Completion
	rec   []byte // c.Page encoded by the caller of Commit, not by the writer
	links []Link
	done  chan addResult // for Add; nil for completions

	// Seen keys, hashed by the caller (the writer is serial): seenKeyLen
	// bytes for each of links, or of c.Links; and c.Item's.
	keys    []byte
	itemKey []byte
}

// key returns the seen key of the j-th link of o (of o.links, or of
// o.c.Links). bbolt and the seen cache copy keys, so o.keys is not kept.
func (o *op) key(j int) []byte {
	return o.keys[j*seenKeyLen : (j+1)*seenKeyLen : (j+1)*seenKeyLen]
}

// linkKeys returns the seen keys of links, end to end.
func linkKeys(links []Link) []byte {
	keys := make([]byte, 0, len(links)*seenKeyLen)
	for _, l := range links {
		keys = appendSeenKey(keys, l.URL)
	}
	return keys
}

type addResult struct {
	added int
	err   error
}

// Commit hands a finished item to the writer. It blocks while the writer
// is WriteQueue operations behind: the store is the pipeline's
// backpressure point. The item is durable once the writer commits it;
// until then a crash leaves it queued.
func (q *Queue) Commit(ctx context.Context, c *Completion) error {
	o := &op{c: c, keys: linkKeys(c.Links), itemKey: seenKey(c.Item.URL)}
	if c.Page != nil && c.RetryAt.IsZero() {
		// Encoded here, on the caller's goroutine: the writer is serial.
		rec, err := store.MarshalRecord(c.Page)
		if err != nil {
			return err
		}
		o.rec = rec
	}
	return q.send(ctx, o)
}

// Add adds links (seeds, or URLs from the API) and waits until they are
// committed. It returns how many were new.
func (q *Queue) Add(ctx context.Context, links []Link) (int, error) {
	o := &op{links: links, keys: linkKeys(links), done: make(chan addResult, 1)}
	if err := q.send(ctx, o); err != nil {
		return 0, err
	}
	select {
	case r := <-o.done:
		return r.added, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// send hands o to the writer. Once it is counted in q.pending, the
// writer answers it, even when it stops or fails meanwhile (see
// settle): send only gives up when ctx ends.
func (q *Queue) send(ctx context.Context, o *op) error {
	q.mu.Lock()
	switch {
	case q.err != nil:
		q.mu.Unlock()
		return q.err
	case q.closed:
		q.mu.Unlock()
		return ErrClosed
	}
	q.pending++
	q.mu.Unlock()
	select {
	case q.writes <- o:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		q.pending--
		q.mu.Unlock()
		select { // a writer settling may be waiting for this one
		case q.unsent <- struct{}{}:
		default:
		}
		return ctx.Err()
	}
}

// write is the single writer: it commits whatever has queued up while the
// previous transaction ran (group commit), and promotes due retries.
func (q *Queue) write() {
	defer q.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	wait := time.NewTimer(time.Hour)
	defer wait.Stop()
	merge := time.NewTimer(time.Hour)
	defer merge.Stop()
	for {
		q.armRetryTimer(timer)
		due := q.mergeDue()
		if due == 0 {
			if q.merge() != nil {
				q.settle()
				return
			}
			continue
		}
		if due < 0 { // nothing staged
			due = time.Hour
		}
		merge.Reset(due) // Go 1.23 timers: no stale tick survives Reset
		var batch []*op
		select {
		case o := <-q.writes:
			batch = append(batch, o)
		case <-timer.C:
			q.promote()
			continue
		case <-merge.C:
			continue // mergeDue says 0 now
		case <-q.starve:
			if q.merge() != nil {
				q.settle()
				return
			}
			continue
		case <-q.nudge:
			q.setAside()
			continue
		case <-q.failed: // promote failed
			q.settle()
			return
		case <-q.stop:
			q.settle()
			return
		}
		batch = q.fill(q.drain(batch), wait)
		if q.commit(batch) != nil {
			q.settle()
			return
		}
	}
}

// settle answers every operation a producer has handed over or is
// handing over (q.pending) once the writer stops: after Close it commits
// them; after a failure it fails them (Add returns the error, a
// completion's Done is called, and its URL stays queued on disk). No
// Add waits forever on a writer that is gone, and send admits no new
// operation once Close was called or the writer failed.
func (q *Queue) settle() {
	var batch []*op
	for {
		batch = q.drain(batch[:0])
		if len(batch) == 0 {
			q.mu.Lock()
			n := q.pending
			q.mu.Unlock()
			if n == 0 {
				if q.Err() == nil {
					_ = q.merge() // a closing queue leaves nothing staged
					q.mu.Lock()
					paces := len(q.paces)
					q.mu.Unlock()
					if paces > 0 { // set since the last commit
						_ = q.commit(nil)
					}
				}
				return
			}
			select { // a producer is between its count and its send
			case o := <-q.writes:
				batch = append(batch, o)
			case <-q.unsent:
				continue
			}
		}
		if err := q.Err(); err != nil {
			q.abandon(batch, err)
			continue
		}
		_ = q.commit(batch) // on failure it answers the batch and sets q.Err
	}
}

// abandon answers ops the writer will not commit because it failed:
// Add gets err, a completion's Done is called.
func (q *Queue) abandon(batch []*op, err error) {
	q.mu.Lock()
	q.pending -= len(batch)
	q.mu.Unlock()
	for _, o := range batch {
		if o.done != nil {
			o.done <- addResult{err: err}
		}
		if o.c != nil && o.c.Done != nil {
			o.c.Done()
		}
	}
}

// maxCommitTarget caps the default CommitBatch. A larger target holds
// completions, and the leases they count against, longer without sharing
// a sync among more pages once commits are this large: at a high
// fetch.concurrency it slows the crawl (bench/README.md has the
// measurements).
const maxCommitTarget = 128

// fill waits up to CommitWait for more operations while the batch is
// below its target and leased URLs that could still join it are out
// (group commit: the fsync, not the CPU, is most of a small commit).
func (q *Queue) fill(batch []*op, wait *time.Timer) []*op {
	if q.opts.CommitWait < 0 {
		return batch
	}
	completions := 0 // handed-out URLs whose operation is in the batch
	for _, o := range batch {
		if o.c != nil {
			completions++
		}
	}
	// Stop is a no-op on a timer never armed or already fired, and with
	// Go 1.23 timers no stale tick is left for the next fill.
	defer wait.Stop()
	armed := false
	for len(batch) < q.opts.MaxBatch {
		q.mu.Lock()
		// In flight, not leased: a URL the dispatcher picked but no
		// worker took yet cannot reach the writer soon.
		target, out := q.opts.CommitBatch, int(q.counts.InFlight)-completions
		if target <= 0 {
			target = min(max(q.opts.MaxLeased/2, 1), maxCommitTarget)
		}
		q.mu.Unlock()
		if len(batch) >= target || out <= 0 {
			return batch
		}
		if !armed {
			wait.Reset(q.opts.CommitWait)
			armed = true
		}
		select {
		case o := <-q.writes:
			batch = append(batch, o)
			if o.c != nil {
				completions++
			}
		case <-wait.C:
			return batch
		case <-q.stop:
			return batch
		case <-q.failed:
			return batch
		}
	}
	return batch
}

// drain adds to batch what is waiting, up to MaxBatch, without blocking.
func (q *Queue) drain(batch []*op) []*op {
	for len(batch) < q.opts.MaxBatch {
		select {
		case o := <-q.writes:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

func (q *Queue) armRetryTimer(t *time.Timer) {
	q.mu.Lock()
	at := q.delayed
	if !q.recrawl.IsZero() && (at.IsZero() || q.recrawl.Before(at)) {
		at = q.recrawl
	}
	q.mu.Unlock()
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	if at.IsZero() {
		t.Reset(time.Hour)
		return
	}
	t.Reset(max(at.Sub(q.opts.Now()), 0))
}

// effects are what a committed transaction changes in memory.
type effects struct {
	hosts   map[string]*hostRecord // per-host deltas, also written to disk
	leases  []*Item                // items finished or moved to retry
	queued  map[string]int         // disk queue entries added per host
	counts  Counts                 // deltas
	delayed time.Time              // earliest retry time added
	recrawl time.Time              // earliest recrawl time added
	added   []int                  // per op: new links
	// enqueued counts the URLs queued for the first time; overBudget
	// reports that Options.MaxURLs dropped a link.
	enqueued   int64
	overBudget bool
	// stagedSet holds the seen keys staged (staged.go), stagedQueued
	// how many of them are queued URLs.
	stagedSet    map[[seenKeyLen]byte]struct{}
	stagedQueued int
}

func (fx *effects) host(key string) *hostRecord {
	r := fx.hosts[key]
	if r == nil {
		r = new(hostRecord)
		fx.hosts[key] = r
	}
	return r
}

// queueFill is the queue bucket's bbolt FillPercent: how full a leaf is
// left when it splits. Blocks are appended at the end of their host's
// range: leaves split full, not half full (bbolt's default suits random
// keys).
const queueFill = 0.9

// commit writes a batch in one transaction and then applies it in memory.
func (q *Queue) commit(batch []*op) error {
	if q.revisitsStaged(batch) {
		// Revisit reads the URL's record in the seen bucket, which a
		// staged link does not have yet.
		if err := q.merge(); err != nil {
			q.abandon(batch, err)
			return err
		}
	}
	fx := &effects{hosts: make(map[string]*hostRecord), queued: make(map[string]int), added: make([]int, len(batch))}
	perHost := linksPerHost(batch) // counted before taking q.mu
	start := time.Now()
	defer func() {
		if q.opts.OnCommit != nil {
			q.opts.OnCommit(len(batch), time.Since(start))
		}
	}()
	err := q.db.Update(func(tx *store.Tx) error {
		q.mu.Lock()
		w := &txWriter{tx: tx, btx: tx.Bolt(), fx: fx, seen: q.seen,
			maxPerHost: int64(q.opts.MaxPerHost), hostLimits: q.opts.HostLimits,
			maxURLs: int64(q.opts.MaxURLs), enqueued: q.enqueued,
			staged: q.staged, staging: stageHosts(perHost, q.drainLocked), paces: q.takePacesLocked(), now: q.opts.Now()}
		q.mu.Unlock()
		w.seq = u64(w.btx.Bucket(bucketMeta).Get(keySeq))
		for i, o := range batch {
			if o.c != nil {
				if err := w.complete(o.c, o.rec, o.itemKey); err != nil {
					return err
				}
			}
			for j, l := range o.links {
				added, err := w.enqueue(l, o.key(j))
				if err != nil {
					return err
				}
				if added {
					fx.added[i]++
				}
			}
			if o.c != nil {
				for j, l := range o.c.Links {
					if _, err := w.enqueue(l, o.key(j)); err != nil {
						return err
					}
				}
			}
		}
		return w.finish()
	})
	q.mu.Lock()
	q.wroteLocked()
	q.mu.Unlock()
	if err != nil {
		q.seen.reset() // it may hold keys of the rolled-back transaction
		err = fmt.Errorf("frontier commit: %w", err)
		q.fail(err)
		q.abandon(batch, err)
		return err
	}
	q.noteStaged(fx)
	q.applyEffects(fx, len(batch))
	for i, o := range batch {
		if o.done != nil {
			o.done <- addResult{added: fx.added[i]}
		}
		if o.c != nil && o.c.Done != nil {
			o.c.Done()
		}
	}
	return nil
}

// drainLocked returns how long host would take to hand out the URLs its
// queue holds, at the pace it handed out its last ones (zero when not
// known yet); see stageHosts.
func (q *Queue) drainLocked(host string) time.Duration {
	if h := q.hosts[host]; h != nil {
		return time.Duration(h.queued-len(h.leased)) * h.gap
	}
	return 0
}

// revisitsStaged reports whether a link of batch revisits a staged URL
// (writer goroutine only).
func (q *Queue) revisitsStaged(batch []*op) bool {
	if len(q.staged) == 0 {
		return false
	}
	for _, o := range batch {
		for j, l := range o.links {
			if l.Revisit {
				if _, ok := q.staged[[seenKeyLen]byte(o.key(j))]; ok {
					return true
				}
			}
		}
	}
	return false
}

func (q *Queue) applyEffects(fx *effects, ops int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	touched := make(map[*host]struct{})
	for _, it := range fx.leases {
		h := q.hostLocked(it.Host)
		delete(h.leased, string(it.key))
		q.leases--
		h.queued--
		touched[h] = struct{}{}
	}
	for key, n := range fx.queued {
		h := q.hostLocked(key)
		h.queued += n
		touched[h] = struct{}{}
	}
	q.counts.Queued += fx.counts.Queued
	q.counts.InFlight += fx.counts.InFlight
	q.counts.Done += fx.counts.Done
	q.counts.Failed += fx.counts.Failed
	q.counts.Disallowed += fx.counts.Disallowed
	q.counts.Trapped += fx.counts.Trapped
	q.enqueued += fx.enqueued
	if fx.overBudget && !q.overBudget {
		q.overBudget = true
		q.log.Warn("frontier: the crawl's URL budget is spent: new links are dropped (counted as trapped)",
			"max_urls", q.opts.MaxURLs, "queued_ever", q.enqueued)
	}
	q.pending -= ops
	nudge := false
	if !fx.delayed.IsZero() && (q.delayed.IsZero() || fx.delayed.Before(q.delayed)) {
		q.delayed = fx.delayed
		nudge = true
	}
	if !fx.recrawl.IsZero() && (q.recrawl.IsZero() || fx.recrawl.Before(q.recrawl)) {
		q.recrawl = fx.recrawl
		nudge = true
	}
	if nudge {
		select {
		case q.nudge <- struct{}{}:
		default:
		}
	}
	for h := range touched {
		q.updateLocked(h)
	}
}

// promote moves retries and recrawls whose time has come back into their
// host queues.
func (q *Queue) promote() {
	now := q.opts.Now()
	fx := &effects{hosts: make(map[string]*hostRecord), queued: make(map[string]int)}
	var nextRetry, nextRecrawl time.Time
	var aside []string
	err := q.db.Update(func(tx *store.Tx) error {
		w := &txWriter{tx: tx, btx: tx.Bolt(), fx: fx}
		defer func() { aside = w.aside }()
		w.seq = u64(w.btx.Bucket(bucketMeta).Get(keySeq))
		var err error
		if nextRetry, err = w.promote(bucketDelayed, now, false); err != nil {
			return err
		}
		if nextRecrawl, err = w.promote(bucketRecrawl, now, true); err != nil {
			return err
		}
		return w.finish()
	})
	if err != nil {
		q.fail(fmt.Errorf("frontier promote due URLs: %w", err))
		return
	}
	for _, a := range aside {
		q.log.Error("frontier: entry does not decode; set it aside", "entry", a)
	}
	q.mu.Lock()
	q.delayed, q.recrawl = nextRetry, nextRecrawl
	q.mu.Unlock()
	q.applyEffects(fx, 0)
}
