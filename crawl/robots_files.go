package crawl

import (
	"bytes"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"crawler/internal/urlnorm"
	"crawler/robots"
	"crawler/store"
)

// robotsFiles keeps the robots.txt files the crawl fetched in the store
// (store.RobotsFile, one per origin), so that the robots cache, empty
// after a restart or a reload that changes the robots settings, parses
// them again instead of fetching robots.txt (see robotsCache.restore).
// Only files that were not unreachable are kept: an outage never replaces
// a good copy.
//
// save never waits for the store: it leaves the file pending, and one
// goroutine at a time writes everything pending in one transaction, apart
// from the frontier's writer. A write that fails is logged and loses only
// the files (the host's robots.txt is fetched again after a restart).
type robotsFiles struct {
	db  *store.DB
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]*store.RobotsFile // by origin: saved, not committed yet
	writing bool                         // a write goroutine runs
	pruning bool                         // a prune goroutine runs
	wrote   sync.WaitGroup               // the write and prune goroutines
}

func newRobotsFiles(db *store.DB, log *slog.Logger) *robotsFiles {
	return &robotsFiles{db: db, log: log, pending: make(map[string]*store.RobotsFile)}
}

// save stores f as origin's robots.txt file, in the background.
func (r *robotsFiles) save(origin string, f *store.RobotsFile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[origin] = f
	if !r.writing {
		r.writing = true
		r.wrote.Add(1)
		go r.write()
	}
}

