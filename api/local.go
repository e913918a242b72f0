package api

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"crawler/config"
	"crawler/crawl"
	"crawler/frontier"
	"crawler/store"
)

// Local answers queries from a crawl database opened by this process,
// normally read-only while no daemon runs. It is safe for concurrent use.
type Local struct {
	reader
	cfg *config.Config
}

// NewLocal returns a Local over db. cfg is the crawl's configuration
// (nil: none): GetPage strips the query parameters its
// scope.strip_query_params names from a URL not stored as given, and
// Seed, which needs db opened read-write and cfg, adds to its scope.
// Closing db is the caller's job.
func NewLocal(db *store.DB, cfg *config.Config) *Local {
	r := reader{db: db}
	if cfg != nil {
		if f, err := cfg.Scope.URLFilter(); err == nil && f != nil {
			r.strip = f.Strip
		}
		r.hostKey = cfg.Fetch.HostKey
	}
	return &Local{reader: r, cfg: cfg}
}

// Stats implements Querier with the totals stored in the file. A stopped
// crawl has nothing in flight, and its rate and uptime are zero; URLs that
// were in flight when it stopped count as queued.
func (l *Local) Stats(context.Context) (*Stats, error) {
	s := new(Stats)
	err := l.db.View(func(tx *store.Tx) error {
		c := frontier.ReadCounts(tx)
		s.Queued, s.Done, s.Failed, s.Disallowed, s.Trapped = c.Queued, c.Done, c.Failed, c.Disallowed, c.Trapped
		holds, err := frontier.ReadHolds(tx, time.Now())
		if err != nil {
			return err
		}
		s.Holds = holds
		return storeStats(tx, s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Hosts implements Querier with the per-host totals stored in the file
// and each host's stored robots.txt (crawl.StoredRobotsStatus; "ignored"
// when the configuration turns robots off). In flight is empty; delay and
// next start are the pace kept for the restart (frontier.Pace), if any.
func (l *Local) Hosts(ctx context.Context, fn func(*frontier.HostInfo) error) error {
	hosts, err := l.readHosts()
	if err != nil {
		return err
	}
	holds, err := l.storedHolds()
	if err != nil {
		return err
	}
	frontier.MarkHeld(hosts, holds, l.hostKey)
	if l.cfg != nil && !l.cfg.Fetch.RespectRobots {
		for _, h := range hosts {
			h.Robots = "ignored"
		}
	}
	if err := l.storedRobots(hosts); err != nil {
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

// Seed implements Querier for a stopped crawl: it opens the frontier in
// the database (which must be open read-write), adds the seeds, and closes
// it again. The next `crawler run` fetches them.
func (l *Local) Seed(ctx context.Context, urls []string) (n int, err error) {
	if err := checkURLs("seed", urls); err != nil {
		return 0, err
	}
	err = l.withEngine("seed", func(eng *crawl.Engine) (err error) {
		n, err = eng.AddSeeds(ctx, urls)
		return err
	})
	return n, err
}

// Recrawl implements Querier for a stopped crawl, as Seed does: the next
// `crawler run` fetches the URLs, and fetches the robots.txt of a
// disallowed URL's origin again (Engine.Recrawl marks the stored copy).
func (l *Local) Recrawl(ctx context.Context, urls []string) (res crawl.RecrawlResult, err error) {
	if err := checkURLs("recrawl", urls); err != nil {
		return res, err
	}
	err = l.withEngine("recrawl", func(eng *crawl.Engine) (err error) {
		res, err = eng.Recrawl(ctx, urls)
		return err
	})
	return res, err
}

// withEngine runs fn with an engine over the stopped crawl's database
// (open read-write), never run, closed after: its frontier commits what
// fn did.
func (l *Local) withEngine(verb string, fn func(*crawl.Engine) error) error {
	if l.db.ReadOnly() {
		return fmt.Errorf("%s a stopped crawl: %w", verb, store.ErrReadOnly)
	}
	if l.cfg == nil {
		return fmt.Errorf("%s a stopped crawl: no configuration: %w", verb, ErrInvalid)
	}
	eng, err := crawl.New(crawl.Options{Config: l.cfg, DB: l.db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("%s a stopped crawl: %w", verb, err)
	}
	err = fn(eng)
	if cerr := eng.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s a stopped crawl: close frontier: %w", verb, cerr)
	}
	return err
}
