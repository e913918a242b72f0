package api

import (
	"sync"
	"time"
)

// rateWindow estimates how fast a counter grows over a sliding window,
// from samples taken at a steady pace. It is safe for concurrent use.
type rateWindow struct {
	span time.Duration

	mu      sync.Mutex
	samples []sample // oldest first
}

type sample struct {
	t time.Time
	n int64
}

// add records the counter's value n at t, and forgets samples that fell
// out of the window (keeping at least one).
func (w *rateWindow) add(t time.Time, n int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples = append(w.samples, sample{t, n})
	cut := 0
	for cut < len(w.samples)-1 && w.samples[cut].t.Before(t.Add(-w.span)) {
		cut++
	}
	if cut > 0 {
		w.samples = append(w.samples[:0], w.samples[cut:]...)
	}
}

// perSecond returns the counter's growth per second from the oldest
// sample still inside the window ending at t, where it reads n. It is 0
// before any sample, or when no time has passed.
func (w *rateWindow) perSecond(t time.Time, n int64) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	from := t.Add(-w.span)
	for _, s := range w.samples {
		if s.t.Before(from) {
			continue
		}
		dt := t.Sub(s.t).Seconds()
		if dt <= 0 {
			return 0
		}
		return float64(n-s.n) / dt
	}
	return 0
}
