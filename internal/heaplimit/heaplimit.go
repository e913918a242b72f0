// Package heaplimit keeps Go's soft memory limit (debug.SetMemoryLimit) at
// a floor, or at twice the live heap when that is more.
//
// A fixed limit below what a crawl really holds makes the collector run
// back to back (the runtime lets it take about half the CPU): a frontier
// over many hosts can keep more live data than a limit sized for the
// pages in flight. Following the live heap keeps the tight bound a small
// crawl gets from the floor, while a large one falls back to collecting
// as GOGC=100 would instead of thrashing. It is written here because the
// reachable libraries (automemlimit and the like) derive one fixed limit
// from the container's, which is the other half of the problem.
package heaplimit

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Ratio is the limit's multiple of the live heap once that exceeds the
// floor's share.
const Ratio = 2

// liveMetric is the heap the last collection found live.
const liveMetric = "/gc/heap/live:bytes"

// Follower adjusts the limit in the background; see Start.
type Follower struct {
	floor int64
	prev  int64 // the limit before Start, restored by Stop
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	mu    sync.Mutex
	limit int64 // the limit last set
}

// Start sets the limit to Limit(floor, live heap) now and re-checks every
// interval (default 1s when <= 0) until Stop. floor must be > 0.
func Start(floor int64, every time.Duration) *Follower {
	if every <= 0 {
		every = time.Second
	}
	f := &Follower{floor: floor, prev: debug.SetMemoryLimit(-1), stop: make(chan struct{}), done: make(chan struct{})}
	f.Update()
	go func() {
		defer close(f.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
				f.Update()
			}
		}
	}()
	return f
}

// Limit is the soft limit for a live heap of live bytes: the floor, or
// Ratio times the live heap when that is more.
func Limit(floor, live int64) int64 { return max(floor, Ratio*live) }

// Update sets the limit from the live heap now and returns it. A change of
// less than a sixteenth is not made, so a steady heap does not reset it
// at every check.
func (f *Follower) Update() int64 {
	s := []metrics.Sample{{Name: liveMetric}}
	metrics.Read(s)
	var live int64
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = int64(s[0].Value.Uint64())
	}
	want := Limit(f.floor, live)
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := want - f.limit; want != f.limit && (want == f.floor || d > f.limit/16 || -d > f.limit/16) {
		debug.SetMemoryLimit(want)
		f.limit = want
	}
	return f.limit
}

// Stop ends the checks and restores the limit Start found.
func (f *Follower) Stop() {
	f.once.Do(func() {
		close(f.stop)
		<-f.done
		debug.SetMemoryLimit(f.prev)
	})
}
