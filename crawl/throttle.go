package crawl

import (
	"sync"
	"time"

	"crawler/frontier"
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
//
// The throttle tells the frontier (its paceKeeper) each host's delay and
// trips as it sets them, under its lock, so that two answers of one host
// handled at once reach the frontier in the order they were counted.
type throttle struct {
	mu        sync.Mutex
	hosts     map[string]*hostThrottle
	base      time.Duration                  // fetch.per_host_delay
	max       time.Duration                  // fetch.max_crawl_delay
	target    float64                        // fetch.per_host_concurrency
	limits    map[string]frontier.HostLimits // fetch.host_limits: a host's own base and target
	threshold int                            // fetch.host_failure_threshold; 0 = no breaker
	backoff   Backoff                        // breaker pause schedule
	keeper    paceKeeper
	now       func() time.Time
	// noCrawlDelay: fetch.respect_robots was turned off by a reload, so
	// setCrawlDelay records nothing (obeyCrawlDelays).
	noCrawlDelay bool
}

// paceKeeper is where the throttle keeps what it learns (frontier.Queue):
// each host's delay and breaker trips, and where it reads back the trips
// kept for a host it holds nothing for (KeptTrips), which may take a read
// of the file. It never calls back into the throttle.
type paceKeeper interface {
	SetDelay(hostKey string, d time.Duration)
	SetTrips(hostKey string, n int)
	KeptTrips(hostKey string) int
}

// noKeeper keeps nothing (throttle unit tests).
type noKeeper struct{}

func (noKeeper) SetDelay(string, time.Duration) {}
func (noKeeper) SetTrips(string, int)           {}
func (noKeeper) KeptTrips(string) int           { return 0 }

type hostThrottle struct {
	delay      time.Duration // adaptive part
	crawlDelay time.Duration // robots Crawl-delay, capped: the largest of crawlDelays
	// crawlDelays holds each origin's Crawl-delay, capped: a key groups
	// several origins (http and https, or a domain's hosts by
	// fetch.politeness_key), and the strictest one holds for all.
	crawlDelays map[string]time.Duration
	failures    int // consecutive
	// trips counts the breaker's openings since the last healthy answer.
	// Until the host's first healthy answer or opening (tripsKnown), the
	// count kept from before (paceKeeper.KeptTrips) stands for it, read
	// when it opens: a host forgotten by sweep, or met first since a
	// restart, goes on with its back-off. tripsSent is the count the
	// keeper was told last; -1 for none.
	trips      int
	tripsKnown bool
	tripsSent  int
	touched    time.Time
}

// hostAnswer classifies an answer for the throttle.
type hostAnswer int

const (
	healthy  hostAnswer = iota // any answer but the ones below
	overload                   // 429 or 503: the host asks us to slow down
	failure                    // other 5xx, network error, timeout
)

// newThrottle returns a throttle that keeps what it learns in keeper
// (nil: nowhere).
func newThrottle(base, maxDelay time.Duration, target int, limits map[string]frontier.HostLimits, threshold int, b Backoff,
	keeper paceKeeper, now func() time.Time) *throttle {
	if keeper == nil {
		keeper = noKeeper{}
	}
	return &throttle{hosts: make(map[string]*hostThrottle), base: base, max: maxDelay,
		target: float64(max(target, 1)), limits: limits, threshold: threshold, backoff: b, keeper: keeper, now: now}
}

// baseOf is host key's least delay: its fetch.host_limits delay, or
// fetch.per_host_delay.
func (t *throttle) baseOf(key string) time.Duration {
	if l, ok := t.limits[key]; ok && l.Delay >= 0 {
		return l.Delay
	}
	return t.base
}

// targetOf is the concurrency host key's adaptive delay aims at.
func (t *throttle) targetOf(key string) float64 {
	if l, ok := t.limits[key]; ok && l.Concurrency > 0 {
		return float64(l.Concurrency)
	}
	return t.target
}

func (t *throttle) host(key string) *hostThrottle {
	h := t.hosts[key]
	if h == nil {
		h = &hostThrottle{delay: t.baseOf(key), tripsSent: -1}
		t.hosts[key] = h
	}
	h.touched = t.now()
	return h
}

// effective is the delay the frontier should apply to host key.
func (t *throttle) effective(key string, h *hostThrottle) time.Duration {
	base := t.baseOf(key)
	return min(max(h.delay, h.crawlDelay, base), max(t.max, base))
}

// configure replaces the throttle's settings (config reload). Hosts keep
// what they learned; their delay is re-clamped at their next answer,
// except that a lower maxDelay caps their Crawl-delays and delays at
// once, in the keeper too: a host that asked for more than the new cap
// would otherwise keep its old gap until its next robots check.
func (t *throttle) configure(base, maxDelay time.Duration, target int, limits map[string]frontier.HostLimits, threshold int, b Backoff) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := make(map[string]time.Duration, len(t.hosts))
	was := make(map[string]time.Duration, len(t.hosts))
	for k, h := range t.hosts {
		old[k] = t.baseOf(k)
		was[k] = t.effective(k, h)
	}
	lowered := maxDelay < t.max
	t.base, t.max, t.target, t.limits, t.threshold, t.backoff = base, maxDelay, float64(max(target, 1)), limits, threshold, b
	for k, h := range t.hosts {
		if base := t.baseOf(k); h.delay == old[k] || h.delay < base {
			h.delay = base
		}
		if !lowered || h.crawlDelay <= maxDelay && was[k] <= max(maxDelay, t.baseOf(k)) {
			continue
		}
		h.crawlDelay = 0
		for o, cd := range h.crawlDelays {
			cd = min(cd, maxDelay)
			if cd <= 0 {
				delete(h.crawlDelays, o)
				continue
			}
			h.crawlDelays[o] = cd
			h.crawlDelay = max(h.crawlDelay, cd)
		}
		if eff := t.effective(k, h); eff != was[k] {
			t.keeper.SetDelay(k, eff)
		}
	}
}

