package crawl

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"crawler/config"
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

// prune deletes the stored files fetched before its time, in the
// background (wait waits for it), and logs how many.
func TestRobotsFilesPrune(t *testing.T) {
	db := openChecked(t, testConfig(t))
	var logs bytes.Buffer
	files := newRobotsFiles(db, slog.New(slog.NewTextHandler(&logs, nil)))
	now := time.Now()
	files.save("http://stale.test", &store.RobotsFile{Fetched: now.Add(-robotsStaleMax - time.Hour), Status: 404})
	files.save("http://fresh.test", &store.RobotsFile{Fetched: now.Add(-time.Hour), Status: 404})
	files.wait()
	files.prune(now.Add(-robotsStaleMax))
	files.wait()
	if files.load("http://stale.test") != nil || files.load("http://fresh.test") == nil {
		t.Errorf("after the prune: stale %v, fresh %v; want only the fresh file kept",
			files.load("http://stale.test"), files.load("http://fresh.test"))
	}
	if !strings.Contains(logs.String(), "pruned stored robots.txt files") || !strings.Contains(logs.String(), "files=1") {
		t.Errorf("log %q; want the prune counted", logs.String())
	}
}

// StoredRobotsStatus tells a host's stored robots.txt the way the robots
// cache tells one it holds, its https origin's first, with when it was
// fetched and whether a recrawl marked it to be fetched again.
func TestStoredRobotsStatus(t *testing.T) {
	db := openChecked(t, testConfig(t))
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	err := db.Update(func(tx *store.Tx) error {
		for origin, f := range map[string]*store.RobotsFile{
			"http://a.test":        {Fetched: at, Status: 200, Body: []byte("User-agent: *\n")},
			"https://a.test":       {Fetched: at.Add(time.Hour), Status: 404},
			"http://b.test:8080":   {Fetched: at, Status: 301},
			"http://c.test":        {Fetched: at, Status: 200},
			"http://d.test":        {Fetched: at, Status: 200},
			"http://broken.test":   {Fetched: at, Status: 200},
			"https://other.test:1": {Fetched: at, Status: 200},
		} {
			if err := tx.PutRobots(origin, f); err != nil {
				return err
			}
		}
		if _, err := tx.ExpireRobots("http://d.test"); err != nil {
			return err
		}
		return tx.Bolt().Bucket([]byte("robots")).Put([]byte("http://broken.test"), []byte{1})
	})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"a.test":      "allow-all (404, stored copy of 2026-11-22T11:00:00Z)",
		"b.test:8080": "allow-all (301, stored copy of 2026-11-22T10:00:00Z)",
		"c.test":      "ok (stored copy of 2026-11-22T10:00:00Z)",
		"d.test":      "ok (stored copy of 2026-11-22T10:00:00Z, to be fetched again)",
		"e.test":      "unknown",
		"other.test":  "unknown",
	} {
		var got string
		_ = db.View(func(tx *store.Tx) error { got = StoredRobotsStatus(tx, host); return nil })
		if got != want {
			t.Errorf("StoredRobotsStatus(%s) = %q; want %q", host, got, want)
		}
	}
	_ = db.View(func(tx *store.Tx) error {
		if got := StoredRobotsStatus(tx, "broken.test"); !strings.HasPrefix(got, "unreadable: ") {
			t.Errorf("StoredRobotsStatus of a damaged record = %q; want unreadable: …", got)
		}
		return nil
	})
	// The damage is this test's: check at cleanup is not to see it.
	if err := db.Update(func(tx *store.Tx) error {
		return tx.Bolt().Bucket([]byte("robots")).Delete([]byte("http://broken.test"))
	}); err != nil {
		t.Fatal(err)
	}
}

// mentionsCrawlDelay finds the directive in any case and nowhere else; a
// file it passes over cannot set a Crawl-delay.
func TestMentionsCrawlDelay(t *testing.T) {
	for body, want := range map[string]bool{
		"User-agent: *\nCrawl-delay: 5\n":   true,
		"user-agent: *\ncrawl-DELAY:5":      true,
		"CRAWL-DELAY: 1":                    true,
		"x\ncrawl-delay":                    true,
		"User-agent: *\nDisallow: /a-b\n":   false,
		"crawl delay: 5\ncrawldelay: 5\n-":  false,
		"-crawl-dela":                       false,
		"":                                  false,
		"rawl-delay: 3":                     false,
		"User-agent: *\nCrawl-delay\xff: 2": true,
	} {
		if got := mentionsCrawlDelay([]byte(body)); got != want {
			t.Errorf("mentionsCrawlDelay(%q) = %v; want %v", body, got, want)
		}
	}
}

// BenchmarkRestoreCrawlDelays reads the Crawl-delays of 20,000 stored
// robots.txt files of about 700 bytes, one in ten with a Crawl-delay, as a
// restart does.
func BenchmarkRestoreCrawlDelays(b *testing.B) {
	const origins = 20_000
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Seeds = []string{"http://h0.example/"}
	db, err := store.Open(filepath.Join(cfg.DataDir, "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	body := []byte(strings.Repeat("User-agent: somebot\nDisallow: /private/\nDisallow: /tmp/*.php$\n", 10))
	err = db.Update(func(tx *store.Tx) error {
		for i := range origins {
			f := &store.RobotsFile{Fetched: time.Now(), Status: 200, Body: body}
			if i%10 == 0 {
				f.Body = append(slices.Clip(body), "User-agent: *\nCrawl-delay: 2\n"...)
			}
			if err := tx.PutRobots(fmt.Sprintf("http://h%d.example", i), f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Options{Config: cfg, DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for b.Loop() {
		e.restoreCrawlDelays()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/origins, "µs/file")
}
