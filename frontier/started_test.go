package frontier

import (
	"context"
	"errors"
	"testing"
	"time"
)

// nextWithin returns the URL Next gives within d, or nil.
func nextWithin(t *testing.T, q *Queue, d time.Duration) *Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	it, err := q.Next(ctx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next: %v", err)
	}
	return it
}

// finish releases it as a request sent at the clock's time and commits it
// done.
func finish(t *testing.T, q *Queue, it *Item) {
	t.Helper()
	q.Release(it, q.opts.Now())
	if err := q.Commit(context.Background(), &Completion{Item: it, State: StateDone}); err != nil {
		t.Fatal(err)
	}
}

// A host with a delay and free concurrency slots gets no second URL while
// its last one is unsent, however long the wait: the delay counts from the
// request's start, which the hand-out does not tell. Before this gate, a
// worker held up between the hand-out and the request (a dial, a
// robots.txt wait) let the server see two requests at once. Other hosts
// are not held, and once the request is sent the host's next URL waits
// out the delay from the send.
func TestUnsentRequestHoldsItsHost(t *testing.T) {
	const delay = 100 * time.Millisecond
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	_, q := openTest(t, "", Options{PerHostConcurrency: 3, PerHostDelay: delay, Now: clock.Now})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("a", 2), link("a", 3)}); err != nil {
		t.Fatal(err)
	}
	first := next(t, q)
	clock.advance(10 * delay) // the worker is held up: nothing sent yet
	if it := nextWithin(t, q, 3*delay); it != nil {
		t.Fatalf("released %s while the host's previous request was unsent", it.URL)
	}
	if _, err := q.Add(ctx, []Link{link("b", 1)}); err != nil {
		t.Fatal(err)
	}
	other := next(t, q)
	if other.Host != "b" {
		t.Fatalf("got %s; want host b's URL (a is waiting for a send)", other.URL)
	}
	finish(t, q, other)

	q.Started(first, clock.Now())
	if it := nextWithin(t, q, 3*delay); it != nil {
		t.Fatalf("released %s before the delay after the send had passed", it.URL)
	}
	clock.advance(delay)
	second := next(t, q)
	if second.Host != "a" {
		t.Fatalf("got %s; want host a's next URL", second.URL)
	}
	q.Started(second, clock.Now())
	q.Started(second, clock.Now().Add(time.Hour)) // a later hop's send: ignored

	// A lease that ends unsent frees the gate too.
	clock.advance(delay)
	third := next(t, q)
	q.Release(third, time.Time{}) // e.g. the dial failed
	q.Requeue(third, time.Time{})
	if again := next(t, q); again.URL != third.URL {
		t.Fatalf("after an unsent requeue got %s; want %s", again.URL, third.URL)
	} else {
		finish(t, q, again)
	}
	finish(t, q, first)
	finish(t, q, second)
}

// Without a delay nothing is gated: a host's concurrency slots fill at
// once, as the throughput crawls need.
func TestNoDelayNoSendGate(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	_, q := openTest(t, "", Options{PerHostConcurrency: 3, Now: clock.Now})
	if _, err := q.Add(context.Background(), []Link{link("a", 1), link("a", 2), link("a", 3)}); err != nil {
		t.Fatal(err)
	}
	var its []*Item
	for range 3 {
		its = append(its, next(t, q))
	}
	for _, it := range its {
		finish(t, q, it)
	}
}
