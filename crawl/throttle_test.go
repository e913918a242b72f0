package crawl

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"crawler/frontier"
)

func TestThrottleAdaptsAndDecays(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	base := 100 * time.Millisecond
	th := newThrottle(base, 10*time.Second, 1, nil, 0, Backoff{Base: time.Second, Max: time.Minute, Jitter: func() float64 { return 0.5 }}, nil, clock)

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
	if d := th.setCrawlDelay("h", "https://h", time.Minute); d != 10*time.Second {
		t.Fatalf("crawl-delay 1m: delay %v; want capped at 10s", d)
	}
}

func TestThrottleBreakerGrowsAndResets(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(0, time.Minute, 2, nil, 3, Backoff{Base: time.Second, Max: time.Minute, Jitter: func() float64 { return 0.5 }},
		nil, func() time.Time { return now })
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

// A host's own limits (fetch.host_limits) replace the base delay and the
// target concurrency for it alone; Crawl-delay still lengthens its delay,
// and a reload moves a host still at its old base to the new one.
func TestThrottleHostLimits(t *testing.T) {
	clock := func() time.Time { return time.Unix(0, 0) }
	th := newThrottle(time.Second, time.Minute, 1, map[string]frontier.HostLimits{
		"own":     {Delay: 0, Concurrency: 4},
		"fragile": {Delay: 10 * time.Second, Concurrency: -1},
	}, 0, Backoff{Base: time.Second, Max: time.Minute}, nil, clock)
	for _, tc := range []struct {
		host string
		want time.Duration
	}{{"own", 0}, {"fragile", 10 * time.Second}, {"other", time.Second}} {
		if d, _, _ := th.state(tc.host); d != tc.want {
			t.Errorf("%s: delay %s; want %s", tc.host, d, tc.want)
		}
	}
	// A healthy 400 ms answer aims at latency / target: 100 ms on "own"
	// (target 4), halfway from 0; 400 ms elsewhere, but never below base.
	if d, _ := th.observe("own", healthy, 400*time.Millisecond); d != 50*time.Millisecond {
		t.Errorf("own after a healthy answer: %s; want 50ms", d)
	}
	if d := th.setCrawlDelay("own", "https://own", 3*time.Second); d != 3*time.Second {
		t.Errorf("own with Crawl-delay 3s: %s; want 3s", d)
	}
	th.configure(2*time.Second, time.Minute, 1, nil, 0, Backoff{Base: time.Second, Max: time.Minute})
	if d, _, _ := th.state("fragile"); d != 2*time.Second {
		t.Errorf("fragile after a reload without its limits: %s; want the new base 2s", d)
	}
}

// A host key that groups several origins (http and https, or a domain's
// hosts) takes the largest Crawl-delay among them, whichever robots.txt
// was applied last; an origin lowering its own lowers the key's only to
// the next largest.
func TestThrottleCrawlDelayIsTheLargestOfTheOrigins(t *testing.T) {
	th := newThrottle(0, time.Minute, 2, nil, 0, Backoff{Base: time.Second, Max: time.Minute}, nil, time.Now)
	for _, c := range []struct {
		origin string
		d      time.Duration
		want   time.Duration
	}{
		{"https://www.a.test", 5 * time.Second, 5 * time.Second},
		{"https://docs.a.test", 2 * time.Second, 5 * time.Second},
		{"https://docs.a.test", 8 * time.Second, 8 * time.Second},
		{"https://docs.a.test", time.Second, 5 * time.Second},
		{"https://www.a.test", 2 * time.Hour, time.Minute}, // capped
	} {
		if got := th.setCrawlDelay("a.test", c.origin, c.d); got != c.want {
			t.Errorf("Crawl-delay %v from %s: the key's delay is %v; want %v", c.d, c.origin, got, c.want)
		}
	}
}

// keptPace is a paceKeeper in memory, counting what it is told.
type keptPace struct {
	mu     sync.Mutex
	trips  map[string]int
	sets   int // SetTrips calls
	jumps  int // of those, counts that did not follow the one before (+1, or 0)
	delays map[string]time.Duration
}

func newKeptPace() *keptPace {
	return &keptPace{trips: map[string]int{}, delays: map[string]time.Duration{}}
}

func (k *keptPace) SetDelay(key string, d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.delays[key] = d
}

func (k *keptPace) SetTrips(key string, n int) {
	runtime.Gosched() // lets another answer's count overtake this one, unless the throttle orders them
	k.mu.Lock()
	defer k.mu.Unlock()
	if n != 0 && n != k.trips[key]+1 {
		k.jumps++
	}
	k.trips[key] = n
	k.sets++
}

func (k *keptPace) KeptTrips(key string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.trips[key]
}

// Answers of one host handled at once reach the keeper in the order the
// throttle counted them: each count it is told follows the one before,
// and what it keeps last is what the throttle holds. It is told a count
// only when that changes.
func TestThrottleKeepsTheLastCount(t *testing.T) {
	kept := newKeptPace()
	th := newThrottle(0, time.Minute, 2, nil, 1, Backoff{Base: time.Second, Max: time.Minute}, kept, time.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				o := healthy
				if (g+i)%3 != 0 {
					o = failure
				}
				th.observe("h", o, time.Millisecond)
			}
		})
	}
	wg.Wait()
	if kept.jumps > 0 {
		t.Errorf("%d of %d counts reached the keeper out of order", kept.jumps, kept.sets)
	}
	trips, ok := th.trips("h")
	if !ok || kept.KeptTrips("h") != trips {
		t.Errorf("the keeper keeps %d trips; the throttle holds %d (%v)", kept.KeptTrips("h"), trips, ok)
	}
	before := kept.sets
	for range 10 {
		th.observe("h", healthy, time.Millisecond)
	}
	if n := kept.sets - before; n > 1 {
		t.Errorf("10 healthy answers told the keeper the trips %d times; want at most once", n)
	}
}

// A host whose breaker opened and that has been quiet for an hour is
// forgotten like any other (a crawl meeting many dead hosts does not keep
// them all), and when its breaker next opens it goes on from the trips
// kept for it. So does a host met first since a restart.
func TestThrottleForgetsDeadHostsKeepsTheirTrips(t *testing.T) {
	now := time.Unix(1000, 0)
	kept := newKeptPace()
	kept.trips["restarted"] = 4
	th := newThrottle(0, time.Minute, 2, nil, 1, Backoff{Base: time.Second, Max: time.Hour, Jitter: func() float64 { return 0.5 }},
		kept, func() time.Time { return now })
	for range 3 {
		th.observe("dead", failure, time.Millisecond)
	}
	now = now.Add(2 * time.Hour)
	th.sweep()
	if n := len(th.hosts); n != 0 {
		t.Errorf("after an idle hour's sweep the throttle holds %d hosts; want 0", n)
	}
	for _, c := range []struct {
		host string
		trip int
	}{{"dead", 4}, {"restarted", 5}} {
		want := time.Second << (c.trip - 1)
		if _, p := th.observe(c.host, failure, time.Millisecond); p.Sub(now) != want {
			t.Errorf("%s: the breaker's next pause is %v; want trip %d's %v", c.host, p.Sub(now), c.trip, want)
		}
	}
}
