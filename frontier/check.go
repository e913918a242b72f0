package frontier

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"crawler/store"
)

// Check verifies the frontier's invariants in tx and returns every
// violation found, joined:
//   - every queue, retry and staged entry has a URL record in state
//     queued (a staged one, the record it implies; none stored), and no
//     URL is queued twice;
//   - every URL record in state queued has exactly one queue or retry entry,
//     but for as many as the damaged entries the frontier set aside;
//   - the done, failed and disallowed counters equal the URL records in
//     those states (a staged disallowed link's, the record it implies);
//   - each host's queued total equals its queue, retry and staged entries;
//   - every finished mark (finished.go) decodes and belongs to a block
//     that has entries it does not mark;
//   - every operator's hold (Hold) decodes.
//
// It reads everything once; memory grows with the number of queued URLs.
// A file from before seen keys that no daemon has opened since (Open
// migrates it), or whose migration a crash cut short, is checked in its
// own layout.
func Check(tx *store.Tx) error {
	btx := tx.Bolt()
	holdErr := checkHolds(btx.Bucket(bucketHolds))
	urls := readSeenSet(btx)
	qb, db := btx.Bucket(bucketQueue), btx.Bucket(bucketDelayed)
	if urls.empty() || qb == nil || db == nil {
		return holdErr // never crawled
	}
	var errs []error
	report := func(format string, args ...any) {
		if len(errs) < 100 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	queued := make(map[string]bool) // by seenSet key
	perHost := make(map[string]int64)
	visit := func(where string, host string, e *entry) {
		v, key := urls.get(e.URL)
		if key != nil {
			if queued[string(key)] {
				report("%s: %s is queued twice", where, e.URL)
			}
			queued[string(key)] = true
		}
		perHost[host]++
		r, err := unmarshalURLRecord(v)
		switch {
		case err != nil:
			report("%s: %s has no URL record", where, e.URL)
		case r.State != StateQueued:
			report("%s: %s is queued but its state is %v", where, e.URL, r.State)
		}
	}
	qc := newQueueCursor(btx)
	for k, v, err := qc.first(); k != nil; k, v, err = qc.next() {
		var e *entry
		switch {
		case err != nil:
		case !isEntryKey(k):
			err = errors.New("not a queue key")
		default:
			e, err = unmarshalEntry(hostOfKey(k), v)
		}
		if err != nil {
			report("queue entry %q: %v", k, err)
			continue
		}
		visit("queue", hostOfKey(k), e)
	}
	checkMarks(btx, report)
	_ = db.ForEach(func(k, v []byte) error {
		host, e, err := unmarshalTimed(v)
		if err != nil {
			report("retry entry %x: %v", k, err)
			return nil
		}
		visit("retry", host, e)
		return nil
	})
	var states [6]int64
	forStaged(btx, func(k []byte, s stagedURL, err error) {
		if err == nil && s.disallowed() {
			states[StateDisallowed]++ // only its record: nothing to check it against
			return
		}
		if err == nil {
			s.e, err = unmarshalEntry(s.host, s.raw)
		}
		switch {
		case err != nil:
			report("staged entry %x: corrupt", k)
		case !bytes.Equal(s.key, seenKey(s.e.URL)):
			report("staged: %s is under another URL's key", s.e.URL)
		default:
			visit("staged", s.host, s.e)
		}
	})
	recrawls := make(map[string]bool)
	if rb := btx.Bucket(bucketRecrawl); rb != nil {
		_ = rb.ForEach(func(k, v []byte) error {
			_, e, err := unmarshalTimed(v)
			if err != nil {
				report("recrawl entry %x: corrupt", k)
				return nil
			}
			rec, _ := urls.get(e.URL)
			r, err := unmarshalURLRecord(rec)
			if err == nil && !r.recrawlCurrent(dueAt(k)) {
				// Left behind by a refresh (the URL queued, or finished
				// again, since): promote drops it.
				return nil
			}
			if recrawls[e.URL] {
				report("recrawl: %s is due twice", e.URL)
			}
			recrawls[e.URL] = true
			if err != nil {
				report("recrawl: %s is due again but has no URL record", e.URL)
			}
			return nil
		})
	}
	var orphans []string // queued URL records with no entry
	urls.forEach(func(k, v []byte) {
		r, err := unmarshalURLRecord(v)
		if err != nil {
			report("URL record %x: %v", k[1:], err)
			return
		}
		if int(r.State) < len(states) {
			states[r.State]++
		}
		if r.State == StateQueued && !queued[string(k)] {
			orphans = append(orphans, fmt.Sprintf("%x", k[1:]))
		}
	})
	// The URL of an entry set aside is unknown: its record stays queued.
	if aside := asideCount(btx); int64(len(orphans)) > aside {
		for _, k := range orphans {
			report("URL record %s is in state queued but in no queue", k)
		}
		if aside > 0 {
			report("%d URL records are in state queued but in no queue, and only %d damaged entries were set aside", len(orphans), aside)
		}
	}
	c := ReadCounts(tx)
	for _, x := range []struct {
		name   string
		stored int64
		state  State
	}{{"done", c.Done, StateDone}, {"failed", c.Failed, StateFailed}, {"disallowed", c.Disallowed, StateDisallowed}} {
		if x.stored != states[x.state] {
			report("counter %s = %d but %d URLs are %s", x.name, x.stored, states[x.state], x.name)
		}
	}
	hb := btx.Bucket(bucketHosts)
	_ = hb.ForEach(func(k, v []byte) error {
		r := unmarshalHostRecord(v)
		if r.Queued != perHost[string(k)] {
			report("host %s: queued total %d but %d entries", k, r.Queued, perHost[string(k)])
		}
		delete(perHost, string(k))
		return nil
	})
	for h, n := range perHost {
		report("host %s: %d entries but no host record", h, n)
	}
	return errors.Join(append(errs, holdErr)...)
}

// checkMarks reports the finished marks that do not decode, that belong
// to no block, or that leave their block no entry.
func checkMarks(btx *bolt.Tx, report func(string, ...any)) {
	mb, qb := btx.Bucket(bucketFinished), btx.Bucket(bucketQueue)
	if mb == nil {
		return
	}
	_ = mb.ForEach(func(k, v []byte) error {
		bv := qb.Get(k)
		marks, ok := decodeMarks(v)
		switch {
		case !isBlockKey(k) || bv == nil:
			report("finished mark %q: no such queue block", k)
		case !ok:
			report("finished mark %q: does not decode", k)
		case storedLive(k, bv, marks) == 0:
			report("finished mark %q: marks every entry of its block", k)
		}
		return nil
	})
}

// checkHolds reports the holds of b that do not decode.
func checkHolds(b *bolt.Bucket) error {
	if b == nil {
		return nil
	}
	var errs []error
	_ = b.ForEach(func(k, v []byte) error {
		if _, err := unmarshalHold(k, v); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	return errors.Join(errs...)
}

// ReadCounts returns the frontier's totals as stored in tx; in flight is
// always zero on disk (see State).
func ReadCounts(tx *store.Tx) Counts {
	btx := tx.Bolt()
	m := btx.Bucket(bucketMeta)
	if m == nil {
		return Counts{}
	}
	c := Counts{
		Done:       int64(u64(m.Get(keyDone))),
		Failed:     int64(u64(m.Get(keyFailed))),
		Disallowed: int64(u64(m.Get(keyDisallowed))),
		Trapped:    int64(u64(m.Get(keyTrapped))),
	}
	_ = btx.Bucket(bucketHosts).ForEach(func(_, v []byte) error {
		r := unmarshalHostRecord(v)
		c.Queued += r.Queued
		if r.Queued > 0 {
			c.Hosts++
		}
		return nil
	})
	return c
}

// URLState returns the stored state of a normalized URL, or
// store.ErrNotFound if the crawl never saw it.
func URLState(tx *store.Tx, url string) (State, error) {
	v, _ := readSeenSet(tx.Bolt()).get(url)
	if v == nil {
		return 0, store.ErrNotFound
	}
	r, err := unmarshalURLRecord(v)
	return r.State, err
}
