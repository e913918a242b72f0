package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crawler backup copies a crawl, running (the daemon copies itself) or
// stopped, into a directory that crawler check and the query verbs accept
// as a data_dir; a second backup into it, or one without --output, is
// refused.
func TestBackupVerb(t *testing.T) {
	site := querySite(t, "127.0.1.216", 4)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, site.Seeds(), "")
	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", cfg)
	want := waitCrawled(t, cfg, &stderr)
	running := filepath.Join(t.TempDir(), "running")
	if out := mustRun(t, "backup", "--config", cfg, "--output", running); !strings.Contains(out, "from running crawler") {
		t.Errorf("backup of the running crawl printed %q", out)
	}
	// An output that cannot be written is data out of reach (exit 3), as
	// for export, whether the daemon or the command writes it.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	unwritable := func(state string) {
		t.Helper()
		code, _, stderr := run(t, "backup", "--config", cfg, "--output", filepath.Join(file, "b"))
		if code != exitData || !strings.Contains(stderr, "not a directory") || !strings.Contains(stderr, "can write") {
			t.Errorf("backup of the %s crawl into a path under a file: exit %d, %q; want %d with the cause and what to do", state, code, stderr, exitData)
		}
	}
	unwritable("running")
	stopDaemon(t, cmd, &stderr, 30*time.Second)
	unwritable("stopped")

	stopped := filepath.Join(t.TempDir(), "stopped")
	out := mustRun(t, "backup", "--config", cfg, "--output", stopped)
	if !strings.Contains(out, filepath.Join(stopped, "crawl.db")) || !strings.Contains(out, "crawl.db.values.1") {
		t.Errorf("backup printed %q", out)
	}
	if code, _, stderr := run(t, "backup", "--config", cfg, "--output", stopped); code != exitData || !strings.Contains(stderr, "new or empty directory") {
		t.Errorf("a second backup into %s: exit %d, %q; want %d", stopped, code, stderr, exitData)
	}
	if code, _, _ := run(t, "backup", "--config", cfg); code != exitUsage {
		t.Errorf("backup without --output: exit %d; want %d", code, exitUsage)
	}

	for _, b := range []string{running, stopped} {
		bcfg := writeConfigAt(t, t.TempDir(), b, nil)
		if code, _, stderr := run(t, "check", "--config", bcfg); code != exitOK {
			t.Errorf("check of the backup in %s: exit %d, %s", b, code, stderr)
		}
		if got, _ := statsJSON(t, bcfg); got.PagesStored != want.PagesStored || got.Done != want.Done {
			t.Errorf("backup in %s: %d pages, %d done; want %d, %d", b, got.PagesStored, got.Done, want.PagesStored, want.Done)
		}
	}
}
