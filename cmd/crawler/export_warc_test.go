package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crawler/internal/warc"
	"crawler/store"
)

// A WARC written to standard output has no file name: its warcinfo must
// not name one ("." or "-" is what filepath.Base makes of none).
func TestExportWARCToStdoutNamesNoFile(t *testing.T) {
	cfg := storeWith(t, &store.Page{URL: "http://127.0.1.139/", Host: "127.0.1.139", Status: 200, FetchedAt: time.Now()})
	for _, args := range [][]string{
		{"export", "--format", "warc"},
		{"export", "--format", "warc", "--output", "-"},
	} {
		code, out, stderr := run(t, append(args, "--config", cfg)...)
		if code != 0 {
			t.Fatalf("crawler %s: exit %d, %s", strings.Join(args, " "), code, stderr)
		}
		info, err := warc.NewReader(strings.NewReader(out)).Next()
		if err != nil || info.Type() != warc.TypeWarcinfo {
			t.Fatalf("crawler %s: first record %v, %v; want warcinfo", strings.Join(args, " "), info, err)
		}
		if name, ok := info.Header["Warc-Filename"]; ok {
			t.Errorf("crawler %s: warcinfo WARC-Filename %q; want none", strings.Join(args, " "), name)
		}
	}
}

// A page recrawled and answered 304 keeps the body of its first fetch.
// The WARC must say so: the response record (the body) dated at the first
// fetch, then a server-not-modified revisit record dated at the 304 that
// refers to it. The old export wrote one response record dated at the
// 304, claiming the server sent a 200 with that body then.
func TestExportWARCRevisitAfter304(t *testing.T) {
	const body = "<html><title>kept</title>the first fetch's body</html>"
	var mu sync.Mutex
	var first200, first304 time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			if first304.IsZero() {
				first304 = time.Now()
			}
			w.Header().Set("X-Visit", "not modified")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if first200.IsZero() {
			first200 = time.Now()
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	url := srv.URL + "/"
	dir := t.TempDir()
	cfg := writeConfig(t, dir, []string{url}, "recrawl:\n  interval: 300ms\n  min_interval: 100ms\n  max_interval: 1s\n")
	stop := startInProcess(t, cfg)
	// Until the stored 304 is over a second after the body's fetch, so the
	// two records' WARC-Dates (whole seconds) differ.
	var p store.Page
	waitFor(t, "a stored 304 over a second after the first fetch", 20*time.Second, func() bool {
		code, out, _ := run(t, "pages", "get", url, "--format", "json", "--config", cfg)
		p = store.Page{}
		if code != 0 || json.Unmarshal([]byte(out), &p) != nil {
			return false
		}
		captured, err := time.Parse(time.RFC3339Nano, p.Extra["body_fetched_at"])
		return err == nil && p.FetchedAt.Sub(captured) > 1500*time.Millisecond
	})
	stop()

	out := filepath.Join(dir, "crawl.warc.gz")
	if code, _, stderr := run(t, "export", "--format", "warc", "--output", out, "--config", cfg); code != 0 {
		t.Fatalf("export: exit %d, %s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []*warc.Record
	for _, rec := range warcRecords(t, f) {
		if rec.Header.Get("WARC-Target-URI") == url {
			recs = append(recs, rec)
		}
	}
	if len(recs) != 2 || recs[0].Type() != warc.TypeResponse || recs[1].Type() != warc.TypeRevisit {
		var types []string
		for _, r := range recs {
			types = append(types, r.Type()+" "+r.Header.Get("WARC-Date"))
		}
		t.Fatalf("records of %s: %v; want a response, then a revisit", url, types)
	}
	resp, rv := recs[0], recs[1]

	// The response is the first fetch: its body, dated before any 304.
	mu.Lock()
	sent200, sent304 := first200, first304
	mu.Unlock()
	respDate, err := time.Parse(time.RFC3339, resp.Header.Get("WARC-Date"))
	if err != nil || respDate.Before(sent200.Truncate(time.Second)) || !respDate.Before(sent304) {
		t.Errorf("response WARC-Date %s; want the first fetch's (200 sent %s, first 304 sent %s)",
			resp.Header.Get("WARC-Date"), sent200.UTC().Format(time.RFC3339Nano), sent304.UTC().Format(time.RFC3339Nano))
	}
	if string(resp.Payload()) != body || resp.Header.Get("WARC-Payload-Digest") != warc.Digest([]byte(body)) {
		t.Errorf("response payload %q, digest %s; want the first fetch's body", resp.Payload(), resp.Header.Get("WARC-Payload-Digest"))
	}
	captured, _ := time.Parse(time.RFC3339Nano, p.Extra["body_fetched_at"])
	if got, want := resp.Header.Get("WARC-Date"), captured.UTC().Format(time.RFC3339); got != want {
		t.Errorf("response WARC-Date %s; want extra.body_fetched_at %s", got, want)
	}

	// The revisit is the 304, and names the response.
	if got, want := rv.Header.Get("WARC-Date"), p.FetchedAt.UTC().Format(time.RFC3339); got != want || got == resp.Header.Get("WARC-Date") {
		t.Errorf("revisit WARC-Date %s; want the stored 304's %s, after the response's", got, want)
	}
	for field, want := range map[string]string{
		"WARC-Profile":              warc.ProfileServerNotModified,
		"WARC-Refers-To":            resp.Header.Get("WARC-Record-ID"),
		"WARC-Refers-To-Target-URI": resp.Header.Get("WARC-Target-URI"),
		"WARC-Refers-To-Date":       resp.Header.Get("WARC-Date"),
		"WARC-Payload-Digest":       resp.Header.Get("WARC-Payload-Digest"),
	} {
		if got := rv.Header.Get(field); got != want || want == "" {
			t.Errorf("revisit %s = %q; want the response's %q", field, got, want)
		}
	}
	hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(rv.Block)), nil)
	if err != nil || hr.StatusCode != http.StatusNotModified || hr.Header.Get("X-Visit") != "not modified" {
		t.Errorf("revisit block %q: want the 304's status line and headers", rv.Block)
	}
}

// Without a body capture time before fetched_at (no 304 kept the body,
// or the note is unreadable), a page is one response record dated by its
// fetch, as before revisit records.
func TestExportWARCWithoutCaptureTimeWritesOneResponse(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	page := func(path string, extra map[string]string) *store.Page {
		return &store.Page{URL: "http://127.0.1.139" + path, Host: "127.0.1.139", Status: 200, FetchedAt: at, Extra: extra}
	}
	cfg := storeWith(t,
		page("/plain", nil),
		page("/same-time", map[string]string{"body_fetched_at": at.Format(time.RFC3339Nano)}),
		page("/later", map[string]string{"body_fetched_at": at.Add(time.Hour).Format(time.RFC3339Nano)}),
		page("/garbled", map[string]string{"body_fetched_at": "yesterday"}))
	code, out, stderr := run(t, "export", "--format", "warc", "--config", cfg)
	if code != 0 {
		t.Fatalf("export: exit %d, %s", code, stderr)
	}
	var got []string
	for _, rec := range warcRecords(t, strings.NewReader(out)) {
		if rec.Type() != warc.TypeWarcinfo {
			got = append(got, rec.Type()+" "+rec.Header.Get("WARC-Target-URI")+" "+rec.Header.Get("WARC-Date"))
		}
	}
	want := []string{
		"response http://127.0.1.139/garbled 2024-05-06T07:08:09Z",
		"response http://127.0.1.139/later 2024-05-06T07:08:09Z",
		"response http://127.0.1.139/plain 2024-05-06T07:08:09Z",
		"response http://127.0.1.139/same-time 2024-05-06T07:08:09Z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// export takes the filters of pages list: an incremental WARC export
// holds the pages fetched since the time given, a jsonl one those of a
// status; an export that selects nothing is an empty one, not an error.
func TestExportFiltered(t *testing.T) {
	old, recent := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	cfg := storeWith(t,
		&store.Page{URL: "http://127.0.1.139/old", Host: "127.0.1.139", Status: 200, FetchedAt: old},
		&store.Page{URL: "http://127.0.1.139/new", Host: "127.0.1.139", Status: 200, FetchedAt: recent},
		&store.Page{URL: "http://127.0.1.139/gone", Host: "127.0.1.139", Status: 404, FetchedAt: recent})
	code, out, stderr := run(t, "export", "--format", "warc", "--since", "2024-05-31", "--config", cfg)
	if code != 0 {
		t.Fatalf("export --since: exit %d, %s", code, stderr)
	}
	var got []string
	for _, rec := range warcRecords(t, strings.NewReader(out)) {
		if rec.Type() == warc.TypeResponse {
			got = append(got, rec.Header.Get("WARC-Target-URI"))
		}
	}
	if strings.Join(got, " ") != "http://127.0.1.139/gone http://127.0.1.139/new" {
		t.Errorf("export --since: records of %q; want the two fetched since", got)
	}
	out = mustRun(t, "export", "--format", "jsonl", "--status", "404", "--config", cfg)
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"url":"http://127.0.1.139/gone"`) {
		t.Errorf("export --status 404: %q; want the one 404", out)
	}
	if out := mustRun(t, "export", "--format", "jsonl", "--host", "other.example", "--config", cfg); out != "" {
		t.Errorf("export of a host with no pages: %q; want nothing", out)
	}
	if code, _, _ := run(t, "export", "--since", "someday", "--config", cfg); code != exitUsage {
		t.Errorf("export --since someday: exit %d; want %d", code, exitUsage)
	}
}

// warcRecords reads every record of a WARC file; a bad one fails the test.
func warcRecords(t *testing.T, in io.Reader) []*warc.Record {
	t.Helper()
	var recs []*warc.Record
	for r := warc.NewReader(in); ; {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("WARC record %d: %v", len(recs)+1, err)
		}
		recs = append(recs, rec)
	}
}
