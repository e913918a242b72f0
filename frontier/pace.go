package frontier

import (
	"time"

	"crawler/store"
)

// A Pace is the spacing the crawl last gave a host's requests beyond its
// configured delay: the delay it set (Queue.SetDelay: a robots.txt
// Crawl-delay, an adaptive slowdown), the end of its last pause
// (Queue.Pause: a Retry-After, a circuit breaker, an unreachable
// robots.txt) and how many times in a row its circuit breaker opened
// (Queue.SetTrips). The queue keeps them with the host's totals, written by
// the commit after they were set (a host the crawl never queued a URL
// for has no totals and keeps none), so that a restart neither hammers a
// host that asked to be left alone nor forgets how slowly it answers.
type Pace struct {
	// Delay is the least time between two request starts that was set
	// last; zero when that was the host's base delay.
	Delay time.Duration
	// Until is the end of the host's latest pause; zero for none, or one
	// that had ended when it was read.
	Until time.Time
	// Trips is how many times the host's circuit breaker has opened since
	// its last healthy answer, as set last; each opening pauses the host
	// longer than the one before.
	Trips int
}

// paceChange is a host's pace for the next commit to write.
type paceChange struct {
	delay    time.Duration // the delay to keep; 0 for the base
	setDelay bool          // delay is new; otherwise the stored one stays
	until    time.Time     // a pause's end; zero: the stored one stays
	trips    int           // the breaker trips to keep
	setTrips bool          // trips is new; otherwise the stored count stays
}

// RestoredPaces returns, once, the pace the file held at Open for each
// host with URLs queued (or waiting for a retry) or a pause still to end,
// for the caller to restore what it derives from it (the crawl's adaptive
// delays); later calls return nil. The queue has applied every kept pace
// already: a host's first start is not before Open plus its Delay, nor
// before Until. Hosts with neither a delay above their base nor a pause
// are not listed. (Breaker trips are read when wanted: KeptTrips.)
func (q *Queue) RestoredPaces() map[string]Pace {
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.restored
	q.restored = nil
	return p
}

// SetDelay sets the least time between two request starts on host, e.g.
// from robots.txt Crawl-delay; it never goes below the host's base delay
// (Options.PerHostDelay or its HostLimits.Delay). The delay is written
// with the next commit (Pace), so that a restart keeps it.
// A host the queue does not hold (nothing queued or in flight, and its
// clock has run out, or not seen yet) is left alone: its next start is
// free either way, and the engine sets the delay again after that fetch.
// The exception is the restart hold: after a restart, a delay set for a
// host not seen yet is kept for its first start (holdStartLocked).
func (q *Queue) SetDelay(hostKey string, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h := q.hosts[hostKey]
	d = max(d, q.baseDelay(hostKey))
	kept := q.keptDelay(hostKey, d)
	if h == nil {
		// Unless the restart hold has it already: as load read it, or as
		// set (and written) since.
		if held, ok := q.startDelays[hostKey]; !ok || held != d {
			q.notePaceLocked(hostKey, paceChange{delay: kept, setDelay: true})
		}
		q.holdStartLocked(hostKey, d)
		return
	}
	if h.kept != kept { // the host's delay in memory may have moved unwritten (SetLimits)
		q.notePaceLocked(hostKey, paceChange{delay: kept, setDelay: true})
		h.kept = kept
	}
	if h.delay == d {
		return
	}
	h.next = h.next.Add(d - h.delay)
	h.delay = d
	q.updateLocked(h)
}

// Pause keeps host from starting any request before until. A pause that
// has not ended is written with the next commit (Pace), so that a restart
// keeps it.
func (q *Queue) Pause(hostKey string, until time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pauseLocked(hostKey, until)
	if until.After(q.opts.Now()) {
		q.notePaceLocked(hostKey, paceChange{until: until})
	}
}

// pauseLocked keeps host key from starting a request before until,
// making its state if it has none: with nothing queued, the host waits
// in the idle heap until the pause ends.
func (q *Queue) pauseLocked(key string, until time.Time) {
	h := q.hostLocked(key)
	if until.After(h.paused) {
		h.paused = until
	}
	q.updateLocked(h) // files a host hostLocked has just created
}

// SetTrips records n, how many times in a row host's circuit breaker has
// opened (0 after a healthy answer), to be written with the next commit
// (Pace.Trips): a restart then goes on with the breaker's back-off
// instead of starting it over. The caller sets a count when it changes
// (the crawl's throttle does). A host the crawl never queued a URL for
// keeps nothing.
func (q *Queue) SetTrips(hostKey string, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.notePaceLocked(hostKey, paceChange{trips: max(n, 0), setTrips: true})
}

// KeptTrips returns the breaker trips kept for host (Pace.Trips): as set
// last (SetTrips), or as the file keeps them, read from the host's
// record. The crawl reads it when a host's breaker opens before it has
// counted the host's trips (since the start, or since it forgot the
// host), so that the back-off goes on.
func (q *Queue) KeptTrips(hostKey string) int {
	if n, ok := q.tripsToWrite(hostKey); ok {
		return n
	}
	n := 0
	_ = q.db.View(func(tx *store.Tx) error { // a closed store keeps none
		if v := tx.Bolt().Bucket(bucketHosts).Get([]byte(hostKey)); v != nil {
			n = int(max(unmarshalHostRecord(v).Trips, 0))
		}
		return nil
	})
	return n
}

