//go:build linux

package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"crawler/crawl"
	"crawler/frontier"
	"crawler/internal/testsite"
	"crawler/store"
)

// Crash loop shape. The site must outlast the kills: each kill waits for
// at most crashMaxProgress new requests, so crashKills × crashMaxProgress
// stays well under the site's URL count.
const (
	crashKills       = 24 // SIGKILLs, at least 20
	crashConcurrency = 4  // fetch.concurrency; crawl.LeaseCap of it bounds the re-fetches per kill
	crashMaxProgress = 12 // most new requests a run makes before its kill
	crashHosts       = 3
	crashPages       = 150 // per host, besides "/"
)

// TestCrashLoop starts `crawler run` as a subprocess and SIGKILLs it again
// and again at random moments: during start-up, after a random amount of
// crawling, and while a thread is inside a store commit (pwrite or
// fdatasync, seen in /proc). After every kill `crawler check` must pass
// (bbolt's Tx.Check, the frontier's and the store's invariants: no URL left
// in flight, none lost, counters right). A last run crawls to idle; then
// every page must be stored once, and the re-fetches (requests beyond one
// per page) must be at most kills × crawl.LeaseCap(concurrency), the most
// URLs the frontier leases between release and commit.
//
// robots.txt is off here: its re-fetch after each restart is expected (the
// robots cache lives in memory) and the site's report cannot tell it from a
// page re-fetch. With robots off the disallowed /private/ pages are crawled
// too: one per page, each linked once, so they are part of the expected set.
//
// The kill schedule is random but reproducible: CRASHLOOP_SEED=n replays it.
func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop: many subprocesses")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASHLOOP_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("crash loop seed %d (CRASHLOOP_SEED=%d replays the kill schedule)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	site, err := testsite.Start(testsite.Options{Hosts: crashHosts, Pages: crashPages, Links: 5,
		Latency: 2 * time.Millisecond, FirstIP: "127.0.1.150"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	want := crashExpected(site)
	leases := crawl.LeaseCap(crashConcurrency)
	if n := crashKills * (crashMaxProgress + leases); n >= len(want) {
		t.Fatalf("site too small: %d URLs for up to %d requests before the last kill", len(want), n)
	}
	dir := t.TempDir()
	cfgPath := writeCrashConfig(t, dir, site.Seeds())

	var kills, commitKills, startKills int
	for kills < crashKills {
		var stderr bytes.Buffer
		before := site.Report().Requests
		cmd := daemon(t, &stderr, "run", "--config", cfgPath)
		var mode string
		switch {
		case kills%4 == 3:
			mode = "start-up"
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		case rng.IntN(2) == 0:
			mode = "commit"
			if !waitProgress(site, before+1+rng.IntN(crashMaxProgress/2), cmd) {
				t.Fatalf("run %d: no progress; stderr:\n%s", kills, stderr.String())
			}
			if waitInCommit(cmd.Process.Pid, 500*time.Millisecond) {
				commitKills++
			} else {
				mode = "commit (not caught)"
			}
		default:
			mode = "crawling"
			if !waitProgress(site, before+1+rng.IntN(crashMaxProgress), cmd) {
				t.Fatalf("run %d: no progress; stderr:\n%s", kills, stderr.String())
			}
			time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		if code := waitExit(t, cmd, 10*time.Second); code != -1 {
			t.Fatalf("run %d exited %d before its kill; stderr:\n%s", kills, code, stderr.String())
		}
		kills++
		if mode == "start-up" {
			startKills++
		}
		// Every crash point leaves a consistent database, and what was
		// requested but is not stored (re-fetches so far plus what this
		// kill lost) stays within the lease bound.
		requests := site.Report().Requests
		code, stdout, errOut := run(t, "check", "--config", cfgPath)
		if code != exitOK {
			t.Fatalf("after kill %d (%s, %d requests so far): check exit %d\n%s%s", kills, mode, requests, code, stdout, errOut)
		}
		var pages int
		if _, err := fmt.Sscanf(stdout, "ok: %d pages", &pages); err != nil {
			t.Fatalf("check output %q: %v", stdout, err)
		}
		if lost := requests - pages; lost > kills*leases {
			t.Errorf("after kill %d (%s): %d requests but %d pages stored; want at most %d unstored", kills, mode, requests, pages, kills*leases)
		}
	}

	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", cfgPath, "--exit-when-idle")
	if code := waitExit(t, cmd, 60*time.Second); code != 0 {
		t.Fatalf("final run: exit %d; stderr:\n%s", code, stderr.String())
	}
	code, stdout, errOut := run(t, "check", "--config", cfgPath)
	if code != exitOK || !strings.HasPrefix(stdout, fmt.Sprintf("ok: %d pages, 0 URLs queued, %d done, 0 failed", len(want), len(want))) {
		t.Errorf("final check: exit %d\n%s%s", code, stdout, errOut)
	}

	db, err := store.Open(filepath.Join(dir, "data", "crawl.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, err := range db.Check() {
		t.Errorf("bbolt check: %v", err)
	}
	_ = db.View(func(tx *store.Tx) error {
		if err := frontier.Check(tx); err != nil {
			t.Errorf("frontier check: %v", err)
		}
		for _, u := range want {
			p, err := tx.Page(u)
			st, serr := frontier.URLState(tx, u)
			if err != nil || p.Status != 200 || p.Error != "" || serr != nil || st != frontier.StateDone {
				t.Errorf("%s: record %+v, %v; state %v, %v", u, p, err, st, serr)
			}
		}
		if c := frontier.ReadCounts(tx); c.Queued != 0 || c.Done != int64(len(want)) || c.Failed != 0 {
			t.Errorf("counts %+v; want %d done, none queued or failed", c, len(want))
		}
		if c := tx.Counts(); c.Pages != int64(len(want)) {
			t.Errorf("store holds %d pages; want %d", c.Pages, len(want))
		}
		return nil
	})

	r := site.Report()
	refetches := r.Requests - len(want)
	if refetches < len(r.Repeats) {
		t.Errorf("%d requests for %d URLs, yet %d URLs were requested twice: a URL was never requested", r.Requests, len(want), len(r.Repeats))
	}
	if bound := kills * leases; refetches > bound {
		t.Errorf("%d re-fetches after %d kills; want at most kills × lease cap = %d: %v", refetches, kills, bound, r.Repeats)
	}
	t.Logf("crash loop: seed %d: %d kills (%d during a store commit, %d during start-up), %d requests for %d URLs, %d re-fetches (bound %d)",
		seed, kills, commitKills, startKills, r.Requests, len(want), refetches, kills*leases)
	if commitKills == 0 {
		t.Errorf("no kill landed inside a store commit")
	}
}

// crashExpected returns every URL a complete crawl of site stores when
// robots.txt is ignored: the pages, and the /private/ page each of them
// (and "/", as -1) links to.
func crashExpected(site *testsite.Site) []string {
	want := site.PageURLs()
	for _, h := range site.Hosts() {
		for n := -1; n < crashPages; n++ {
			want = append(want, fmt.Sprintf("http://%s/private/%d", h, n))
		}
	}
	return want
}

func writeCrashConfig(t *testing.T, dir string, seeds []string) string {
	t.Helper()
	yaml := fmt.Sprintf(`data_dir: %q
seeds: ["%s"]
fetch:
  concurrency: %d
  per_host_concurrency: 2
  per_host_delay: 0s
  timeout: 5s
  allow_private_addresses: true
  respect_robots: false
  retry_base_delay: 10ms
  retry_max_delay: 50ms
store:
  min_free_bytes: 0
shutdown_timeout: 2s
log:
  level: warn
`, filepath.Join(dir, "data"), strings.Join(seeds, `", "`), crashConcurrency)
	path := filepath.Join(dir, "crawler.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitProgress waits until the site has seen n requests in all; false if
// the daemon exited or 20s passed first.
func waitProgress(site *testsite.Site, n int, cmd *exec.Cmd) bool {
	deadline := time.Now().Add(20 * time.Second)
	for site.Report().Requests < n {
		if time.Now().After(deadline) || exited(cmd) {
			return false
		}
		time.Sleep(200 * time.Microsecond)
	}
	return true
}

// exited reports whether cmd's process is gone (a zombie counts), without
// reaping it.
func exited(cmd *exec.Cmd) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}

// waitInCommit polls pid's threads until one is inside a system call that
// only bbolt's commit makes (pwrite64 of pages and meta, fdatasync, fsync
// and ftruncate when the file grows), and reports whether it saw one
// before limit. The caller kills at once, so the kill lands mid-commit.
func waitInCommit(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	taskDir := fmt.Sprintf("/proc/%d/task", pid)
	for time.Now().Before(deadline) {
		tasks, err := os.ReadDir(taskDir)
		if err != nil {
			return false
		}
		for _, task := range tasks {
			b, err := os.ReadFile(filepath.Join(taskDir, task.Name(), "syscall"))
			if err != nil {
				continue
			}
			nr, _, _ := strings.Cut(string(b), " ")
			switch n, _ := strconv.Atoi(nr); n {
			case syscall.SYS_PWRITE64, syscall.SYS_FDATASYNC, syscall.SYS_FSYNC, syscall.SYS_FTRUNCATE:
				return true
			}
		}
	}
	return false
}
