package crawl

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crawler/store"
)

// A saved robots.txt file is read back while the store is busy with
// another write (it is pending), and from the store once written.
func TestRobotsFilesLoadPendingThenStored(t *testing.T) {
	db := openChecked(t, testConfig(t))
	files := newRobotsFiles(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	busy, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Update(func(*store.Tx) error { close(busy); <-release; return nil })
	}()
	<-busy
	f := &store.RobotsFile{Fetched: time.Now(), Status: 200, Body: []byte("User-agent: *\nDisallow: /x\n")}
	files.save("http://a.test", f)
	if got := files.load("http://a.test"); got != f {
		t.Errorf("load while the write waits = %+v; want the file saved", got)
	}
	close(release)
	files.wait()
	got := files.load("http://a.test")
	if got == nil || got == f || got.Status != 200 || !got.Fetched.Equal(f.Fetched) || !bytes.Equal(got.Body, f.Body) {
		t.Errorf("load once written = %+v; want the stored copy of %+v", got, f)
	}
}

// A write the store refuses is logged and drops only the files; nothing
// waits for it.
func TestRobotsFilesWriteFailureIsLogged(t *testing.T) {
	cfg := testConfig(t)
	openStore(t, cfg).Close()
	db, err := store.Open(filepath.Join(cfg.DataDir, "crawl.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var log bytes.Buffer
	files := newRobotsFiles(db, slog.New(slog.NewTextHandler(&log, nil)))
	files.save("http://a.test", &store.RobotsFile{Fetched: time.Now(), Status: 404})
	files.wait()
	if !strings.Contains(log.String(), "robots.txt files not stored") {
		t.Errorf("log = %q; want the failed write", log.String())
	}
	if f := files.load("http://a.test"); f != nil {
		t.Errorf("load after a failed write = %+v; want none", f)
	}
}
