package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// crawler seed --file reads seeds one per line, from a file or standard
// input, skipping blank lines and comments; one bad line refuses them all,
// naming the line.
func TestSeedFile(t *testing.T) {
	site := querySite(t, "127.0.1.208", 3)
	dir, cfg := crawledSite(t, site, site.Seeds()[0])
	host := site.Hosts()[0]
	a, b, c := "http://"+host+"/p/801", "http://"+host+"/p/802", "http://"+host+"/p/803"
	file := filepath.Join(dir, "seeds.txt")
	if err := os.WriteFile(file, []byte("# new pages\n"+a+"\n\n  "+b+"  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "seed", "--config", cfg, "--file", file); !strings.Contains(out, "added 2 new seed(s), 0 already known") {
		t.Errorf("seed --file printed %q", out)
	}
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"seed", "--config", cfg, "--file", "-", c}, strings.NewReader(a+"\n"), &out, &errb)
	if code != exitOK || !strings.Contains(out.String(), "added 1 new seed(s), 1 already known") {
		t.Errorf("seed URL --file -: exit %d, %q, %q; want c added, a known", code, out.String(), errb.String())
	}
	if err := os.WriteFile(file, []byte(a+"\n\nnot a url\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "seed", "--config", cfg, "--file", file); code != exitUsage || !strings.Contains(stderr, "line 3") {
		t.Errorf("a bad line: exit %d, %q; want 2 naming line 3", code, stderr)
	}
	if code, _, stderr := run(t, "seed", "--config", cfg); code != exitUsage || !strings.Contains(stderr, "no URLs") {
		t.Errorf("no URLs: exit %d, %q; want 2", code, stderr)
	}
	if n := strings.Count(mustRun(t, "queue", "--config", cfg, "--format", "jsonl"), "\n"); n != 3 {
		t.Errorf("%d URLs queued; want the 3 seeded", n)
	}
}
