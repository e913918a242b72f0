package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"crawler/api"
	"crawler/frontier"
	"crawler/internal/testsite"
	"crawler/internal/warc"
	"crawler/store"
)

// querySite starts a 3-host loopback site for the query tests.
func querySite(t *testing.T, firstIP string, pages int) *testsite.Site {
	t.Helper()
	site, err := testsite.Start(testsite.Options{Hosts: 3, Pages: pages, Links: 4, FirstIP: firstIP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(site.Close)
	return site
}

// crawledSite crawls seeds of site (all when none are given) to idle
// with `crawler run --exit-when-idle` and returns the crawl's directory
// and config path.
func crawledSite(t *testing.T, site *testsite.Site, seeds ...string) (dir, cfg string) {
	t.Helper()
	if len(seeds) == 0 {
		seeds = site.Seeds()
	}
	dir = t.TempDir()
	cfg = writeConfig(t, dir, seeds, "")
	if code, _, stderr := run(t, "run", "--config", cfg, "--exit-when-idle"); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	return dir, cfg
}

// outcome is one verb's exit code and output.
func outcome(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, args...)
	return fmt.Sprintf("exit %d\n%s\nstderr: %s", code, out, errOut)
}

// mustRun runs a verb that must succeed and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, args...)
	if code != 0 {
		t.Fatalf("crawler %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

func statsJSON(t *testing.T, cfg string) (api.Stats, bool) {
	t.Helper()
	code, out, _ := run(t, "stats", "--config", cfg, "--format", "json")
	var s api.Stats
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil {
		return s, false
	}
	return s, true
}

// waitCrawled polls stats (through the daemon's socket) until the crawl
// has started and nothing is queued or in flight.
func waitCrawled(t *testing.T, cfg string, cmd interface{ String() string }) api.Stats {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s, ok := statsJSON(t, cfg); ok && s.Running && s.Done > 0 && s.Queued == 0 && s.InFlight == 0 {
			return s
		}
	}
	t.Fatalf("crawl did not finish; daemon stderr:\n%s", cmd.String())
	return api.Stats{}
}

// verbAnswers runs every query verb and returns what each printed. The
// fields only a running daemon knows (uptime, in flight, rate, robots,
// delay) are blanked so both paths can be compared.
func verbAnswers(t *testing.T, cfg string, site *testsite.Site, dir, tag string) map[string]string {
	t.Helper()
	h := site.Hosts()
	c := []string{"--config", cfg}
	a := map[string]string{}
	verb := func(name string, args ...string) { a[name] = outcome(t, append(args, c...)...) }
	verb("pages list", "pages", "list")
	verb("pages list jsonl", "pages", "list", "--format", "jsonl")
	verb("pages list host", "pages", "list", "--host", h[1], "--format", "jsonl")
	verb("pages list status", "pages", "list", "--status", "200", "--limit", "3")
	verb("pages list prefix", "pages", "list", "--prefix", "http://"+h[0]+"/p/1")
	verb("pages list since", "pages", "list", "--since", "1h", "--limit", "2")
	verb("pages list none", "pages", "list", "--status", "0")
	verb("pages get", "pages", "get", "http://"+h[2]+"/p/4")
	verb("pages get json", "pages", "get", "HTTP://"+h[2]+"/p/4#x", "--format", "json")
	verb("pages get body", "pages", "get", "http://"+h[2]+"/p/4", "--body")
	verb("pages get body json", "pages", "get", "http://"+h[2]+"/p/4", "--body", "--format", "json")
	verb("pages get missing", "pages", "get", "http://"+h[2]+"/p/999")
	verb("pages get invalid", "pages", "get", "ftp://x/")
	verb("search", "search", "host", "2", "page", "7")
	verb("search limit", "search", "lorem ipsum", "--limit", "3", "--format", "jsonl")
	verb("search none", "search", "no such words anywhere")

	s, ok := statsJSON(t, cfg)
	if !ok {
		t.Fatal("stats --format json failed")
	}
	s.Running, s.InFlight, s.PagesPerSecond, s.UptimeSeconds = false, 0, 0, 0
	b, _ := json.Marshal(s)
	a["stats json"] = string(b)
	a["stats text"] = fmt.Sprint(regexp.MustCompile(fmt.Sprintf(`(?m)^pages stored +%d$`, s.PagesStored)).MatchString(mustRun(t, append([]string{"stats"}, c...)...)))

	var hosts []string
	for _, l := range strings.Split(strings.TrimSpace(mustRun(t, append([]string{"hosts", "--format", "jsonl"}, c...)...)), "\n") {
		var hi frontier.HostInfo
		if err := json.Unmarshal([]byte(l), &hi); err != nil {
			t.Fatalf("hosts jsonl line %q: %v", l, err)
		}
		hi.Robots, hi.Delay, hi.NextAt, hi.InFlight = "", "", time.Time{}, 0
		b, _ := json.Marshal(hi)
		hosts = append(hosts, string(b))
	}
	a["hosts jsonl"] = strings.Join(hosts, "\n")
	var table []string
	for _, l := range strings.Split(strings.TrimSpace(mustRun(t, append([]string{"hosts"}, c...)...)), "\n") {
		f := strings.Fields(l)
		table = append(table, strings.Join(f[:min(len(f), 6)], " "))
	}
	a["hosts table"] = strings.Join(table, "\n")

	a["export jsonl"] = outcome(t, append([]string{"export", "--format", "jsonl"}, c...)...)
	warcPath := filepath.Join(dir, tag+".warc.gz")
	mustRun(t, append([]string{"export", "--format", "warc", "--output", warcPath}, c...)...)
	a["export warc"] = strings.Join(readWARC(t, warcPath), "\n")
	return a
}

// readWARC reads a WARC file back, verifying every record's digests and
// length, and returns "URI status digest" per response record.
func readWARC(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs := warcRecords(t, f)
	if len(recs) == 0 || recs[0].Type() != warc.TypeWarcinfo {
		t.Fatalf("first record of %d: want warcinfo", len(recs))
	}
	var out []string
	for _, rec := range recs[1:] {
		status := strings.SplitN(string(rec.Block), "\r\n", 2)[0]
		out = append(out, rec.Header.Get("WARC-Target-URI")+" "+status+" "+rec.Header.Get("WARC-Block-Digest"))
	}
	return out
}

// The acceptance test: every verb answers the same through the running
// daemon's socket and, once it is stopped, from the file.
func TestVerbsSameRunningAndStopped(t *testing.T) {
	site := querySite(t, "127.0.1.120", 12)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, site.Seeds(), "")
	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", cfg)
	s := waitCrawled(t, cfg, &stderr)
	if s.UptimeSeconds < 50 && s.PagesPerSecond <= 0 {
		t.Errorf("running stats %+v: no pages/s although the crawl finished within the minute", s)
	}
	sock := filepath.Join(dir, "data", "crawler.sock")
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket %s: %v, %v; want a socket with mode 0600", sock, fi, err)
	}
	if out := mustRun(t, "stats", "--config", cfg); !strings.Contains(out, "uptime") || !strings.Contains(out, "running crawler at") {
		t.Errorf("running stats text lacks uptime or source:\n%s", out)
	}
	running := verbAnswers(t, cfg, site, dir, "running")

	stopDaemon(t, cmd, &stderr, 30*time.Second)
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left behind after a clean stop: %v", err)
	}
	if st, ok := statsJSON(t, cfg); !ok || st.Running {
		t.Fatalf("stopped stats: %+v, %v", st, ok)
	}
	if out := mustRun(t, "stats", "--config", cfg); strings.Contains(out, "uptime") || !strings.Contains(out, "stopped crawl in") {
		t.Errorf("stopped stats text:\n%s", out)
	}
	stopped := verbAnswers(t, cfg, site, dir, "stopped")

	keys := make([]string, 0, len(running))
	for k := range running {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if running[k] != stopped[k] {
			t.Errorf("%q differs:\nrunning: %s\nstopped: %s", k, running[k], stopped[k])
		}
	}
	checkVerbAnswers(t, stopped, site)
}

