// Package crawl runs the crawl pipeline: frontier → fetch workers →
// parse workers → the frontier's writer. Every hand-off is bounded, so a
// slow stage slows the ones before it, and the goroutine count depends on
// the configured concurrency, never on the number of URLs.
package crawl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"crawler/config"
	"crawler/extract"
	"crawler/fetcher"
	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/store"
)

// Options configures an Engine.
type Options struct {
	Config *config.Config // required
	DB     *store.DB      // required; the caller closes it after Run returns

	// ExitWhenIdle makes Run return once nothing is queued, in flight or
	// waiting to be written.
	ExitWhenIdle bool

	// Logger defaults to slog.Default().
	Logger *slog.Logger

	// Now is the clock; default time.Now.
	Now func() time.Time

	// ParseWorkers is the size of the parse pool; default runtime.NumCPU().
	ParseWorkers int

	// Registry receives the engine's metrics; nil makes a private one
	// (see Engine.Registry).
	Registry *prometheus.Registry

	// AllowedPrefixes are address ranges the fetcher may reach although
	// fetch.allow_private_addresses is false (see
	// fetcher.Options.AllowedPrefixes): for tests that play "public" hosts
	// on loopback. Default none.
	AllowedPrefixes []netip.Prefix

	// ReclaimEvery is how often Run checks whether the value log needs
	// reclaiming (store.reclaim_garbage_percent); default 0 = every
	// minute.
	ReclaimEvery time.Duration
}

// Engine is one crawl. Create it with New, run it with Run.
type Engine struct {
	cfgp    atomic.Pointer[config.Config]  // replaced whole by Reload
	clientp atomic.Pointer[fetcher.Client] // replaced when fetch options change
	db      *store.DB
	q       *frontier.Queue
	robots  *robotsCache
	files   *robotsFiles // the robots.txt files behind robots, in the store
	adapt   *throttle
	log     *slog.Logger
	now     func() time.Time
	opts    Options
	stats   Stats

	extractp atomic.Pointer[extract.Set] // extraction rules
	links    *urlnorm.Cache              // link resolutions, shared by the parse pool
	holds    holdWatch                   // the operator's timed holds, to log their end
	resize   chan int                    // new fetch worker count, from Reload to Run
	reloadMu sync.Mutex
	reloaded ReloadStatus
	reg      *prometheus.Registry
	metrics  *metrics
	paused   atomic.Bool        // fetching paused (disk guard); written under diskMu
	diskMu   sync.Mutex         // serialises guardDisk
	reclaim  reclaimer          // the value log reclaim running beside the crawl
	running  atomic.Bool        // Run's pipeline is up
	abort    context.CancelFunc // cancels in-flight fetches; set by Run
	abortMu  sync.Mutex

	scopeMu sync.RWMutex
	allowed map[string]bool   // hosts in scope, canonical host[:port]
	filter  *config.URLFilter // scope.include, exclude and strip_query_params; nil: none
	seedMu  sync.Mutex        // held while adding seeds to scope and recording them, and while Reload rebuilds scope from the record
}

// Stats are the engine's running totals, safe to read at any time.
// Fetches by status class and robots.txt outcomes are counted by the
// metrics only (they carry labels); these totals are exported there too.
type Stats struct {
	RobotsFetches atomic.Int64 // robots.txt fetches, every outcome
	Retries       atomic.Int64
	BreakerTrips  atomic.Int64 // host circuit breakers opened
	BytesFetched  atomic.Int64 // wire bytes
	PagesStored   atomic.Int64 // completions with a page record this run
	ExtractFailed atomic.Int64 // pages missing a required extracted field
	LinksDropped  atomic.Int64 // out of scope, too deep, too long
	Reclaims      atomic.Int64 // value log reclaims finished
	ReclaimFreed  atomic.Int64 // bytes of drained value logs deleted
	ReclaimMoved  atomic.Int64 // bytes reclaims copied into new logs
}

