package fetcher

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/sync/semaphore"
)

// unknownLengthStart is what a body of unknown length reserves before its
// first byte. Most pages are smaller; a larger body tops its reservation
// up to the full cap when it outgrows this, so many small chunked pages
// read at once while only a few huge ones do.
const unknownLengthStart = 256 << 10

// bodyBudget is Options.BodyMemory: the semaphore the bodies draw on and
// the top-ups waiting on it. Clients that replace one another on a reload
// share it (Options.BudgetOf).
type bodyBudget struct {
	*semaphore.Weighted
	size      int64
	topUpMu   sync.Mutex
	topUps    map[int64]int // bytes waited for by top-ups in progress -> how many
	topUpHeld int64         // bytes held by the fetches waiting for those top-ups
}

// reservation is one fetch's share of Options.BodyMemory.
type reservation struct {
	b    *bodyBudget
	ctx  context.Context
	mu   sync.Mutex
	held int64 // bytes acquired and not yet released
	full int64 // the most this body may need
}

// reserve takes from the body-memory budget what reading hresp's body needs
// to start, and arranges for resp.Release to give back all it takes. It
// returns nil when there is no budget.
func (c *Client) reserve(ctx context.Context, resp *Response, hresp *http.Response, maxBody int64) (*reservation, error) {
	if c.budget == nil {
		return nil, nil
	}
	r := &reservation{b: c.budget, ctx: ctx}
	var start int64
	if cl := hresp.ContentLength; cl >= 0 && len(hresp.Header.Values("Content-Encoding")) == 0 {
		// Read into a buffer of exactly this size: no growth.
		start = min(addSat(cl, 1), addSat(maxBody, 1))
		r.full = start
	} else {
		// The buffer doubles as it fills; the last copy briefly holds the
		// old and the new slice.
		r.full = addSat(addSat(maxBody, 1), addSat(maxBody, 1))
		start = min(int64(unknownLengthStart), r.full)
	}
	r.full = min(r.full, c.budget.size) // a cap above the budget must not wait forever
	if err := r.grow(min(start, r.full)); err != nil {
		return nil, err
	}
	var once sync.Once
	resp.release = func() { once.Do(r.releaseAll) }
	return r, nil
}

// grow makes sure at least size bytes are held, taking everything up to
// full at once when the body outgrows what it holds (one wait, not many).
func (r *reservation) grow(size int64) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if size <= r.held || r.held >= r.full {
		return nil
	}
	want := r.full - r.held
	if r.held == 0 {
		want = min(size, r.full)
	} else {
		// A top-up waits while holding its start: only safe while the
		// budget can still serve it (see enterTopUp).
		if err := r.b.enterTopUp(r.held, want); err != nil {
			return err
		}
		defer r.b.leaveTopUp(r.held, want) // r.held as it is now, before the top-up
	}
	if err := r.b.Acquire(r.ctx, want); err != nil {
		return fmt.Errorf("%w: %w", ErrBodyMemory, err)
	}
	r.held += want
	return nil
}

// enterTopUp admits a fetch holding held bytes to wait for want more, or
// fails at once when that wait could deadlock. Fetches waiting for a top-up
// hold their start and wait for each other: if what they hold together,
// plus the largest top-up any of them waits for, exceeds the budget, then
// once every other fetch has given its memory back none of them may be
// servable, and all would wait until Timeout. Admitting only top-ups that
// keep that sum within the budget means the waiting ones can always be
// served, one after the other. The failure wraps ErrBodyMemory
// (KindBodyMemory). Config validation sizes fetch.body_memory so that
// it does not happen, but a reload that shares the budget with fetches of
// a larger max_body_bytes can still meet it: the crawler requeues such a
// fetch, as it does every KindBodyMemory one.
func (b *bodyBudget) enterTopUp(held, want int64) error {
	b.topUpMu.Lock()
	defer b.topUpMu.Unlock()
	largest := want
	for w := range b.topUps {
		largest = max(largest, w)
	}
	if b.topUpHeld+held > b.size-largest {
		return fmt.Errorf("%w: cannot grow a body holding %d bytes by %d: %d bytes are held by bodies "+
			"already waiting to grow, and their largest wait is %d bytes, together more than the budget of %d; "+
			"waiting could deadlock (Options.BodyMemory too small for this many large bodies at once)",
			ErrBodyMemory, held, want, b.topUpHeld, largest, b.size)
	}
	if b.topUps == nil {
		b.topUps = make(map[int64]int)
	}
	b.topUps[want]++
	b.topUpHeld += held
	return nil
}

// leaveTopUp ends a wait enterTopUp admitted, whether it was served or not.
func (b *bodyBudget) leaveTopUp(held, want int64) {
	b.topUpMu.Lock()
	defer b.topUpMu.Unlock()
	if b.topUps[want]--; b.topUps[want] == 0 {
		delete(b.topUps, want)
	}
	b.topUpHeld -= held
}

func (r *reservation) releaseAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held > 0 {
		r.b.Release(r.held)
		r.held = 0
	}
}

// Release gives back the body memory Fetch reserved for r (see
// Options.BodyMemory). Call it once the body is no longer needed; it is
// safe to call more than once, and on a nil Response.
func (r *Response) Release() {
	if r != nil && r.release != nil {
		r.release()
	}
}
