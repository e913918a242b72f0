package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"crawler/config"
	"crawler/crawl"
	"crawler/frontier"
	"crawler/internal/testsite"
	"crawler/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sitePages = 12 // pages per host besides "/"

var quiet = slog.New(slog.DiscardHandler)

// crawled is a store built by a real crawl of a loopback site.
type crawled struct {
	site *testsite.Site
	cfg  *config.Config
	db   *store.DB // open read-write
}

// crawlSite crawls a 3-host site at firstIP to idle and returns the open
// store.
func crawlSite(t *testing.T, firstIP string) *crawled {
	t.Helper()
	site, err := testsite.Start(testsite.Options{Hosts: 3, Pages: sitePages, Links: 4, FirstIP: firstIP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.Close)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Seeds = site.Seeds()
	cfg.Fetch.AllowPrivateAddresses = true
	cfg.Fetch.PerHostDelay = 0
	cfg.Fetch.Concurrency = 8
	cfg.Fetch.Timeout = 5 * time.Second
	cfg.Fetch.RetryBaseDelay = 10 * time.Millisecond
	cfg.Fetch.RetryMaxDelay = 50 * time.Millisecond
	cfg.ShutdownTimeout = 2 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(cfg.DBPath(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng, err := crawl.New(crawl.Options{Config: cfg, DB: db, ExitWhenIdle: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := eng.Run(ctx); err != nil || ctx.Err() != nil {
		t.Fatalf("crawl: %v %v", err, ctx.Err())
	}
	return &crawled{site: site, cfg: cfg, db: db}
}

// serve serves q on a fresh socket and returns a client for it.
func serve(t *testing.T, q Querier) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.sock")
	srv, err := Listen(path, q, ServerOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(path, ClientOptions{})
	t.Cleanup(func() {
		c.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func intp(n int) *int { return &n }

// answers runs every query on q and returns each answer as text, errors
// included, so two backends can be compared whole.
func answers(t *testing.T, q Querier, c *crawled, live bool) map[string]string {
	t.Helper()
	ctx := context.Background()
	h := c.site.Hosts()
	out := map[string]string{}
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	errText := func(err error) string {
		kind := "other"
		switch {
		case errors.Is(err, store.ErrNotFound):
			kind = "not_found"
		case errors.Is(err, ErrInvalid):
			kind = "invalid"
		}
		return "error " + kind + ": " + err.Error()
	}
	list := func(name string, f PageFilter) {
		var urls []string
		err := q.ListPages(ctx, f, func(p *store.Page) error {
			urls = append(urls, enc(p))
			return nil
		})
		if err != nil {
			out[name] = errText(err)
			return
		}
		out[name] = strings.Join(urls, "\n")
	}
	list("list all", PageFilter{})
	list("list host", PageFilter{Host: strings.ToUpper(h[1])})
	list("list prefix", PageFilter{Prefix: "HTTP://" + h[0] + "/p/1"})
	list("list host+prefix", PageFilter{Host: h[2], Prefix: "http://" + h[2] + "/p/2"})
	list("list host+other prefix", PageFilter{Host: h[2], Prefix: "http://" + h[0] + "/"})
	list("list status limit", PageFilter{Status: intp(200), Limit: 5})
	list("list status none", PageFilter{Status: intp(0)})
	list("list since future", PageFilter{Since: time.Now().Add(time.Hour)})
	list("list since past", PageFilter{Since: time.Now().Add(-time.Hour), Limit: 2})
	list("list bad host", PageFilter{Host: "a b"})

	get := func(name, url string, body bool) {
		p, b, err := q.GetPage(ctx, url, body)
		if err != nil {
			out[name] = errText(err)
			return
		}
		out[name] = enc(p) + "\nbody " + string(b)
	}
	get("get", "http://"+strings.ToUpper(h[0])+"/p/3#frag", false)
	get("get body", "http://"+h[0]+"/p/3", true)
	get("get missing", "http://"+h[0]+"/p/999", true)
	get("get invalid", "ftp://x/", false)

	search := func(name, text string, limit int) {
		var urls []string
		err := q.Search(ctx, text, limit, func(p *store.Page) error {
			urls = append(urls, p.URL)
			return nil
		})
		if err != nil {
			out[name] = errText(err)
			return
		}
		out[name] = strings.Join(urls, "\n")
	}
	search("search title", "HOST 2   page 7", 0)
	search("search text", "lorem ipsum", 4)
	search("search anchor", "private", 0)
	search("search none", "zzz nothing", 0)
	search("search empty", "  ", 0)

	s, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if live {
		s.Running, s.InFlight, s.PagesPerSecond, s.UptimeSeconds, s.FileBytes = false, 0, 0, 0, 0
	}
	out["stats"] = enc(s)

	var hosts []string
	err = q.Hosts(ctx, func(hi *frontier.HostInfo) error {
		if live {
			// Robots stays: a daemon whose cache has not looked a host
			// up reports the stored copy, as a stopped crawl does.
			hi.Delay, hi.NextAt, hi.InFlight = "", time.Time{}, 0
		}
		hosts = append(hosts, enc(hi))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out["hosts"] = strings.Join(hosts, "\n")

	export := func(name string, f PageFilter) {
		var exported []string
		err := q.Export(ctx, f, func(p *store.Page, body []byte) error {
			sum := sha256.Sum256(body)
			exported = append(exported, fmt.Sprintf("%s %d %s", p.URL, len(body), hex.EncodeToString(sum[:])))
			return nil
		})
		if err != nil {
			out[name] = errText(err)
			return
		}
		out[name] = strings.Join(exported, "\n")
	}
	export("export", PageFilter{})
	export("export host status", PageFilter{Host: h[1], Status: intp(200)})
	export("export prefix limit", PageFilter{Prefix: "http://" + h[0] + "/p/1", Limit: 2})
	export("export since future", PageFilter{Since: time.Now().Add(time.Hour)})
	export("export bad host", PageFilter{Host: "a b"})
	return out
}

func compare(t *testing.T, name string, want, got map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if want[k] != got[k] {
			t.Errorf("%s: %q differs:\nwant %s\ngot  %s", name, k, want[k], got[k])
		}
	}
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// checkAnswers checks the local answers against the site itself, so that
// agreeing backends are also right.
func checkAnswers(t *testing.T, a map[string]string, c *crawled) {
	t.Helper()
	h := c.site.Hosts()
	all := lines(a["list all"])
	var urls []string
	for _, l := range all {
		var p store.Page
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, p.URL)
	}
	want := c.site.PageURLs()
	sort.Strings(want)
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Errorf("list all = %v\nwant %v", urls, want)
	}
	if n := len(lines(a["list host"])); n != sitePages+1 || strings.Count(a["list host"], `"url":"http://`+h[1]+`/`) != n {
		t.Errorf("list host: %d pages, want %d of %s only", n, sitePages+1, h[1])
	}
	var got []string
	for _, l := range lines(a["list prefix"]) {
		var p store.Page
		_ = json.Unmarshal([]byte(l), &p)
		got = append(got, strings.TrimPrefix(p.URL, "http://"+h[0]))
	}
	if strings.Join(got, " ") != "/p/1 /p/10 /p/11" {
		t.Errorf("list prefix = %v", got)
	}
	if n := len(lines(a["list host+prefix"])); n != 1 {
		t.Errorf("list host+prefix: %d pages, want 1", n)
	}
	for _, k := range []string{"list host+other prefix", "list status none", "list since future"} {
		if a[k] != "" {
			t.Errorf("%s: %q, want nothing", k, a[k])
		}
	}
	if n := len(lines(a["list status limit"])); n != 5 {
		t.Errorf("list status limit: %d pages, want 5", n)
	}
	if n := len(lines(a["list since past"])); n != 2 {
		t.Errorf("list since past: %d pages, want 2", n)
	}
	if !strings.HasPrefix(a["list bad host"], "error invalid") {
		t.Errorf("list bad host: %q", a["list bad host"])
	}
	if g := a["get"]; !strings.Contains(g, `"title":"host 0 page 3"`) || !strings.HasSuffix(g, "\nbody ") {
		t.Errorf("get = %q", g)
	}
	if g := a["get body"]; !strings.Contains(g, "<title>host 0 page 3</title>") {
		t.Errorf("get body = %q", g)
	}
	if !strings.HasPrefix(a["get missing"], "error not_found") || !strings.HasPrefix(a["get invalid"], "error invalid") {
		t.Errorf("get missing = %q, get invalid = %q", a["get missing"], a["get invalid"])
	}
	if a["search title"] != "http://"+h[2]+"/p/7" {
		t.Errorf("search title = %q", a["search title"])
	}
	if r := lines(a["search text"]); len(r) != 4 || r[0] != all0(all) {
		t.Errorf("search text = %q; want the first 4 pages", r)
	}
	if n := len(lines(a["search anchor"])); n != len(want) {
		t.Errorf("search anchor: %d pages, want every page (%d)", n, len(want))
	}
	if a["search none"] != "" || !strings.HasPrefix(a["search empty"], "error invalid") {
		t.Errorf("search none = %q, empty = %q", a["search none"], a["search empty"])
	}
	var s Stats
	_ = json.Unmarshal([]byte(a["stats"]), &s)
	n := int64(len(want))
	if s.PagesStored != n || s.Done != n || s.Queued != 0 || s.InFlight != 0 || s.Hosts != 3 || s.ActiveHosts != 0 ||
		s.Disallowed != n || s.BodyBytes <= 0 || s.FileBytes <= 0 {
		t.Errorf("stats = %+v; want %d pages done, %d disallowed, 3 hosts", s, n, n)
	}
	hl := lines(a["hosts"])
	if len(hl) != 3 {
		t.Fatalf("hosts = %q", a["hosts"])
	}
	for i, l := range hl {
		var hi frontier.HostInfo
		_ = json.Unmarshal([]byte(l), &hi)
		if hi.Host != sortedHosts(h)[i] || hi.Done != sitePages+1 || hi.Queued != 0 || hi.Disallowed != sitePages+1 {
			t.Errorf("host %d = %+v", i, hi)
		}
	}
	ex := lines(a["export"])
	if len(ex) != len(want) {
		t.Errorf("export: %d pages, want %d", len(ex), len(want))
	}
	for _, l := range ex {
		if strings.Contains(l, " 0 ") {
			t.Errorf("export without a body: %s", l)
		}
	}
	host := lines(a["export host status"])
	if len(host) != sitePages+1 || strings.Count(a["export host status"], "http://"+h[1]+"/") != len(host) {
		t.Errorf("export host status: %q; want the %d pages of %s", host, sitePages+1, h[1])
	}
	if ex := lines(a["export prefix limit"]); len(ex) != 2 || !strings.HasPrefix(ex[0], "http://"+h[0]+"/p/1 ") {
		t.Errorf("export prefix limit: %q; want the first 2 under /p/1", ex)
	}
	if a["export since future"] != "" || !strings.HasPrefix(a["export bad host"], "error invalid") {
		t.Errorf("export since future = %q, bad host = %q", a["export since future"], a["export bad host"])
	}
}

func all0(all []string) string {
	var p store.Page
	_ = json.Unmarshal([]byte(all[0]), &p)
	return p.URL
}

func sortedHosts(h []string) []string {
	s := append([]string(nil), h...)
	sort.Strings(s)
	return s
}

// One store, two paths: direct and over the socket give the same answers.
func TestLocalAndSocketAgree(t *testing.T) {
	c := crawlSite(t, "127.0.1.100")
	local := NewLocal(c.db, c.cfg)
	want := answers(t, local, c, false)
	checkAnswers(t, want, c)
	for _, h := range strings.Split(want["hosts"], "\n") {
		if !strings.Contains(h, `"robots":"ok (stored copy of `) {
			t.Errorf("host of a stopped crawl: %s; want robots ok, from the stored copy", h)
		}
	}
	got := answers(t, serve(t, local), c, false)
	compare(t, "socket", want, got)
}

// runDaemon runs an engine over c's crawl and a Daemon on it until the
// test ends. The Daemon's clock stands at now until setClock moves it.
func runDaemon(t *testing.T, c *crawled, now time.Time) (eng *crawl.Engine, d *Daemon, setClock func(time.Time)) {
	t.Helper()
	eng, err := crawl.New(crawl.Options{Config: c.cfg, DB: c.db, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	})
	clock := make(chan time.Time, 1)
	clock <- now
	tick := func() time.Time { t := <-clock; clock <- t; return t }
	d = NewDaemon(c.db, eng, DaemonOptions{Now: tick})
	t.Cleanup(func() { d.Close() })
	return eng, d, func(t time.Time) { <-clock; clock <- t }
}

// A running engine: the daemon's answers, direct and over the socket,
// match the stopped crawl's but for the live fields; seeds added through
// the socket are crawled.
func TestDaemonAgreesAndSeeds(t *testing.T) {
	c := crawlSite(t, "127.0.1.104")
	want := answers(t, NewLocal(c.db, c.cfg), c, true)

	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, d, setClock := runDaemon(t, c, now)
	client := serve(t, d)

	compare(t, "daemon", want, answers(t, d, c, true))
	compare(t, "daemon socket", want, answers(t, client, c, true))

	setClock(now.Add(90 * time.Second))
	s, err := client.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Running || s.Uptime() != 90*time.Second {
		t.Errorf("stats = %+v; want running for 90s", s)
	}
	if s.ValueLogs != 1 || s.Reclaiming || s.Reclaims != 0 {
		t.Errorf("stats: %d value logs, reclaiming %v, %d reclaims; want one log and no reclaim yet", s.ValueLogs, s.Reclaiming, s.Reclaims)
	}

	h0 := c.site.Hosts()[0]
	seed := "http://" + h0 + "/p/999"
	if _, err := client.Seed(context.Background(), []string{"not a url"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("seed of a bad URL: %v; want ErrInvalid", err)
	}
	if n, err := client.Seed(context.Background(), []string{seed, "http://" + h0 + "/p/1"}); err != nil || n != 1 {
		t.Fatalf("seed: %d, %v; want 1 new", n, err)
	}
	var p *store.Page
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if p, _, err = client.GetPage(context.Background(), seed, false); err == nil {
			break
		}
	}
	if p == nil || p.Status != 404 {
		t.Fatalf("seeded page: %+v, %v; want it crawled (404)", p, err)
	}

	// Recrawl over the socket: a done page is fetched again.
	again := "http://" + h0 + "/p/1"
	before, _, err := client.GetPage(context.Background(), again, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Recrawl(context.Background(), []string{again, "not a url"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("recrawl with a bad URL: %v; want ErrInvalid", err)
	}
	res, err := client.Recrawl(context.Background(), []string{again, "http://" + h0 + "/never"})
	if err != nil || res != (crawl.RecrawlResult{Queued: 1, Unknown: 1}) {
		t.Fatalf("recrawl: %+v, %v; want 1 queued, 1 unknown", res, err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if p, _, err = client.GetPage(context.Background(), again, false); err == nil && p.FetchedAt.After(before.FetchedAt) {
			break
		}
	}
	if p == nil || !p.FetchedAt.After(before.FetchedAt) || p.Status != 200 {
		t.Errorf("recrawled page: %+v, %v; want it fetched again after %v", p, err, before.FetchedAt)
	}

	var robots string
	err = client.Hosts(context.Background(), func(h *frontier.HostInfo) error {
		if h.Host == h0 {
			robots = h.Robots
		}
		return nil
	})
	if err != nil || robots != "ok" {
		t.Errorf("robots state of %s = %q, %v; want ok once fetched", h0, robots, err)
	}
}

// reopenReadOnly closes c's store and returns a Local on it opened
// read-only, closed at cleanup.
func reopenReadOnly(t *testing.T, c *crawled) *Local {
	t.Helper()
	path := c.db.Path()
	c.db.Close()
	ro, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	return NewLocal(ro, c.cfg)
}

// Seeding a stopped crawl queues the URL on disk; a read-only store
// refuses.
func TestLocalSeed(t *testing.T) {
	c := crawlSite(t, "127.0.1.108")
	local := NewLocal(c.db, c.cfg)
	seed := "http://" + c.site.Hosts()[1] + "/p/999"
	ctx := context.Background()
	if _, err := local.Seed(ctx, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("no URLs: %v", err)
	}
	if _, err := local.Seed(ctx, []string{seed, "mailto:x@y"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad URL: %v", err)
	}
	for i, want := range []int{1, 0} {
		if n, err := local.Seed(ctx, []string{seed}); err != nil || n != want {
			t.Fatalf("seed %d: %d, %v; want %d", i, n, err, want)
		}
	}
	s, err := local.Stats(ctx)
	if err != nil || s.Queued != 1 || s.ActiveHosts != 1 {
		t.Fatalf("stats after seeding = %+v, %v; want 1 queued", s, err)
	}
	if err := c.db.View(func(tx *store.Tx) error {
		st, err := frontier.URLState(tx, seed)
		if err != nil || st != frontier.StateQueued {
			t.Errorf("seed state %v, %v", st, err)
		}
		return frontier.Check(tx)
	}); err != nil {
		t.Error(err)
	}
	if _, err := reopenReadOnly(t, c).Seed(ctx, []string{seed}); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("seed on a read-only store: %v; want ErrReadOnly", err)
	}
}

// Recrawling a stopped crawl queues a finished URL again on disk, leaves
// a queued one waiting and an unseen one out; a read-only store refuses.
func TestLocalRecrawl(t *testing.T) {
	c := crawlSite(t, "127.0.1.116")
	local := NewLocal(c.db, c.cfg)
	ctx := context.Background()
	done := "http://" + c.site.Hosts()[1] + "/p/1"
	before, err := local.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Recrawl(ctx, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("no URLs: %v; want ErrInvalid", err)
	}
	for i, want := range []crawl.RecrawlResult{{Queued: 1, Unknown: 1}, {Waiting: 1, Unknown: 1}} {
		if res, err := local.Recrawl(ctx, []string{done, done + "?new"}); err != nil || res != want {
			t.Fatalf("recrawl %d: %+v, %v; want %+v", i, res, err, want)
		}
	}
	s, err := local.Stats(ctx)
	if err != nil || s.Queued != 1 || s.Done != before.Done-1 {
		t.Errorf("stats after the recrawl = %+v, %v; want 1 queued, %d done", s, err, before.Done-1)
	}
	if err := c.db.View(func(tx *store.Tx) error { return frontier.Check(tx) }); err != nil {
		t.Error(err)
	}
	if _, err := reopenReadOnly(t, c).Recrawl(ctx, []string{done}); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("recrawl on a read-only store: %v; want ErrReadOnly", err)
	}
}

// Streams stop at the first error the callback returns, on both paths.
func TestStreamStopsAtCallbackError(t *testing.T) {
	c := crawlSite(t, "127.0.1.112")
	local := NewLocal(c.db, c.cfg)
	stop := errors.New("stop")
	for name, q := range map[string]Querier{"local": local, "socket": serve(t, local)} {
		n := 0
		err := q.ListPages(context.Background(), PageFilter{}, func(*store.Page) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 2 {
			t.Errorf("%s: %d pages, %v; want stop after 2", name, n, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n = 0
		err = q.Export(ctx, PageFilter{}, func(*store.Page, []byte) error {
			n++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || n != 1 {
			t.Errorf("%s: export after cancel: %d pages, %v", name, n, err)
		}
		cancel()
	}
}

// Backup over the socket writes the copy the daemon side makes, refuses a
// relative directory, and carries "exists" back as store.ErrBackupExists.
func TestBackupOverSocket(t *testing.T) {
	c := crawlSite(t, "127.0.1.84")
	client := serve(t, NewLocal(c.db, c.cfg))
	ctx := context.Background()
	if _, err := client.Backup(ctx, "relative/dir"); !errors.Is(err, ErrInvalid) {
		t.Errorf("backup to a relative directory: %v; want ErrInvalid", err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	info, err := client.Backup(ctx, dir)
	if err != nil || info.DB != filepath.Join(dir, "crawl.db") || info.Pages != int64(len(c.site.PageURLs())) {
		t.Fatalf("backup: %+v, %v; want every page in %s", info, err, dir)
	}
	if _, err := client.Backup(ctx, dir); !errors.Is(err, store.ErrBackupExists) {
		t.Errorf("a second backup: %v; want store.ErrBackupExists", err)
	}
}
