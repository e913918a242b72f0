package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"crawler/api"
)

func newStatsCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show the crawl's totals",
		Long: `Stats shows pages stored, URLs queued, in flight, done, failed and
disallowed, hosts, bytes stored, and pages stored per second over the last
minute; for a running crawler also its uptime. When hosts have revisits (a
recrawl come due, a refresh, "crawler recrawl") in line, "revisits waiting"
says how many and how long the longest has waited since it came due (see
"crawler hosts": REVISIT WAIT). A stopped crawl has nothing in
flight and a rate of 0; URLs that were in flight when it stopped count as
queued.

JSON fields: pages_stored, queued, in_flight, done, failed, disallowed,
trapped, hosts, active_hosts, backed_off_hosts (waiting beyond their delay
for a Retry-After, a breaker or a robots.txt retry; for a stopped crawl, the
pauses kept for its restart), revisit_hosts and oldest_revisit_due_at (when
a revisit is in line), body_bytes, file_bytes, value_bytes,
value_garbage_bytes, value_logs (2 while a reclaim drains the older log),
reclaim_off, pages_per_second, running; running only: uptime_seconds,
reclaiming, reclaims, reclaim_freed_bytes, paused, last_reload; holds (the
pauses in force: host, since, until; no host is the whole crawl).`,
		Example: `  crawler stats
  crawler stats --format json | jq .queued`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			q, err := openQuerier(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer q.close()
			s, err := q.Stats(cmd.Context())
			if err != nil {
				return queryErr(err)
			}
			if !s.Running && q.cfg != nil {
				s.ReclaimOff = q.cfg.Store.ReclaimGarbagePercent == 0
			}
			w := bufio.NewWriter(g.stdout)
			if format == "json" {
				err = json.NewEncoder(w).Encode(s)
			} else {
				err = writeStats(w, s, q.source)
			}
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// writeStats prints s for people; source says where it came from.
func writeStats(w io.Writer, s *api.Stats, source string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "crawl\t%s\n", source)
	fmt.Fprintf(tw, "pages stored\t%d\n", s.PagesStored)
	fmt.Fprintf(tw, "queued\t%d\n", s.Queued)
	fmt.Fprintf(tw, "in flight\t%d\n", s.InFlight)
	fmt.Fprintf(tw, "done\t%d\n", s.Done)
	fmt.Fprintf(tw, "failed\t%d\n", s.Failed)
	fmt.Fprintf(tw, "disallowed\t%d\n", s.Disallowed)
	fmt.Fprintf(tw, "trap links dropped\t%d\n", s.Trapped)
	backedOff := ""
	if s.BackedOffHosts > 0 {
		backedOff = fmt.Sprintf(", %d backed off (Retry-After, breaker, robots.txt retry)", s.BackedOffHosts)
	}
	fmt.Fprintf(tw, "hosts\t%d (%d with URLs queued%s)\n", s.Hosts, s.ActiveHosts, backedOff)
	if s.RevisitHosts > 0 {
		fmt.Fprintf(tw, "revisits waiting\t%s with a revisit in line%s\n", hostCount(s.RevisitHosts), dueSince(s.OldestRevisitDueAt, time.Now()))
	}
	fmt.Fprintf(tw, "bytes stored\t%s of compressed bodies, %s database file, %s value log (%s of it replaced records and bodies)\n",
		humanBytes(s.BodyBytes), humanBytes(s.FileBytes), humanBytes(s.ValueBytes), humanBytes(s.GarbageBytes))
	fmt.Fprintf(tw, "value log reclaim\t%s\n", reclaimLine(s))
	fmt.Fprintf(tw, "pages/s (last minute)\t%.1f\n", s.PagesPerSecond)
	for _, l := range holdLines(s.Holds) {
		fmt.Fprintf(tw, "paused by operator\t%s\n", l)
	}
	if s.Running {
		fmt.Fprintf(tw, "uptime\t%s\n", s.Uptime())
		if s.Paused {
			fmt.Fprintf(tw, "fetching\tPAUSED: free disk space below store.min_free_bytes\n")
		}
		if r := s.LastReload; r != nil {
			res := "ok"
			switch {
			case !r.OK:
				// One row: the config errors it joins are "; "-separated.
				res = "FAILED, old config kept: " + oneLine(strings.ReplaceAll(r.Err, "\n", "; "))
			case r.Err != "":
				res = oneLine(r.Err) // "config reloaded, but its seeds were not queued: ..."
			}
			fmt.Fprintf(tw, "last reload\t%s (%s)\n", r.At.Format(time.RFC3339), res)
		}
	}
	return tw.Flush()
}

// hostCount is "1 host" or "n hosts".
func hostCount(n int64) string {
	if n == 1 {
		return "1 host"
	}
	return fmt.Sprintf("%d hosts", n)
}

// dueSince says how long a revisit that came due at due has waited by
// now; "" when that is unknown (zero due).
func dueSince(due, now time.Time) string {
	if due.IsZero() {
		return ""
	}
	return fmt.Sprintf(", the longest waiting %s (due since %s)", revisitWait(due, now), due.UTC().Format(time.RFC3339))
}

// revisitWait is how long a revisit due at due has waited by now, to the
// second; "-" when due is zero.
func revisitWait(due, now time.Time) string {
	if due.IsZero() {
		return "-"
	}
	return max(now.Sub(due), 0).Round(time.Second).String()
}

// reclaimLine says how the value log's replaced records and bodies are
// being reclaimed: by the daemon as it runs (crawl/reclaim.go), or by
// crawler compact while it is stopped.
func reclaimLine(s *api.Stats) string {
	var state string
	switch {
	case s.ReclaimOff && s.ValueLogs > 1:
		return "off (store.reclaim_garbage_percent: 0), one interrupted: crawler compact finishes it"
	case s.ReclaimOff:
		return "off (store.reclaim_garbage_percent: 0): crawler compact reclaims it, daemon stopped"
	case s.Reclaiming:
		state = "running"
	case s.Running:
		state = "idle"
	case s.ValueLogs > 1:
		return "interrupted: the daemon finishes it when it starts (or run crawler compact)"
	default:
		return "by the daemon as it runs (store.reclaim_garbage_percent), or by crawler compact"
	}
	if s.Reclaims > 0 {
		state += fmt.Sprintf(", %d done since start, %s of old logs deleted", s.Reclaims, humanBytes(s.ReclaimFreedBytes))
	}
	return state
}

// humanBytes formats n in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
