package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crawler/store"
)

// writeConfigAt writes a config whose data_dir is dataDir (writeConfig
// always puts it at dir/data) and returns its path.
func writeConfigAt(t *testing.T, dir, dataDir string, seeds []string) string {
	t.Helper()
	var quoted []string
	for _, s := range seeds {
		quoted = append(quoted, fmt.Sprintf("%q", s))
	}
	yaml := fmt.Sprintf(`data_dir: %q
seeds: [%s]
fetch:
  allow_private_addresses: true
  per_host_delay: 0s
log:
  level: warn
`, dataDir, strings.Join(quoted, ", "))
	path := filepath.Join(dir, "crawler.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sampleStore writes a crawl database with n pages to path and returns
// its bytes and the size its meta page says it needs.
func sampleStore(t *testing.T, path string, n int) ([]byte, int64) {
	t.Helper()
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var need int64
	err = db.Update(func(tx *store.Tx) error {
		for i := range n {
			if err := tx.PutPage(&store.Page{URL: fmt.Sprintf("http://127.0.0.1:1/p/%d", i), Title: strings.Repeat("x", 400)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = db.View(func(tx *store.Tx) error { need = tx.Counts().FileBytes; return nil })
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, need
}

// `crawler run` and `crawler check` on a crawl.db that is not a crawl
// database: exit 3 with a one-line message that says what to do, the file
// untouched and nothing created beside it; never a panic, never a new
// database in its place.
func TestBadDatabaseFileExits3(t *testing.T) {
	good, need := sampleStore(t, filepath.Join(t.TempDir(), "crawl.db"), 300)
	cases := map[string][]byte{
		"empty":          {},
		"text":           []byte(strings.Repeat("not a database\n", 2000)),
		"cut in meta":    good[:5000],
		"cut after meta": good[:8192],
		"cut at half":    good[:need/2],
		"one page short": good[:need-4096],
	}
	for name, data := range cases {
		for _, verb := range []string{"run", "check"} {
			t.Run(name+"/"+verb, func(t *testing.T) {
				dir := t.TempDir()
				dataDir := filepath.Join(dir, "data")
				if err := os.MkdirAll(dataDir, 0o755); err != nil {
					t.Fatal(err)
				}
				dbPath := filepath.Join(dataDir, "crawl.db")
				if err := os.WriteFile(dbPath, data, 0o600); err != nil {
					t.Fatal(err)
				}
				cfg := writeConfigAt(t, dir, dataDir, []string{"http://127.0.0.1:1/"})
				code, stdout, stderr := run(t, verb, "--config", cfg)
				if code != exitData {
					t.Errorf("exit %d; want %d (stdout %q, stderr %q)", code, exitData, stdout, stderr)
				}
				if !strings.Contains(stderr, "corrupt") || !strings.Contains(stderr, "move it aside") ||
					!strings.Contains(stderr, dbPath) || strings.Count(stderr, "\n") != 1 {
					t.Errorf("stderr %q; want one line naming the file, saying it is corrupt and what to do", stderr)
				}
				if after, err := os.ReadFile(dbPath); err != nil || !bytes.Equal(after, data) {
					t.Errorf("crawl.db changed: %d bytes before, %d after (%v)", len(data), len(after), err)
				}
				if entries, _ := os.ReadDir(dataDir); len(entries) != 1 {
					t.Errorf("data_dir holds %d entries; want crawl.db alone", len(entries))
				}
			})
		}
	}
}

// A data_dir the daemon cannot write fails at start with exit 3 and a
// message naming the problem.
//
// Tests often run as root, whom chmod does not stop, so the case that
// works for everyone is a data_dir that lies under a regular file (or is
// one): creating it fails for root too. The chmod 0500 cases run only
// for other users.
func TestUnwritableDataDirExits3(t *testing.T) {
	type tc struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns data_dir
		root    bool                                  // meaningful when run as root
		message string
	}
	cases := []tc{
		{"under a regular file", func(t *testing.T, dir string) string {
			f := filepath.Join(dir, "file")
			if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(f, "data")
		}, true, "not a directory"},
		{"is a regular file", func(t *testing.T, dir string) string {
			f := filepath.Join(dir, "data")
			if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			return f
		}, true, "not a directory"},
		{"read-only, empty", func(t *testing.T, dir string) string {
			d := filepath.Join(dir, "data")
			mustChmodDir(t, d, nil)
			return d
		}, false, "permission denied"},
		{"read-only, crawl.db read-only", func(t *testing.T, dir string) string {
			d := filepath.Join(dir, "data")
			mustChmodDir(t, d, func(db string) {
				sampleStore(t, db, 3)
				if err := os.Chmod(db, 0o400); err != nil {
					t.Fatal(err)
				}
			})
			return d
		}, false, "permission denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.root && os.Geteuid() == 0 {
				t.Skip("running as root: permissions do not stop root (the regular-file cases cover it)")
			}
			dir := t.TempDir()
			dataDir := c.setup(t, dir)
			cfg := writeConfigAt(t, dir, dataDir, []string{"http://127.0.0.1:1/"})
			code, _, stderr := run(t, "run", "--config", cfg)
			if code != exitData || !strings.Contains(stderr, c.message) || !strings.Contains(stderr, "data") {
				t.Errorf("exit %d, stderr %q; want %d and a message saying %q", code, stderr, exitData, c.message)
			}
		})
	}
}

// mustChmodDir makes dir with fill run inside it, then makes it read-only
// (0500) until the test ends.
func mustChmodDir(t *testing.T, dir string, fill func(dbPath string)) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if fill != nil {
		fill(filepath.Join(dir, "crawl.db"))
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
}

// check reads a healthy database in a read-only data_dir.
func TestCheckHealthyReadOnlyDataDir(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	mustChmodDir(t, dataDir, func(db string) { sampleStore(t, db, 0) })
	cfg := writeConfigAt(t, dir, dataDir, nil)
	code, stdout, stderr := run(t, "check", "--config", cfg)
	if code != exitOK || !strings.HasPrefix(stdout, "ok: 0 pages, 0 URLs queued") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and ok", code, stdout, stderr)
	}
}

// check on a database that breaks the invariants prints each problem and
// exits 4; while another process holds the file it exits 3 and says to
// stop the daemon; with no database it exits 3.
func TestCheckVerdicts(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfg := writeConfigAt(t, dir, dataDir, nil)

	code, _, stderr := run(t, "check", "--config", cfg)
	if code != exitData || !strings.Contains(stderr, "run `crawler run` first") {
		t.Errorf("no database: exit %d, stderr %q; want 3", code, stderr)
	}

	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Two page records the frontier never saw.
	sampleStore(t, filepath.Join(dataDir, "crawl.db"), 2)
	code, stdout, stderr := run(t, "check", "--config", cfg)
	if code != exitFailure || strings.Count(stdout, "problem: store: page ") != 2 ||
		!strings.Contains(stdout, "has no URL record") || !strings.Contains(stderr, "2 problems") ||
		!strings.Contains(stderr, "inconsistent") {
		t.Errorf("inconsistent: exit %d, stdout %q, stderr %q; want 4 and both problems", code, stdout, stderr)
	}

	db, err := store.Open(filepath.Join(dataDir, "crawl.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, stderr = run(t, "check", "--config", cfg)
	if code != exitData || !strings.Contains(stderr, "daemon stopped") || !strings.Contains(stderr, "stop the running crawler") {
		t.Errorf("locked: exit %d, stderr %q; want 3 and to stop the daemon", code, stderr)
	}
}

// check on a crawl whose value log holds damaged records reports each as
// a problem line of its own, counted, and goes on with the frontier's and
// the page records' checks (the bbolt file is sound); it leaves both files
// as they were.
func TestCheckDamagedValuesAreEachAProblem(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfg := writeConfigAt(t, dir, dataDir, nil)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dataDir, "crawl.db")
	sampleStore(t, db, 3) // records of equal length, none with a URL record
	log := db + ".values.1"
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	span := len(b) / 3
	b[span+10] ^= 0xff // the records of p/1 and p/2
	b[2*span+10] ^= 0xff
	if err := os.WriteFile(log, b, 0o600); err != nil {
		t.Fatal(err)
	}
	dbBefore, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := run(t, "check", "--config", cfg)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "problem: ") {
			t.Errorf("line %q is not a problem of its own", l)
		}
	}
	if code != exitFailure || strings.Count(stdout, "checksum mismatch") != 3 ||
		!strings.Contains(stdout, "problem: store: page http://127.0.0.1:1/p/0 has no URL record") ||
		!strings.Contains(stderr, fmt.Sprintf("%d problems", len(lines))) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 4, both damaged records, p/0's missing URL record, each counted", code, stdout, stderr)
	}
	if after, err := os.ReadFile(log); err != nil || !bytes.Equal(after, b) {
		t.Errorf("check changed the value log (%v)", err)
	}
	if after, err := os.ReadFile(db); err != nil || !bytes.Equal(after, dbBefore) {
		t.Errorf("check changed the database file (%v)", err)
	}
}