// checkVerbAnswers checks the answers against the site itself.
func checkVerbAnswers(t *testing.T, a map[string]string, site *testsite.Site) {
	t.Helper()
	h := site.Hosts()
	pages := len(site.PageURLs())
	count := func(k string) int {
		n := 0
		for _, l := range strings.Split(a[k], "\n") {
			if strings.HasPrefix(l, "{") {
				n++
			}
		}
		return n
	}
	for k, want := range map[string]int{"pages list jsonl": pages, "pages list host": pages / 3, "search limit": 3, "export jsonl": pages} {
		if got := count(k); got != want {
			t.Errorf("%s: %d JSON lines, want %d", k, got, want)
		}
	}
	if n := len(strings.Split(a["export warc"], "\n")); n != pages || !strings.Contains(a["export warc"], "HTTP/1.1 200 OK sha1:") {
		t.Errorf("export warc: %d response records, want %d", n, pages)
	}
	for k, want := range map[string]string{
		"pages list":          "STATUS  BYTES  FETCHED",
		"pages list status":   "exit 0\n",
		"pages list prefix":   "/p/11 ",
		"pages list none":     "exit 1\n\nstderr: crawler: not found: no stored page matches",
		"pages get json":      `"title":"host 2 page 4"`,
		"pages get body":      "<title>host 2 page 4</title>",
		"pages get body json": `"body":"\u003c!doctype html\u003e`,
		"pages get missing":   "exit 1\n\nstderr: crawler: not found: http://" + h[2] + "/p/999\n",
		"pages get invalid":   "exit 2\n",
		"search":              "/p/7 ",
		"search none":         "exit 1\n",
		"stats text":          "true",
		"hosts table":         "HOST QUEUED IN FLIGHT DONE FAILED",
	} {
		if !strings.Contains(a[k], want) {
			t.Errorf("%s: %q lacks %q", k, a[k], want)
		}
	}
	if !regexp.MustCompile(`(?m)^Title +host 2 page 4$`).MatchString(a["pages get"]) {
		t.Errorf("pages get: %q", a["pages get"])
	}
	if n := strings.Count(a["pages list status"], "\n200 "); n != 3 {
		t.Errorf("pages list --status 200 --limit 3: %d rows:\n%s", n, a["pages list status"])
	}
	if !regexp.MustCompile(`"pages_stored":` + fmt.Sprint(pages) + `,"queued":0,"in_flight":0,"done":` + fmt.Sprint(pages)).MatchString(a["stats json"]) {
		t.Errorf("stats json = %s; want %d pages stored and done", a["stats json"], pages)
	}
	if n := strings.Count(a["hosts jsonl"], `"done":`+fmt.Sprint(pages/3)); n != 3 {
		t.Errorf("hosts jsonl: %s", a["hosts jsonl"])
	}
}