// setCrawlDelay records the Crawl-delay origin's robots.txt gives (0:
// none, which forgets an earlier one), for the host key origin belongs
// to, sets the key's delay in the keeper unless the origin has had no
// Crawl-delay before or now, and returns it. A key takes the largest
// Crawl-delay of its origins. With respect_robots turned off by a reload
// (obeyCrawlDelays) it records nothing.
func (t *throttle) setCrawlDelay(key, origin string, d time.Duration) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.host(key)
	if t.noCrawlDelay {
		return t.effective(key, h)
	}
	d = min(d, t.max)
	if _, ok := h.crawlDelays[origin]; !ok && d == 0 {
		return t.effective(key, h) // none before or now
	}
	// Set in the keeper even when unchanged: the frontier forgets idle
	// hosts, and learns the delay again from the next robots check.
	if d > 0 {
		if h.crawlDelays == nil {
			h.crawlDelays = make(map[string]time.Duration, 1)
		}
		h.crawlDelays[origin] = d
	} else {
		delete(h.crawlDelays, origin)
	}
	h.crawlDelay = 0
	for _, cd := range h.crawlDelays {
		h.crawlDelay = max(h.crawlDelay, cd)
	}
	eff := t.effective(key, h)
	t.keeper.SetDelay(key, eff)
	return eff
}

// obeyCrawlDelays sets whether robots Crawl-delays count
// (fetch.respect_robots, which a reload may change). Turned off, every
// host's is forgotten, as no robots.txt is read any more to lift it, and
// the delay set in the keeper of each host that had one; none is recorded
// until it is turned on again (a robots check under way when it was
// turned off may still try).
func (t *throttle) obeyCrawlDelays(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.noCrawlDelay = !on
	if on {
		return
	}
	for k, h := range t.hosts {
		if len(h.crawlDelays) == 0 {
			continue
		}
		h.crawlDelays, h.crawlDelay = nil, 0
		t.keeper.SetDelay(k, t.effective(k, h))
	}
}

