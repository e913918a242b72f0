package crawl

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawler/config"
	"crawler/store"
)

// recrawlUntil runs a crawl of cfg (not exiting when idle, so recrawls
// happen) until cond holds or 20s pass, and returns its store.
func recrawlUntil(t *testing.T, cfg *config.Config, cond func() bool) *store.DB {
	t.Helper()
	db, e := newEngine(t, cfg)
	stop := startRun(e)
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			stop()
			t.Fatal("condition not reached within 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Let the last fetch be committed.
	time.Sleep(200 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return db
}

// A page whose recrawl answers 200 with an empty body must not keep the
// old body: the record said body_bytes 0 and no hash, but the body read
// back was the first fetch's.
func TestRecrawlEmptyBodyDropsOldBody(t *testing.T) {
	var n atomic.Int32
	site := newHostileSite(t)
	h := site.host("recrawl-empty")
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if n.Add(1) == 1 {
			_, _ = w.Write([]byte("<html><title>first</title>old body</html>"))
		}
	})
	cfg := hostileConfig(t, []string{h.url("/")}, site.addrs())
	cfg.Fetch.RespectRobots = false
	cfg.Recrawl.Interval = 100 * time.Millisecond
	db := recrawlUntil(t, cfg, func() bool { return n.Load() >= 2 })
	p := page(t, db, h.url("/"))
	var body []byte
	err := db.View(func(tx *store.Tx) (err error) {
		body, err = tx.Body(h.url("/"))
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if p.BodyBytes != int64(len(body)) || len(body) != 0 {
		t.Errorf("after an empty recrawl: record body_bytes %d hash %q, stored body %q; want no body",
			p.BodyBytes, p.Hash, body)
	}
}

// A 304 on recrawl keeps the stored body (the guard for the fix above).
func TestRecrawl304KeepsBody(t *testing.T) {
	var n, conditional atomic.Int32
	site := newHostileSite(t)
	h := site.host("recrawl-304")
	const body = "<html><title>kept</title>body</html>"
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(body))
	})
	cfg := hostileConfig(t, []string{h.url("/")}, site.addrs())
	cfg.Fetch.RespectRobots = false
	cfg.Recrawl.Interval = 100 * time.Millisecond
	db := recrawlUntil(t, cfg, func() bool { return conditional.Load() >= 2 })
	var got []byte
	if err := db.View(func(tx *store.Tx) (err error) { got, err = tx.Body(h.url("/")); return err }); err != nil {
		t.Fatal(err)
	}
	if p := page(t, db, h.url("/")); string(got) != body || p.Status != 200 || p.BodyBytes != int64(len(body)) {
		t.Errorf("after 304s: status %d body_bytes %d body %q; want 200, the first body", p.Status, p.BodyBytes, got)
	}
}

// The validators a 304 carries replace the stored ones (RFC 9111 §4.3.4):
// the next recrawl must ask with the ETag the server gave last, not the
// first one.
func TestRecrawl304UpdatesValidators(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	site := newHostileSite(t)
	h := site.host("recrawl-etag")
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		inm := r.Header.Get("If-None-Match")
		mu.Lock()
		asked = append(asked, inm)
		mu.Unlock()
		if inm != "" {
			w.Header().Set("ETag", `"v2"`)
			w.Header().Set("Last-Modified", "Tue, 03 Feb 2026 00:00:00 GMT")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Feb 2026 00:00:00 GMT")
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><title>t</title>body</html>"))
	})
	cfg := hostileConfig(t, []string{h.url("/")}, site.addrs())
	cfg.Fetch.RespectRobots = false
	cfg.Recrawl.Interval = 100 * time.Millisecond
	db := recrawlUntil(t, cfg, func() bool { mu.Lock(); defer mu.Unlock(); return len(asked) >= 3 })
	mu.Lock()
	third := asked[2]
	mu.Unlock()
	if third != `"v2"` {
		t.Errorf("third request If-None-Match %q; want the ETag of the last 304, \"v2\"", third)
	}
	p := page(t, db, h.url("/"))
	if p.ETag != `"v2"` || p.LastModified != "Tue, 03 Feb 2026 00:00:00 GMT" {
		t.Errorf("stored validators ETag %q Last-Modified %q; want those of the last 304", p.ETag, p.LastModified)
	}
	// The headers stored with the body stay those that came with it (a
	// WARC export writes them in the body's response record, dated at its
	// capture); the 304's are its own.
	if got := p.Header.Get("ETag") + " " + p.Header.Get("Last-Modified"); got != `"v1" Mon, 02 Feb 2026 00:00:00 GMT` {
		t.Errorf("stored response headers carry ETag Last-Modified %s; want the 200's", got)
	}
	if got := p.NotModifiedHeader.Get("ETag"); got != `"v2"` {
		t.Errorf("304 headers ETag %q; want \"v2\"", got)
	}
}
