package crawl

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawler/frontier"
)

// answers serves the statuses in steps in order, one per request, then
// page (HTML) to every later request. Each status may come with a
// Retry-After value: "" for none; a value starting with "+" is a delay
// turned into an HTTP date when served.
func answers(page string, steps ...[2]string) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(steps) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, page)
			return
		}
		var status int
		fmt.Sscan(steps[i][0], &status)
		if ra := steps[i][1]; ra != "" {
			if ra[0] == '+' {
				d, _ := time.ParseDuration(ra[1:])
				ra = time.Now().Add(d).UTC().Format(http.TimeFormat)
			}
			w.Header().Set("Retry-After", ra)
		}
		http.Error(w, http.StatusText(status), status)
	}
}

// Retry-After is honoured for the URL and for its host, capped by
// retry_max_delay, and a URL waiting for its retry holds no fetch slot.
func TestHostileRetryAfter(t *testing.T) {
	site := newHostileSite(t)
	secs := site.host("retry-after-seconds")
	date := site.host("retry-after-date")
	huge := site.host("retry-after-huge")
	busy := site.host("busy-neighbour")

	secs.handle("/ra", answers(htmlPage("ra"), [2]string{"429", "1"}))
	secs.html("/", "root", "/ra", "/ok/0", "/ok/1")
	secs.html("/ok/0", "ok 0")
	secs.html("/ok/1", "ok 1")
	date.handle("/ra", answers(htmlPage("ra"), [2]string{"503", "+2s"}))
	huge.handle("/ra", answers(htmlPage("ra"), [2]string{"503", "3600"}))
	const chain = 80
	for i := range chain {
		busy.html(fmt.Sprintf("/b/%d", i), "b", fmt.Sprintf("/b/%d", i+1))
	}

	cfg := hostileConfig(t, []string{secs.url("/"), date.url("/ra"), huge.url("/ra"), busy.url("/b/0")}, nil)
	cfg.Fetch.Concurrency = 1 // a retry that held a slot would stall every host
	cfg.Fetch.RetryMaxDelay = 1500 * time.Millisecond
	db := runCrawl(t, cfg, nil)

	for _, tt := range []struct {
		h     *hostileHost
		least time.Duration
	}{
		{secs, time.Second},             // Retry-After: 1
		{date, time.Second},             // an HTTP date 1–2s ahead
		{huge, cfg.Fetch.RetryMaxDelay}, // Retry-After: 3600, capped
	} {
		starts := tt.h.starts("/ra")
		if len(starts) != 2 {
			t.Errorf("%s: /ra requested %d times; want 2", tt.h.name, len(starts))
			continue
		}
		if g := starts[1].Sub(starts[0]); g < tt.least {
			t.Errorf("%s: retry %v after the first attempt; want >= %v", tt.h.name, g, tt.least)
		}
		o := lookup(t, db, tt.h.url("/ra"))
		if o.state != frontier.StateDone || o.page == nil || o.page.Status != 200 || o.page.Attempts != 2 {
			t.Errorf("%s: /ra %v %+v; want done, 200, 2 attempts", tt.h.name, o.state, o.page)
		}
	}

	// The host itself waits out Retry-After: nothing else on it starts
	// within a second of the 429.
	first := secs.starts("/ra")
	if len(first) > 0 {
		for _, r := range secs.requests() {
			if r.start.After(first[0]) && r.start.Sub(first[0]) < time.Second {
				t.Errorf("%s requested %v after a 429 with Retry-After: 1", r.uri, r.start.Sub(first[0]))
			}
		}
	}
	for _, p := range []string{"/ok/0", "/ok/1"} {
		if o := lookup(t, db, secs.url(p)); o.state != frontier.StateDone {
			t.Errorf("%s: %v; want done", p, o.state)
		}
	}

	// With one fetch slot, the other host kept being crawled while /ra
	// waited for its retry.
	if len(first) == 2 {
		var during int
		for _, r := range busy.requests() {
			if r.start.After(first[0]) && r.start.Before(first[1]) {
				during++
			}
		}
		if during == 0 {
			t.Errorf("no request on another host during the %v /ra waited for its retry: the wait held the only slot",
				first[1].Sub(first[0]))
		}
	}
	for i := range chain {
		if o := lookup(t, db, busy.url(fmt.Sprintf("/b/%d", i))); o.state != frontier.StateDone {
			t.Errorf("/b/%d: %v; want done", i, o.state)
		}
	}
}

