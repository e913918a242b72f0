package crawl

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"crawler/store"
)

// A 304 keeps the stored body, so the record must say when that body was
// captured (extra.body_fetched_at) and what the 304 said (not_modified_header):
// fetched_at is the 304's time, and a WARC export dates the response
// record by the capture. The capture time survives further 304s and a
// failed recrawl, and a 200 that replaces the body drops both.
func TestRecrawl304KeepsBodyCaptureTime(t *testing.T) {
	const (
		first   = iota // conditional requests fail (503): the first 200 stays as stored
		same           // conditional requests get 304
		down           // every request fails (503)
		changed        // every request gets a new body
	)
	var mode atomic.Int32
	site := newHostileSite(t)
	h := site.host("recrawl-capture")
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		m := mode.Load()
		switch {
		case m == changed:
			w.Header().Set("ETag", `"v2"`)
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><title>new</title>changed body</html>"))
		case m == down || r.Header.Get("If-None-Match") != "" && m == first:
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.Header.Get("If-None-Match") == `"v1"`:
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("X-Visit", "not modified")
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><title>old</title>the body</html>"))
		}
	})
	cfg := outageConfig(t, h.url("/"), site)
	cfg.Fetch.RespectRobots = false
	db, _, stop := startStored(t, cfg, h.url("/"))
	defer stop()
	// Only the first request is unconditional, and until mode changes
	// nothing else replaces the record's fetch time.
	captured := stored(db, h.url("/")).FetchedAt
	if p := stored(db, h.url("/")); p.Extra["body_fetched_at"] != "" {
		t.Errorf("record of a 200: extra.body_fetched_at %q; want none", p.Extra["body_fetched_at"])
	}

	mode.Store(same)
	want := captured.UTC().Format(time.RFC3339Nano)
	var seen []time.Time
	waitFor(t, "two recrawls answered 304", func() bool {
		p := stored(db, h.url("/"))
		if p.Extra["last_status"] != "304" || len(seen) > 0 && p.FetchedAt.Equal(seen[len(seen)-1]) {
			return false
		}
		seen = append(seen, p.FetchedAt)
		if got := p.Extra["body_fetched_at"]; got != want || !p.FetchedAt.After(captured) {
			t.Fatalf("after 304 #%d at %s: extra.body_fetched_at %q; want the first fetch's time %q",
				len(seen), p.FetchedAt.Format(time.RFC3339Nano), got, want)
		}
		if got := p.NotModifiedHeader.Get("X-Visit"); got != "not modified" || p.Header.Get("X-Visit") != "" {
			t.Fatalf("after 304 #%d: not_modified_header %v, header %v; want the 304's headers apart from the 200's",
				len(seen), p.NotModifiedHeader, p.Header)
		}
		return len(seen) >= 2
	})

	mode.Store(down)
	waitFor(t, "a failed recrawl noted", func() bool { return stored(db, h.url("/")).Extra["recrawl_error"] != "" })
	if p := stored(db, h.url("/")); p.Extra["body_fetched_at"] != want || p.NotModifiedHeader == nil {
		t.Errorf("after a failed recrawl: extra.body_fetched_at %q, not_modified_header %v; want them kept (%q)",
			p.Extra["body_fetched_at"], p.NotModifiedHeader, want)
	}

	mode.Store(changed)
	waitFor(t, "the changed body stored", func() bool { return stored(db, h.url("/")).Title == "new" })
	if p := stored(db, h.url("/")); p.Extra["body_fetched_at"] != "" || p.NotModifiedHeader != nil {
		t.Errorf("after a 200 replaced the body: extra.body_fetched_at %q, not_modified_header %v; want neither",
			p.Extra["body_fetched_at"], p.NotModifiedHeader)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A record stored by an older version after a 304 has last_status 304 but
// no body_fetched_at: its fetched_at is that 304's time, not the body's.
// The next 304 must not take it for the capture time.
func TestRecrawl304AfterOlder304LeavesCaptureUnknown(t *testing.T) {
	var conditional atomic.Int32
	site := newHostileSite(t)
	h := site.host("recrawl-legacy-304")
	h.handle("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write([]byte("<html><title>t</title>body</html>"))
	})
	cfg := outageConfig(t, h.url("/"), site)
	cfg.Fetch.RespectRobots = false
	db, e := newEngine(t, cfg)
	older := &store.Page{URL: h.url("/"), Host: h.addr, Status: 200, ETag: `"v1"`,
		FetchedAt: time.Now().Add(-time.Hour).UTC(), Extra: map[string]string{"last_status": "304"}}
	if err := db.Update(func(tx *store.Tx) error { return tx.PutPage(older) }); err != nil {
		t.Fatal(err)
	}
	stop := startRun(e)
	defer stop()
	waitFor(t, "a 304 stored", func() bool {
		p := stored(db, h.url("/"))
		return conditional.Load() > 0 && p.FetchedAt.After(older.FetchedAt)
	})
	if p := stored(db, h.url("/")); p.Extra["body_fetched_at"] != "" || p.Extra["last_status"] != "304" {
		t.Errorf("after a 304 on an older 304's record: extra %v; want last_status 304 and no body_fetched_at (unknown)", p.Extra)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}
