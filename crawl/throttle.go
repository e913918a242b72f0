package crawl

import (
	"sync"
	"time"
)

// minOverloadDelay is the least per-host delay after a 429 or 503 when the
// configured delay is zero, so doubling has something to double.
const minOverloadDelay = 250 * time.Millisecond

// throttle adapts each host's delay to how the host behaves, like
// Scrapy's AutoThrottle but slowing down on fast error answers too:
//   - a healthy answer moves the delay halfway toward latency / target
//     concurrency, never below fetch.per_host_delay (so it decays back);
//   - a 429 or 503 doubles the delay (at least minOverloadDelay);
//   - host_failure_threshold consecutive failures (429, 5xx, network
//     errors, timeouts) open the host's circuit breaker: the host is paused
//     for a back-off that grows with every trip, so one dead host never
//     holds slots or burns retries while the others are ready.
//
// The delay never exceeds fetch.max_crawl_delay. Robots Crawl-delay is a
// floor kept alongside.
type throttle struct {
	mu        sync.Mutex
	hosts     map[string]*hostThrottle
	base      time.Duration // fetch.per_host_delay
	max       time.Duration // fetch.max_crawl_delay
	target    float64       // fetch.per_host_concurrency
	threshold int           // fetch.host_failure_threshold; 0 = no breaker
	backoff   Backoff       // breaker pause schedule
	now       func() time.Time
}

type hostThrottle struct {
	delay      time.Duration // adaptive part
	crawlDelay time.Duration // robots Crawl-delay, capped
	failures   int           // consecutive
	trips      int           // breaker openings since the last healthy answer
	touched    time.Time
}

// hostAnswer classifies an answer for the throttle.
type hostAnswer int

const (
	healthy  hostAnswer = iota // any answer but the ones below
	overload                   // 429 or 503: the host asks us to slow down
	failure                    // other 5xx, network error, timeout
)

func newThrottle(base, maxDelay time.Duration, target, threshold int, b Backoff, now func() time.Time) *throttle {
	return &throttle{hosts: make(map[string]*hostThrottle), base: base, max: maxDelay,
		target: float64(max(target, 1)), threshold: threshold, backoff: b, now: now}
}

func (t *throttle) host(key string) *hostThrottle {
	h := t.hosts[key]
	if h == nil {
		h = &hostThrottle{delay: t.base}
		t.hosts[key] = h
	}
	h.touched = t.now()
	return h
}

// effective is the delay the frontier should apply.
func (t *throttle) effective(h *hostThrottle) time.Duration {
	return min(max(h.delay, h.crawlDelay, t.base), max(t.max, t.base))
}

// configure replaces the throttle's settings (config reload). Hosts keep
// what they learned; their delay is re-clamped at their next answer.
func (t *throttle) configure(base, maxDelay time.Duration, target, threshold int, b Backoff) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range t.hosts {
		if h.delay == t.base || h.delay < base {
			h.delay = base
		}
	}
	t.base, t.max, t.target, t.threshold, t.backoff = base, maxDelay, float64(max(target, 1)), threshold, b
}

// setCrawlDelay records robots.txt's Crawl-delay for host and returns the
// host's delay.
func (t *throttle) setCrawlDelay(key string, d time.Duration) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.host(key)
	h.crawlDelay = min(d, t.max)
	return t.effective(h)
}

// observe records one finished request and returns the host's new delay
// and, when its breaker opens, the time until which it is paused.
func (t *throttle) observe(key string, o hostAnswer, latency time.Duration) (time.Duration, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.host(key)
	var pause time.Time
	switch o {
	case healthy:
		h.failures, h.trips = 0, 0
		target := time.Duration(float64(latency) / t.target)
		h.delay = max((h.delay+target)/2, t.base)
	case overload:
		h.failures++
		h.delay = max(2*h.delay, minOverloadDelay, t.base)
	case failure:
		h.failures++
	}
	h.delay = min(h.delay, max(t.max, t.base))
	if t.threshold > 0 && h.failures >= t.threshold {
		h.trips++
		h.failures = 0
		pause = t.now().Add(t.backoff.Delay(h.trips))
	}
	return t.effective(h), pause
}

// state reports a host's adaptive delay, consecutive failures and breaker
// trips (for tests and the hosts listing).
func (t *throttle) state(key string) (delay time.Duration, failures, trips int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.hosts[key]
	if h == nil {
		return t.base, 0, 0
	}
	return t.effective(h), h.failures, h.trips
}

// sweep forgets hosts untouched for an hour whose state is back to default.
func (t *throttle) sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	cutoff := t.now().Add(-time.Hour)
	for k, h := range t.hosts {
		if h.touched.Before(cutoff) && h.failures == 0 && h.trips == 0 {
			delete(t.hosts, k)
		}
	}
}
