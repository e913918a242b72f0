package main

import (
	"strings"
	"testing"

	"crawler/api"
)

// The stats line about the value log's reclaim tells a stopped crawl from
// a running one, an interrupted reclaim from none, and counts the
// daemon's reclaims.
func TestStatsReclaimLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stats api.Stats
		want  string
	}{
		{"stopped", api.Stats{ValueLogs: 1}, "by the daemon as it runs (store.reclaim_garbage_percent), or by crawler compact"},
		{"stopped mid-reclaim", api.Stats{ValueLogs: 2}, "interrupted: the daemon finishes it when it starts (or run crawler compact)"},
		{"running, none yet", api.Stats{Running: true, ValueLogs: 1}, "idle"},
		{"running a reclaim", api.Stats{Running: true, ValueLogs: 2, Reclaiming: true}, "running"},
		{"running, after two", api.Stats{Running: true, ValueLogs: 1, Reclaims: 2, ReclaimFreedBytes: 3 << 20},
			"idle, 2 done since start, 3.0 MiB of old logs deleted"},
		{"turned off", api.Stats{Running: true, ValueLogs: 1, ReclaimOff: true},
			"off (store.reclaim_garbage_percent: 0): crawler compact reclaims it, daemon stopped"},
		{"turned off mid-reclaim", api.Stats{ValueLogs: 2, ReclaimOff: true},
			"off (store.reclaim_garbage_percent: 0), one interrupted: crawler compact finishes it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := writeStats(&b, &tc.stats, "test"); err != nil {
				t.Fatal(err)
			}
			line := ""
			for l := range strings.Lines(b.String()) {
				if strings.HasPrefix(l, "value log reclaim") {
					line = strings.TrimSpace(strings.TrimPrefix(l, "value log reclaim"))
				}
			}
			if line != tc.want {
				t.Errorf("value log reclaim line %q; want %q\n%s", line, tc.want, b.String())
			}
		})
	}
}
