package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"crawler/store"
)

// compact after a crawl: the file shrinks (the drained queue's pages are
// free), check passes with the same counts, and every verb answers as
// before. A held file is exit 3 and says to stop the daemon; so is a
// missing one.
func TestCompactVerb(t *testing.T) {
	site := querySite(t, "127.0.1.200", 60)
	dir, cfg := crawledSite(t, site)
	dbPath := filepath.Join(dir, "data", "crawl.db")
	counts := regexp.MustCompile(`^ok: (.*); \d+ bytes \(\d+ in the database file, \d+ in its value log, \d+ of them replaced records and bodies\)\n$`)
	before := counts.FindStringSubmatch(mustRun(t, "check", "--config", cfg))
	list := mustRun(t, "pages", "list", "--config", cfg, "--format", "jsonl")
	get := mustRun(t, "pages", "get", site.PageURLs()[7], "--config", cfg, "--body")
	fi, err := os.Stat(dbPath)
	if err != nil || before == nil {
		t.Fatalf("before compact: check %q, stat %v", before, err)
	}

	out := mustRun(t, "compact", "--config", cfg)
	size := `[0-9.]+ (?:B|[KMG]iB)`
	if !regexp.MustCompile(`^compacted .*crawl\.db: ` + size + ` -> ` + size + ` \(database file ` + size + ` -> ` + size +
		`, value log ` + size + ` -> ` + size + `\)\n$`).MatchString(out) {
		t.Errorf("compact printed %q", out)
	}
	now, err := os.Stat(dbPath)
	if err != nil || now.Size() >= fi.Size() {
		t.Fatalf("compact: %d bytes before, %d after (%v); want smaller", fi.Size(), now.Size(), err)
	}
	after := counts.FindStringSubmatch(mustRun(t, "check", "--config", cfg))
	if after == nil || after[1] != before[1] {
		t.Errorf("check after compact: %q; before: %q", after, before)
	}
	if got := mustRun(t, "pages", "list", "--config", cfg, "--format", "jsonl"); got != list {
		t.Errorf("pages list changed by compact:\n%s\nwas:\n%s", got, list)
	}
	if got := mustRun(t, "pages", "get", site.PageURLs()[7], "--config", cfg, "--body"); got != get {
		t.Errorf("pages get --body changed by compact")
	}

	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "compact", "--config", cfg)
	db.Close()
	if code != exitData || !strings.Contains(stderr, "daemon stopped") || !strings.Contains(stderr, "stop the running crawler") {
		t.Errorf("locked: exit %d, stderr %q; want 3 and to stop the daemon", code, stderr)
	}
	empty := writeConfig(t, t.TempDir(), site.Seeds(), "")
	if code, _, stderr := run(t, "compact", "--config", empty); code != exitData || !strings.Contains(stderr, "run `crawler run` first") {
		t.Errorf("missing: exit %d, stderr %q; want 3", code, stderr)
	}
}

// compact in a read-only data_dir: exit 3 naming the permission, the
// file untouched.
func TestCompactReadOnlyDataDirExits3(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions do not stop root")
	}
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	var data []byte
	mustChmodDir(t, dataDir, func(db string) { data, _ = sampleStore(t, db, 3) })
	cfg := writeConfigAt(t, dir, dataDir, nil)
	code, _, stderr := run(t, "compact", "--config", cfg)
	if code != exitData || !strings.Contains(stderr, "permission denied") {
		t.Errorf("exit %d, stderr %q; want 3 and permission denied", code, stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(dataDir, "crawl.db")); string(now) != string(data) {
		t.Error("the file changed")
	}
}

// TestWorthCompacting: run suggests compact once replaced records and
// bodies are at least half the value log and 64 MiB.
func TestWorthCompacting(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		garbage, values int64
		want            bool
	}{
		{0, 0, false},
		{64 * mib, 128 * mib, true},
		{64*mib - 1, 100 * mib, false}, // too little to bother
		{64 * mib, 128*mib + 1, false}, // under half
		{900 * mib, 1000 * mib, true},
	} {
		if got := worthCompacting(store.Counts{GarbageBytes: tc.garbage, ValueBytes: tc.values}); got != tc.want {
			t.Errorf("worthCompacting(%d of %d garbage) = %v; want %v", tc.garbage, tc.values, got, tc.want)
		}
	}
}

// Ensure compact calls an empty crawl.db corrupt (exit 3, "move it
// aside") as every other verb does, and leaves it as it is; bbolt would
// try to start a database in it through a read-only handle.
func TestCompactEmptyFileIsCorrupt(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dataDir, "crawl.db")
	if err := os.WriteFile(dbPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfigAt(t, dir, dataDir, nil)
	code, _, stderr := run(t, "compact", "--config", cfg)
	if code != exitData || !strings.Contains(stderr, "corrupt") {
		t.Errorf("compact on an empty crawl.db: exit %d, stderr %q; want %d saying it is corrupt (as check and run do)",
			code, stderr, exitData)
	}
	if fi, err := os.Stat(dbPath); err != nil || fi.Size() != 0 {
		t.Errorf("compact changed the empty crawl.db: %v, %v", fi, err)
	}
}

// Ensure a data_dir that is a regular file is exit 3 for compact, as for
// check and as compact's help says.
func TestCompactDataDirThatIsAFile(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.WriteFile(dataDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfigAt(t, dir, dataDir, nil)
	code, _, stderr := run(t, "check", "--config", cfg)
	if code != exitData {
		t.Fatalf("check: exit %d (%q); the premise is that check exits %d", code, stderr, exitData)
	}
	code, _, stderr = run(t, "compact", "--config", cfg)
	if code != exitData {
		t.Errorf("compact with data_dir a regular file: exit %d, stderr %q; want %d as check and compact's help say",
			code, stderr, exitData)
	}
}
