package fetcher

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// reserve takes from the body-memory budget what reading hresp's body may
// hold, and arranges for resp.Release to give it back. It waits while the
// budget is spent, for as long as ctx allows.
func (c *Client) reserve(ctx context.Context, resp *Response, hresp *http.Response, maxBody int64) error {
	if c.budget == nil {
		return nil
	}
	// Unknown length: the buffer doubles as it fills, and the last copy
	// briefly holds both the old and the new slice.
	n := 2 * (maxBody + 1)
	if cl := hresp.ContentLength; cl >= 0 && len(hresp.Header.Values("Content-Encoding")) == 0 {
		n = min(cl+1, maxBody+1) // read into a buffer of exactly this size
	}
	n = min(n, c.budgetSize) // a cap above the budget must not wait forever
	if err := c.budget.Acquire(ctx, n); err != nil {
		return fmt.Errorf("waiting for body memory (fetch.body_memory): %w", err)
	}
	var once sync.Once
	resp.release = func() { once.Do(func() { c.budget.Release(n) }) }
	return nil
}

// Release gives back the body memory Fetch reserved for r (see
// Options.BodyMemory). Call it once the body is no longer needed; it is
// safe to call more than once, and on a nil Response.
func (r *Response) Release() {
	if r != nil && r.release != nil {
		r.release()
	}
}
