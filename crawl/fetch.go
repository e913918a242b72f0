package crawl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	"crawler/fetcher"
	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/robots"
	"crawler/store"
)

// fetched is what a fetch worker hands to the parse workers.
type fetched struct {
	item *frontier.Item
	url  *url.URL
	resp *fetcher.Response // nil when no response arrived
	err  error             // fetch error; resp may still hold a partial body

	prior        *store.Page // the stored record when this is a recrawl
	disallowed   bool        // robots.txt forbids the URL; nothing was requested
	stored       bool        // disallowed: a record of the URL is stored (a recrawl's)
	excluded     string      // why scope.include or scope.exclude leave the URL out; nothing was requested
	stripped     string      // the URL without the query parameters scope.strip_query_params names, when it differs; nothing was requested
	robotsGaveUp bool        // robots.txt unreachable through every retry
	robotsReason string      // why it was unreachable
}

// fetchLoop takes URLs from the frontier until runCtx ends. Requests run
// under fetchCtx, which outlives runCtx by the shutdown timeout.
func (e *Engine) fetchLoop(runCtx, fetchCtx context.Context, out chan<- *fetched) {
	for {
		it, err := e.q.Next(runCtx)
		if err != nil {
			return
		}
		if f := e.fetchItem(fetchCtx, it); f != nil {
			out <- f
		}
	}
}

