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
	starting int                 // of those, handed out and not yet sent (Queue.Started)
	next     time.Time           // earliest start of the host's next request, by politeness
	paused   time.Time           // the crawl's latest pause ends then (Queue.Pause); zero when none
	held     time.Time           // an operator's hold ends then (Queue.Hold); zero when none
	delay    time.Duration       // least time between two request starts
	kept     time.Duration       // the delay the file keeps for the host (Pace.Delay), as written last; -1: not known
	at       [2]int              // position in Queue.ready and Queue.idle (readySlot, idleSlot); -1 when absent
	// lastOut is when the dispatcher last handed out one of the host's
	// URLs, and gap a moving average of the time between two (zero until
	// measured): the pace at which the host goes through its queue.
	lastOut time.Time
	gap     time.Duration
}

func newHost(key string, delay time.Duration) *host {
	return &host{key: key, leased: make(map[string]struct{}), delay: delay, kept: -1, at: [2]int{-1, -1}}
}

// settleStart ends it's wait to be sent, once: it was sent, or its lease
// ended unsent.
func (h *host) settleStart(it *Item) {
	if !it.started {
		it.started = true
		h.starting--
	}
}

// due is the earliest start of the host's next request: its politeness
// clock and pause (clock), or the end of its hold when later.
func (h *host) due() time.Time {
	if h.held.After(h.clock()) {
		return h.held
	}
	return h.clock()
}

// clock is the host's politeness clock, or the end of its pause when
// later. A pause is kept apart from the clock, which moves back (a lower
// delay, a slot given back unsent) and would take the pause with it.
func (h *host) clock() time.Time {
	if h.paused.After(h.next) {
		return h.paused
	}
	return h.next
}

// handedOut records that one of the host's URLs was handed out at now.
func (h *host) handedOut(now time.Time) {
	if !h.lastOut.IsZero() {
		h.gap += (now.Sub(h.lastOut) - h.gap) / 8
	}
	h.lastOut = now
}

// pending is the number of disk entries neither leased nor in the window.
func (h *host) pending() int { return h.queued - len(h.leased) - len(h.window) }

// hasWork reports whether the host has an entry that could be handed out.
func (h *host) hasWork() bool { return len(h.window) > 0 || h.pending() > 0 }

// idle reports whether nothing about the host needs remembering but its
// politeness clock. Idle hosts wait in Queue.idle until their clock has
// run out, then the queue forgets them, so that its memory follows the
// hosts being crawled, not every host ever crawled.
func (h *host) idle() bool { return h.queued == 0 && len(h.leased) == 0 && h.inflight == 0 }

// ready reports whether the host has an entry to hand out and a free
// concurrency slot: whether it belongs in Queue.ready. A host with a
// delay also waits until the URL it was last given has been sent: the
// delay counts from that request's start, and a worker can be held
// between the hand-out and sending (a DNS lookup or dial, a robots.txt
// wait) for longer than the delay. Counting from the hand-out alone let
// the next URL start right after the held one.
func (h *host) ready(perHost int) bool {
	return h.hasWork() && h.inflight < perHost && (h.delay <= 0 || h.starting == 0)
}

// A host's positions in the queue's two heaps (host.at), by heap.
const (
	readySlot = iota // Queue.ready: hosts with work and a free concurrency slot
	idleSlot         // Queue.idle: hosts with nothing queued, leased or in flight
)

// hostHeap is a min-heap of hosts ordered by their next allowed start
// (host.due). A
// host may be in both of the queue's heaps at different times; slot says
// which of its positions (host.at) this heap keeps.
type hostHeap struct {
	hosts []*host
	slot  int
}

func (hh *hostHeap) Len() int           { return len(hh.hosts) }
func (hh *hostHeap) Less(i, j int) bool { return hh.hosts[i].due().Before(hh.hosts[j].due()) }
func (hh *hostHeap) Swap(i, j int) {
	hh.hosts[i], hh.hosts[j] = hh.hosts[j], hh.hosts[i]
	hh.hosts[i].at[hh.slot] = i
	hh.hosts[j].at[hh.slot] = j
}
func (hh *hostHeap) Push(x any) {
	h := x.(*host)
	h.at[hh.slot] = len(hh.hosts)
	hh.hosts = append(hh.hosts, h)
}
func (hh *hostHeap) Pop() any {
	old := hh.hosts
	h := old[len(old)-1]
	old[len(old)-1] = nil
	hh.hosts = old[:len(old)-1]
	h.at[hh.slot] = -1
	return h
}

// top returns the host with the earliest next start; the heap must not be
// empty.
func (hh *hostHeap) top() *host { return hh.hosts[0] }

// has reports whether h is in the heap.
func (hh *hostHeap) has(h *host) bool { return h.at[hh.slot] >= 0 }

// set puts h where it belongs: in the heap, at its place, when want; out
// of it otherwise.
func (hh *hostHeap) set(h *host, want bool) {
	switch i := h.at[hh.slot]; {
	case want && i < 0:
		heap.Push(hh, h)
	case want:
		heap.Fix(hh, i)
	case i >= 0:
		heap.Remove(hh, i)
	}
}
