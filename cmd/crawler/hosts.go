package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crawler/frontier"
	"crawler/internal/urlnorm"
)

func newHostsCmd(g *globals) *cobra.Command {
	var (
		format, only   string
		active, paused bool
	)
	cmd := &cobra.Command{
		Use:   "hosts [--host H] [--active] [--paused]",
		Short: "Show per-host progress and politeness state",
		Long: `Hosts lists every host the crawl knows, in host order: URLs queued, in
flight, done, failed and disallowed, its robots.txt state and its delay
between requests: from a running crawler the current one, for a stopped crawl
the one kept for its restart when longer than the configured one ("-" for
none), with "backed off until T" when a Retry-After, a circuit breaker or an
unreachable robots.txt holds the host's next request until T (and "breaker
tripped N times in a row" when the host's circuit breaker has opened since
its last healthy answer: each opening pauses it longer). The
robots.txt state is the running crawler's ("ok", "allow-all (404)",
"unreachable (retry at …)", "stale: …", "unavailable"), or the stored copy's
for a host it has not looked up since it started and on a stopped crawl
("ok (stored copy of T)", with ", to be fetched again" after a recrawl of a
disallowed URL); "unknown" when there is none.

REVISIT WAIT is how long the host's next revisit in line (a recrawl come
due, a refresh or "crawler recrawl") has waited since it came due, "-" when
none is queued. Revisits wait for every first fetch of their host, so a
host whose wait keeps growing is too slow for recrawl.interval: more pages
than its delay lets it fetch in one interval. "crawler stats" shows the
longest wait over all hosts.

--host shows one host (its politeness group under fetch.politeness_key:
domain); --active only the hosts with URLs queued or in flight; --paused only
the hosts "crawler pause --host" holds (their DELAY shows "paused"). When no
host is left to show, it exits 1 saying so, like the other listings.

JSON fields: host, queued, in_flight, done, failed, disallowed,
revisit_due_at (when a revisit is in line), robots, paused and paused_until (when paused), delay, next_at and breaker_trips (from
a running crawler; for a stopped crawl, when a pace is kept for its
restart).`,
		Example: `  crawler hosts
  crawler hosts --host example.com
  crawler hosts --active
  crawler hosts --paused
  crawler hosts --format jsonl | jq 'select(.failed > 0)'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "jsonl"); err != nil {
				return err
			}
			key := ""
			if only != "" {
				h, err := urlnorm.ParseHost(only)
				if err != nil {
					return usageErr(fmt.Errorf("--host %q: not a host or host:port", only))
				}
				key = h
			}
			q, err := openQuerier(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer q.close()
			if key != "" {
				key = q.cfg.Fetch.HostKey(key)
			}
			w := bufio.NewWriter(g.stdout)
			hw := newHostWriter(w, format)
			err = q.Hosts(cmd.Context(), func(h *frontier.HostInfo) error {
				if key != "" && h.Host != key || active && h.Queued+h.InFlight == 0 || paused && !h.Paused {
					return nil
				}
				return hw.write(h)
			})
			if err == nil && hw.n == 0 {
				err = noHosts(key, active, paused)
			}
			if ferr := hw.flush(); err == nil {
				err = ferr
			}
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			return queryErr(err)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or jsonl")
	cmd.Flags().StringVar(&only, "host", "", `only this host ("host" or "host:port")`)
	cmd.Flags().BoolVar(&active, "active", false, "only hosts with URLs queued or in flight")
	cmd.Flags().BoolVar(&paused, "paused", false, `only hosts "crawler pause" holds`)
	return cmd
}

// noHosts is the error of a hosts listing that found none (exit 1, no
// results), saying what was asked for.
func noHosts(key string, active, paused bool) error {
	var what string
	switch {
	case key != "" && active && paused:
		what = "host " + key + ": not paused with URLs queued or in flight"
	case key != "" && active:
		what = "host " + key + ": no URLs queued or in flight"
	case key != "" && paused:
		what = "host " + key + ": not paused"
	case key != "":
		what = "host " + key
	case active && paused:
		what = "no paused host has URLs queued or in flight"
	case active:
		what = "no host has URLs queued or in flight"
	case paused:
		what = "no host is paused"
	default:
		what = "the crawl knows no host yet"
	}
	return fmt.Errorf("%w: %s", errNotFound, what)
}

// hostWriter prints hosts as an aligned table or JSON lines.
type hostWriter struct{ *listWriter }

func newHostWriter(w io.Writer, format string) *hostWriter {
	return &hostWriter{newListWriter(w, format, "HOST\tQUEUED\tIN FLIGHT\tDONE\tFAILED\tDISALLOWED\tREVISIT WAIT\tDELAY\tROBOTS")}
}

func (hw *hostWriter) write(h *frontier.HostInfo) error {
	return hw.listWriter.write(h, func(w io.Writer) {
		delay := dash(h.Delay)
		if h.Paused {
			delay = "paused" + holdEnd(h.PausedUntil)
		} else if backedOff(h, time.Now()) {
			delay = strings.TrimPrefix(delay+", ", "-, ") + "backed off" + holdEnd(h.NextAt)
			switch {
			case h.BreakerTrips == 1:
				delay += " (breaker tripped once)"
			case h.BreakerTrips > 1:
				delay += fmt.Sprintf(" (breaker tripped %d times in a row)", h.BreakerTrips)
			}
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", h.Host, h.Queued, h.InFlight, h.Done, h.Failed, h.Disallowed,
			revisitWait(h.RevisitDueAt, time.Now()), delay, dash(oneLine(h.Robots)))
	})
}

// backedOff reports whether h's next request waits, at now, longer than
// its delay: a pause, not the ordinary gap.
func backedOff(h *frontier.HostInfo, now time.Time) bool {
	d, _ := time.ParseDuration(h.Delay) // 0 for none
	return h.NextAt.After(now.Add(d + time.Second))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
