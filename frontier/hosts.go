package frontier

import (
	"bytes"
	"encoding/binary"
	"time"

	"crawler/store"
)

// HostInfo describes one host for operators.
type HostInfo struct {
	Host       string    `json:"host"`
	Queued     int64     `json:"queued"`
	InFlight   int64     `json:"in_flight"`
	Done       int64     `json:"done"`
	Failed     int64     `json:"failed"`
	Disallowed int64     `json:"disallowed"`
	Delay      string    `json:"delay,omitempty"`  // current least gap between requests; stored: the one kept for a restart
	NextAt     time.Time `json:"next_at,omitzero"` // earliest next request start; stored: a kept pause's end
	Robots     string    `json:"robots,omitempty"` // robots.txt state, filled by the crawl engine
	// BreakerTrips is how many times in a row the host's circuit breaker
	// has opened since its last healthy answer (filled by the crawl
	// engine); stored: the count kept for a restart (Pace.Trips).
	BreakerTrips int `json:"breaker_trips,omitempty"`
	// Paused reports an operator's hold on the host (Queue.Hold), until
	// PausedUntil, or until lifted when that is zero.
	Paused      bool      `json:"paused,omitempty"`
	PausedUntil time.Time `json:"paused_until,omitzero"`
	// RevisitDueAt is when the revisit next in line in the host's queue
	// came due (Item.Due): since then the host has been behind on its
	// recrawls, refreshes and revisits, which wait for every first fetch
	// of the host (queueRank). Zero when no revisit is queued, and when
	// the one next in line was queued by a version that did not keep it.
	// A revisit waiting to be retried is not in line; one being fetched
	// is until its page is stored.
	RevisitDueAt time.Time `json:"revisit_due_at,omitzero"`
}

// ReadHosts calls fn for every host the crawl has queued URLs for, in host
// order, from the totals stored in tx, with the pace kept for a restart
// (Pace): Delay when a delay is kept, NextAt when a kept pause has not
// ended, and BreakerTrips.
func ReadHosts(tx *store.Tx, fn func(*HostInfo) error) error {
	b := tx.Bolt().Bucket(bucketHosts)
	if b == nil {
		return nil
	}
	var qc *queueCursor
	if tx.Bolt().Bucket(bucketQueue) != nil {
		qc = newQueueCursor(tx.Bolt())
	}
	now := time.Now()
	return b.ForEach(func(k, v []byte) error {
		r := unmarshalHostRecord(v)
		h := &HostInfo{Host: string(k), Queued: r.Queued, Done: r.Done, Failed: r.Failed, Disallowed: r.Disallowed}
		p := r.pace(now)
		if p.Delay > 0 {
			h.Delay = delayText(p.Delay)
		}
		h.NextAt, h.BreakerTrips = p.Until, p.Trips
		if r.Queued > 0 && qc != nil {
			h.RevisitDueAt = qc.revisitDue(h.Host)
		}
		return fn(h)
	})
}

// revisitDue is the Due of the revisit next in line in host's queue
// (HostInfo.RevisitDueAt): the first entry of its revisitRank. Revisits
// queue in the order they came due, so it is the one that has waited
// longest, except for a retry of an older one. Zero when there is none,
// or it does not decode (crawler check reports that).
func (qc *queueCursor) revisitDue(host string) time.Time {
	prefix := binary.BigEndian.AppendUint32(hostPrefix(host), revisitRank)
	// A block holds entries of one rank, under a key no greater than its
	// first's, so the first key with the prefix is the head's (its own
	// or its block's; load passes over emptied blocks): a host with no
	// revisit costs a seek and decodes no block.
	k, v := qc.c.Seek(prefix)
	if !bytes.HasPrefix(k, prefix) {
		return time.Time{}
	}
	k, rec, err := qc.load(k, v)
	if err != nil || !bytes.HasPrefix(k, prefix) {
		return time.Time{}
	}
	e, err := unmarshalEntry(host, rec)
	if err != nil {
		return time.Time{}
	}
	return dueTime(e.Due)
}

// delayText is HostInfo.Delay for d: rounded to the millisecond when it
// is that long (the adaptive throttle's delays have nanoseconds no one
// reads), as a Go duration string.
func delayText(d time.Duration) string {
	if d >= time.Millisecond {
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

// Live returns the in-memory scheduling state of the hosts now active
// (queued or in flight), keyed by host: in flight, delay and next start.
func (q *Queue) Live() map[string]HostInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]HostInfo, len(q.hosts)-q.idle.Len())
	for k, h := range q.hosts {
		if q.idle.has(h) {
			continue // only waiting out its clock
		}
		out[k] = HostInfo{Host: k, InFlight: int64(len(h.leased)), Delay: delayText(h.delay), NextAt: h.due()}
	}
	return out
}

// BackedOff counts the hosts whose next start is further away than their
// delay: paused by a circuit breaker, a Retry-After or a robots.txt retry.
func (q *Queue) BackedOff() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.opts.Now()
	n := 0
	for _, h := range q.hosts {
		if h.clock().After(now.Add(h.delay)) {
			n++
		}
	}
	return n
}