// A store with a few pages, built directly.
func smallStore(t *testing.T, dir string) string {
	t.Helper()
	return storeIn(t, dir, &store.Page{URL: "http://127.0.1.139/", Host: "127.0.1.139", Status: 200, Title: "home", FetchedAt: time.Now()})
}

func TestQueryExitCodes(t *testing.T) {
	dir := t.TempDir()
	empty := writeConfig(t, t.TempDir(), []string{"http://127.0.1.139/"}, "")
	cfg := smallStore(t, dir)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"stats", "--config", empty}, exitData, "no crawl database"},
		{[]string{"seed", "http://127.0.1.139/x", "--config", empty}, exitData, "no crawl database"},
		{[]string{"pages", "list", "--config", filepath.Join(dir, "nope.yaml")}, exitUsage, "nope.yaml"},
		{[]string{"pages", "list", "--config", cfg, "--format", "xml"}, exitUsage, `--format "xml"`},
		{[]string{"pages", "list", "--config", cfg, "--since", "yesterday"}, exitUsage, "--since"},
		{[]string{"pages", "list", "--config", cfg, "--host", "a b"}, exitUsage, "host"},
		{[]string{"pages", "get", "--config", cfg}, exitUsage, "accepts 1 arg"},
		{[]string{"pages", "get", "http://127.0.1.139/", "--config", cfg}, exitOK, ""},
		{[]string{"search", "--config", cfg}, exitUsage, "requires at least 1 arg"},
		{[]string{"search", "HOME", "--config", cfg}, exitOK, ""},
		{[]string{"seed", "not a url", "--config", cfg}, exitUsage, "not a url"},
		{[]string{"export", "--format", "csv", "--config", cfg}, exitUsage, "--format"},
		{[]string{"hosts", "extra", "--config", cfg}, exitUsage, "unknown command"},
	} {
		code, _, stderr := run(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("crawler %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.msg)
		}
	}

	// A daemon that holds the file but does not answer on its socket:
	// a clear message that says what to do, exit 3, and no hang.
	db, err := store.Open(filepath.Join(dir, "data", "crawl.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, stderr := run(t, "stats", "--config", cfg)
	if code != exitData || !strings.Contains(stderr, "database locked by a running crawler that does not answer on "+filepath.Join(dir, "data", "crawler.sock")) ||
		!strings.Contains(stderr, "; check that api.socket is the running crawler's") {
		t.Errorf("locked store: exit %d, stderr %q", code, stderr)
	}
}

// Seeds go to the running daemon, or into the stopped crawl's frontier.
func TestSeedRunningAndStopped(t *testing.T) {
	a := querySite(t, "127.0.1.124", 4)
	b := querySite(t, "127.0.1.128", 4)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, a.Seeds()[:1], "")
	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", cfg)
	waitCrawled(t, cfg, &stderr)

	bPage := "http://" + b.Hosts()[0] + "/p/3"
	if code, _, _ := run(t, "pages", "get", bPage, "--config", cfg); code != exitNotFound {
		t.Fatalf("%s stored before it was seeded", bPage)
	}
	out := mustRun(t, "seed", b.Seeds()[0], a.Seeds()[0], "--config", cfg)
	if !strings.Contains(out, "added 1 new seed(s), 1 already known; the running crawler fetches them now") {
		t.Errorf("seed on the running daemon printed %q", out)
	}
	found := false
	for deadline := time.Now().Add(30 * time.Second); !found && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		code, _, _ := run(t, "pages", "get", bPage, "--config", cfg)
		found = code == exitOK
	}
	if !found {
		t.Fatalf("%s never crawled after seeding its host; stderr:\n%s", bPage, stderr.String())
	}
	// The rest of the seeded host too, so that the stopped crawl queues
	// only what is seeded below.
	waitCrawled(t, cfg, &stderr)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd, 30*time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d; stderr:\n%s", code, stderr.String())
	}

	extra := "http://" + a.Hosts()[0] + "/p/999"
	for _, want := range []string{"added 1 new seed(s), 0 already known; queued for the next crawler run", "added 0 new seed(s), 1 already known"} {
		if out := mustRun(t, "seed", extra, "--config", cfg); !strings.Contains(out, want) {
			t.Errorf("seed on the stopped crawl printed %q; want %q", out, want)
		}
	}
	if s, ok := statsJSON(t, cfg); !ok || s.Queued != 1 || s.Running {
		t.Errorf("stopped stats after seeding: %+v", s)
	}
	if code, _, errOut := run(t, "run", "--config", cfg, "--exit-when-idle"); code != 0 {
		t.Fatalf("resumed run: exit %d, %s", code, errOut)
	}
	if out := mustRun(t, "pages", "get", extra, "--config", cfg); !regexp.MustCompile(`(?m)^Status +404$`).MatchString(out) {
		t.Errorf("seeded URL after the next run:\n%s", out)
	}
}

