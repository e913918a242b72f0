package main

import (
	"strings"
	"testing"
)

// crawler recrawl queues a stopped crawl's finished pages again, named or
// selected by filters, and the next run fetches them; usage errors exit 2
// and a selection of nothing exits 1.
func TestRecrawlVerb(t *testing.T) {
	site := querySite(t, "127.0.1.212", 4)
	_, cfg := crawledSite(t, site)
	host := site.Hosts()[0]
	before, _ := statsJSON(t, cfg)

	for _, args := range [][]string{{}, {"http://" + host + "/", "--host", host}, {"not a url"}} {
		if code, _, stderr := run(t, append([]string{"recrawl", "--config", cfg}, args...)...); code != exitUsage {
			t.Errorf("recrawl %q: exit %d (%s); want %d", args, code, stderr, exitUsage)
		}
	}
	for _, args := range [][]string{{"--failed"}, {"--host", "nowhere.example"}, {"http://" + host + "/never"}} {
		if code, _, stderr := run(t, append([]string{"recrawl", "--config", cfg}, args...)...); code != exitNotFound {
			t.Errorf("recrawl %q: exit %d (%s); want %d", args, code, stderr, exitNotFound)
		}
	}

	out := mustRun(t, "recrawl", "--config", cfg, "--host", host, "--status", "200")
	if want := "queued 5 URL(s) again, 0 already queued; queued for the next crawler run"; !strings.Contains(out, want) {
		t.Errorf("recrawl --host: %q; want %q", out, want)
	}
	out = mustRun(t, "recrawl", "--config", cfg, "http://"+host+"/", "http://"+host+"/p/1?unseen")
	if want := "queued 0 URL(s) again, 1 already queued, 1 never seen"; !strings.Contains(out, want) {
		t.Errorf("recrawl of a queued URL: %q; want %q", out, want)
	}
	if s, _ := statsJSON(t, cfg); s.Queued != 5 || s.Done != before.Done-5 {
		t.Errorf("stats after the recrawl: %+v; want 5 queued, %d done", s, before.Done-5)
	}

	if code, _, stderr := run(t, "run", "--config", cfg, "--exit-when-idle"); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	if s, _ := statsJSON(t, cfg); s.Queued != 0 || s.Done != before.Done {
		t.Errorf("stats after the run: %+v; want %d done again", s, before.Done)
	}
	repeats := 0
	for _, r := range site.Report().Repeats {
		if strings.HasPrefix(r, host+" ") {
			repeats++
		}
	}
	if repeats != 5 {
		t.Errorf("%d pages of %s fetched again; want 5 (%v)", repeats, host, site.Report().Repeats)
	}
	if code, _, _ := run(t, "check", "--config", cfg); code != exitOK {
		t.Errorf("check after the recrawl: exit %d", code)
	}
}
