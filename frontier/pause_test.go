package frontier

import (
	"context"
	"testing"
	"time"
)

// nextAt returns host's earliest next start, as Live reports it.
func nextAt(t *testing.T, q *Queue, host string) time.Time {
	t.Helper()
	h, ok := q.Live()[host]
	if !ok {
		t.Fatalf("%s not live", host)
	}
	return h.NextAt
}

// A pause (a Retry-After, a circuit breaker) holds its host until it
// ends, whatever the politeness clock does meanwhile: a lower delay set
// while the host is paused (a healthy answer of a request still in
// flight, a robots.txt that drops its Crawl-delay), or a URL that gives
// its slot back unsent, must not bring the host's next start before the
// pause's end. Both once moved the clock the pause had been folded into.
func TestPauseOutlastsTheClock(t *testing.T) {
	clock, _, q, _ := openClocked(t, Options{PerHostConcurrency: 2, ColdStart: true})
	ctx := context.Background()
	if _, err := q.Add(ctx, []Link{link("a", 1), link("a", 2), link("a", 3)}); err != nil {
		t.Fatal(err)
	}
	q.SetDelay("a", 10*time.Second)

	// A lower delay while paused.
	it := next(t, q)
	finish(t, q, it) // sent now: the next start is 10s away
	until := clock.Now().Add(time.Minute)
	q.Pause("a", until)
	q.SetDelay("a", time.Second)
	if got := nextAt(t, q, "a"); got.Before(until) {
		t.Errorf("after a lower delay, a's next start is %v before its pause ends", until.Sub(got))
	}

	// A slot given back unsent while paused.
	clock.advance(2 * time.Minute)
	q.wakeForTest()
	it = next(t, q)   // reserves the next second
	q.SetPaused(true) // the dispatcher picks no a/3 to move the clock
	until = clock.Now().Add(500 * time.Millisecond)
	q.Pause("a", until) // ends before the reserved start
	q.Release(it, time.Time{})
	if got := nextAt(t, q, "a"); got.Before(until) {
		t.Errorf("after a slot given back, a's next start is %v before its pause ends", until.Sub(got))
	}
	q.Requeue(it, time.Time{})
}