// tripsToWrite returns the trips set for host and not yet in the file:
// noted for the next commit, or in the commit being written.
func (q *Queue) tripsToWrite(hostKey string) (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p, ok := q.paces[hostKey]; ok && p.setTrips {
		return p.trips, true
	}
	n, ok := q.writing[hostKey]
	return n, ok
}

// keptDelay is what the file keeps (Pace.Delay) for host key's delay d:
// 0 when d is the host's base.
func (q *Queue) keptDelay(key string, d time.Duration) time.Duration {
	if d <= q.baseDelay(key) {
		return 0
	}
	return d
}

// notePaceLocked merges c into what the next commit writes for key.
func (q *Queue) notePaceLocked(key string, c paceChange) {
	if q.paces == nil {
		q.paces = make(map[string]paceChange)
	}
	p := q.paces[key]
	if c.setDelay {
		p.delay, p.setDelay = c.delay, true
	}
	if c.until.After(p.until) {
		p.until = c.until
	}
	if c.setTrips {
		p.trips, p.setTrips = c.trips, true
	}
	q.paces[key] = p
}

// takePacesLocked hands the paces to write to the writer's transaction,
// keeping their trips in q.writing until it returns (wroteLocked).
func (q *Queue) takePacesLocked() map[string]paceChange {
	p := q.paces
	q.paces = nil
	for k, c := range p {
		if c.setTrips {
			if q.writing == nil {
				q.writing = make(map[string]int)
			}
			q.writing[k] = c.trips
		}
	}
	return p
}

// wroteLocked ends what takePacesLocked kept: the transaction has
// returned, and the file has the trips (or the queue has failed).
func (q *Queue) wroteLocked() { q.writing = nil }

// apply sets c into the host record r, as written at now: a pause
// replaces the stored one if it ends later, and a stored pause that has
// ended is dropped.
func (c paceChange) apply(r *hostRecord, now time.Time) {
	if c.setDelay {
		r.Delay = int64(c.delay)
	}
	if c.setTrips {
		r.Trips = int64(c.trips)
	}
	if u := c.until.UnixNano(); !c.until.IsZero() && u > r.PausedUntil {
		r.PausedUntil = u
	}
	if r.PausedUntil != 0 && r.PausedUntil <= now.UnixNano() {
		r.PausedUntil = 0
	}
}

// pace is the Pace r keeps at now.
func (r hostRecord) pace(now time.Time) Pace {
	p := Pace{Delay: time.Duration(max(r.Delay, 0)), Trips: int(max(r.Trips, 0))}
	if r.PausedUntil > now.UnixNano() {
		p.Until = time.Unix(0, r.PausedUntil)
	}
	return p
}

// paced reports whether r keeps a pace.
func (r hostRecord) paced() bool { return r.Delay != 0 || r.PausedUntil != 0 || r.Trips != 0 }

// stricter gives r the strictest of its pace and o's: the longer delay,
// the later pause and the more trips.
func (r *hostRecord) stricter(o hostRecord) {
	r.Delay, r.PausedUntil, r.Trips = max(r.Delay, o.Delay), max(r.PausedUntil, o.PausedUntil), max(r.Trips, o.Trips)
}

// clearPace drops r's pace, keeping its totals.
func (r *hostRecord) clearPace() { r.Delay, r.PausedUntil, r.Trips = 0, 0, 0 }

// restoreDelayLocked holds host key's first start (holdStartLocked) for
// the delay d the file keeps, capped by Options.MaxKeptDelay and never
// below the host's base. A delay the cap lowers is written back lowered
// with the first commit, so that the file keeps what the restart holds.
func (q *Queue) restoreDelayLocked(key string, d time.Duration) {
	base := q.baseDelay(key)
	held := d
	switch {
	case q.opts.MaxKeptDelay < 0:
		held = base
	case q.opts.MaxKeptDelay > 0:
		held = min(d, max(q.opts.MaxKeptDelay, base))
	}
	held = max(held, base)
	if held < d {
		q.notePaceLocked(key, paceChange{delay: q.keptDelay(key, held), setDelay: true})
	}
	q.holdStartLocked(key, held)
}

// restorePaceLocked keeps the pace p that host key had in the file for
// RestoredPaces, when the host has work (queued, which counts its retries)
// or a pause, and applies the pause: the host is filed, even with nothing
// queued, until it ends. Load has held the host's first start for p.Delay
// already (holdStartLocked, before the host's state was made), and calls
// this once the host's queued count is set. Hosts without work are left
// out so that what the caller restores grows with the work at hand, not
// with every host the crawl ever met.
func (q *Queue) restorePaceLocked(key string, p Pace, queued bool) {
	if p.Until.IsZero() && (p.Delay == 0 || !queued) {
		return
	}
	if q.restored == nil {
		q.restored = make(map[string]Pace)
	}
	q.restored[key] = p
	if !p.Until.IsZero() {
		q.pauseLocked(key, p.Until)
	}
}

// holdStartLocked keeps delay d for host key, which has no state yet,
// when the restart hold (hostLocked) would still hold a host with that
// delay: then the host's first start, whenever it is first seen, is not
// before Open plus d. Otherwise a delay set before the host is known would
// be lost, and the restart hold would use the base delay instead (a
// host whose first URL of this process is a retry or a recrawl that comes
// due, promoted after the crawl set the delays it learnt before).
func (q *Queue) holdStartLocked(key string, d time.Duration) {
	end := q.opened.Add(d)
	if q.cold || !q.opts.Now().Before(end) {
		return
	}
	if q.startDelays == nil {
		q.startDelays = make(map[string]time.Duration)
	}
	q.startDelays[key] = d
	if end.After(q.startUntil) {
		q.startUntil = end
	}
}
