// Package api answers the query CLI's questions about a crawl, whether the
// daemon is running or not, through one interface, Querier:
//
//   - Local reads a stopped crawl's database file directly.
//   - Daemon answers inside the running daemon: the same store reads, plus
//     the engine's live state (in-flight URLs, per-host delays, robots.txt,
//     uptime, recent throughput).
//   - Server serves any Querier as HTTP/JSON on a unix socket, and Client
//     implements Querier over that socket, so the CLI runs the same code
//     whichever side answers.
//
// bbolt holds an exclusive lock on the file while the daemon runs, so a
// second process cannot even open it read-only: the socket is the only way
// to query a running crawl.
//
// Streaming methods (ListPages, Search, Hosts, Export) call fn once per
// item and stop at the first error fn returns, which they return. They read
// the store in small batches, each in its own short read transaction, and
// call fn outside any transaction: memory stays constant however many pages
// there are, and a slow consumer never holds a transaction open on a
// running crawl. A listing taken while the crawl runs is therefore not one
// snapshot: pages stored meanwhile may or may not appear.
package api

import (
	"context"
	"time"

	"crawler/crawl"
	"crawler/frontier"
	"crawler/store"
)

// Querier answers every query verb of the CLI.
type Querier interface {
	// ListPages calls fn for every stored page that matches f, in URL
	// order.
	ListPages(ctx context.Context, f PageFilter, fn func(*store.Page) error) error

	// GetPage returns the record stored for url (normalized first) and,
	// when withBody, its decompressed body (nil when none is stored). It
	// returns an error matching store.ErrNotFound when the page is not
	// stored, and ErrInvalid when url is not a crawlable URL.
	GetPage(ctx context.Context, url string, withBody bool) (*store.Page, []byte, error)

	// Search calls fn, in URL order, for the stored pages whose title or
	// text contains text, ignoring case and runs of white space; limit > 0
	// stops after that many. The text is the stored HTML body with tags
	// stripped (or a text/* body as is). There is no index: every stored
	// HTML or text body is decompressed and scanned once, so a search costs
	// time in proportion to the bytes stored, and memory for one body.
	Search(ctx context.Context, text string, limit int, fn func(*store.Page) error) error

	// Stats returns the crawl's totals.
	Stats(ctx context.Context) (*Stats, error)

	// Hosts calls fn for every host the crawl knows, in host order.
	Hosts(ctx context.Context, fn func(*frontier.HostInfo) error) error

	// Queue calls fn for the queued URLs f selects: host by host in host
	// order, each host's in the order they are fetched (depth, then
	// discovery), then the retries waiting for their time, soonest first.
	// A running daemon marks the URLs leased to its workers in flight.
	// Pages waiting to be recrawled are not listed. A bad f.Host is
	// ErrInvalid.
	Queue(ctx context.Context, f QueueFilter, fn func(*frontier.QueuedURL) error) error

	// Seed adds urls to the crawl as depth-0 seeds and returns how many
	// were new. An invalid URL is ErrInvalid and adds nothing.
	Seed(ctx context.Context, urls []string) (added int, err error)

	// Recrawl queues urls again now, whatever they finished as: done,
	// failed or disallowed (see crawl.Engine.Recrawl). It says how many it
	// queued, how many were queued already and how many the crawl never
	// saw, which it does not add. An invalid URL is ErrInvalid and queues
	// nothing.
	Recrawl(ctx context.Context, urls []string) (crawl.RecrawlResult, error)

	// Backup writes a consistent copy of the crawl's database and value
	// log into dir, an absolute path on the machine that answers (see
	// store.DB.Backup), while the crawl runs or not. A relative dir is
	// ErrInvalid; a dir already holding a database is
	// store.ErrBackupExists; one that cannot be made or written is
	// store.ErrBackupOutput.
	Backup(ctx context.Context, dir string) (*store.BackupInfo, error)

	// Pause holds the whole crawl ("" in hosts) or each of hosts ("host"
	// or "host:port") until until, or until Resume when until is zero
	// (see crawl.Engine.Pause), and returns the holds placed. The holds
	// are stored with the crawl: a stopped crawl's next run starts under
	// them. No hosts, or one that is not a host, is ErrInvalid and places
	// nothing.
	Pause(ctx context.Context, hosts []string, until time.Time) ([]frontier.Hold, error)

	// Resume lifts the holds of the whole crawl ("" in hosts) or of each
	// of hosts, and returns how many there were. Bad hosts are ErrInvalid,
	// as for Pause.
	Resume(ctx context.Context, hosts []string) (lifted int, err error)

	// Holds returns the holds in force, the whole crawl's first, then by
	// host.
	Holds(ctx context.Context) ([]frontier.Hold, error)

	// Export calls fn for every stored page that matches f, in URL order,
	// with its decompressed body (nil when none is stored). A page f
	// leaves out has its body left unread.
	Export(ctx context.Context, f PageFilter, fn func(p *store.Page, body []byte) error) error
}

// Compile-time checks that every backend implements Querier.
var (
	_ Querier = (*Local)(nil)
	_ Querier = (*Daemon)(nil)
	_ Querier = (*Client)(nil)
)

