package main

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"crawler/config"
	"crawler/crawl"
	"crawler/frontier"
	"crawler/internal/testsite"
	"crawler/store"
)

func TestRunBadConfigExits2(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, []string{"http://127.0.0.1:1/"}, "bogus_key: 1\n")
	code, _, stderr := run(t, "run", "--config", path)
	if code != exitUsage || !strings.Contains(stderr, "bogus_key") || !strings.Contains(stderr, "crawler.yaml:13:") {
		t.Fatalf("exit %d, stderr %q; want 2 naming the key and line", code, stderr)
	}
}

// Settings the config loader cannot judge but the daemon cannot use (a
// metrics address in use, a socket path too long for a unix socket) are
// config errors: exit 2, named by their key, without the usage hint, and
// before the store is created.
func TestRunUnusableSettingExits2(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	long := "/tmp/" + strings.Repeat("s", 120) + ".sock"
	for _, tc := range []struct{ name, extra, key string }{
		{"listen in use", "api:\n  listen: " + busy.Addr().String() + "\n", "api.listen"},
		{"socket too long", "api:\n  socket: " + long + "\n", "api.socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeConfig(t, dir, []string{"http://127.0.0.1:1/"}, tc.extra)
			code, _, stderr := run(t, "run", "--config", path)
			if code != exitUsage || !strings.Contains(stderr, "config: ") || !strings.Contains(stderr, tc.key) || strings.Contains(stderr, "--help") {
				t.Errorf("exit %d, stderr %q; want 2, a config error naming %s, no usage hint", code, stderr, tc.key)
			}
			if tc.key == "api.socket" {
				if _, err := os.Stat(filepath.Join(dir, "data", "crawl.db")); err == nil {
					t.Error("the store was created before the socket path was found unusable")
				}
			}
		})
	}
}

func TestSecondRunFailsFast(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 1, Pages: 200, Latency: 20 * time.Millisecond, FirstIP: "127.0.1.40"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	dir := t.TempDir()
	path := writeConfig(t, dir, site.Seeds(), "")
	var first bytes.Buffer
	cmd := daemon(t, &first, "run", "--config", path)
	deadline := time.Now().Add(10 * time.Second)
	for site.Report().Requests < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	code, _, stderr := run(t, "run", "--config", path)
	if code != exitData || !strings.Contains(stderr, "another crawler is running") {
		t.Errorf("second run: exit %d, stderr %q; want 3 and a clear message", code, stderr)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("second run took %v to fail; it must not hang", waited)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd, 20*time.Second); code != 0 {
		t.Errorf("SIGTERM: exit %d; want 0; stderr:\n%s", code, first.String())
	}
}

// kill -9 mid-crawl, then run again: the crawl completes with every page
// stored, and only URLs that were in flight are fetched twice.
func TestKill9ThenResume(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 3, Pages: 60, Latency: 5 * time.Millisecond, FirstIP: "127.0.1.50"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	dir := t.TempDir()
	path := writeConfig(t, dir, site.Seeds(), "")
	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", path)
	deadline := time.Now().Add(10 * time.Second)
	for site.Report().Requests < 40 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	waitExit(t, cmd, 10*time.Second)
	before := site.Report().Requests

	cmd = daemon(t, &stderr, "run", "--config", path, "--exit-when-idle")
	if code := waitExit(t, cmd, 60*time.Second); code != 0 {
		t.Fatalf("resumed run: exit %d; stderr:\n%s", code, stderr.String())
	}
	r := site.Report()
	var refetched []string
	for _, p := range r.Repeats {
		if !strings.HasSuffix(p, "/robots.txt") {
			refetched = append(refetched, p)
		}
	}
	if max := crawl.LeaseCap(testConcurrency); len(refetched) > max { // at most that many were leased
		t.Errorf("refetched %d pages after the kill (more than the lease cap %d): %v", len(refetched), max, refetched)
	}
	t.Logf("killed after %d requests; %d pages refetched", before, len(refetched))

	db, err := store.Open(filepath.Join(dir, "data", "crawl.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, err := range db.Check() {
		t.Errorf("bbolt check: %v", err)
	}
	db.View(func(tx *store.Tx) error {
		if err := frontier.Check(tx); err != nil {
			t.Errorf("frontier check: %v", err)
		}
		for _, u := range site.PageURLs() {
			if p, err := tx.Page(u); err != nil || p.Status != 200 {
				t.Errorf("%s: %+v, %v", u, p, err)
			}
		}
		if c := frontier.ReadCounts(tx); c.Queued != 0 || c.Done != int64(len(site.PageURLs())) {
			t.Errorf("counts = %+v; want all %d done", c, len(site.PageURLs()))
		}
		return nil
	})
}

// --cpuprofile writes a pprof profile of the whole run; a path it cannot
// create is a usage error before anything starts.
func TestRunCPUProfile(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 1, Pages: 20, FirstIP: "127.0.1.245"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	dir := t.TempDir()
	path := writeConfig(t, dir, site.Seeds(), "")
	prof := filepath.Join(dir, "cpu.pprof")
	if code, _, stderr := run(t, "run", "--config", path, "--exit-when-idle", "--cpuprofile", prof); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	data, err := os.ReadFile(prof)
	if err != nil || len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		t.Fatalf("profile: %d bytes, %v; want a gzipped pprof profile", len(data), err)
	}
	code, _, stderr := run(t, "run", "--config", path, "--exit-when-idle", "--cpuprofile", filepath.Join(dir, "no", "such", "dir", "cpu.pprof"))
	if code != exitUsage || !strings.Contains(stderr, "--cpuprofile") {
		t.Fatalf("unwritable profile: exit %d, stderr %q; want 2 naming the flag", code, stderr)
	}
}

// A config that sends credentials and that others may read draws a
// warning naming it; one readable by its owner only, or without
// credentials, does not.
func TestWarnExposedCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crawler.yaml")
	for _, c := range []struct {
		headers []string
		mode    os.FileMode
		warn    bool
	}{
		{[]string{"Cookie: s=1"}, 0o644, true},
		{[]string{"Cookie: s=1"}, 0o600, false},
		{[]string{"X-Team: crawl"}, 0o644, false},
	} {
		if err := os.WriteFile(path, nil, c.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, c.mode); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Fetch.HostLimits = []config.HostLimit{{Host: "a.test", Headers: c.headers}}
		var buf bytes.Buffer
		warnExposedCredentials(path, cfg, slog.New(slog.NewTextHandler(&buf, nil)))
		if got := strings.Contains(buf.String(), "chmod 600"); got != c.warn || c.warn && !strings.Contains(buf.String(), "0644") {
			t.Errorf("headers %q, mode %04o: logged %q; want a warning %v", c.headers, c.mode, buf.String(), c.warn)
		}
	}
}
