package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"crawler/api"
	"crawler/config"
	"crawler/crawl"
	"crawler/store"
)

// storeWith builds a stopped crawl holding pages and returns its config.
func storeWith(t *testing.T, pages ...*store.Page) string {
	t.Helper()
	return storeIn(t, t.TempDir(), pages...)
}

// storeIn builds, in dir, a stopped crawl holding pages and returns its
// config.
func storeIn(t *testing.T, dir string, pages ...*store.Page) string {
	t.Helper()
	cfg := writeConfig(t, dir, []string{"http://127.0.1.139/"}, "")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "data", "crawl.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *store.Tx) error {
		for _, p := range pages {
			if err := tx.PutPage(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Titles come from any page on the web, and the parser keeps control
// characters in them (only white space is collapsed). The table and text
// outputs are for people on a terminal: an escape sequence in a title must
// not reach it, and must not shift the columns.
func TestTextOutputHasNoControlCharacters(t *testing.T) {
	evil := "a\x1b]0;pwned\x07b\u009b2Jc\bd\x7fe"
	cfg := storeWith(t, &store.Page{URL: "http://127.0.1.139/", Host: "127.0.1.139", Status: 200, Title: evil,
		Description: evil, FetchedAt: time.Now()},
		&store.Page{URL: "http://127.0.1.139/x", Host: "127.0.1.139", Status: 0, Error: "reset\x1b[2J" + evil,
			FetchedAt: time.Now()})
	for _, args := range [][]string{
		{"pages", "list"},
		{"pages", "get", "http://127.0.1.139/"},
		{"pages", "get", "http://127.0.1.139/x"},
	} {
		code, out, stderr := run(t, append(args, "--config", cfg)...)
		if code != 0 {
			t.Fatalf("crawler %s: exit %d, %s", strings.Join(args, " "), code, stderr)
		}
		for _, r := range out {
			if r != '\n' && unicode.IsControl(r) {
				t.Errorf("crawler %s: output holds control character %q:\n%q", strings.Join(args, " "), r, out)
				break
			}
		}
	}
}

// Extracted values come from the web: the text output keeps each on its
// own line and lets no control character (an escape sequence) reach the
// terminal. The JSON output carries them exactly.
func TestExtractTextHasNoControlCharacters(t *testing.T) {
	rule := &config.ExtractRule{Name: "r", Fields: []config.ExtractField{{Name: "title"}, {Name: "tags"}}}
	res := &extractResult{URL: "http://127.0.1.139/", Rule: "r", rule: rule, Fields: map[string]any{
		"title": "Shop\x1b]0;pwned\x07\nsecond line",
		"tags":  []string{"a\x1b[2Jb", "c\rd"},
	}}
	var b strings.Builder
	if err := writeExtractText(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if i := strings.IndexFunc(out, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }); i >= 0 {
		t.Errorf("text output has control character %q: %q", out[i], out)
	}
	if n := strings.Count(out, "\n"); n != 6 { // url, rule, title, tags:, two items
		t.Errorf("text output has %d lines; want 6: %q", n, out)
	}
}

// A failed reload's error joins every config error with newlines; stats
// prints it on its row, or the extra errors would fall outside the table.
func TestStatsReloadErrorOnOneLine(t *testing.T) {
	s := &api.Stats{Running: true, LastReload: &crawl.ReloadStatus{At: time.Now(), Err: "fetch.timeout: must be > 0\nscope.max_depth: must be >= 0"}}
	var b strings.Builder
	if err := writeStats(&b, s, "daemon"); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "scope.max_depth") && !strings.HasPrefix(line, "last reload") {
			t.Errorf("the second reload error is on a line of its own: %q", b.String())
		}
	}
	if !strings.Contains(b.String(), "scope.max_depth") {
		t.Errorf("the second reload error is missing: %q", b.String())
	}
}
