package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crawler/api"
	"crawler/crawl"
	"crawler/store"
)

// A config file that does not exist is a config error (exit 2) for every
// verb, not only for the query verbs that go through openQuerier.
func TestMissingConfigExits2(t *testing.T) {
	nope := filepath.Join(t.TempDir(), "nope.yaml")
	for _, args := range [][]string{
		{"run", "--exit-when-idle"},
		{"check"},
		{"reload"},
		{"extract", "--rule", "product", "--url", "http://127.0.1.139/"},
		{"stats"},
	} {
		code, _, stderr := run(t, append(args, "--config", nope)...)
		if code != exitUsage || !strings.Contains(stderr, "nope.yaml") {
			t.Errorf("crawler %s with a missing config: exit %d, stderr %q; want %d naming the file",
				strings.Join(args, " "), code, stderr, exitUsage)
		}
	}
}

// After a kill -9 the daemon's crawler.pid stays behind, and its pid may
// since belong to another process: reload must not signal it (SIGHUP
// would end it) when no daemon runs on the data_dir. Nor when something
// else holds the database meanwhile: the next daemon, still starting (it
// writes its pidfile once its frontier is open), or a verb on the stopped
// crawl (compact, seed).
func TestReloadStalePidfile(t *testing.T) {
	for _, locked := range []bool{false, true} {
		t.Run(fmt.Sprintf("database locked %v", locked), func(t *testing.T) {
			dir := t.TempDir()
			cfg, _ := loadedConfig(t, dir, []string{"http://127.0.1.139/"})
			if locked {
				db, err := store.Open(filepath.Join(dir, "data", "crawl.db"), store.Options{NoSync: true})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
			}
			other := exec.Command("sleep", "30") // the process that now has the pid
			if err := other.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = other.Wait(); close(exited) }()
			t.Cleanup(func() { _ = other.Process.Kill(); <-exited })
			pidfile := filepath.Join(dir, "data", "crawler.pid")
			if err := os.WriteFile(pidfile, []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}

			code, out, stderr := run(t, "reload", "--config", cfg)
			select {
			case <-exited:
				t.Errorf("reload signalled pid %d, which is not a crawler: it exited", other.Process.Pid)
			case <-time.After(300 * time.Millisecond):
			}
			if code != exitData || !strings.Contains(stderr, "no daemon") {
				t.Errorf("reload with a stale pidfile: exit %d, stdout %q, stderr %q; want %d saying no daemon runs",
					code, out, stderr, exitData)
			}
		})
	}
}

// A daemon that answered when the command started and stopped before the
// query reached it leaves the data unreachable for now (exit 3), and the
// command works when run again (it reads the file), not "anything else".
func TestDaemonGoneExits3(t *testing.T) {
	var stderr strings.Builder
	err := fmt.Errorf("stats: dial /data/crawler.sock: %w", api.ErrNoDaemon)
	if code := exitCode(err, &stderr); code != exitData || !strings.Contains(stderr.String(), "again") {
		t.Errorf("exitCode(%v) = %d, %q; want %d saying to run it again", err, code, stderr.String(), exitData)
	}
}

// A request larger than the daemon reads is not a wrong command line: it
// exits 4 with the daemon's message, not 2 with "see crawler --help".
func TestTooLargeIsNotUsage(t *testing.T) {
	var stderr strings.Builder
	err := queryErr(fmt.Errorf("seed request: over the daemon's limit of 16 MiB a request: %w", api.ErrTooLarge))
	if code := exitCode(err, &stderr); code != exitFailure || strings.Contains(stderr.String(), "--help") {
		t.Errorf("exitCode(%v) = %d, %q; want %d without the usage hint", err, code, stderr.String(), exitFailure)
	}
}

// stoppingQuerier streams one page, then waits for the daemon to stop.
type stoppingQuerier struct {
	api.Querier
	sent chan struct{} // closed once the page is sent
}

func (q stoppingQuerier) ListPages(ctx context.Context, _ api.PageFilter, fn func(*store.Page) error) error {
	if err := fn(&store.Page{URL: "http://127.0.1.139/", Status: 200}); err != nil {
		return err
	}
	close(q.sent)
	<-ctx.Done()
	return ctx.Err()
}

// A daemon that stops while it streams an answer says so, and the command
// exits as when the daemon stopped before it answered (3, run it again),
// not with "context canceled" (4).
func TestDaemonStoppingMidStream(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, []string{"http://127.0.1.139/"}, "")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	q := stoppingQuerier{sent: make(chan struct{})}
	srv, err := api.Listen(filepath.Join(dir, "data", "crawler.sock"), q, api.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		<-q.sent
		_ = srv.Close()
	}()
	code, out, stderr := run(t, "pages", "list", "--config", cfg, "--format", "jsonl")
	if code != exitData || !strings.Contains(stderr, "shutting down") || !strings.Contains(stderr, "again") || !strings.Contains(out, "127.0.1.139") {
		t.Errorf("pages list while the daemon stops: exit %d, stdout %q, stderr %q; want %d saying the daemon is shutting down and to run it again",
			code, out, stderr, exitData)
	}
}

// A daemon whose crawl has stopped (its frontier closed: SIGTERM, the
// moments before its socket closes) and that is asked to seed says it is
// stopping: the command exits 3 and says to run it again, as when the
// daemon stopped before the request, not 4 with "frontier closed".
func TestSeedWhileDaemonStopsExits3(t *testing.T) {
	dir := t.TempDir()
	path, cfg := loadedConfig(t, dir, []string{"http://127.0.1.139/"})
	db, err := store.Open(cfg.DBPath(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	eng, err := crawl.New(crawl.Options{Config: cfg, DB: db, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as after SIGTERM: Run stops at once and closes the frontier
	if err := eng.Run(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := startAPI(context.Background(), cfg, db, eng, log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, out, stderr := run(t, "seed", "http://127.0.1.139/new", "--config", path)
	if code != exitData || !strings.Contains(stderr, "again") {
		t.Errorf("seed while the daemon stops: exit %d, stdout %q, stderr %q; want %d saying to run it again",
			code, out, stderr, exitData)
	}
}
