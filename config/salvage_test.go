package config

import (
	"os"
	"path/filepath"
	"testing"
)

// Salvage finds data_dir and api.socket in a file Load refuses, and
// gives up on a file that is not YAML or where they are not strings.
func TestSalvage(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml            string
		ok              bool
		dataDir, socket string
	}{
		"bad value elsewhere": {"data_dir: /srv/crawl\nfetch:\n  per_host_delay: 20\n", true, "/srv/crawl", ""},
		"unknown key":         {"fetch_typo: 1\napi:\n  socket: /run/c.sock\ndata_dir: d\n", true, "d", "/run/c.sock"},
		"duplicate key":       {"data_dir: first\ndata_dir: second\n", true, "first", ""},
		"neither":             {"seeds: [1, 2]\n", true, "./data", ""},
		"empty":               {"", true, "./data", ""},
		"not YAML":            {"data_dir: [unclosed\n", false, "", ""},
		"data_dir not text":   {"data_dir: {a: 1}\n", false, "", ""},
		"socket not text":     {"api:\n  socket: 7\n", false, "", ""},
		"api not a mapping":   {"api: 7\ndata_dir: d\n", true, "d", ""},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crawler.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c := Salvage(path)
			switch {
			case !tc.ok && c != nil:
				t.Errorf("Salvage = data_dir %q, socket %q; want nil", c.DataDir, c.API.Socket)
			case tc.ok && c == nil:
				t.Error("Salvage = nil")
			case tc.ok && (c.DataDir != tc.dataDir || c.API.Socket != tc.socket):
				t.Errorf("Salvage = data_dir %q, socket %q; want %q, %q", c.DataDir, c.API.Socket, tc.dataDir, tc.socket)
			}
		})
	}
	if Salvage(filepath.Join(t.TempDir(), "missing.yaml")) != nil {
		t.Error("Salvage of a missing file: not nil")
	}
}
