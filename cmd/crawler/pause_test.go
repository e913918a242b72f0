package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// crawler pause holds a stopped crawl's host: the next run fetches the
// other hosts' URLs, leaves the held host's queued and exits when only
// they are left; stats, hosts and pause --list show the hold; resume
// lifts it and the run after fetches them. Usage errors exit 2.
func TestPauseVerbStoppedCrawl(t *testing.T) {
	site := querySite(t, "127.0.1.215", 4)
	_, cfg := crawledSite(t, site)
	held, other := site.Hosts()[0], site.Hosts()[1]
	c := []string{"--config", cfg}

	for _, args := range [][]string{
		{"pause", "--for", "0s"},
		{"pause", "--for", "1h", "--until", "2999-01-01T00:00:00Z"},
		{"pause", "--until", "2000-01-01T00:00:00Z"},
		{"pause", "--until", "tomorrow"},
		{"pause", "--host", "not a host/"},
		{"pause", "--list", "--host", held},
		{"resume", "--all", "--host", held},
		{"resume", "--host", "not a host/"},
	} {
		if code, _, stderr := run(t, append(args, c...)...); code != exitUsage {
			t.Errorf("%q: exit %d (%s); want %d", args, code, stderr, exitUsage)
		}
	}
	if code, out, stderr := run(t, append([]string{"pause", "--list"}, c...)...); code != exitNotFound || out != "" || !strings.Contains(stderr, "nothing is paused") {
		t.Errorf("pause --list before any pause: exit %d, %q, %q; want %d, nothing is paused", code, out, stderr, exitNotFound)
	}

	mustRun(t, append([]string{"recrawl", "--host", held}, c...)...)
	mustRun(t, append([]string{"recrawl", "--host", other}, c...)...)
	out := mustRun(t, append([]string{"pause", "--host", strings.ToUpper(held)}, c...)...)
	if !strings.Contains(out, "paused "+held+"\n") || !strings.Contains(out, "the next crawler run starts under them") {
		t.Errorf("pause --host: %q", out)
	}
	s, _ := statsJSON(t, cfg)
	if len(s.Holds) != 1 || s.Holds[0].Host != held || !s.Holds[0].Until.IsZero() {
		t.Errorf("stats holds after pause --host: %+v", s.Holds)
	}
	if out := mustRun(t, append([]string{"stats"}, c...)...); !strings.Contains(out, "1 host(s): "+held) {
		t.Errorf("stats does not show the hold: %q", out)
	}
	if out := mustRun(t, append([]string{"hosts", "--paused"}, c...)...); !strings.Contains(out, held) || strings.Contains(out, other) || !strings.Contains(out, "paused") {
		t.Errorf("hosts --paused: %q", out)
	}
	if out := mustRun(t, append([]string{"pause", "--list"}, c...)...); !strings.Contains(out, held) || !strings.Contains(out, "crawler resume") {
		t.Errorf("pause --list: %q", out)
	}

	before := site.Report().PerHost
	queued := s.Queued
	if code, _, stderr := run(t, append([]string{"run", "--exit-when-idle"}, c...)...); code != exitOK {
		t.Fatalf("run under the hold: exit %d: %s", code, stderr)
	}
	after := site.Report().PerHost
	if after[held] != before[held] {
		t.Errorf("held host got %d requests during the run", after[held]-before[held])
	}
	if after[other] == before[other] {
		t.Errorf("the other host got no request during the run")
	}
	if s, _ := statsJSON(t, cfg); s.Queued == 0 || s.Queued >= queued || len(s.Holds) != 1 {
		t.Errorf("after the run under the hold: %d queued (%d before), holds %+v; want the held host's left", s.Queued, queued, s.Holds)
	}

	if out := mustRun(t, append([]string{"resume", "--host", held}, c...)...); !strings.Contains(out, "lifted 1 hold(s)") {
		t.Errorf("resume --host: %q", out)
	}
	if out := mustRun(t, append([]string{"resume"}, c...)...); !strings.Contains(out, "nothing named was paused") {
		t.Errorf("resume of an unpaused crawl: %q", out)
	}
	if code, _, stderr := run(t, append([]string{"run", "--exit-when-idle"}, c...)...); code != exitOK {
		t.Fatalf("run after resume: exit %d: %s", code, stderr)
	}
	if s, _ := statsJSON(t, cfg); s.Queued != 0 || len(s.Holds) != 0 {
		t.Errorf("after resume and a run: %d queued, holds %+v", s.Queued, s.Holds)
	}
	if site.Report().PerHost[held] == after[held] {
		t.Errorf("the host resumed got no request")
	}
	if code, _, stderr := run(t, append([]string{"check"}, c...)...); code != exitOK {
		t.Errorf("check: exit %d: %s", code, stderr)
	}
}

// The running crawler applies a pause of the whole crawl at once: a seed
// added under it is queued, not fetched, until resume.
func TestPauseVerbRunningDaemon(t *testing.T) {
	site := querySite(t, "127.0.1.218", 3)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, site.Seeds(), "")
	c := []string{"--config", cfg}
	var stderr bytes.Buffer
	cmd := daemon(t, &stderr, "run", "--config", cfg)
	waitCrawled(t, cfg, &stderr)

	out := mustRun(t, append([]string{"pause", "--for", "1h"}, c...)...)
	if !strings.Contains(out, "paused the whole crawl until ") || !strings.Contains(out, "the running crawler starts no new request") {
		t.Errorf("pause: %q", out)
	}
	requests := site.Report().Requests
	host := site.Hosts()[0]
	mustRun(t, append([]string{"seed", "http://" + host + "/p/1?under-the-hold"}, c...)...)
	time.Sleep(300 * time.Millisecond)
	if n := site.Report().Requests; n != requests {
		t.Errorf("%d request(s) under the pause", n-requests)
	}
	if s, _ := statsJSON(t, cfg); s.Queued != 1 || len(s.Holds) != 1 || s.Holds[0].Host != "" || s.Holds[0].Until.IsZero() {
		t.Errorf("stats under the pause: %d queued, holds %+v; want the seed queued under the crawl's hold", s.Queued, s.Holds)
	}
	if out := mustRun(t, append([]string{"stats"}, c...)...); !strings.Contains(out, "the whole crawl until ") {
		t.Errorf("stats does not show the pause: %q", out)
	}
	if out := mustRun(t, append([]string{"resume", "--all"}, c...)...); !strings.Contains(out, "lifted 1 hold(s)") {
		t.Errorf("resume --all: %q", out)
	}
	waitCrawled(t, cfg, &stderr)
	if n := site.Report().Requests; n == requests {
		t.Error("no request after resume")
	}
	stopDaemon(t, cmd, &stderr, 30*time.Second)
}