// kill -9 leaves the socket file behind: queries fall back to the file,
// and the next daemon replaces the stale socket.
func TestStaleSocketAfterKill9(t *testing.T) {
	site := querySite(t, "127.0.1.132", 3)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, site.Seeds(), "")
	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", cfg)
	waitCrawled(t, cfg, &stderr)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	waitExit(t, cmd, 10*time.Second)
	sock := filepath.Join(dir, "data", "crawler.sock")
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("no stale socket after kill -9: %v", err)
	}
	if s, ok := statsJSON(t, cfg); !ok || s.Running || s.PagesStored != int64(len(site.PageURLs())) {
		t.Errorf("stats with a stale socket: %+v, %v; want the file's answer", s, ok)
	}
	cmd = daemon(t, &stderr, "run", "--config", cfg)
	waitCrawled(t, cfg, &stderr)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd, 30*time.Second); code != 0 {
		t.Fatalf("restart over a stale socket: exit %d; stderr:\n%s", code, stderr.String())
	}
}

func TestDemo(t *testing.T) {
	code, out, errOut := run(t, "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d, stderr %q\n%s", code, errOut, out)
	}
	for _, re := range []string{
		`(?m)^\s+\d+\.\d\ds\s+\d+ pages stored`,
		`(?m)^pages stored\s+93$`,
		`(?m)^queued\s+0$`,
		// REVISIT WAIT is "-": no revisit is queued; DELAY too: a host with
		// nothing left to crawl is no longer scheduled.
		`(?m)^127\.0\.1\.20[012]:\d+\s+0\s+0\s+31\s+0\s+31\s+-\s+-\s+ok$`,
		`(?m)^200\s+\d+\s+\S+\s+http://127\.0\.1\.202:\d+/p/7\s+host 2 page 7$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("demo output lacks %s:\n%s", re, out)
		}
	}
	m := regexp.MustCompile(`crawling it into (\S+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo does not say where it crawls:\n%s", out)
	}
	if _, err := os.Stat(m[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("demo left %s behind: %v", m[1], err)
	}
}

func TestExportProgress(t *testing.T) {
	var buf bytes.Buffer
	if p := newExportProgress(&buf, 3); p.w != nil {
		t.Fatal("progress shown on a writer that is not a terminal")
	}
	p := &exportProgress{w: &buf, total: 3}
	for range 4 { // one more than expected: pages stored meanwhile
		p.add()
	}
	p.done()
	p.done()
	out := buf.String()
	if !strings.HasPrefix(out, "\rexported 1/3 pages") || !strings.HasSuffix(out, "\rexported 4/4 pages\n") ||
		strings.Count(out, "\n") != 1 {
		t.Errorf("progress output %q", out)
	}
}
