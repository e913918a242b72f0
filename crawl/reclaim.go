package crawl

import (
	"context"
	"sync"
	"time"

	"crawler/config"
	"crawler/store"
)

// reclaimEvery is how often Run looks at the value log's garbage when
// Options.ReclaimEvery is 0.
const reclaimEvery = time.Minute

// reclaimer runs the store's Reclaim beside the crawl, one at a time:
// every recrawl leaves the replaced record (and body, when the page
// changed) in the value log, so a daemon that recrawls would otherwise
// grow its log for as long as it runs.
type reclaimer struct {
	mu      sync.Mutex
	cancel  context.CancelFunc // nil: none running
	done    chan struct{}      // closed when the running one returns
	noSpace bool               // the last check found too little free space (logged once)
}

// reclaimDue reports whether the store's garbage calls for a reclaim
// under s: at least s.ReclaimGarbagePercent of the value log and at least
// s.ReclaimMinGarbageBytes. A percent of 0 turns it off.
func reclaimDue(c store.Counts, s config.Store) bool {
	if s.ReclaimGarbagePercent <= 0 || c.GarbageBytes <= 0 {
		return false
	}
	return c.GarbageBytes >= s.ReclaimMinGarbageBytes && c.GarbageBytes*100 >= c.ValueBytes*s.ReclaimGarbagePercent
}

// maybeReclaim starts a reclaim in the background when none runs and one
// is due (reclaimDue), or when one was left unfinished (a crash or a stop
// in the middle of one), unless free space in data_dir is less than the
// live values it would copy. It runs on Run's housekeeping tick.
func (e *Engine) maybeReclaim(ctx context.Context) {
	r := &e.reclaim
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	cfg := e.config()
	if cfg.Store.ReclaimGarbagePercent <= 0 {
		return
	}
	var c store.Counts
	_ = e.db.View(func(tx *store.Tx) error { c = tx.Counts(); return nil })
	unfinished := c.ValueLogs > 1
	if !unfinished && !reclaimDue(c, cfg.Store) {
		return
	}
	live := c.ValueBytes - c.GarbageBytes
	if free, err := freeBytes(cfg.DataDir); err == nil && free < live {
		if !r.noSpace {
			e.log.Warn("value log reclaim postponed: it copies the live records and bodies, and data_dir has less free space than that",
				"live_bytes", live, "free_bytes", free, "garbage_bytes", c.GarbageBytes)
			r.noSpace = true
		}
		return
	}
	r.noSpace = false
	rctx, cancel := context.WithCancel(ctx)
	r.cancel, r.done = cancel, make(chan struct{})
	e.log.Info("reclaiming the value log's replaced records and bodies",
		"value_log_bytes", c.ValueBytes, "garbage_bytes", c.GarbageBytes, "unfinished", unfinished)
	go func(done chan struct{}) {
		defer close(done)
		defer cancel()
		start := time.Now()
		st, err := e.db.Reclaim(rctx)
		r.mu.Lock()
		r.cancel = nil
		r.mu.Unlock()
		e.stats.ReclaimMoved.Add(st.MovedBytes)
		switch {
		case err == nil:
			e.stats.Reclaims.Add(1)
			e.stats.ReclaimFreed.Add(st.Freed)
			e.log.Info("value log reclaimed", "moved_values", st.Moved, "moved_bytes", st.MovedBytes,
				"freed_bytes", st.Freed, "transactions", st.Chunks, "took", time.Since(start).Round(time.Millisecond))
			if st.Damaged > 0 {
				e.log.Warn("value log reclaim moved damaged records or bodies as they were; `crawler check` names their pages, and a recrawl answered 200 replaces them",
					"damaged_values", st.Damaged)
			}
		case rctx.Err() != nil:
			e.log.Info("value log reclaim stopped; the next start goes on with it", "moved_bytes", st.MovedBytes)
		default:
			e.log.Warn("value log reclaim failed; it is tried again later", "err", err, "moved_bytes", st.MovedBytes)
		}
	}(r.done)
}

// stopReclaim cancels a running reclaim and waits for it: what it moved
// stays moved, and the next maybeReclaim goes on with it.
func (e *Engine) stopReclaim() {
	r := &e.reclaim
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if done != nil {
		<-done
	}
}

// Reclaiming reports whether a value log reclaim is running.
func (e *Engine) Reclaiming() bool {
	e.reclaim.mu.Lock()
	defer e.reclaim.mu.Unlock()
	return e.reclaim.cancel != nil
}
