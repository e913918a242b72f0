package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A config file that does not exist is a config error (exit 2) for every
// verb, not only for the query verbs that go through openQuerier.
func TestMissingConfigExits2(t *testing.T) {
	nope := filepath.Join(t.TempDir(), "nope.yaml")
	for _, args := range [][]string{
		{"check"},
		{"reload"},
		{"extract", "--rule", "product", "--url", "http://127.0.1.139/"},
		{"stats"},
	} {
		code, _, stderr := run(t, append(args, "--config", nope)...)
		if code != exitUsage || !strings.Contains(stderr, "nope.yaml") {
			t.Errorf("crawler %s with a missing config: exit %d, stderr %q; want %d naming the file",
				strings.Join(args, " "), code, stderr, exitUsage)
		}
	}
}
