package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"crawler/config"
	"crawler/crawl"
	"crawler/store"
)

// Ensure a reload's recorded outcome matches the config in force when the
// seeds cannot be queued (a SIGHUP after SIGTERM: reloadConfig gets the
// cancelled context). The engine queues seeds last, under the new scope,
// so by then the new config is in force: the status must say ok (with
// the seeds' error), never "rejected, old config kept".
func TestReloadWhileStoppingSaysWhatIsInForce(t *testing.T) {
	dir := t.TempDir()
	path, cfg := loadedConfig(t, dir, []string{"http://127.0.1.139/"})
	eng, log := openEngine(t, cfg)
	defer eng.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as after the first SIGTERM

	for i := 1; i <= 20; i++ {
		before := *eng.Config()
		delay := time.Duration(i) * time.Second
		writeConfig(t, dir, []string{"http://127.0.1.139/"}, "")
		// writeConfig sets per_host_delay: 0s; change it in place.
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.Replace(string(data), "per_host_delay: 0s", "per_host_delay: "+delay.String(), 1))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}

		reloadConfig(ctx, eng, path, log)

		st := eng.LastReload()
		got := eng.Config().Fetch.PerHostDelay
		if !st.OK && got != before.Fetch.PerHostDelay {
			t.Fatalf("reload %d recorded as rejected (%q: the old config is kept), yet fetch.per_host_delay is now %s, not the old %s",
				i, st.Err, got, before.Fetch.PerHostDelay)
		}
		if st.OK && got != delay {
			t.Fatalf("reload %d recorded as ok, yet fetch.per_host_delay is %s, want %s", i, got, delay)
		}
	}
}

// A SIGHUP whose file does not load is one failure, logged once: the
// operator reading the log must not take it for two reloads.
func TestReloadOfBadFileLogsOnce(t *testing.T) {
	dir := t.TempDir()
	path, cfg := loadedConfig(t, dir, []string{"http://127.0.1.139/"})
	var logged bytes.Buffer
	eng, log := openEngineLogging(t, cfg, &logged)
	defer eng.Close()
	writeConfig(t, dir, []string{"http://127.0.1.139/"}, "bogus_key: 1\n")

	reloadConfig(context.Background(), eng, path, log)

	if st := eng.LastReload(); st.OK || !strings.Contains(st.Err, "bogus_key") {
		t.Errorf("last reload %+v; want the failure recorded", st)
	}
	if n := strings.Count(logged.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d error lines for one failed reload; want 1. Log:\n%s", n, logged.String())
	}
}

// openEngine opens cfg's store (closed at cleanup) and an engine on it
// that logs nowhere, as runDaemon would, without running it.
func openEngine(t *testing.T, cfg *config.Config) (*crawl.Engine, *slog.Logger) {
	t.Helper()
	return openEngineLogging(t, cfg, io.Discard)
}

// openEngineLogging is openEngine with the engine's log, and the logger
// returned, writing to w.
func openEngineLogging(t *testing.T, cfg *config.Config, w io.Writer) (*crawl.Engine, *slog.Logger) {
	t.Helper()
	db, err := store.Open(cfg.DBPath(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(w, nil))
	eng, err := crawl.New(crawl.Options{Config: cfg, DB: db, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return eng, log
}
