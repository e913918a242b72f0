package api

import (
	"context"
	"sort"
	"sync"
	"time"

	"crawler/crawl"
	"crawler/frontier"
	"crawler/store"
)

// DaemonOptions configures a Daemon.
type DaemonOptions struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// SampleEvery is how often the count of finished URLs is sampled for
	// Stats.PagesPerSecond. Default 1s; zero means the default.
	SampleEvery time.Duration

	// Window is the span PagesPerSecond is averaged over. Default 1m; zero
	// means the default.
	Window time.Duration
}

// Daemon answers queries inside the running daemon: store reads like
// Local, plus the engine's live state. It samples the engine's counters
// on its own goroutine until Close. It is safe for concurrent use.
type Daemon struct {
	reader
	eng     *crawl.Engine
	now     func() time.Time
	started time.Time
	rate    rateWindow

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewDaemon returns a Daemon over the engine eng crawling into db, and
// starts sampling. Uptime counts from this call, which the daemon makes
// just before it runs eng. Call Close when done.
func NewDaemon(db *store.DB, eng *crawl.Engine, opts DaemonOptions) *Daemon {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = time.Second
	}
	if opts.Window <= 0 {
		opts.Window = time.Minute
	}
	d := &Daemon{
		reader: reader{db: db, strip: eng.StripQuery, hostKey: eng.HostKey},
		eng:    eng,
		now:    opts.Now,
		rate:   rateWindow{span: opts.Window},
		stop:   make(chan struct{}),
	}
	d.started = d.now()
	d.rate.add(d.started, d.finished())
	d.wg.Add(1)
	go d.sample(opts.SampleEvery)
	return d
}

func (d *Daemon) sample(every time.Duration) {
	defer d.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.rate.add(d.now(), d.finished())
		case <-d.stop:
			return
		}
	}
}

// finished counts the page records (URLs done or failed) the engine has
// stored since it started, recrawls included: what PagesPerSecond
// measures. The frontier's done and failed counts would miss recrawls,
// which take a done URL back to queued before it is done again.
func (d *Daemon) finished() int64 { return d.eng.Stats().PagesStored.Load() }

// Close stops sampling. It does not touch the engine or the database. It
// is safe to call more than once.
func (d *Daemon) Close() error {
	d.closeOnce.Do(func() {
		close(d.stop)
		d.wg.Wait()
	})
	return nil
}

// Stats implements Querier: stored totals from the file, URL counts from
// the live frontier, and the daemon's rate and uptime.
func (d *Daemon) Stats(context.Context) (*Stats, error) {
	s := &Stats{Running: true}
	if err := d.db.View(func(tx *store.Tx) error { return storeStats(tx, s) }); err != nil {
		return nil, err
	}
	c := d.eng.Queue().Counts()
	s.Queued, s.InFlight, s.Done, s.Failed, s.Disallowed = c.Queued, c.InFlight, c.Done, c.Failed, c.Disallowed
	s.Trapped, s.Paused, s.Holds = c.Trapped, d.eng.Paused(), d.eng.Holds()
	s.BackedOffHosts = int64(d.eng.Queue().BackedOff())
	st := d.eng.Stats()
	s.Reclaiming, s.Reclaims, s.ReclaimFreedBytes = d.eng.Reclaiming(), st.Reclaims.Load(), st.ReclaimFreed.Load()
	s.ReclaimOff = d.eng.Config().Store.ReclaimGarbagePercent == 0
	if r := d.eng.LastReload(); !r.At.IsZero() {
		s.LastReload = &r
	}
	now := d.now()
	s.PagesPerSecond = d.rate.perSecond(now, d.finished())
	s.UptimeSeconds = now.Sub(d.started).Seconds()
	return s, nil
}

// Hosts implements Querier: the stored per-host totals, merged with the
// frontier's live scheduling state (in flight, delay, next start) and the
// engine's robots.txt state and breaker trips. On disk a URL in flight is still queued, so
// Queued here excludes the live in-flight count.
func (d *Daemon) Hosts(ctx context.Context, fn func(*frontier.HostInfo) error) error {
	hosts, err := d.readHosts()
	if err != nil {
		return err
	}
	live := d.eng.Queue().Live()
	for _, h := range hosts {
		if l, ok := live[h.Host]; ok {
			h.InFlight, h.Delay, h.NextAt = l.InFlight, l.Delay, l.NextAt
			h.Queued = max(0, h.Queued-l.InFlight)
			delete(live, h.Host)
		}
	}
	for _, l := range live { // hosts whose first URLs are not yet committed
		hosts = append(hosts, &l)
	}
	frontier.MarkHeld(hosts, d.eng.Holds(), d.hostKey)
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Host < hosts[j].Host })
	for _, h := range hosts {
		h.Robots = d.eng.RobotsStatus(h.Host)
		if n, ok := d.eng.BreakerTrips(h.Host); ok {
			h.BreakerTrips = n
		}
	}
	if err := d.storedRobots(hosts); err != nil { // hosts not looked up since the start
		return err
	}
	for _, h := range hosts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return nil
}

// Seed implements Querier: the running engine adds the seeds and starts
// fetching them.
func (d *Daemon) Seed(ctx context.Context, urls []string) (int, error) {
	if err := checkURLs("seed", urls); err != nil {
		return 0, err
	}
	return d.eng.AddSeeds(ctx, urls)
}

// Recrawl implements Querier: the running engine queues the URLs again.
func (d *Daemon) Recrawl(ctx context.Context, urls []string) (crawl.RecrawlResult, error) {
	if err := checkURLs("recrawl", urls); err != nil {
		return crawl.RecrawlResult{}, err
	}
	return d.eng.Recrawl(ctx, urls)
}
