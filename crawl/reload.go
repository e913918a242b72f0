package crawl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"crawler/config"
	"crawler/extract"
	"crawler/frontier"
)

// ReloadStatus is the outcome of the last Reload.
type ReloadStatus struct {
	At time.Time `json:"at,omitzero"` // zero: never reloaded
	OK bool      `json:"ok"`          // false: the old config is still in force
	// Err says why the reload was refused, or, with OK, why the new
	// config's seeds could not be queued (ErrSeedsNotQueued).
	Err string `json:"err,omitempty"`
}

// ErrSeedsNotQueued wraps the error of a Reload whose new configuration
// took effect but whose seeds could not be queued (the crawl was
// stopping, or the frontier failed). Seeds are queued last, under the new
// scope, so nothing can undo the rest by then.
var ErrSeedsNotQueued = errors.New("config reloaded, but its seeds were not queued")

// LastReload returns the outcome of the last Reload.
func (e *Engine) LastReload() ReloadStatus {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	return e.reloaded
}

// Reload applies a new configuration without a restart. The caller has
// parsed and validated the whole file (config.Load); Reload checks what it
// needs to build (extraction rules) before changing anything, so on error
// the old configuration stays in force whole, except for an error that
// wraps ErrSeedsNotQueued: that one comes after the new configuration took
// effect. Applied live: seeds (new
// ones are added), scope (turning follow_sitemaps on refetches every
// robots.txt, so that their sitemaps are queued), per-host delay and concurrency, global
// concurrency, retries, timeouts and the other fetch options, robots
// settings, extraction rules, traps, store settings, shutdown_timeout;
// the recrawl settings schedule each page when it is next fetched (a
// recrawl already scheduled keeps its due time).
// data_dir, api, log and memory_limit need a restart; a change there is
// logged and the old value stays in force.
func (e *Engine) Reload(ctx context.Context, next *config.Config) error {
	err := e.reload(ctx, next)
	e.recordReload(err)
	return err
}

// RecordReloadFailure records a reload that failed before reaching the
// engine (the file did not parse), so the log, stats and metrics show it.
func (e *Engine) RecordReloadFailure(err error) { e.recordReload(err) }

func (e *Engine) recordReload(err error) {
	applied := err == nil || errors.Is(err, ErrSeedsNotQueued)
	st := ReloadStatus{At: e.now(), OK: applied}
	if err != nil {
		st.Err = err.Error()
	}
	switch {
	case !applied:
		e.metrics.reloadOK.Set(0)
		e.log.Error("config reload rejected; keeping the old config", "err", err)
	case err != nil:
		e.metrics.reloadOK.Set(1)
		e.log.Error("config reloaded, but its seeds were not queued", "err", err)
	default:
		e.metrics.reloadOK.Set(1)
		e.log.Info("config reloaded")
	}
	e.metrics.reloadAt.Set(float64(st.At.Unix()))
	e.reloadMu.Lock()
	e.reloaded = st
	e.reloadMu.Unlock()
}

// keepRestartOnly returns a copy of next with the keys that need a restart
// (data_dir, api, log, memory_limit) set back to prev's, and logs the ones
// that changed. Stored as they came, they would claim to be in force, and
// the disk guard would measure a data_dir the database is not in.
func keepRestartOnly(next, prev *config.Config, log *slog.Logger) *config.Config {
	c := *next
	var changed []string
	if c.DataDir != prev.DataDir {
		changed, c.DataDir = append(changed, "data_dir"), prev.DataDir
	}
	if c.API != prev.API {
		changed, c.API = append(changed, "api"), prev.API
	}
	if c.Log != prev.Log {
		changed, c.Log = append(changed, "log"), prev.Log
	}
	if c.MemoryLimit != prev.MemoryLimit {
		changed, c.MemoryLimit = append(changed, "memory_limit"), prev.MemoryLimit
	}
	if c.Fetch.PolitenessKey != prev.Fetch.PolitenessKey { // the queued URLs are keyed by it
		changed, c.Fetch.PolitenessKey = append(changed, "fetch.politeness_key"), prev.Fetch.PolitenessKey
	}
	if len(changed) > 0 {
		log.Warn("config reload: these settings take effect at the next restart; the old values stay in force",
			"keys", strings.Join(changed, ","))
	}
	return &c
}

func (e *Engine) reload(ctx context.Context, next *config.Config) error {
	if err := next.Validate(); err != nil {
		return err
	}
	rules, err := extract.Compile(next.Extract)
	if err != nil {
		return err
	}
	filter, err := next.Scope.URLFilter()
	if err != nil {
		return err
	}
	prev := e.config()
	next = keepRestartOnly(next, prev, e.log)

	// Scope first, so links found from now on are judged by it. seedMu:
	// a seed added meanwhile is either read here or added to the new scope.
	e.seedMu.Lock()
	allowed, err := scopeHosts(next, e.db)
	if err != nil {
		e.seedMu.Unlock()
		return err
	}
	e.scopeMu.Lock()
	e.allowed, e.filter = allowed, filter
	e.scopeMu.Unlock()
	e.seedMu.Unlock()

	if !reflect.DeepEqual(next.Fetch, prev.Fetch) {
		// The bodies the old client's fetches still hold keep counting
		// against the new one's (same fetch.body_memory: one budget).
		old := e.clientp.Swap(newClient(next, e.clientp.Load(), e.opts.AllowedPrefixes...))
		old.Close() // idle connections only; requests in flight finish
	}
	e.extractp.Store(rules)
	if next.Fetch.RespectRobots != prev.Fetch.RespectRobots {
		// Before the new config is in force: turned off, a robots check
		// begun under the old one records no Crawl-delay any more; turned
		// on, each host's next URL reads robots.txt again (from the store)
		// and its Crawl-delay counts.
		e.adapt.obeyCrawlDelays(next.Fetch.RespectRobots)
	}
	e.cfgp.Store(next)
	// After the new config is in force, so that the stored files the
	// cleared origins start from are parsed for its token. Turning
	// scope.follow_sitemaps on clears it too: the Sitemap lines of the
	// robots.txt files already read were not queued.
	if next.Fetch.RobotsToken != prev.Fetch.RobotsToken || next.Fetch.RespectRobots != prev.Fetch.RespectRobots ||
		next.Scope.FollowSitemaps && !prev.Scope.FollowSitemaps {
		e.robots.clear()
	}
	limits := hostLimits(&next.Fetch)
	e.adapt.configure(next.Fetch.PerHostDelay, next.Fetch.MaxCrawlDelay, next.Fetch.PerHostConcurrency, limits,
		next.Fetch.HostFailureThreshold, retryBackoff(&next.Fetch))
	e.q.SetLimits(frontier.Limits{PerHostConcurrency: next.Fetch.PerHostConcurrency, PerHostDelay: next.Fetch.PerHostDelay,
		HostLimits: limits, MaxLeased: LeaseCap(next.Fetch.Concurrency), MaxPerHost: next.Scope.MaxPagesPerHost,
		MaxURLs: next.Scope.MaxPages})
	if next.Fetch.Concurrency != prev.Fetch.Concurrency {
		select {
		case <-e.resize:
		default:
		}
		e.resize <- next.Fetch.Concurrency
	}
	e.guardDisk() // store.min_free_bytes may have changed
	e.db.SetMappedBudget(next.Store.MaxMappedBytes)
	if _, err := e.addSeeds(ctx, next.Seeds, false); err != nil {
		return fmt.Errorf("%w: %w", ErrSeedsNotQueued, err)
	}
	return nil
}
