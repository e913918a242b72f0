package crawl

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"crawler/frontier"
	"crawler/store"
)

// metrics are the engine's Prometheus collectors. No label ever holds a
// host or URL: their number is unbounded.
// Plain totals are the engine's Stats, exported with CounterFuncs, so each
// event is counted once.
type metrics struct {
	fetches *prometheus.CounterVec // page requests by status class
	latency prometheus.Histogram
	robots  *prometheus.CounterVec // robots.txt fetches by outcome
	commits prometheus.Histogram
	// revisitWait is how long each revisit waited from coming due
	// (frontier.Item.Due) to its first request.
	revisitWait prometheus.Histogram
	ops         prometheus.Counter
	reloadOK    prometheus.Gauge
	reloadAt    prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry, e *Engine) *metrics {
	m := &metrics{
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawler_fetches_total", Help: "Page requests by outcome: status class (2xx..5xx) or error."},
			[]string{"class"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "crawler_fetch_duration_seconds", Help: "Page request duration, body included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}),
		robots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawler_robots_fetches_total", Help: "robots.txt fetches by outcome."}, []string{"outcome"}),
		commits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "crawler_store_commit_duration_seconds", Help: "Duration of one store write transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}),
		revisitWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crawler_revisit_wait_seconds",
			Help:    "How long each revisit (recrawl come due, refresh, crawler recrawl) waited from coming due to its first request.",
			Buckets: []float64{1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400}}),
		ops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crawler_store_operations_total", Help: "Completions and additions committed to the store."}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crawler_config_last_reload_successful", Help: "1 if the last config reload succeeded."}),
		reloadAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crawler_config_last_reload_timestamp_seconds", Help: "When the config was last reloaded."}),
	}
	m.reloadOK.Set(1)
	counts := func(f func(c countsView) float64) func() float64 {
		return func() float64 { return f(countsView{e}) }
	}
	total := func(name, help string, n *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(n.Load()) })
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.fetches, m.latency, m.robots, m.commits, m.revisitWait, m.ops, m.reloadOK, m.reloadAt,
		total("crawler_fetched_bytes_total", "Bytes read from the network, robots.txt included.", &e.stats.BytesFetched),
		total("crawler_retries_total", "URLs sent back to wait for another attempt.", &e.stats.Retries),
		total("crawler_host_breaker_trips_total", "Host circuit breakers opened.", &e.stats.BreakerTrips),
		total("crawler_pages_stored_total", "Page records written this run (done or failed).", &e.stats.PagesStored),
		total("crawler_extract_failed_total", "Pages missing a required extracted field.", &e.stats.ExtractFailed),
		total("crawler_links_dropped_total", "Links dropped: out of scope, too deep or unparsable (too long ones count as traps).", &e.stats.LinksDropped),
		total("crawler_store_reclaims_total", "Value log reclaims finished while running.", &e.stats.Reclaims),
		total("crawler_store_reclaim_freed_bytes_total", "Bytes of drained value logs deleted by reclaims.", &e.stats.ReclaimFreed),
		total("crawler_store_reclaim_moved_bytes_total", "Bytes of live records and bodies reclaims copied into new logs.", &e.stats.ReclaimMoved),
		gauge("crawler_frontier_queued", "URLs waiting, retries included.", counts(func(c countsView) float64 { return float64(c.get().Queued) })),
		gauge("crawler_frontier_in_flight", "URLs leased to the pipeline, not yet committed.", counts(func(c countsView) float64 { return float64(c.get().InFlight) })),
		gauge("crawler_frontier_done", "URLs done.", counts(func(c countsView) float64 { return float64(c.get().Done) })),
		gauge("crawler_frontier_failed", "URLs failed.", counts(func(c countsView) float64 { return float64(c.get().Failed) })),
		gauge("crawler_frontier_disallowed", "URLs robots.txt forbids.", counts(func(c countsView) float64 { return float64(c.get().Disallowed) })),
		gauge("crawler_frontier_trapped", "Links dropped as crawler traps.", counts(func(c countsView) float64 { return float64(c.get().Trapped) })),
		gauge("crawler_hosts_active", "Hosts with queued or in-flight URLs.", counts(func(c countsView) float64 { return float64(c.get().Hosts) })),
		gauge("crawler_hosts_backed_off", "Hosts paused beyond their delay (breaker, Retry-After, robots retry).", func() float64 { return float64(e.q.BackedOff()) }),
		gauge("crawler_paused", "1 while fetching is paused for low disk space.", func() float64 {
			if e.paused.Load() {
				return 1
			}
			return 0
		}),
		gauge("crawler_store_reclaiming", "1 while a value log reclaim runs.", func() float64 {
			if e.Reclaiming() {
				return 1
			}
			return 0
		}),
		gauge("crawler_holds", "Operator's pauses in force (crawler pause): of the whole crawl and of hosts.", func() float64 { return float64(len(e.q.Holds())) }),
		gauge("crawler_store_size_bytes", "Size of the database file.", func() float64 {
			var n int64
			_ = e.db.View(func(tx *store.Tx) error { n = tx.Counts().FileBytes; return nil })
			return float64(n)
		}),
		gauge("crawler_store_values_bytes", "Size of the value log (page records and bodies) beside the database file.", func() float64 {
			var n int64
			_ = e.db.View(func(tx *store.Tx) error { n = tx.Counts().ValueBytes; return nil })
			return float64(n)
		}),
		gauge("crawler_store_values_garbage_bytes", "Bytes of the value log held by replaced page records and bodies: what crawler compact reclaims.", func() float64 {
			var n int64
			_ = e.db.View(func(tx *store.Tx) error { n = tx.Counts().GarbageBytes; return nil })
			return float64(n)
		}),
	)
	return m
}

type countsOf = frontier.Counts

// countsView defers reading the frontier until a scrape.
type countsView struct{ e *Engine }

func (c countsView) get() countsOf { return countsOf(c.e.q.Counts()) }

// observeFetch records one page request's outcome.
func (m *metrics) observeFetch(status int, err error, took time.Duration) {
	class := "error"
	if err == nil && status >= 100 && status < 600 {
		class = string(rune('0'+status/100)) + "xx"
	}
	m.fetches.WithLabelValues(class).Inc()
	m.latency.Observe(took.Seconds())
}
