package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crawler/frontier"
	"crawler/store"
)

// crawler hosts --host shows one host, canonical whatever its case, and
// exits 1 for a host the crawl does not know, 2 for no host at all;
// --active keeps only the hosts with URLs queued or in flight.
func TestHostsFilters(t *testing.T) {
	site := querySite(t, "127.0.1.220", 3)
	_, cfg := crawledSite(t, site)
	h := site.Hosts()
	out := mustRun(t, "hosts", "--config", cfg, "--host", strings.ToUpper(h[1]), "--format", "jsonl")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"host":"`+h[1]+`"`) {
		t.Errorf("hosts --host %s: %q; want its one line", h[1], out)
	}
	if code, _, stderr := run(t, "hosts", "--config", cfg, "--host", "unknown.example"); code != exitNotFound || !strings.Contains(stderr, "unknown.example") {
		t.Errorf("hosts --host unknown.example: exit %d, %q; want %d naming it", code, stderr, exitNotFound)
	}
	if code, _, _ := run(t, "hosts", "--config", cfg, "--host", "a/b"); code != exitUsage {
		t.Errorf("hosts --host a/b: exit %d; want %d", code, exitUsage)
	}
	if code, out, stderr := run(t, "hosts", "--config", cfg, "--active"); code != exitNotFound || out != "" || !strings.Contains(stderr, "no host has URLs queued") {
		t.Errorf("hosts --active of a finished crawl: exit %d, %q, %q; want %d, no host", code, out, stderr, exitNotFound)
	}
	if code, _, stderr := run(t, "hosts", "--config", cfg, "--paused", "--host", h[0]); code != exitNotFound || !strings.Contains(stderr, h[0]+": not paused") {
		t.Errorf("hosts --paused --host %s, not paused: exit %d, %q; want %d saying so", h[0], code, stderr, exitNotFound)
	}
	mustRun(t, "seed", "--config", cfg, "http://"+h[2]+"/p/900")
	out = mustRun(t, "hosts", "--config", cfg, "--active", "--format", "jsonl")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"host":"`+h[2]+`"`) {
		t.Errorf("hosts --active after seeding %s: %q; want its one line", h[2], out)
	}
}

// A stopped crawl's hosts listing (and stats' count of backed-off hosts)
// shows the pace kept for its restart: a
// host's delay (here per_host_delay is 0, so every host keeps the one its
// answers' latency gave it), and a pause (Retry-After, circuit breaker)
// that has not ended.
func TestHostsStoppedShowsKeptPace(t *testing.T) {
	site := querySite(t, "127.0.1.224", 3)
	dir, cfg := crawledSite(t, site)
	h := site.Hosts()
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	db, err := store.Open(filepath.Join(dir, "data", "crawl.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := frontier.Open(db, frontier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q.SetDelay(h[0], 5*time.Second)
	q.Pause(h[1], until) // a circuit breaker's third opening
	q.SetTrips(h[1], 3)
	if err := q.Close(); err != nil { // writes them
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, "hosts", "--config", cfg)
	for _, want := range []string{" 5s ", "backed off until " + until.Format(time.RFC3339) + " (breaker tripped 3 times in a row)"} {
		if !strings.Contains(out, want) {
			t.Errorf("hosts of a stopped crawl with a kept pace: %q; want %q in it", out, want)
		}
	}
	out = mustRun(t, "hosts", "--config", cfg, "--host", h[1], "--format", "jsonl")
	var got frontier.HostInfo
	if err := json.Unmarshal([]byte(out), &got); err != nil || !got.NextAt.Equal(until) || got.BreakerTrips != 3 {
		t.Errorf("hosts --host %s --format jsonl: %q (%v); want next_at %v, breaker_trips 3", h[1], out, err, until)
	}
	if out := mustRun(t, "hosts", "--config", cfg, "--host", h[2]); strings.Contains(out, "backed off") {
		t.Errorf("hosts --host %s, not paused: %q", h[2], out)
	}
	// stats counts the kept pause.
	if s, ok := statsJSON(t, cfg); !ok || s.BackedOffHosts != 1 {
		t.Errorf("stats of a stopped crawl with one kept pause: backed_off_hosts %d (ok %v); want 1", s.BackedOffHosts, ok)
	}
	if out := mustRun(t, "stats", "--config", cfg); !strings.Contains(out, "1 backed off") {
		t.Errorf("stats of a stopped crawl with one kept pause: %q; want its hosts row to say 1 backed off", out)
	}
}
