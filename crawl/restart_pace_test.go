package crawl

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"crawler/frontier"
	"crawler/internal/urlnorm"
	"crawler/store"
)

// A crawl stopped and started again keeps what hosts asked of it: a host
// that answered 503 with Retry-After gets no request, of any URL, before
// the Retry-After has run, and a host slowed by overload answers (503
// without Retry-After, which doubles its delay) starts after the restart
// with that delay, not per_host_delay.
func TestRestartKeepsHostPace(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	const retryAfter = 2 * time.Second
	site := newHostileSite(t)
	paused := site.host("retry-after")
	slowed := site.host("overloaded")
	paused.html("/", "root", "/busy", "/a", "/b")
	paused.handle("/busy", answers(htmlPage("busy"), [2]string{"503", "2"}))
	paused.html("/a", "a")
	paused.html("/b", "b")
	slowed.html("/", "root", "/busy")
	slowed.handle("/busy", answers(htmlPage("busy"), [2]string{"503", ""}, [2]string{"503", ""}))

	cfg := hostileConfig(t, []string{paused.url("/"), slowed.url("/")}, nil)
	cfg.Fetch.RetryMaxDelay = 5 * time.Second  // Retry-After: 2 is not capped
	cfg.Fetch.MaxCrawlDelay = 10 * time.Second // nor the adaptive delay (250ms, then 500ms)
	db := openChecked(t, cfg)

	// The first run stops once both hosts' /busy have answered 503, the
	// overloaded one twice in a row: its delay is then 500ms, and its
	// third attempt is left for the second run.
	parent, stop := context.WithCancel(context.Background())
	runIdle(t, cfg, db, crawlOpts{parent: parent, during: func(ctx context.Context, _ *Engine) {
		for (paused.count("/busy") < 1 || slowed.count("/busy") < 2) && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // the answers are handled
		stop()
	}})
	stop()
	busy := paused.starts("/busy")
	if len(busy) != 1 || slowed.count("/busy") != 2 {
		t.Fatalf("first run: /busy requested %d and %d times; want 1 and 2", len(busy), slowed.count("/busy"))
	}
	before := map[*hostileHost]int{paused: len(paused.requests()), slowed: len(slowed.requests())}

	// The restarted engine's throttle goes on from the kept delay.
	e, err := New(Options{Config: cfg, DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _ := e.adapt.state(slowed.addr); d != 500*time.Millisecond {
		t.Errorf("the restarted engine's delay for the overloaded host = %v; want the 500ms it had", d)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	restart := time.Now()
	runIdle(t, cfg, db, crawlOpts{})
	for _, r := range paused.requests()[before[paused]:] {
		if since := r.start.Sub(busy[0]); since < retryAfter-100*time.Millisecond {
			t.Errorf("after the restart %s%s requested %v after a 503 with Retry-After: 2",
				paused.name, r.uri, since.Round(time.Millisecond))
		}
	}
	after := slowed.requests()[before[slowed]:]
	if len(after) == 0 {
		t.Fatal("after the restart the overloaded host got no request")
	}
	if first := after[0].start.Sub(restart); first < 450*time.Millisecond {
		t.Errorf("after the restart the overloaded host's first request came %v after the start; want >= its 500ms delay",
			first.Round(time.Millisecond))
	}
	for _, u := range []string{paused.url("/busy"), paused.url("/a"), paused.url("/b"), slowed.url("/busy")} {
		if o := lookup(t, db, u); o.page == nil || o.page.Status != 200 {
			t.Errorf("%s: %v %+v; want done with a 200", u, o.state, o.page)
		}
	}
}

// A delay kept from a run whose fetch.max_crawl_delay was higher is capped
// by today's (restorePaces: "a delay that today's fetch.max_crawl_delay
// caps is lowered there too") also for a host that has no URL queued at
// Open and gets one right after (here a seed): its first request must not
// wait out the old, uncapped delay.
func TestKeptDelayCappedForHostWithoutWork(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	const old = 8 * time.Second // kept from the last run, max_crawl_delay was higher then
	site := newHostileSite(t)
	h := site.host("slowed")
	h.html("/", "root")
	h.html("/new", "new")
	cfg := hostileConfig(t, []string{h.url("/")}, nil) // max_crawl_delay 250ms today
	db := openChecked(t, cfg)
	runIdle(t, cfg, db, crawlOpts{}) // h's record exists, nothing queued

	_, host, _ := urlnorm.SplitCanonical(h.url("/"))
	key := cfg.Fetch.HostKey(host)
	q, err := frontier.Open(db, frontier.Options{PerHostConcurrency: 1, PerHostDelay: cfg.Fetch.PerHostDelay,
		KeyMode: cfg.Fetch.PolitenessKey})
	if err != nil {
		t.Fatal(err)
	}
	q.SetDelay(key, old) // as the last run's throttle left it
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Seeds = append(cfg.Seeds, h.url("/new"))
	start := time.Now()
	runIdle(t, cfg, db, crawlOpts{})
	s := h.starts("/new")
	if len(s) != 1 {
		t.Fatalf("/new requested %d times", len(s))
	}
	if took := s[0].Sub(start); took > 3*time.Second {
		t.Errorf("after the restart /new was requested %v after the start; want within ~max_crawl_delay (%v), not the old kept %v",
			took.Round(time.Millisecond), cfg.Fetch.MaxCrawlDelay, old)
	}
}

// A host whose circuit breaker keeps opening is paused longer each time,
// across a restart too: the restarted engine goes on from the trips the
// last run reached instead of starting the breaker's back-off over.
func TestRestartKeepsBreakerTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a second")
	}
	site := newHostileSite(t)
	dead := site.host("dead")
	paths := []string{"/1", "/2", "/3", "/4"}
	dead.html("/", "root", paths...)
	for _, p := range paths {
		dead.handle(p, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	}
	failed := func() []hostileReq {
		var out []hostileReq
		for _, r := range dead.requests() {
			if r.uri != "/" && r.uri != "/robots.txt" {
				out = append(out, r)
			}
		}
		return out
	}
	cfg := hostileConfig(t, []string{dead.url("/")}, nil)
	cfg.Fetch.Retries = 0                             // each failure is its URL's last
	cfg.Fetch.HostFailureThreshold = 1                // and opens the breaker
	cfg.Fetch.RetryBaseDelay = 100 * time.Millisecond // breaker pauses 100, 200, 400ms, ±20 %
	cfg.Fetch.RetryMaxDelay = 5 * time.Second
	db := openChecked(t, cfg)

	// The first run stops after two failures: two trips, the host paused
	// for 200ms.
	parent, stop := context.WithCancel(context.Background())
	var live int
	var counted bool
	runIdle(t, cfg, db, crawlOpts{parent: parent, during: func(ctx context.Context, e *Engine) {
		for len(failed()) < 2 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)         // the answer is handled
		live, counted = e.BreakerTrips(dead.addr) // what crawler hosts shows from a daemon
		stop()
	}})
	stop()
	before := len(failed())
	if before != 2 {
		t.Fatalf("first run: %d failed requests; want 2", before)
	}
	if live != 2 || !counted {
		t.Errorf("first run: the engine's BreakerTrips = %d, %v; want 2, true", live, counted)
	}

	e, err := New(Options{Config: cfg, DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if trips := e.q.KeptTrips(dead.addr); trips != 2 {
		t.Errorf("the restarted engine's kept breaker trips for the dead host = %d; want the 2 it had", trips)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	runIdle(t, cfg, db, crawlOpts{})
	after := failed()[before:]
	if len(after) != 2 {
		t.Fatalf("after the restart: %d failed requests; want 2", len(after))
	}
	// The third trip pauses the host 400ms ±20 %; the first, 100ms.
	if gap := after[1].start.Sub(after[0].start); gap < 300*time.Millisecond {
		t.Errorf("after the restart the breaker paused the dead host %v; want the third trip's 400ms (±20 %%)",
			gap.Round(time.Millisecond))
	}
}

// The same for a host with nothing left queued at the restart: all its
// URLs failed, its last pause is over. New URLs for it after the restart
// meet the breaker where the last run left it, not at its first trip.
func TestRestartKeepsBreakerTripsOfHostWithoutWork(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a second")
	}
	site := newHostileSite(t)
	dead := site.host("dead")
	dead.html("/", "root", "/1", "/2")
	for _, p := range []string{"/1", "/2", "/3", "/4"} {
		dead.handle(p, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	}
	cfg := hostileConfig(t, []string{dead.url("/")}, nil)
	cfg.Fetch.Retries = 0
	cfg.Fetch.HostFailureThreshold = 1
	cfg.Fetch.RetryBaseDelay = 100 * time.Millisecond // breaker pauses 100, 200, 400ms, ±20 %
	cfg.Fetch.RetryMaxDelay = 5 * time.Second
	db := openChecked(t, cfg)
	runIdle(t, cfg, db, crawlOpts{}) // / ok, /1 and /2 fail: 2 trips, nothing left queued
	stored := func() int {
		n := -1
		if err := db.View(func(tx *store.Tx) error {
			return frontier.ReadHosts(tx, func(h *frontier.HostInfo) error {
				if h.Host == dead.addr {
					n = h.BreakerTrips
				}
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := stored(); n != 2 {
		t.Fatalf("stored trips after the first run = %d; want 2", n)
	}
	time.Sleep(300 * time.Millisecond) // the second trip's pause is over

	cfg.Seeds = append(cfg.Seeds, dead.url("/3"), dead.url("/4"))
	runIdle(t, cfg, db, crawlOpts{})
	s3, s4 := dead.starts("/3"), dead.starts("/4")
	if len(s3) != 1 || len(s4) != 1 {
		t.Fatalf("/3, /4 requested %d, %d times; want once each", len(s3), len(s4))
	}
	if gap := s4[0].Sub(s3[0]).Abs(); gap < 300*time.Millisecond {
		t.Errorf("after the restart the breaker paused the dead host %v; want the third trip's 400ms (±20 %%)",
			gap.Round(time.Millisecond))
	}
	if n := stored(); n != 4 {
		t.Errorf("stored trips after the second run = %d; want 4", n)
	}
}