// fetchItem does what a released URL's slot is for: robots.txt when the
// origin's rules are unknown (the URL then goes back to its queue), else
// the page itself. It returns nil when the item went back to the queue.
func (e *Engine) fetchItem(ctx context.Context, it *frontier.Item) *fetched {
	// Frontier URLs are canonical, and canonical strings round-trip
	// through net/url (urlnorm checks it), so no second normalization.
	u, err := url.Parse(it.URL)
	if err != nil {
		e.q.Release(it, time.Time{})
		return &fetched{item: it, err: err}
	}
	// A URL queued before a reload or restart added a pattern that leaves
	// it out: judged again now. Seeds are exempt.
	if it.Depth > 0 || it.Hops > 0 {
		if why := e.excluded(it.URL); why != "" {
			e.q.Release(it, time.Time{})
			return &fetched{item: it, url: u, excluded: why, prior: e.priorPage(it)}
		}
		// Queued before a reload or restart added a parameter to
		// scope.strip_query_params: the URL without it is crawled instead.
		if s := e.StripQuery(it.URL); s != it.URL {
			e.q.Release(it, time.Time{})
			return &fetched{item: it, url: u, stripped: s, prior: e.priorPage(it)}
		}
	}
	if e.config().Fetch.RespectRobots {
		origin := urlnorm.Origin(u)
		st, waited, err := e.robots.lookup(ctx, origin)
		if err != nil { // shutting down
			e.q.Requeue(it, time.Time{})
			return nil
		}
		if st.rules == nil {
			// This slot fetches robots.txt; the page waits for the next.
			rules, file, sent, err := e.fetchRobots(ctx, it, u)
			if ctx.Err() != nil || waitedForMemory(err) {
				// Shutting down, or robots.txt got no body memory in
				// time (see waitedForMemory): no answer to keep, none
				// held against the host; the next URL fetches it.
				e.robots.abandon(origin)
				e.q.Requeue(it, sent)
				return nil
			}
			if errors.Is(err, fetcher.ErrBlockedAddress) {
				// Refused by the address guard (robots.txt on, or
				// redirected to, a private address): no retry makes it
				// allowed, so the URL fails now, saying why. prior: a
				// recrawl keeps its stored copy (process).
				e.robots.abandon(origin)
				e.q.Release(it, sent)
				return &fetched{item: it, url: u, err: fmt.Errorf("robots.txt: %w", err), prior: e.priorPage(it)}
			}
			st = e.robots.store(origin, rules, err, e.config().Fetch.Retries, e.retryBackoff().Delay)
			if file != nil {
				e.files.save(origin, file)
			}
			e.metrics.robots.WithLabelValues(robotsOutcome(rules, st)).Inc()
			if st.gaveUp {
				e.log.Warn("robots.txt unreachable through every retry: failing the host's URLs", "origin", origin)
			}
			if !rules.Unreachable() {
				e.queueSitemaps(ctx, origin, rules)
			}
			e.applyRobots(it.Host, origin, st, true)
			e.q.Requeue(it, sent)
			return nil
		}
		if st.restored {
			// Read from the store, not fetched: its sitemaps are queued as
			// a fetch's would be (dedup drops those queued before), so
			// turning follow_sitemaps on by a reload, or a crash between
			// the fetch and the queueing, loses none.
			e.queueSitemaps(ctx, origin, st.rules)
			// New to the cache as a fetch's are (after a restart, or a
			// reload that changed robots_token): its Crawl-delay, or
			// none, replaces the one the throttle had.
			e.applyRobots(it.Host, origin, st, true)
		}
		switch {
		case st.gaveUp:
			e.q.Release(it, time.Time{})
			// prior: a recrawl keeps its stored copy (process).
			return &fetched{item: it, url: u, robotsGaveUp: true, robotsReason: st.reason, prior: e.priorPage(it)}
		case !st.retry.IsZero():
			e.applyRobots(it.Host, origin, st, false)
			e.q.Requeue(it, time.Time{})
			return nil
		case !st.rules.Allowed(u):
			e.q.Release(it, time.Time{})
			return &fetched{item: it, url: u, disallowed: true, stored: e.storedRecord(it) != nil}
		}
		e.applyRobots(it.Host, origin, st, false)
		if waited {
			// Released while another slot fetched robots.txt: every
			// worker that waited would start the instant it ended,
			// together. Back to the queue, after the host's delay.
			e.q.Requeue(it, time.Now())
			return nil
		}
	}
	req := &fetcher.Request{URL: u}
	prior := e.priorPage(it)
	if prior != nil {
		req.Header = http.Header{}
		if prior.ETag != "" {
			req.Header.Set("If-None-Match", prior.ETag)
		}
		if prior.LastModified != "" {
			req.Header.Set("If-Modified-Since", prior.LastModified)
		}
	}
	sent := e.sentFor(it)
	start := time.Now()
	resp, err := e.fetcher().Fetch(sent.trace(ctx), req)
	took := time.Since(start)
	if err != nil && (ctx.Err() != nil || waitedForMemory(err)) {
		// Cancelled by the shutdown timeout or Abort, or out of body
		// memory: the fetch did not end on its own, so the URL is not
		// finished; it stays queued, spending no attempt, and the host
		// is not judged by it.
		if ctx.Err() == nil {
			e.log.Debug("no body memory within fetch.timeout: URL requeued", "url", it.URL, "err", err)
		}
		if resp != nil {
			e.stats.BytesFetched.Add(resp.WireBytes)
		}
		resp.Release()
		e.q.Requeue(it, sent.end())
		return nil
	}
	e.adaptHost(it.Host, resp, err, took)
	status := 0
	if resp != nil {
		status = resp.Status
	}
	e.metrics.observeFetch(status, err, took)
	if it.Revisit && it.Attempts == 0 && !it.Due.IsZero() {
		e.metrics.revisitWait.Observe(max(start.Sub(it.Due), 0).Seconds())
	}
	e.q.Release(it, sent.end())
	if resp != nil {
		e.stats.BytesFetched.Add(resp.WireBytes)
	}
	return &fetched{item: it, url: u, resp: resp, err: err, prior: prior}
}

// priorPage returns the stored record of a URL being fetched again, or
// nil: the good copy a failed fetch keeps, whose validators make the
// fetch conditional. A record that is not a 200, or that failed, is no
// copy to keep.
func (e *Engine) priorPage(it *frontier.Item) *store.Page {
	p := e.storedRecord(it)
	if p == nil || p.Status != http.StatusOK || p.Error != "" {
		return nil
	}
	return p
}

// storedRecord returns the stored record of a URL being fetched again,
// whatever it holds, or nil. Only a recrawl (recrawl.interval set) or a
// revisit (Item.Revisit: a recrawl come due, a refresh, `crawler
// recrawl`) looks; a first fetch has none.
func (e *Engine) storedRecord(it *frontier.Item) *store.Page {
	if e.config().Recrawl.Interval <= 0 && !it.Revisit {
		return nil
	}
	return e.storedPage(it.URL)
}