// A host that answers 429 or 503 gets a longer delay, which grows again on
// a further overload answer and decays back toward per_host_delay on
// healthy answers.
func TestHostileAdaptiveDelay(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("overloaded")
	after := make([]string, 6)
	for i := range after {
		after[i] = fmt.Sprintf("/after/%d", i)
		h.html(after[i], "after")
	}
	h.html("/", "root", "/busy", "/q/0", "/q/1", "/q/2")
	for i := range 3 {
		h.html(fmt.Sprintf("/q/%d", i), "q")
	}
	// Once it answers, /busy links to the /after pages: healthy answers
	// after the overload ones.
	h.handle("/busy", answers(htmlPage("busy", after...), [2]string{"429", ""}, [2]string{"503", ""}))

	cfg := hostileConfig(t, []string{h.url("/")}, nil)
	base := 50 * time.Millisecond
	cfg.Fetch.PerHostDelay = base
	cfg.Fetch.MaxCrawlDelay = 5 * time.Second

	// The frontier's view of h's delay, sampled while it crawls.
	var mu sync.Mutex
	var delays []time.Duration
	sample := func(ctx context.Context, e *Engine) {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if info, ok := e.Queue().Live()[h.addr]; ok {
				if d, err := time.ParseDuration(info.Delay); err == nil {
					mu.Lock()
					if len(delays) == 0 || delays[len(delays)-1] != d {
						delays = append(delays, d)
					}
					mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}
	db := runCrawl(t, cfg, sample)

	// gapAfter is how long after the request at i the next one on host
	// started.
	gapAfter := func(host *hostileHost, at time.Time) (time.Duration, bool) {
		for _, r := range host.requests() {
			if r.start.After(at) {
				return r.start.Sub(at), true
			}
		}
		return 0, false
	}
	busy := h.starts("/busy")
	if len(busy) != 3 {
		t.Fatalf("/busy requested %d times; want 3", len(busy))
	}
	if g, ok := gapAfter(h, busy[0]); ok && g < 2*base {
		t.Errorf("next request %v after a 429; want the delay grown to >= %v", g, 2*base)
	}
	if g, ok := gapAfter(h, busy[1]); ok && g < 2*base {
		t.Errorf("next request %v after a 503; want the delay grown to >= %v", g, 2*base)
	}
	if g, _ := h.minGap(); g < base {
		t.Errorf("two requests %v apart; want >= per_host_delay %v", g, base)
	}

	mu.Lock()
	defer mu.Unlock()
	var peak time.Duration
	for _, d := range delays {
		peak = max(peak, d)
	}
	if peak < 2*base {
		t.Errorf("host delay never exceeded %v (samples %v); want >= %v after a 429", peak, delays, 2*base)
	}
	if len(delays) > 0 {
		if last := delays[len(delays)-1]; last > 2*base {
			t.Errorf("host delay ended at %v (samples %v); want back near per_host_delay %v after healthy answers",
				last, delays, base)
		}
	}
	for _, p := range append([]string{"/", "/busy", "/q/0", "/q/1", "/q/2"}, after...) {
		if o := lookup(t, db, h.url(p)); o.state != frontier.StateDone || o.page == nil || o.page.Status != 200 {
			t.Errorf("%s: %v; want done, 200", p, o.state)
		}
	}
}

// A host that slows down gets a delay that follows its latency (divided by
// per_host_concurrency, here 1).
func TestHostileSlowHost(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("slow")
	const pages, latency = 6, 150 * time.Millisecond
	for i := range pages {
		var next []string
		if i+1 < pages {
			next = append(next, fmt.Sprintf("/s/%d", i+1))
		}
		h.handle(fmt.Sprintf("/s/%d", i), func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(latency)
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, htmlPage("slow", next...))
		})
	}
	cfg := hostileConfig(t, []string{h.url("/s/0")}, nil)
	db := runCrawl(t, cfg, nil)

	// Halfway toward the latency per healthy answer, from 20ms:
	// 85ms, 117ms, 134ms, ... The idle time between the end of one
	// answer and the next request is at least the delay.
	var prev *hostileReq
	n := 0
	for _, r := range h.requests() {
		if !strings.HasPrefix(r.uri, "/s/") {
			continue
		}
		if prev != nil {
			n++
			if idle := r.start.Sub(prev.end); n >= 3 && idle < latency*2/3 {
				t.Errorf("%s started %v after %s answered (answer %d); want the delay grown toward the %v latency, >= %v",
					r.uri, idle, prev.uri, n, latency, latency*2/3)
			}
		}
		prev = &r
	}
	if n != pages-1 {
		t.Errorf("%d pages requested; want %d", n+1, pages)
	}
	for i := range pages {
		if o := lookup(t, db, h.url(fmt.Sprintf("/s/%d", i))); o.state != frontier.StateDone {
			t.Errorf("/s/%d: %v; want done", i, o.state)
		}
	}
}