// New opens the frontier kept in opts.DB and prepares the workers.
func New(opts Options) (*Engine, error) {
	if opts.Config == nil || opts.DB == nil {
		return nil, errors.New("crawl: Config and DB are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ParseWorkers <= 0 {
		opts.ParseWorkers = runtime.NumCPU()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	cfg := opts.Config
	var e *Engine // the commit hook below reports into its metrics
	q, err := frontier.Open(opts.DB, frontier.Options{
		PerHostConcurrency: cfg.Fetch.PerHostConcurrency,
		PerHostDelay:       cfg.Fetch.PerHostDelay,
		HostLimits:         hostLimits(&cfg.Fetch),
		KeyMode:            cfg.Fetch.PolitenessKey,
		HostKey: func(raw string) string {
			_, host, _ := urlnorm.SplitCanonical(raw)
			return cfg.Fetch.HostKey(host)
		},
		MaxLeased:    LeaseCap(cfg.Fetch.Concurrency),
		MaxPerHost:   cfg.Scope.MaxPagesPerHost,
		MaxURLs:      cfg.Scope.MaxPages,
		MaxKeptDelay: keptDelayCap(cfg.Fetch.MaxCrawlDelay),
		OnCommit: func(ops int, took time.Duration) {
			if e != nil && e.metrics != nil {
				e.metrics.commits.Observe(took.Seconds())
				e.metrics.ops.Add(float64(ops))
			}
		},
		WriteQueue: 2 * cfg.Fetch.Concurrency,
		Now:        opts.Now,
		Logger:     opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("open frontier: %w", err)
	}
	rules, err := extract.Compile(cfg.Extract)
	if err != nil {
		_ = q.Close()
		return nil, err
	}
	allowed, err := scopeHosts(cfg, opts.DB)
	if err != nil {
		_ = q.Close()
		return nil, err
	}
	filter, err := cfg.Scope.URLFilter()
	if err != nil {
		_ = q.Close()
		return nil, err
	}
	e = &Engine{
		reg:    opts.Registry,
		db:     opts.DB,
		q:      q,
		resize: make(chan int, 1),
		robots: newRobotsCache(opts.Now),
		files:  newRobotsFiles(opts.DB, opts.Logger),
		adapt: newThrottle(cfg.Fetch.PerHostDelay, cfg.Fetch.MaxCrawlDelay, cfg.Fetch.PerHostConcurrency, hostLimits(&cfg.Fetch),
			cfg.Fetch.HostFailureThreshold, retryBackoff(&cfg.Fetch), q, opts.Now),
		log:     opts.Logger,
		now:     opts.Now,
		opts:    opts,
		allowed: allowed,
		filter:  filter,
	}
	e.robots.load = e.loadRobots
	e.cfgp.Store(cfg)
	e.clientp.Store(newClient(cfg, nil, opts.AllowedPrefixes...))
	e.extractp.Store(rules)
	e.metrics = newMetrics(opts.Registry, e)
	opts.DB.SetMappedBudget(cfg.Store.MaxMappedBytes)
	e.restorePaces()
	e.restoreCrawlDelays()
	return e, nil
}

// hostLimits returns fetch.host_limits as the frontier and the throttle
// take them, by politeness key (Validate allows one entry per key); nil
// for none.
func hostLimits(f *config.Fetch) map[string]frontier.HostLimits {
	set := f.HostLimitSet()
	if set == nil {
		return nil
	}
	out := make(map[string]frontier.HostLimits, len(set))
	for h, l := range set {
		hl := frontier.HostLimits{Delay: -1, Concurrency: l.Concurrency, MaxPerHost: l.MaxPages}
		if l.Delay != nil {
			hl.Delay = *l.Delay
		}
		out[f.HostKey(h)] = hl
	}
	return out
}

// pipelineDepth is how many URLs per fetch worker may be leased at once:
// one being fetched, the others fetched and waiting to be parsed or
// committed. With one per worker, a worker whose page waited for the
// writer could not fetch, and each commit's fdatasyncs were shared by few
// pages. A deeper pipeline feeds the frontier's group commit
// (frontier.Options.CommitWait and CommitBatch, whose default target is
// a share of this lease cap), so more pages share a sync. The costs: up
// to pipelineDepth × fetch.concurrency URLs may be fetched again after a
// kill, and more pages are held in memory at once. bench/README.md has
// the measurements behind the value.
const pipelineDepth = 4

// LeaseCap is the frontier's lease cap for a fetch.concurrency: the most
// URLs the pipeline holds between release and commit, and so the most a
// crash can cause to be fetched again.
func LeaseCap(concurrency int) int { return pipelineDepth * concurrency }

// idleCheckEvery is how often Run asks the frontier whether it is idle
// when Options.ExitWhenIdle is set.
const idleCheckEvery = 5 * time.Millisecond

// scopeHosts returns the hosts cfg puts in scope: scope.allowed_hosts, or
// when that is empty the seeds' hosts, including those of seeds added at
// run time (crawler seed) and recorded in db.
func scopeHosts(cfg *config.Config, db *store.DB) (map[string]bool, error) {
	allowed := cfg.AllowedHostSet()
	if len(cfg.Scope.AllowedHosts) > 0 {
		return allowed, nil
	}
	err := db.View(func(tx *store.Tx) error {
		return tx.ForEachSeed(func(raw string) error {
			if u, err := urlnorm.Parse(raw); err == nil {
				allowed[urlnorm.DropRootDot(urlnorm.Host(u))] = true
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read seeds: %w", err)
	}
	return allowed, nil
}

// inScope reports whether a canonical host[:port] may be crawled. Hosts
// are compared without a root dot ("a.test." is "a.test"), as e.allowed
// holds them.
func (e *Engine) inScope(host string) bool {
	host = urlnorm.DropRootDot(host)
	e.scopeMu.RLock()
	defer e.scopeMu.RUnlock()
	return e.allowed[host]
}

// urlFilter returns scope.include, scope.exclude and
// scope.strip_query_params compiled, as in force; nil for none.
func (e *Engine) urlFilter() *config.URLFilter {
	e.scopeMu.RLock()
	defer e.scopeMu.RUnlock()
	return e.filter
}

// HostKey returns the frontier's host key of host (canonical host[:port]):
// its politeness key under fetch.politeness_key, which a restart alone
// changes.
func (e *Engine) HostKey(host string) string {
	return e.config().Fetch.HostKey(host)
}

// StripQuery returns the canonical URL u without the query parameters
// scope.strip_query_params names, as in force: the URL a page found as u
// is stored under.
func (e *Engine) StripQuery(u string) string { return e.urlFilter().Strip(u) }

// excluded says why scope.include or scope.exclude leave the canonical
// URL u out; "" when they let it in.
func (e *Engine) excluded(u string) string { return e.urlFilter().Excluded(u) }

// Close releases an engine that was never Run (Run closes it itself).
func (e *Engine) Close() error {
	e.fetcher().Close()
	return e.q.Close()
}

// config returns the configuration in force.
func (e *Engine) config() *config.Config { return e.cfgp.Load() }

// retryBackoff is the retry schedule in force.
func (e *Engine) retryBackoff() Backoff { return retryBackoff(&e.config().Fetch) }

// retryBackoff is the retry schedule f configures: for URLs, robots.txt
// and the host circuit breaker alike.
func retryBackoff(f *config.Fetch) Backoff {
	return Backoff{Base: f.RetryBaseDelay, Max: f.RetryMaxDelay}
}

// fetcher returns the HTTP client in force.
func (e *Engine) fetcher() *fetcher.Client { return e.clientp.Load() }

// rules returns the extraction rules in force.
func (e *Engine) rules() *extract.Set { return e.extractp.Load() }

// Registry returns the registry holding the engine's metrics.
func (e *Engine) Registry() *prometheus.Registry { return e.reg }

// Abort cancels in-flight fetches at once instead of waiting for the
// shutdown timeout (a second SIGTERM). Whatever was already handed to the
// writer is still committed; the aborted URLs stay queued.
func (e *Engine) Abort() {
	e.abortMu.Lock()
	defer e.abortMu.Unlock()
	if e.abort != nil {
		e.abort()
	}
}

// Running reports whether Run's pipeline is up (for /healthz).
func (e *Engine) Running() bool { return e.running.Load() }

// Config returns the configuration the engine runs on (the latest
// successfully reloaded one).
func (e *Engine) Config() *config.Config { return e.config() }

// RobotsStatus describes what the engine knows of host's robots.txt (for
// crawler hosts): "ok", "allow-all (404)", "unreachable (retry …)",
// "stale: …" (a cached copy in use while robots.txt is unreachable),
// "unavailable", or "ignored" when robots.txt is not respected; "" when
// the robots cache holds nothing for the host (none of its URLs looked up
// since the start), whose stored copy then tells (StoredRobotsStatus).
func (e *Engine) RobotsStatus(host string) string {
	if !e.config().Fetch.RespectRobots {
		return "ignored"
	}
	for _, origin := range robotsOrigins(host) {
		if st := e.robots.status(origin); st != "" {
			return st
		}
	}
	return ""
}

// BreakerTrips returns how many times in a row host key's circuit breaker
// has opened since its last healthy answer, and false when the engine has
// not counted them since the start (or has forgotten the host): then the
// count kept in the file (frontier.ReadHosts) is the one it goes on from.
func (e *Engine) BreakerTrips(hostKey string) (int, bool) { return e.adapt.trips(hostKey) }

// Queue returns the engine's frontier (for the control API).
func (e *Engine) Queue() *frontier.Queue { return e.q }

// Stats returns the engine's running totals.
func (e *Engine) Stats() *Stats { return &e.stats }

// AddSeeds normalizes urls and adds the new ones to the frontier as depth-0
// seeds. Seeds are always in scope; their hosts are in scope whenever
// scope.allowed_hosts is empty, now or after a reload or restart empties
// it (they are recorded). It works whether or not Run is running.
// It returns how many were new.
func (e *Engine) AddSeeds(ctx context.Context, urls []string) (int, error) {
	return e.addSeeds(ctx, urls, true)
}

func (e *Engine) addSeeds(ctx context.Context, urls []string, record bool) (int, error) {
	links := make([]frontier.Link, 0, len(urls))
	for _, raw := range urls {
		u, err := urlnorm.Parse(raw)
		if err != nil {
			return 0, fmt.Errorf("seed %q: %w", raw, err)
		}
		e.robots.forget(urlnorm.Origin(u))
		links = append(links, frontier.Link{URL: u.String(), Host: e.HostKey(urlnorm.Host(u))})
	}
	if err := e.seedScope(links, record); err != nil {
		return 0, err
	}
	return e.q.Add(ctx, links)
}

// seedScope brings the seeds' hosts into scope when scope is the seeds'
// hosts (scope.allowed_hosts is empty) and, with record, records the seeds
// so later scopes keep them, also those that empty allowed_hosts. Both
// happen under seedMu, as Reload's rebuild of the scope from the recorded
// seeds does: a reload either sees these seeds or swaps its scope in
// before their hosts are added, never drops them.
func (e *Engine) seedScope(links []frontier.Link, record bool) error {
	e.seedMu.Lock()
	defer e.seedMu.Unlock()
	if len(e.config().Scope.AllowedHosts) == 0 {
		e.scopeMu.Lock()
		for _, l := range links {
			_, host, _ := urlnorm.SplitCanonical(l.URL) // l.Host is the politeness key
			e.allowed[urlnorm.DropRootDot(host)] = true
		}
		e.scopeMu.Unlock()
	}
	if !record {
		return nil
	}
	err := e.db.Update(func(tx *store.Tx) error {
		for _, l := range links {
			if err := tx.PutSeed(l.URL); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record seeds: %w", err)
	}
	return nil
}

// Run crawls until ctx is cancelled (or, with ExitWhenIdle, until the
// frontier is idle) and then shuts down in this order:
//
//  1. stop taking URLs from the frontier;
//  2. let in-flight fetches finish, for at most shutdown_timeout (the
//     rest are cancelled and stay queued on disk);
//  3. parse what was fetched and hand it to the writer;
//  4. close the frontier: the writer commits everything handed to it.
//
// The DB is left open; the caller closes it last. Run returns nil on a
// clean stop and the writer's error if the store failed.
func (e *Engine) Run(ctx context.Context) error {
	e.running.Store(true)
	defer e.running.Store(false)
	defer func() { e.fetcher().Close() }() // the client in force at the end: a Reload may have swapped it
	if _, err := e.addSeeds(ctx, e.config().Seeds, false); err != nil && !errors.Is(err, context.Canceled) {
		_ = e.q.Close()
		return err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	// In-flight fetches outlive runCtx by up to shutdown_timeout.
	fetchCtx, cancelFetches := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFetches()
	e.abortMu.Lock()
	e.abort = cancelFetches
	e.abortMu.Unlock()
	go func() {
		select {
		case <-runCtx.Done():
		case <-fetchCtx.Done():
			return
		}
		t := time.NewTimer(e.config().ShutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			e.log.Warn("shutdown timeout: cancelling in-flight fetches", "timeout", e.config().ShutdownTimeout)
			cancelFetches()
		case <-fetchCtx.Done():
		}
	}()

	fetched := make(chan *fetched, e.opts.ParseWorkers)
	var fetchers, parsers sync.WaitGroup
	// The fetch pool grows and shrinks with fetch.concurrency on reload; a
	// stopped worker finishes its current fetch first.
	var workers []context.CancelFunc
	resize := func(n int) {
		for len(workers) < n {
			wctx, cancel := context.WithCancel(runCtx)
			workers = append(workers, cancel)
			fetchers.Add(1)
			go func() {
				defer fetchers.Done()
				e.fetchLoop(wctx, fetchCtx, fetched)
			}()
		}
		for len(workers) > n {
			workers[len(workers)-1]()
			workers = workers[:len(workers)-1]
		}
	}
	e.guardDisk() // before the first fetch, not a tick later
	resize(e.config().Fetch.Concurrency)
	for range e.opts.ParseWorkers {
		parsers.Add(1)
		go func() {
			defer parsers.Done()
			for f := range fetched {
				c := e.process(f)
				if c.Page != nil && c.RetryAt.IsZero() {
					e.stats.PagesStored.Add(1)
				}
				// The body's memory reservation is held until the page
				// is on disk: compressed copies count too.
				c.Done = f.resp.Release
				// A fetch that ended before the cancel is committed all
				// the same: Commit then waits only for the writer, which
				// drains its queue until Close (after this pool ends).
				if err := e.q.Commit(context.WithoutCancel(fetchCtx), c); err != nil {
					f.resp.Release()
					e.log.Debug("commit dropped; the URL stays queued", "url", f.item.URL, "err", err)
				}
			}
		}()
	}

	housekeeping := time.NewTicker(50 * time.Millisecond)
	defer housekeeping.Stop()
	// With ExitWhenIdle the frontier is polled more often than the
	// housekeeping tick, so that a finished crawl stops within a few ms
	// instead of up to 50 (bench/README.md).
	var idleTick <-chan time.Time
	if e.opts.ExitWhenIdle {
		t := time.NewTicker(idleCheckEvery)
		defer t.Stop()
		idleTick = t.C
	}
	lastSweep := e.now()
	var lastDiskCheck, lastPrune, lastReclaimCheck time.Time
	reclaimCheck := e.opts.ReclaimEvery
	if reclaimCheck <= 0 {
		reclaimCheck = reclaimEvery
	}
	e.startHolds(lastSweep)
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-e.q.Failed():
			break loop
		case n := <-e.resize:
			e.log.Info("fetch concurrency changed", "workers", n)
			resize(n)
		case <-idleTick:
			if e.q.Idle() {
				e.log.Info("frontier idle: stopping", "counts", fmt.Sprintf("%+v", e.q.Counts()), "holds", len(e.q.Holds()))
				break loop
			}
		case <-housekeeping.C:
			if now := e.now(); now.Sub(lastDiskCheck) >= diskCheckEvery {
				e.guardDisk()
				lastDiskCheck = now
			}
			if now := e.now(); now.Sub(lastReclaimCheck) >= reclaimCheck {
				e.maybeReclaim(runCtx)
				lastReclaimCheck = now
			}
			for _, h := range e.holds.ended(e.now()) {
				e.log.Info("operator's pause ended", holdAttrs(h)...)
			}
			if now := e.now(); now.Sub(lastSweep) > time.Minute {
				e.robots.sweep()
				e.adapt.sweep()
				lastSweep = now
				if now.Sub(lastPrune) >= robotsPruneEvery {
					e.files.prune(now.Add(-robotsStaleMax))
					lastPrune = now
				}
			}
		}
	}
	stop()
	e.stopReclaim()
	fetchers.Wait()
	e.files.wait() // the robots.txt files fetched are in the store
	close(fetched)
	parsers.Wait()
	err := e.q.Close()
	cancelFetches()
	if err != nil {
		return err
	}
	return nil
}
