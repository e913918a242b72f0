package crawl

import (
	"testing"
	"time"
)

func TestThrottleAdaptsAndDecays(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	base := 100 * time.Millisecond
	th := newThrottle(base, 10*time.Second, 1, 0, Backoff{Base: time.Second, Max: time.Minute, Jitter: func() float64 { return 0.5 }}, clock)

	d, _ := th.observe("h", overload, time.Millisecond)
	if d != minOverloadDelay {
		t.Fatalf("after one 429: delay %v; want %v", d, minOverloadDelay)
	}
	d, _ = th.observe("h", overload, time.Millisecond)
	if d != 2*minOverloadDelay {
		t.Fatalf("after two 429s: delay %v; want doubled", d)
	}
	// Slow healthy answers keep it up; fast ones bring it back to base.
	d, _ = th.observe("h", healthy, 2*time.Second)
	if d < time.Second {
		t.Fatalf("after a 2s answer: delay %v; want it to follow latency", d)
	}
	for range 20 {
		d, _ = th.observe("h", healthy, time.Millisecond)
	}
	if d != base {
		t.Fatalf("after healthy answers: delay %v; want back to %v", d, base)
	}
	// Crawl-delay is a floor; the cap holds.
	if d := th.setCrawlDelay("h", time.Minute); d != 10*time.Second {
		t.Fatalf("crawl-delay 1m: delay %v; want capped at 10s", d)
	}
}

func TestThrottleBreakerGrowsAndResets(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(0, time.Minute, 2, 3, Backoff{Base: time.Second, Max: time.Minute, Jitter: func() float64 { return 0.5 }},
		func() time.Time { return now })
	var pauses []time.Duration
	for i := range 9 {
		_, p := th.observe("dead", failure, time.Millisecond)
		if (i+1)%3 == 0 {
			if p.IsZero() {
				t.Fatalf("failure %d: breaker did not open", i+1)
			}
			pauses = append(pauses, p.Sub(now))
		} else if !p.IsZero() {
			t.Fatalf("failure %d: breaker opened early", i+1)
		}
	}
	if !(pauses[0] < pauses[1] && pauses[1] < pauses[2]) {
		t.Fatalf("breaker pauses %v; want growing", pauses)
	}
	if _, f, _ := th.state("other"); f != 0 {
		t.Fatalf("another host has %d failures", f)
	}
	th.observe("dead", healthy, time.Millisecond)
	if _, f, trips := th.state("dead"); f != 0 || trips != 0 {
		t.Fatalf("after a healthy answer: failures %d trips %d; want reset", f, trips)
	}
}
