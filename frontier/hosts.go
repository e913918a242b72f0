package frontier

import (
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
	now := time.Now()
	return b.ForEach(func(k, v []byte) error {
		r := unmarshalHostRecord(v)
		h := &HostInfo{Host: string(k), Queued: r.Queued, Done: r.Done, Failed: r.Failed, Disallowed: r.Disallowed}
		p := r.pace(now)
		if p.Delay > 0 {
			h.Delay = delayText(p.Delay)
		}
		h.NextAt, h.BreakerTrips = p.Until, p.Trips
		return fn(h)
	})
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
