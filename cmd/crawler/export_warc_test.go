package main

import (
	"strings"
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
