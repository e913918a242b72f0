package main

import (
	"encoding/csv"
	"strings"
	"testing"

	"crawler/internal/testsite"
)

func TestExportCSVRule(t *testing.T) {
	site, err := testsite.Start(testsite.Options{Hosts: 1, Pages: 10, FirstIP: "127.0.1.78"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	dir := t.TempDir()
	path := writeConfig(t, dir, site.Seeds(), `extract:
  - name: page
    match: "/p/"
    fields:
      - {name: title, selector: "title", attr: text}
      - {name: links, selector: "a", attr: href, all: true, absolute: true}
`)
	if code, _, stderr := run(t, "run", "--config", path, "--exit-when-idle"); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	code, out, stderr := run(t, "export", "--format", "csv", "--rule", "page", "--config", path)
	if code != 0 {
		t.Fatalf("export csv: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, out)
	}
	if len(rows) != 1+10 { // header + the /p/ pages ("/" does not match)
		t.Fatalf("%d rows; want header + 10:\n%s", len(rows), out)
	}
	if strings.Join(rows[0], ",") != "url,title,links" {
		t.Errorf("header = %v", rows[0])
	}
	for _, r := range rows[1:] {
		if !strings.Contains(r[0], "/p/") || !strings.HasPrefix(r[1], "host 0 page ") || !strings.Contains(r[2], "http://") {
			t.Errorf("row %v", r)
		}
	}
	if code, _, _ := run(t, "export", "--format", "csv", "--config", path); code != exitUsage {
		t.Errorf("csv without --rule: exit %d; want 2", code)
	}
	if code, _, stderr := run(t, "export", "--format", "csv", "--rule", "nope", "--config", path); code != exitUsage || !strings.Contains(stderr, "page") {
		t.Errorf("unknown rule: exit %d %q; want 2 listing the rules", code, stderr)
	}
}
