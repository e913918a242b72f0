package frontier

import (
	"container/heap"
	"time"
)

// host is the in-memory scheduling state of one host (host[:port]). The
// host's URLs live on disk; only a small window of them is held here.
type host struct {
	key      string
	queued   int                 // entries in the host's disk queue (leased ones included)
	leased   map[string]struct{} // queue keys handed to workers and not yet committed
	window   []*Item             // next entries, read from disk, not yet handed out
	inflight int                 // fetches holding one of the host's concurrency slots
	next     time.Time           // earliest start of the host's next request
	delay    time.Duration       // least time between two request starts
	index    int                 // position in the ready heap; -1 when absent
	idleAt   int                 // position in the idle heap; -1 when absent
}

func newHost(key string, delay time.Duration) *host {
	return &host{key: key, leased: make(map[string]struct{}), delay: delay, index: -1, idleAt: -1}
}

// pending is the number of disk entries neither leased nor in the window.
func (h *host) pending() int { return h.queued - len(h.leased) - len(h.window) }

// hasWork reports whether the host has an entry that could be handed out.
func (h *host) hasWork() bool { return len(h.window) > 0 || h.pending() > 0 }

// idle reports whether nothing about the host needs remembering but its
// politeness clock.
func (h *host) idle() bool { return h.queued == 0 && len(h.leased) == 0 && h.inflight == 0 }

// hostHeap is a min-heap of hosts ordered by their next allowed start.
type hostHeap []*host

func (hh hostHeap) Len() int           { return len(hh) }
func (hh hostHeap) Less(i, j int) bool { return hh[i].next.Before(hh[j].next) }
func (hh hostHeap) Swap(i, j int) {
	hh[i], hh[j] = hh[j], hh[i]
	hh[i].index = i
	hh[j].index = j
}
func (hh *hostHeap) Push(x any) {
	h := x.(*host)
	h.index = len(*hh)
	*hh = append(*hh, h)
}
func (hh *hostHeap) Pop() any {
	old := *hh
	h := old[len(old)-1]
	old[len(old)-1] = nil
	*hh = old[:len(old)-1]
	h.index = -1
	return h
}

// update puts h where it belongs: in the heap when it has work and a free
// concurrency slot, out of it otherwise.
func (hh *hostHeap) update(h *host, perHost int) {
	want := h.hasWork() && h.inflight < perHost
	switch {
	case want && h.index < 0:
		heap.Push(hh, h)
	case want:
		heap.Fix(hh, h.index)
	case h.index >= 0:
		heap.Remove(hh, h.index)
	}
}

// idleHeap is a min-heap, by next allowed start, of the hosts that have
// nothing queued, leased or in flight but whose politeness clock still
// runs: the queue remembers them (their next start and delay, a pause)
// until then, and forgets them after, so that its memory follows the hosts
// being crawled, not every host ever crawled.
type idleHeap []*host

func (ih idleHeap) Len() int           { return len(ih) }
func (ih idleHeap) Less(i, j int) bool { return ih[i].next.Before(ih[j].next) }
func (ih idleHeap) Swap(i, j int) {
	ih[i], ih[j] = ih[j], ih[i]
	ih[i].idleAt = i
	ih[j].idleAt = j
}
func (ih *idleHeap) Push(x any) {
	h := x.(*host)
	h.idleAt = len(*ih)
	*ih = append(*ih, h)
}
func (ih *idleHeap) Pop() any {
	old := *ih
	h := old[len(old)-1]
	old[len(old)-1] = nil
	*ih = old[:len(old)-1]
	h.idleAt = -1
	return h
}

// update puts h in the heap when it is idle and out of it otherwise.
func (ih *idleHeap) update(h *host) {
	switch want := h.idle(); {
	case want && h.idleAt < 0:
		heap.Push(ih, h)
	case want:
		heap.Fix(ih, h.idleAt)
	case h.idleAt >= 0:
		heap.Remove(ih, h.idleAt)
	}
}
