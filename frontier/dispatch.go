package frontier

import (
	"bytes"
	"container/heap"
	"context"
	"time"

	"crawler/store"
)

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
		h.handedOut(now)
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
		c := newQueueCursor(tx.Bolt())
		k, v, err := c.seek(prefix)
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(h.window) < q.opts.Window && h.pending() > 0; k, v, err = c.next() {
			if _, ok := h.leased[string(k)]; ok {
				continue
			}
			if _, ok := skip[string(k)]; ok {
				continue
			}
			var e *entry
			if err == nil {
				e, err = unmarshalEntry(h.key, v)
			}
			if err != nil {
				q.markCorruptLocked(h, k, c.stored(k), err)
				continue
			}
			h.window = append(h.window, e.item(h.key, k))
		}
		return nil
	})
}

func (e *entry) item(host string, key []byte) *Item {
	return &Item{URL: e.URL, Host: host, Parent: e.Parent, Depth: e.Depth, Attempts: e.Attempts,
		Hops: e.Hops, Origin: e.Origin, Via: e.Via, Revisit: e.Revisit, Due: dueTime(e.Due), key: key}
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
