package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A host too slow for its recrawl interval falls behind on its revisits,
// and the operator sees by how much: hosts' REVISIT WAIT and
// revisit_due_at, stats' "revisits waiting", queue's "revisit due T", and
// the crawler_revisit_wait_seconds histogram.
func TestRevisitWaitShows(t *testing.T) {
	const pages = 12
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		time.Sleep(60 * time.Millisecond) // at most ≈33 pages/s at 2 per host
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<title>t</title>")
		for i := range pages {
			fmt.Fprintf(w, `<a href="/p%d">p</a>`, i)
		}
	}))
	defer srv.Close()
	addr := freeAddr(t)
	// 13 pages due every 150 ms: ≈87 a second, for a host that serves ≈33.
	path := writeConfig(t, t.TempDir(), []string{srv.URL + "/"},
		fmt.Sprintf("recrawl:\n  interval: 150ms\n  min_interval: 100ms\n  max_interval: 1s\napi:\n  listen: %q\n", addr))
	stop := startInProcess(t, path)
	defer stop()

	host := strings.TrimPrefix(srv.URL, "http://")
	var due time.Time
	pollFor(t, "a revisit waiting over 500ms", 30*time.Second, 100*time.Millisecond, func() bool {
		code, out, _ := run(t, "hosts", "--format", "jsonl", "--config", path)
		var h struct {
			Host         string    `json:"host"`
			RevisitDueAt time.Time `json:"revisit_due_at"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &h) != nil || h.Host != host {
			return false
		}
		due = h.RevisitDueAt
		return !due.IsZero() && time.Since(due) > 500*time.Millisecond
	})

	// The table shows it too. Its host's oldest revisit may be fetched
	// between two calls, leaving a younger one at the head: poll.
	rowRE := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(host) + `\s+\d+\s+\d+\s+\d+\s+0\s+0\s+(\S+)\s`)
	pollFor(t, "a REVISIT WAIT of 500ms or more in crawler hosts", 10*time.Second, 50*time.Millisecond, func() bool {
		code, out, stderr := run(t, "hosts", "--config", path)
		row := rowRE.FindStringSubmatch(out)
		if code != 0 || row == nil {
			t.Fatalf("crawler hosts: exit %d, %q, %q", code, out, stderr)
		}
		wait, err := time.ParseDuration(row[1])
		if err != nil {
			t.Fatalf("REVISIT WAIT %q: %v", row[1], err)
		}
		return wait >= time.Second/2
	})
	code, out, _ := run(t, "stats", "--config", path)
	if code != 0 || !regexp.MustCompile(`(?m)^revisits waiting\s+1 host with a revisit in line, the longest waiting \d\S* \(due since \S+Z\)$`).MatchString(out) {
		t.Errorf("crawler stats: exit %d, %s; want a revisits waiting row", code, out)
	}
	code, out, _ = run(t, "queue", "--config", path)
	if code != 0 || !regexp.MustCompile(`(?m)^revisit due \S+Z\s+1\s+0\s+`+regexp.QuoteMeta(srv.URL)+`/p\d+\s`).MatchString(out) {
		t.Errorf("crawler queue: exit %d, %s; want revisits marked with their due time", code, out)
	}

	// The revisits fetched so far waited.
	var count uint64
	var sum float64
	pollFor(t, "a revisit fetched", 10*time.Second, 100*time.Millisecond, func() bool {
		f := scrape(t, addr)["crawler_revisit_wait_seconds"]
		if f == nil || len(f.Metric) != 1 {
			t.Fatalf("crawler_revisit_wait_seconds: %v", f)
		}
		h := f.Metric[0].GetHistogram()
		count, sum = h.GetSampleCount(), h.GetSampleSum()
		return count > 0
	})
	if sum <= 0 {
		t.Errorf("crawler_revisit_wait_seconds: %d revisits waited %v s in all; want more than none", count, sum)
	}
}