// write commits what is pending until nothing is.
func (r *robotsFiles) write() {
	defer r.wrote.Done()
	for {
		r.mu.Lock()
		batch := maps.Clone(r.pending)
		if len(batch) == 0 {
			r.writing = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		err := r.db.Update(func(tx *store.Tx) error {
			for origin, f := range batch {
				if err := tx.PutRobots(origin, f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			r.log.Warn("robots.txt files not stored: after a restart their hosts fetch robots.txt again",
				"files", len(batch), "err", err)
		}
		r.mu.Lock()
		for origin, f := range batch {
			if r.pending[origin] == f { // not saved again meanwhile
				delete(r.pending, origin)
			}
		}
		r.mu.Unlock()
	}
}

// prune deletes, in the background, the stored files fetched before
// before: the crawl passes robotsStaleMax ago, past which a file is no
// use even as a stale copy (restore ignores it), so the files of hosts no
// longer crawled do not pile up. One prune runs at a time.
func (r *robotsFiles) prune(before time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pruning {
		return
	}
	r.pruning = true
	r.wrote.Add(1)
	go func() {
		defer r.wrote.Done()
		var n int
		err := r.db.Update(func(tx *store.Tx) (err error) {
			n, err = tx.DeleteRobotsBefore(before)
			return err
		})
		switch {
		case err != nil:
			r.log.Warn("old robots.txt files not pruned", "err", err)
		case n > 0:
			r.log.Info("pruned stored robots.txt files too old to use", "files", n, "fetched_before", before)
		}
		r.mu.Lock()
		r.pruning = false
		r.mu.Unlock()
	}()
}

// wait returns once every file saved so far is written (or failed to be),
// and a prune under way has ended. No save may run concurrently.
func (r *robotsFiles) wait() { r.wrote.Wait() }

// StoredRobotsStatus describes host's stored robots.txt file (its https
// origin's, else its http origin's) for crawler hosts, in
// Engine.RobotsStatus's words: "ok" or "allow-all (404)" (a stored file
// is never an unreachable one), then when it was fetched and whether the
// next lookup fetches it again (RobotsFile.Refetch); "unknown" when there
// is none, "unreadable: …" when it does not decode. For example
// "allow-all (404, stored copy of 2026-11-22T10:00:00Z)". The crawl uses such a
// copy as it is while it is under a day old.
func StoredRobotsStatus(tx *store.Tx, host string) string {
	for _, origin := range robotsOrigins(host) {
		f, err := tx.Robots(origin)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return "unreadable: " + err.Error()
		}
		word, status := robotsStatusWord(f.Status)
		details := []string{"stored copy of " + f.Fetched.UTC().Format(time.RFC3339)}
		if status != "" {
			details = append([]string{status}, details...)
		}
		if f.Refetch {
			details = append(details, "to be fetched again")
		}
		return word + " (" + strings.Join(details, ", ") + ")"
	}
	return "unknown"
}

// robotsOrigins returns the origins whose robots.txt crawler hosts shows
// for host, in the order it looks: its https origin's, then its http
// origin's.
func robotsOrigins(host string) [2]string { return [2]string{"https://" + host, "http://" + host} }

// load returns origin's robots.txt file, pending or stored; nil when there
// is none or it cannot be read (logged).
func (r *robotsFiles) load(origin string) *store.RobotsFile {
	r.mu.Lock()
	f := r.pending[origin]
	r.mu.Unlock()
	if f != nil {
		return f
	}
	err := r.db.View(func(tx *store.Tx) (err error) {
		f, err = tx.Robots(origin)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		r.log.Warn("stored robots.txt unreadable: fetching it again", "origin", origin, "err", err)
		return nil
	}
	return f
}

// restoreCrawlDelays gives every host whose stored robots.txt sets a
// Crawl-delay that delay (capped by fetch.max_crawl_delay) before the
// host's first request of this process.
//
// After a restart the frontier holds a host's first request for the
// host's delay (the restart rule in frontier.Queue), because the process
// before may have sent the host a request just before it stopped. Without
// this, that delay was per_host_delay: a Crawl-delay was learnt again only
// when robots.txt was read for the host's first URL, which the frontier
// had by then released, so a restart could send two requests closer
// together than the site's robots.txt asks. A host with nothing queued yet
// (its first URL will be a retry or a recrawl coming due, promoted by the
// frontier's writer at any moment) gets it too: the frontier keeps it for
// the host's first start (Queue.SetDelay). Every stored file is
// decompressed, but only one that mentions Crawl-delay is parsed. A file
// that cannot be read is skipped here: the crawl reads it again (and logs
// it) before the host's first request. With respect_robots off nothing is
// read: robots.txt is not obeyed, its Crawl-delay included.
func (e *Engine) restoreCrawlDelays() {
	cfg := e.config()
	if cfg.Fetch.MaxCrawlDelay <= 0 || !cfg.Fetch.RespectRobots { // Crawl-delay is ignored
		return
	}
	type crawlDelay struct {
		key, origin string
		delay       time.Duration
	}
	var found []crawlDelay
	start := time.Now()
	files := 0
	err := e.db.View(func(tx *store.Tx) error {
		return tx.EachRobots(func(origin string, f *store.RobotsFile, err error) error {
			files++
			if err != nil || !mentionsCrawlDelay(f.Body) {
				return nil
			}
			if d := robots.FromStatus(f.Status, f.Body, cfg.Fetch.RobotsToken).CrawlDelay(); d > 0 {
				_, host, _ := urlnorm.SplitCanonical(origin)
				found = append(found, crawlDelay{key: cfg.Fetch.HostKey(host), origin: origin, delay: d})
			}
			return nil
		})
	})
	if err != nil {
		e.log.Warn("stored robots.txt Crawl-delays not read: hosts wait per_host_delay before their first request", "err", err)
		return
	}
	for _, c := range found {
		e.adapt.setCrawlDelay(c.key, c.origin, c.delay)
	}
	e.log.Debug("read the Crawl-delays of stored robots.txt files", "files", files, "with_crawl_delay", len(found), "took", time.Since(start))
}

// mentionsCrawlDelay reports whether a robots.txt body contains
// "crawl-delay" in any case, as the parser lowercases directive names:
// only such a file can set one.
func mentionsCrawlDelay(body []byte) bool {
	return bytes.Contains(bytes.ToLower(body), []byte("crawl-delay"))
}