// PageFilter selects pages for ListPages. The zero value selects every
// page.
type PageFilter struct {
	// Host keeps the pages of one host ("host" or "host:port", any
	// scheme). Default "" = every host.
	Host string `json:"host,omitempty"`

	// Prefix keeps the pages whose canonical URL starts with it. Its
	// scheme and host are compared lowercased and, once the host is
	// complete (followed by "/", "?" or "#"), canonical: without the
	// default port, an IDN in punycode, and the path "/" put before a
	// query or fragment ("https://h?q" is "https://h/?q"). Default "" =
	// every URL.
	Prefix string `json:"prefix,omitempty"`

	// Status, when not nil, keeps the pages whose final HTTP status equals
	// it; 0 selects the URLs that got no response. Default nil = any.
	Status *int `json:"status,omitempty"`

	// Since keeps the pages fetched at or after it. Default zero = any
	// time.
	Since time.Time `json:"since,omitzero"`

	// Limit stops the listing after that many pages. Default 0 = no limit.
	Limit int `json:"limit,omitempty"`
}

// Stats are a crawl's totals. Fields marked "live" are only meaningful
// for a running daemon (Running true) and are zero otherwise.
type Stats struct {
	PagesStored int64 `json:"pages_stored"` // page records in the store
	Queued      int64 `json:"queued"`       // URLs waiting, retries included, in flight excluded
	InFlight    int64 `json:"in_flight"`    // live: URLs leased to fetch workers
	Done        int64 `json:"done"`         // URLs finished with a page record
	Failed      int64 `json:"failed"`       // URLs given up on
	Disallowed  int64 `json:"disallowed"`   // URLs robots.txt forbids
	Trapped     int64 `json:"trapped"`      // links dropped as crawler traps
	Hosts       int64 `json:"hosts"`        // hosts the crawl knows
	ActiveHosts int64 `json:"active_hosts"` // hosts with queued or in-flight URLs
	// BackedOffHosts counts the hosts whose next request waits beyond
	// their delay, for a Retry-After, a circuit breaker or an unreachable
	// robots.txt: a daemon's live count, or for a stopped crawl the
	// pauses kept for its restart that have not ended (frontier.Pace).
	BackedOffHosts int64 `json:"backed_off_hosts"`
	// RevisitHosts counts the hosts with a revisit (a recrawl come due, a
	// refresh or a revisit) in line in their queue, and
	// OldestRevisitDueAt is the earliest their next revisits came due
	// (frontier.HostInfo.RevisitDueAt): how far the crawl is behind its
	// recrawls. A revisit waits for every first fetch of its host.
	RevisitHosts       int64     `json:"revisit_hosts,omitempty"`
	OldestRevisitDueAt time.Time `json:"oldest_revisit_due_at,omitzero"`
	BodyBytes          int64     `json:"body_bytes"`  // compressed page bodies stored
	FileBytes          int64     `json:"file_bytes"`  // size of the database file
	ValueBytes         int64     `json:"value_bytes"` // size of its value log: page records and bodies
	// GarbageBytes is the part of ValueBytes that replaced records and
	// bodies take: what `crawler compact` would reclaim.
	GarbageBytes int64 `json:"value_garbage_bytes"`
	// ValueLogs is how many value log files are in use: 2 while a reclaim
	// is draining the older one (also when one was interrupted: the
	// daemon finishes it at start), else 1.
	ValueLogs int `json:"value_logs"`

	// Reclaiming is live: a reclaim of the value log is running.
	Reclaiming bool `json:"reclaiming,omitempty"`
	// Reclaims is live: reclaims the daemon finished since it started,
	// and ReclaimFreedBytes the bytes of drained logs they deleted.
	Reclaims          int64 `json:"reclaims,omitempty"`
	ReclaimFreedBytes int64 `json:"reclaim_freed_bytes,omitempty"`
	// ReclaimOff reports store.reclaim_garbage_percent 0: only crawler
	// compact reclaims the log. A daemon answers from the config it runs;
	// for a stopped crawl the CLI fills it from its config file.
	ReclaimOff bool `json:"reclaim_off,omitempty"`

	// PagesPerSecond is live: URLs finished with a page record (done or
	// failed, recrawls included) per second over the last minute, or
	// since the daemon started when it is younger.
	PagesPerSecond float64 `json:"pages_per_second"`

	// Running reports whether the answer came from a running daemon.
	Running bool `json:"running"`

	// UptimeSeconds is live: how long the daemon has been up.
	UptimeSeconds float64 `json:"uptime_seconds,omitempty"`

	// Paused is live: fetching is paused because free space in data_dir
	// is below store.min_free_bytes.
	Paused bool `json:"paused,omitempty"`

	// Holds are the operator's pauses in force (crawler pause), the
	// whole crawl's first.
	Holds []frontier.Hold `json:"holds,omitempty"`

	// LastReload is live: the outcome of the last config reload; nil when
	// the daemon has not reloaded.
	LastReload *crawl.ReloadStatus `json:"last_reload,omitempty"`
}

// Uptime returns UptimeSeconds as a duration, rounded to the second.
func (s *Stats) Uptime() time.Duration {
	return time.Duration(s.UptimeSeconds * float64(time.Second)).Round(time.Second)
}
