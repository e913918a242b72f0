package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// A backup taken while a writer keeps committing pages is a consistent
// database: it passes the store's checks, holds the pages its meta
// counts, every one with its body; pages committed after it are not in
// it, and later commits leave it as it was. A second backup into the
// same directory is refused. A read-only store backs up too.
func TestBackupWhileWriting(t *testing.T) {
	path, _, _ := sampleDB(t, 200)
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	var wg sync.WaitGroup
	var stop atomic.Bool
	var written atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			err := db.Update(func(tx *Tx) error {
				u := fmt.Sprintf("http://example.com/new/%d", i)
				if err := tx.PutPage(&Page{URL: u, Host: "example.com", Status: 200}); err != nil {
					return err
				}
				return tx.PutBody(u, db.CompressBody(fmt.Appendf(nil, "new body %d", i)))
			})
			if err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
		}
	}()
	for written.Load() < 20 {
		runtime.Gosched()
	}
	dir := filepath.Join(t.TempDir(), "backup")
	info, err := db.Backup(ctx, dir)
	for err == nil && written.Load() < info.Pages-200+20 {
		runtime.Gosched() // commits go on after the backup
	}
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if info.Pages < 220 || info.DB != filepath.Join(dir, "crawl.db") || info.Values != filepath.Join(dir, "crawl.db.values.1") ||
		info.DBBytes <= 0 || info.ValueBytes <= 0 {
		t.Fatalf("backup info %+v", info)
	}
	checkBackup(t, info)

	if _, err := db.Backup(ctx, dir); !errors.Is(err, ErrBackupExists) {
		t.Errorf("a second backup into %s: %v; want ErrBackupExists", dir, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	info, err = ro.Backup(ctx, filepath.Join(t.TempDir(), "ro"))
	if err != nil || info.Pages != 200+written.Load() {
		t.Fatalf("backup of a read-only store: %+v, %v; want %d pages", info, err, 200+written.Load())
	}
	checkBackup(t, info)
}

// checkBackup opens the backup info describes and checks it whole.
func checkBackup(t *testing.T, info *BackupInfo) {
	t.Helper()
	b, err := Open(info.DB, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, err := range b.Check() {
		t.Errorf("backup check: %v", err)
	}
	n := int64(0)
	err = b.View(func(tx *Tx) error {
		return tx.ForEachPage("", "", func(p *Page) error {
			n++
			_, err := tx.Body(p.URL)
			return err
		})
	})
	if err != nil || n != info.Pages {
		t.Errorf("backup holds %d readable pages (%v); its meta counts %d", n, err, info.Pages)
	}
	b.Close()
	rw, err := Open(info.DB, Options{NoSync: true}) // as a restored data_dir is
	if err != nil {
		t.Fatalf("read-write open of the backup: %v", err)
	}
	if err := rw.Close(); err != nil {
		t.Error(err)
	}
}

// TestBackupSyncsTheDirectoriesItMakes checks that a backup into a
// directory it creates syncs that directory's parent too (and each level
// it creates): with only the directory itself synced, a power loss after
// the backup reported success could take the whole directory with it.
func TestBackupSyncsTheDirectoriesItMakes(t *testing.T) {
	path, _, _ := sampleDB(t, 3)
	db := reopen(t, path, Options{NoSync: true})
	var synced []string
	orig := syncDir
	defer func() { syncDir = orig }()
	syncDir = func(d string) error {
		synced = append(synced, d)
		return orig(d)
	}
	top := t.TempDir()
	dir := filepath.Join(top, "backups", "monday")
	if _, err := db.Backup(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{dir, filepath.Join(top, "backups"), top} {
		if !slices.Contains(synced, want) {
			t.Errorf("directories synced %q; want %s among them", synced, want)
		}
	}
}

// Two backups into one directory at once would interleave their renames
// and could leave one's database beside the other's shorter value log.
// While one backup writes into a directory (it holds a lock on the
// directory itself, leaving no file there) another is refused with
// ErrBackupExists; of backups started together exactly one succeeds, and
// its copy is consistent.
func TestBackupsIntoOneDirectoryExcludeEachOther(t *testing.T) {
	path, _, _ := sampleDB(t, 50)
	db := reopen(t, path, Options{NoSync: true})
	ctx := context.Background()

	dir := t.TempDir()
	release, err := lockBackupDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Backup(ctx, dir); !errors.Is(err, ErrBackupExists) {
		t.Fatalf("backup into a directory another backup holds: %v; want ErrBackupExists", err)
	}
	release()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the refused backup left %d entries in %s", len(entries), dir)
	}

	dir = filepath.Join(t.TempDir(), "together")
	var wg sync.WaitGroup
	var ok, refused atomic.Int32
	for range 4 {
		wg.Go(func() {
			switch _, err := db.Backup(ctx, dir); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBackupExists):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != 3 {
		t.Errorf("4 backups into one directory: %d done, %d refused; want 1 and 3", ok.Load(), refused.Load())
	}
	copied, err := Open(filepath.Join(dir, filepath.Base(path)), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	if errs := copied.Check(); len(errs) != 0 {
		t.Errorf("the backup fails its check: %v", errs)
	}
}

// A backup directory that cannot be made, or a copy that cannot be
// written, is ErrBackupOutput with the system's cause, not ErrCorrupt nor
// a bare error: the crawl is fine, the destination is not.
func TestBackupOutputErrors(t *testing.T) {
	path, _, _ := sampleDB(t, 5)
	db := reopen(t, path, Options{NoSync: true})
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := db.Backup(context.Background(), filepath.Join(file, "b"))
	if !errors.Is(err, ErrBackupOutput) || !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("backup under a file: %v; want ErrBackupOutput wrapping ENOTDIR", err)
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if _, err := (outputWriter{f}).Write([]byte("x")); !errors.Is(err, ErrBackupOutput) || !errors.Is(err, os.ErrClosed) {
		t.Errorf("a copy's write error: %v; want ErrBackupOutput wrapping the cause", err)
	}
}
