package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// crawler queue lists what a stopped crawl has queued: a table, JSON
// lines, per host; nothing queued is exit 1.
func TestQueueVerb(t *testing.T) {
	site := querySite(t, "127.0.1.204", 3)
	_, cfg := crawledSite(t, site, site.Seeds()[0])
	if code, _, stderr := run(t, "queue", "--config", cfg); code != exitNotFound || !strings.Contains(stderr, "no URL is queued") {
		t.Errorf("queue of a finished crawl: exit %d, %q; want 1, nothing queued", code, stderr)
	}
	host := site.Hosts()[0]
	seeds := []string{"http://" + host + "/p/901", "http://" + host + "/p/902"}
	mustRun(t, append([]string{"seed", "--config", cfg}, seeds...)...)

	out := mustRun(t, "queue", "--config", cfg)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "STATE") || !strings.HasPrefix(lines[1], "queued") || !strings.Contains(lines[1], seeds[0]) ||
		!strings.Contains(lines[2], seeds[1]) {
		t.Errorf("queue table:\n%s\nwant a header and the two seeds, in order", out)
	}
	out = mustRun(t, "queue", "--config", cfg, "--format", "jsonl", "--host", host, "--limit", "1")
	var u struct {
		URL   string `json:"url"`
		Host  string `json:"host"`
		Depth int    `json:"depth"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.URL != seeds[0] || u.Host != host || u.Depth != 0 {
		t.Errorf("queue --format jsonl --limit 1: %q (%v); want the first seed", out, err)
	}
	if code, _, _ := run(t, "queue", "--config", cfg, "--host", "other.test"); code != exitNotFound {
		t.Errorf("queue of a host with nothing queued: exit %d; want 1", code)
	}
	if code, _, _ := run(t, "queue", "--config", cfg, "--host", "bad/host"); code != exitUsage {
		t.Errorf("queue --host bad/host: exit %d; want %d", code, exitUsage)
	}
}