// robotsOutcome names a robots.txt fetch result for metrics.
func robotsOutcome(r *robots.Rules, st robotsState) string {
	switch {
	case st.gaveUp:
		return "gave_up"
	case r.Unreachable():
		return "unreachable"
	case r.Status() >= 400 || r.Status() >= 300:
		return "allow_all"
	}
	return "ok"
}

// adaptHost feeds one page request's hostAnswer to the host's throttle,
// which sets the host's new delay and breaker trips in the frontier, and
// carries a Retry-After pause and a circuit-breaker pause into the
// frontier. It runs before Release, so the host's next start already
// counts the new delay.
func (e *Engine) adaptHost(hostKey string, resp *fetcher.Response, err error, took time.Duration) {
	o := healthy
	var fe *fetcher.Error
	switch {
	case err != nil && errors.As(err, &fe) && fe.Kind != fetcher.KindNetwork && fe.Kind != fetcher.KindTimeout &&
		fe.Kind != fetcher.KindBodyRead && fe.Kind != fetcher.KindProtocol && fe.Kind != fetcher.KindTLS:
		return // blocked, invalid, cancelled or out of body memory: says nothing about the host
	case err != nil:
		o = failure
	case resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable:
		o = overload
	case resp.Status >= 500:
		o = failure
	}
	if resp != nil && resp.Duration > 0 {
		took = resp.Duration
	}
	_, pause := e.adapt.observe(hostKey, o, took)
	if o == overload {
		if wait, ok := RetryAfter(resp.Header.Get("Retry-After"), e.now()); ok && wait > 0 {
			e.q.Pause(hostKey, e.now().Add(min(wait, e.config().Fetch.RetryMaxDelay)))
		}
	}
	if !pause.IsZero() {
		e.stats.BreakerTrips.Add(1)
		e.log.Warn("host circuit breaker open: pausing host", "host", hostKey, "until", pause.Format(time.RFC3339))
		e.q.Pause(hostKey, pause)
	}
}

// waitedForMemory reports a fetch that failed because its body got no
// memory from fetch.body_memory within fetch.timeout: the budget stayed
// spent by bodies still on their way to the store (a slow disk, a busy
// writer). The host had answered; the wait was the crawler's own, so it
// is no failure of the host or the URL, and fetching again later is all
// it takes.
func waitedForMemory(err error) bool {
	var fe *fetcher.Error
	return errors.As(err, &fe) && fe.Kind == fetcher.KindBodyMemory
}

// applyRobots carries a robots decision into the frontier: Crawl-delay
// (capped by fetch.max_crawl_delay) and the retry pause of an unreachable
// robots.txt, which keeps the Crawl-delay it had. fetched says the rules
// are new to the cache (fetched, or read from the store): only then can a
// Crawl-delay have gone (the line dropped, robots.txt gone with a 4xx, a
// new robots_token), so only then is a missing one set, which lifts the
// old; the check before each fetch sets a present one again (the
// frontier forgets idle hosts' delays) and leaves the throttle alone
// otherwise.
func (e *Engine) applyRobots(hostKey, origin string, st robotsState, fetched bool) {
	if st.rules != nil && !st.rules.Unreachable() {
		if d := st.rules.CrawlDelay(); d > 0 || fetched {
			e.adapt.setCrawlDelay(hostKey, origin, d)
		}
	}
	if !st.retry.IsZero() {
		e.q.Pause(hostKey, st.retry)
	}
}