// restore gives host key the adaptive delay d it had when the crawl last
// stopped (frontier.Pace), clamped to today's limits, and sets the key's
// delay in the keeper when that differs from d.
func (t *throttle) restore(key string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.host(key)
	base := t.baseOf(key)
	h.delay = min(max(d, base), max(t.max, base))
	if eff := t.effective(key, h); eff != d {
		t.keeper.SetDelay(key, eff)
	}
}

// observe records one finished request, sets the host's new delay and
// breaker trips in the keeper, and returns the delay and the time until
// which the host is paused when its breaker opens (zero otherwise).
func (t *throttle) observe(key string, o hostAnswer, latency time.Duration) (time.Duration, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.host(key)
	base := t.baseOf(key)
	var pause time.Time
	switch o {
	case healthy:
		h.failures, h.trips, h.tripsKnown = 0, 0, true
		target := time.Duration(float64(latency) / t.targetOf(key))
		h.delay = max((h.delay+target)/2, base)
	case overload:
		h.failures++
		h.delay = max(2*h.delay, minOverloadDelay, base)
	case failure:
		h.failures++
	}
	h.delay = min(h.delay, max(t.max, base))
	if t.threshold > 0 && h.failures >= t.threshold {
		if !h.tripsKnown {
			h.trips, h.tripsKnown = t.keeper.KeptTrips(key), true
		}
		h.trips++
		h.failures = 0
		pause = t.now().Add(t.backoff.Delay(h.trips))
	}
	d := t.effective(key, h)
	t.keeper.SetDelay(key, d)
	if h.tripsKnown && h.trips != h.tripsSent {
		t.keeper.SetTrips(key, h.trips)
		h.tripsSent = h.trips
	}
	return d, pause
}

// state reports a host's adaptive delay, consecutive failures and breaker
// trips (for tests).
func (t *throttle) state(key string) (delay time.Duration, failures, trips int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.hosts[key]
	if h == nil {
		return t.baseOf(key), 0, 0
	}
	return t.effective(key, h), h.failures, h.trips
}

// trips returns host key's breaker trips since its last healthy answer,
// and false when the throttle has not counted them (tripsKnown).
func (t *throttle) trips(key string) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.hosts[key]
	if h == nil || !h.tripsKnown {
		return 0, false
	}
	return h.trips, true
}

// sweep forgets hosts untouched for an hour with no failure counted
// toward the breaker. Their breaker trips stay with the keeper, which
// gives them back when the breaker next opens.
func (t *throttle) sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	cutoff := t.now().Add(-time.Hour)
	for k, h := range t.hosts {
		if h.touched.Before(cutoff) && h.failures == 0 {
			delete(t.hosts, k)
		}
	}
}

// keptDelayCap is frontier.Options.MaxKeptDelay for fetch.max_crawl_delay:
// the throttle's cap on every delay it sets, so 0 (no delay above the
// base) is the frontier's -1.
func keptDelayCap(maxCrawlDelay time.Duration) time.Duration {
	if maxCrawlDelay <= 0 {
		return -1
	}
	return maxCrawlDelay
}

// restorePaces carries each host's delay as the last process left it
// (frontier.Pace) into the throttle, which goes on from it: a healthy
// answer halves a slowdown instead of the restart forgetting it. The
// frontier has held each host's first start for that delay, and for a
// pause still to end, already; a delay that today's
// fetch.max_crawl_delay caps is lowered there too. (Breaker trips are
// read back when a host's breaker next opens: KeptTrips.)
func (e *Engine) restorePaces() {
	delayed, paused := 0, 0
	for key, p := range e.q.RestoredPaces() {
		if !p.Until.IsZero() {
			paused++
		}
		if p.Delay <= 0 {
			continue
		}
		delayed++
		e.adapt.restore(key, p.Delay)
	}
	if delayed+paused > 0 {
		e.log.Info("kept the hosts' pace from the last run", "hosts_delayed", delayed, "hosts_paused", paused)
	}
}
