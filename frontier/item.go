package frontier

import (
	"time"

	"crawler/store"
)

// Item is a URL leased to a worker: released by the dispatcher, it must
// come back through exactly one of Commit or Requeue, after Release.
type Item struct {
	URL      string // normalized URL
	Host     string // host[:port], the politeness key
	Parent   string // page it was found on; "" for seeds
	Depth    int    // link hops from a seed
	Attempts int    // fetch attempts already made (0 on the first)
	Hops     int    // redirect hops that led here
	Origin   string // first URL of the redirect chain; "" when Hops == 0
	Via      string // the chain's URLs before this one, newline-separated

	// Revisit reports that the URL was finished before and is queued
	// again by its recrawl coming due, a Link.Refresh or a Link.Revisit:
	// its stored record is the copy a failed fetch keeps and the
	// validators a conditional GET sends, even with recrawl off.
	Revisit bool
	// Due is when a revisit came due: its recrawl's scheduled time, or
	// when a refresh or revisit queued it (its recrawl's time if that
	// had passed unpromoted); its retries keep it. Zero for
	// a first fetch, and for a revisit queued by a version that did not
	// keep it. Milliseconds are its finest unit.
	Due time.Time

	key      []byte    // queue key
	prevNext time.Time // the host's next start before this item reserved a slot
	reserved time.Time // the host's next start this item set
	released bool      // Release was called (under the queue's lock)
	started  bool      // Started was called, or the lease ended unsent
}

// Link is a URL to add to the frontier. It is ignored if already seen.
type Link struct {
	URL    string // normalized URL
	Host   string // host[:port] of URL
	Parent string
	Depth  int
	Hops   int    // redirect hops; 0 for an ordinary link
	Origin string // first URL of a redirect chain
	Via    string // the chain's URLs before this one, newline-separated

	// Disallowed records the URL as disallowed by robots.txt without
	// queueing it (the caller already knows the rules of its origin).
	Disallowed bool

	// Refresh queues the URL again when it is done: its page changed
	// since it was fetched (a sitemap's lastmod says so). A recrawl it
	// had pending is superseded, not done twice. A URL in any other
	// state is left as it is; one not seen yet is an ordinary link.
	Refresh bool

	// Revisit queues the URL again now when it is finished: done, failed
	// or disallowed (an operator asked for it: `crawler recrawl`). Its
	// attempts start over and its depth is the one it was seen at; a
	// recrawl it had pending is superseded. A URL queued or in flight is
	// left as it is, and one not seen yet is not added: scope is the
	// caller's to judge.
	Revisit bool
}

// Completion is the outcome of one leased Item, committed atomically: the
// item leaves its queue, its state and page record are written, and its
// links are added.
type Completion struct {
	Item  *Item
	State State       // StateDone, StateFailed or StateDisallowed
	Page  *store.Page // record to store; nil for none
	Body  []byte      // body compressed with store.DB.CompressBody; nil keeps none
	Links []Link      // discovered URLs, already normalized and in scope

	// KeepBody keeps the body stored with the URL's previous record when
	// Body is nil (a 304 on recrawl); otherwise a nil Body removes it.
	KeepBody bool

	// Trapped counts links the caller dropped as crawler traps, added to
	// Counts.Trapped with the rest of the completion.
	Trapped int

	// RetryAt, when non-zero, puts the URL back to queued until that
	// time with one more attempt counted; State, Page and Body are ignored.
	RetryAt time.Time

	// Done, when set, is called once the completion's transaction has
	// committed or failed; not when Commit itself returns an error.
	Done func()

	// RecrawlAt, when non-zero on a StateDone completion, makes the URL
	// due again at that time: it then returns to queued. Pages waiting to
	// be recrawled do not count as queued (a crawl with only future
	// recrawls is idle).
	RecrawlAt time.Time
}
