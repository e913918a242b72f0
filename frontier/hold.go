package frontier

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"crawler/store"
)

// bucketHolds keeps the operator's pauses: host -> since(8) until(8),
// Unix nanoseconds, until 0 for "until resumed"; holdAll is the key of
// the pause of the whole crawl.
var bucketHolds = []byte("holds")

// holdAll is the holds key of the whole crawl's pause. No host is "*".
const holdAll = "*"

// A Hold is an operator's pause of the whole crawl or of one host: no
// request starts under it (requests already sent finish). Unlike Pause,
// which the crawl itself sets for a Retry-After or a circuit breaker, a
// hold is stored in the file: it outlives restarts until it ends or is
// lifted.
type Hold struct {
	// Host is the held host (canonical host[:port]); "" holds the whole
	// crawl. It is kept as given: under a politeness key that groups
	// hosts (Options.KeyMode), holding one host holds its group, the unit
	// that is scheduled.
	Host string `json:"host,omitempty"`

	// Since is when the hold was placed.
	Since time.Time `json:"since"`

	// Until is when the hold ends by itself; zero holds until it is
	// lifted.
	Until time.Time `json:"until,omitzero"`
}

// active reports whether h still holds at now.
func (h Hold) active(now time.Time) bool { return h.Until.IsZero() || now.Before(h.Until) }

// end is when h stops holding: Until, or the far future.
func (h Hold) end() time.Time {
	if h.Until.IsZero() {
		return farFuture
	}
	return h.Until
}

// farFuture is the end of a hold without an end: later than any real
// start, and far enough from any real time that no Sub overflows badly
// (Sub saturates).
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func (h Hold) key() []byte {
	if h.Host == "" {
		return []byte(holdAll)
	}
	return []byte(h.Host)
}

func (h Hold) marshal() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(h.Since.UnixNano()))
	var until int64
	if !h.Until.IsZero() {
		until = h.Until.UnixNano()
	}
	return binary.BigEndian.AppendUint64(b, uint64(until))
}

func unmarshalHold(k, v []byte) (Hold, error) {
	if len(v) != 16 || len(k) == 0 {
		return Hold{}, fmt.Errorf("hold %q: %d-byte value: %w", k, len(v), ErrCorrupt)
	}
	h := Hold{Since: time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()}
	if string(k) != holdAll {
		h.Host = string(k)
	}
	if until := int64(binary.BigEndian.Uint64(v[8:])); until != 0 {
		h.Until = time.Unix(0, until).UTC()
	}
	return h, nil
}

// ReadHolds returns the holds stored in tx that are active at now, the
// whole crawl's first, then by host. A hold that does not decode is left
// out (Check reports it; placing or lifting any hold drops it).
func ReadHolds(tx *store.Tx, now time.Time) ([]Hold, error) {
	b := tx.Bolt().Bucket(bucketHolds)
	if b == nil {
		return nil, nil
	}
	var all []Hold
	err := b.ForEach(func(k, v []byte) error {
		if h, err := unmarshalHold(k, v); err == nil {
			all = append(all, h)
		}
		return nil
	})
	return inForce(all, now), err
}

// inForce returns the holds of holds active at now, the whole crawl's
// first, then by host.
func inForce(holds []Hold, now time.Time) []Hold {
	var out []Hold
	for _, h := range holds {
		if h.active(now) {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b Hold) int {
		switch {
		case a.Host == b.Host:
			return 0
		case a.Host == "" || (b.Host != "" && a.Host < b.Host):
			return -1
		}
		return 1
	})
	return out
}

// PutHold stores h in tx (read-write), replacing the hold of the same
// host, drops the holds that ended before now, and returns h as stored:
// Since now when it was zero, times in UTC. It is what Queue.Hold writes;
// a stopped crawl's file takes it directly.
func PutHold(tx *store.Tx, h Hold, now time.Time) (Hold, error) {
	if h.Since.IsZero() {
		h.Since = now
	}
	h.Since = h.Since.UTC()
	if !h.Until.IsZero() {
		h.Until = h.Until.UTC()
	}
	b, err := tx.Bolt().CreateBucketIfNotExists(bucketHolds)
	if err != nil {
		return h, err
	}
	if err := dropEnded(tx, now); err != nil {
		return h, err
	}
	return h, b.Put(h.key(), h.marshal())
}

// DeleteHolds lifts the holds of hosts ("" for the whole crawl's) in tx
// (read-write), and drops the holds that ended before now. It returns how
// many of hosts were held.
func DeleteHolds(tx *store.Tx, hosts []string, now time.Time) (int, error) {
	b := tx.Bolt().Bucket(bucketHolds)
	if b == nil {
		return 0, nil
	}
	lifted := 0
	for _, host := range hosts {
		k := Hold{Host: host}.key()
		v := b.Get(k)
		if v == nil {
			continue
		}
		if h, err := unmarshalHold(k, v); err != nil || h.active(now) {
			lifted++
		}
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return lifted, dropEnded(tx, now)
}

// dropEnded deletes the holds that ended before now, and those that do
// not decode: a hold is the operator's to place again.
func dropEnded(tx *store.Tx, now time.Time) error {
	b := tx.Bolt().Bucket(bucketHolds)
	var ended [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if h, err := unmarshalHold(k, v); err != nil || !h.active(now) {
			ended = append(ended, k)
		}
		return nil
	})
	for _, k := range ended {
		if err == nil {
			err = b.Delete(k)
		}
	}
	return err
}