// fetchRobots fetches u's origin's robots.txt and returns its rules, the
// file to store (nil when robots.txt was unreachable), when the first
// request went on the wire, and the fetch error if any (the rules then
// disallow everything).
func (e *Engine) fetchRobots(ctx context.Context, it *frontier.Item, u *url.URL) (*robots.Rules, *store.RobotsFile, time.Time, error) {
	e.stats.RobotsFetches.Add(1)
	sent := e.sentFor(it)
	get := func(ctx context.Context, target *url.URL, maxBytes int64) (int, *url.URL, []byte, error) {
		// A hop back to the same host waits out the host's delay. This
		// holds one fetch slot, but robots.txt redirect chains are rare
		// and short (at most robots.MaxRedirects hops).
		if last := sent.get(); !last.IsZero() && target.Host == u.Host {
			delay, _, _ := e.adapt.state(it.Host)
			if wait := time.Until(last.Add(delay)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return 0, nil, nil, ctx.Err()
				}
			}
		}
		resp, err := e.fetcher().Fetch(ctx, &fetcher.Request{URL: target, MaxBodyBytes: maxBytes})
		defer resp.Release() // robots.txt bodies are small (<= 512 KB) and parsed at once
		if resp != nil {
			e.stats.BytesFetched.Add(resp.WireBytes)
		}
		if err != nil {
			if resp != nil && resp.Status != 0 && (resp.Status < 200 || resp.Status > 299) {
				// The status arrived and the body broke: only a 2xx
				// body is read (RFC 9309 §2.3.1), so the status stands.
				return resp.Status, resp.Location, nil, nil
			}
			return 0, nil, nil, err
		}
		return resp.Status, resp.Location, resp.Body, nil
	}
	origin := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}
	status, body, err := robots.FetchFile(sent.trace(ctx), get, origin)
	rules := robots.FromStatus(status, body, e.config().Fetch.RobotsToken)
	if err != nil {
		e.log.Debug("robots.txt unreachable", "origin", origin.String(), "err", err)
	}
	var file *store.RobotsFile
	if !rules.Unreachable() {
		file = &store.RobotsFile{Fetched: e.now(), Status: status, Body: body}
	}
	return rules, file, sent.end(), err
}

// loadRobots returns origin's stored robots.txt parsed for the robots
// token in force, and when it was fetched; nil rules when none is stored.
func (e *Engine) loadRobots(origin string) (*robots.Rules, time.Time, bool) {
	f := e.files.load(origin)
	if f == nil {
		return nil, time.Time{}, false
	}
	return robots.FromStatus(f.Status, f.Body, e.config().Fetch.RobotsToken), f.Fetched, f.Refetch
}

// sentFor returns the sentTime of a request made in it's slot, which
// tells the frontier when the request was sent (frontier.Queue.Started).
func (e *Engine) sentFor(it *frontier.Item) *sentTime {
	return &sentTime{onWrote: func(at time.Time) { e.q.Started(it, at) }}
}

// sentTime records when a request was sent and the instant its
// politeness delay counts from once it has ended: when its first response
// byte arrived, by which time the server has surely started handling it.
// Counting only from when the client wrote the request would let the
// server see a shorter gap whenever accepting a new connection delayed
// this request more than the next one. A request that was written but got
// no response counts from when it ended; one that was never written does
// not count. While the request is in flight, the host's next URL counts
// from the write (onWrote): nothing later is known yet.
//
// onWrote, when set, is called once, with the instant the first request
// was written, unless end was called first: a write the transport makes
// after the fetch returned (a cancelled request) must not count for the
// item's next lease.
type sentTime struct {
	onWrote func(time.Time)

	mu      sync.Mutex
	ended   bool // end was called
	wrote   bool
	first   time.Time // first response byte of the latest request
	stopped time.Time
}

func (s *sentTime) trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() {
			now := time.Now()
			s.mu.Lock()
			defer s.mu.Unlock()
			if !s.wrote && !s.ended && s.onWrote != nil {
				s.onWrote(now) // under mu, so end waits for it
			}
			s.wrote = true
		},
		GotFirstResponseByte: func() {
			s.mu.Lock()
			s.first = time.Now() // a redirect chain counts from its last hop
			s.mu.Unlock()
		},
	})
}

// end is get for a fetch that has returned: later writes are not
// reported to onWrote.
func (s *sentTime) end() time.Time {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	return s.get()
}

// get returns the instant to count from, or zero when nothing was sent.
// Call it once the request has ended.
func (s *sentTime) get() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.first.IsZero():
		return s.first
	case s.wrote:
		if s.stopped.IsZero() {
			s.stopped = time.Now()
		}
		return s.stopped
	}
	return time.Time{}
}
