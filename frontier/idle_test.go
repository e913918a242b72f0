package frontier

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// remembered returns how many hosts the queue holds in memory.
func remembered(q *Queue) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.hosts)
}

// crawlOne takes one URL and commits it done, waiting until the commit is
// applied.
func crawlOne(t *testing.T, q *Queue) *Item {
	t.Helper()
	it := next(t, q)
	q.Release(it, q.opts.Now()) // the request started and ended at once
	if err := q.Commit(context.Background(), &Completion{Item: it, State: StateDone}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !q.Idle() {
		if time.Now().After(deadline) {
			t.Fatalf("commit of %s not applied: %+v", it.URL, q.Counts())
		}
		time.Sleep(time.Millisecond)
	}
	return it
}

// Hosts whose URLs are all crawled are remembered only while their
// politeness clock runs, so the queue's memory follows the hosts being
// crawled, not every host ever crawled; a host that comes back before its
// clock has run out still waits for it, with the delay it had.
func TestIdleHostsAreForgotten(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	_, q := openTest(t, "", Options{PerHostConcurrency: 1, PerHostDelay: time.Minute, Now: clock.Now})
	ctx := context.Background()
	const hosts = 50
	for i := range hosts {
		if _, err := q.Add(ctx, []Link{link(fmt.Sprintf("h%d.example", i), 0)}); err != nil {
			t.Fatal(err)
		}
		crawlOne(t, q)
	}
	if c := q.Counts(); c.Hosts != 0 || c.Done != hosts {
		t.Fatalf("after crawling every host once: %+v; want Hosts 0 (none has work), Done %d", c, hosts)
	}
	if live := q.Live(); len(live) != 0 {
		t.Fatalf("Live() lists %d hosts with nothing to do", len(live))
	}
	if n := remembered(q); n != hosts {
		t.Fatalf("%d hosts remembered while their clocks run; want %d", n, hosts)
	}

	q.SetDelay("h0.example", 10*time.Minute) // e.g. Crawl-delay learned on its last fetch
	clock.advance(2 * time.Minute)
	if _, err := q.Add(ctx, []Link{link("new.example", 0)}); err != nil {
		t.Fatal(err)
	}
	crawlOne(t, q) // a pick forgets the hosts whose clock has run out
	if n := remembered(q); n != 2 {
		t.Fatalf("%d hosts remembered 2 minutes on; want 2 (h0 with its 10m delay, new.example)", n)
	}

	// h0 comes back: its 10-minute clock (from its fetch 2 minutes ago)
	// still holds it.
	if _, err := q.Add(ctx, []Link{link("h0.example", 1)}); err != nil {
		t.Fatal(err)
	}
	if _, wait := q.pick(); wait < 7*time.Minute {
		t.Fatalf("h0 may start again in %v; want its 10-minute delay (about 8m) honoured", wait)
	}
	clock.advance(8 * time.Minute)
	q.mu.Lock()
	q.wakeLocked() // the dispatcher sleeps on a real timer
	q.mu.Unlock()
	it := crawlOne(t, q)
	if it.Host != "h0.example" {
		t.Fatalf("took %s, want h0.example", it.Host)
	}
	clock.advance(time.Hour)
	q.Pause("gone.example", clock.Now()) // any update sweeps
	if n := remembered(q); n != 0 {
		t.Fatalf("%d hosts remembered an hour after the last fetch; want 0", n)
	}
}