// Hold places holds, in one transaction, and applies them at once: under
// a hold of the whole crawl no URL is released; under a host's, none of
// that host's. A URL the dispatcher holds for a worker is put back. A
// hold replaces the one of the same host, so a later Until shortens or
// lengthens it. It returns the holds as stored (see PutHold).
func (q *Queue) Hold(holds ...Hold) ([]Hold, error) {
	q.holdMu.Lock() // the file and memory change in the same order
	defer q.holdMu.Unlock()
	now := q.opts.Now()
	placed := make([]Hold, len(holds))
	err := q.db.Update(func(tx *store.Tx) (err error) {
		for i, h := range holds {
			if placed[i], err = PutHold(tx, h, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("frontier: hold: %w", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.holdList = slices.DeleteFunc(q.holdList, func(o Hold) bool {
		return !o.active(now) || slices.ContainsFunc(placed, func(h Hold) bool { return h.Host == o.Host })
	})
	q.holdList = append(q.holdList, placed...)
	q.applyHoldsLocked()
	select { // a URL picked before the hold must not start under it
	case q.pause <- struct{}{}:
	default:
	}
	return placed, nil
}

// Unhold lifts the holds of hosts ("" for the whole crawl's), in one
// transaction, and returns how many there were. A host's next start is
// what it would have been without the hold: its politeness delay still
// counts from its last request.
func (q *Queue) Unhold(hosts ...string) (int, error) {
	q.holdMu.Lock()
	defer q.holdMu.Unlock()
	now := q.opts.Now()
	var lifted int
	err := q.db.Update(func(tx *store.Tx) (err error) {
		lifted, err = DeleteHolds(tx, hosts, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("frontier: lift hold: %w", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.holdList = slices.DeleteFunc(q.holdList, func(o Hold) bool { return !o.active(now) || slices.Contains(hosts, o.Host) })
	q.applyHoldsLocked()
	return lifted, nil
}

// Holds returns the holds in force, the whole crawl's first, then by
// host.
func (q *Queue) Holds() []Hold {
	q.mu.Lock()
	defer q.mu.Unlock()
	return inForce(q.holdList, q.opts.Now())
}

// loadHolds reads the stored holds into memory (at Open).
func (q *Queue) loadHolds(tx *store.Tx) error {
	holds, err := ReadHolds(tx, q.opts.Now())
	if err != nil {
		return err
	}
	q.holdList = holds
	q.applyHoldsLocked()
	return nil
}

// holdKey is the host key a held host's URLs are queued under.
func (q *Queue) holdKey(host string) string {
	if q.opts.HostKey == nil {
		return host
	}
	return q.opts.HostKey("http://" + host + "/")
}

// applyHoldsLocked recomputes the hold ends from holdList: the whole
// crawl's, and each host key's (the latest end of the holds on it), and
// re-files the hosts whose hold changed.
func (q *Queue) applyHoldsLocked() {
	q.crawlHold = time.Time{}
	for _, h := range q.holdList {
		if h.Host == "" {
			q.crawlHold = h.end()
		}
	}
	held := holdEnds(q.holdList, q.holdKey)
	changed := make(map[string]time.Time) // key -> its new end; zero when lifted
	for k, end := range held {
		if !q.held[k].Equal(end) {
			changed[k] = end
		}
	}
	for k := range q.held {
		if _, ok := held[k]; !ok {
			changed[k] = time.Time{}
		}
	}
	q.held = held
	for k, end := range changed {
		if h := q.hosts[k]; h != nil {
			h.held = end
			q.updateLocked(h)
		}
	}
	q.wakeLocked()
}

// holdEnds returns the end of the host holds of holds (the whole crawl's
// left out) by key(host): the latest of the holds on one key, farFuture
// for a hold without an end.
func holdEnds(holds []Hold, key func(host string) string) map[string]time.Time {
	ends := make(map[string]time.Time, len(holds))
	for _, h := range holds {
		if h.Host == "" {
			continue
		}
		k := key(h.Host)
		if e := h.end(); e.After(ends[k]) {
			ends[k] = e
		}
	}
	return ends
}

// MarkHeld sets the Paused fields of the hosts that holds hold; key maps
// a held host to the key hosts are listed by (nil: the host itself).
func MarkHeld(hosts []*HostInfo, holds []Hold, key func(host string) string) {
	if key == nil {
		key = func(h string) string { return h }
	}
	ends := holdEnds(holds, key)
	for _, hi := range hosts {
		if end, ok := ends[hi.Host]; ok {
			hi.Paused = true
			if !end.Equal(farFuture) {
				hi.PausedUntil = end
			}
		}
	}
}

// crawlHeldLocked reports how long the whole crawl stays held from now:
// 0 when it is not, farFuture's distance when until lifted.
func (q *Queue) crawlHeldLocked(now time.Time) time.Duration {
	if q.crawlHold.IsZero() || !now.Before(q.crawlHold) {
		return 0
	}
	return q.crawlHold.Sub(now)
}

// heldForeverLocked counts the queued URLs under holds without an end:
// all of them under such a hold of the whole crawl, else those in the
// queues of such held hosts (a retry still waiting for its time counts
// once it is back in its host's queue).
func (q *Queue) heldForeverLocked() int {
	if q.crawlHold.Equal(farFuture) {
		return int(q.counts.Queued)
	}
	n := 0
	for k, end := range q.held {
		if h := q.hosts[k]; h != nil && end.Equal(farFuture) {
			n += h.queued
		}
	}
	return n
}