// Overload answers in a row keep growing the host's delay.
func TestHostileOverloadInARow(t *testing.T) {
	site := newHostileSite(t)
	h := site.host("overloaded-twice")
	h.handle("/busy", answers(htmlPage("busy"), [2]string{"429", ""}, [2]string{"503", ""}))
	cfg := hostileConfig(t, []string{h.url("/busy")}, nil)
	// Large enough that doubling it beats any floor the engine may put
	// on an overloaded host's delay.
	base := 200 * time.Millisecond
	cfg.Fetch.PerHostDelay = base
	cfg.Fetch.MaxCrawlDelay = 5 * time.Second
	db := runCrawl(t, cfg, nil)

	starts := h.starts("/busy")
	if len(starts) != 3 {
		t.Fatalf("/busy requested %d times; want 3", len(starts))
	}
	if g := starts[1].Sub(starts[0]); g < 2*base {
		t.Errorf("retry %v after a 429; want the host delay grown to >= %v", g, 2*base)
	}
	if g := starts[2].Sub(starts[1]); g < 4*base {
		t.Errorf("retry %v after a 429 then a 503; want the host delay grown again to >= %v", g, 4*base)
	}
	if o := lookup(t, db, h.url("/busy")); o.state != frontier.StateDone || o.page == nil || o.page.Attempts != 3 {
		t.Errorf("/busy: %v %+v; want done after 3 attempts", o.state, o.page)
	}
}

// After host_failure_threshold consecutive failures a host is paused, for
// longer at each trip; its URLs keep their own retry budget, and other
// hosts keep being crawled meanwhile.
func TestHostileCircuitBreaker(t *testing.T) {
	site := newHostileSite(t)
	dead := site.host("failing")
	good := site.host("healthy")
	const pages, retries, threshold = 6, 1, 3
	var links []string
	for i := range pages {
		p := fmt.Sprintf("/d/%d", i)
		links = append(links, p)
		dead.handle(p, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "broken", http.StatusInternalServerError)
		})
	}
	dead.html("/", "root", links...)
	const chain = 60
	for i := range chain {
		good.html(fmt.Sprintf("/g/%d", i), "g", fmt.Sprintf("/g/%d", i+1))
	}

	cfg := hostileConfig(t, []string{dead.url("/"), good.url("/g/0")}, nil)
	cfg.Fetch.Concurrency = 1 // a paused host must not hold the only slot
	cfg.Fetch.PerHostDelay = 25 * time.Millisecond
	cfg.Fetch.Retries = retries
	cfg.Fetch.HostFailureThreshold = threshold
	cfg.Fetch.RetryBaseDelay = 100 * time.Millisecond
	cfg.Fetch.RetryMaxDelay = 400 * time.Millisecond
	db := runCrawl(t, cfg, nil)

	var failures []hostileReq
	for _, r := range dead.requests() {
		if r.uri != "/" && r.uri != "/robots.txt" {
			failures = append(failures, r)
		}
	}
	for i := range pages {
		p := fmt.Sprintf("/d/%d", i)
		if n := dead.count(p); n != 1+retries {
			t.Errorf("%s requested %d times; want %d (its own retry budget, breaker or not)", p, n, 1+retries)
		}
		o := lookup(t, db, dead.url(p))
		if o.state != frontier.StateFailed || o.page == nil || o.page.Status != 500 {
			t.Errorf("%s: %v %+v; want failed with status 500", p, o.state, o.page)
		}
	}
	goodReqs := good.requests()
	trip := 0
	for i := threshold - 1; i+1 < len(failures); i += threshold {
		trip++
		least := min(time.Duration(float64(cfg.Fetch.RetryBaseDelay<<(trip-1))*0.8), cfg.Fetch.RetryMaxDelay)
		from, to := failures[i].start, failures[i+1].start
		if g := to.Sub(from); g < least {
			t.Errorf("breaker trip %d (after failure %d): host paused %v; want >= %v", trip, i+1, g, least)
		}
		// While the host was paused the healthy host kept the slot busy.
		if len(goodReqs) > 0 && to.Before(goodReqs[len(goodReqs)-1].start) {
			var during int
			for _, r := range goodReqs {
				if r.start.After(from) && r.start.Before(to) {
					during++
				}
			}
			if during == 0 {
				t.Errorf("breaker trip %d: no request on the healthy host during the %v pause", trip, to.Sub(from))
			}
		}
	}
	if trip == 0 {
		t.Errorf("%d failures; want enough for a breaker trip", len(failures))
	}
	for i := range chain {
		if o := lookup(t, db, good.url(fmt.Sprintf("/g/%d", i))); o.state != frontier.StateDone {
			t.Errorf("/g/%d: %v; want done", i, o.state)
		}
	}
}
