package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crawler/frontier"
)

func newPauseCmd(g *globals) *cobra.Command {
	var (
		hosts  []string
		forDur time.Duration
		until  string
		list   bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "pause [--host H ...] [--for D | --until T] | --list",
		Short: "Stop starting requests, for the whole crawl or some hosts",
		Long: `Pause holds the whole crawl, or with --host the hosts named ("host" or
"host:port"; repeat it), until "crawler resume" lifts the hold, or with --for
or --until until then. Under a hold no request starts; requests already sent
finish and are stored. URLs found meanwhile are queued as usual.

The running crawler applies a hold at once. Holds are stored with the crawl:
they outlive restarts, and pausing a stopped crawl makes its next run start
paused. Pausing a paused host (or crawl) again replaces its hold: a new --for
shortens or lengthens it. Under fetch.politeness_key: domain, a host's hold
holds its whole registrable domain.

--list prints the holds in force ("crawler stats" and "crawler hosts --paused"
show them too), exiting 1 when nothing is paused.`,
		Example: `  crawler pause                              # the whole crawl, until resumed
  crawler pause --host shop.example.com --for 2h   # its owner asked for a break
  crawler pause --host a.example --host b.example --until 2026-12-01T06:00:00Z
  crawler pause --list`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			if list {
				if fl.Changed("host") || fl.Changed("for") || fl.Changed("until") {
					return usageErr(errors.New("pause: --list takes no --host, --for or --until"))
				}
				if err := checkFormat(format, "table", "jsonl"); err != nil {
					return err
				}
				return listHolds(cmd, g, format)
			}
			end, err := holdUntil(fl.Changed("for"), forDur, until)
			if err != nil {
				return err
			}
			targets := hosts
			if len(targets) == 0 {
				targets = []string{""} // the whole crawl
			}
			q, err := openQuerier(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			defer q.close()
			holds, err := q.Pause(cmd.Context(), targets, end)
			if err != nil {
				return queryErr(err)
			}
			now := "the running crawler starts no new request under them"
			if !q.running {
				now = "the next crawler run starts under them"
			}
			for _, h := range holds {
				fmt.Fprintf(g.stdout, "paused %s%s\n", holdWhat(h), holdEnd(h.Until))
			}
			_, err = fmt.Fprintf(g.stdout, "%s; \"crawler resume\" lifts them\n", now)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&hosts, "host", nil, `pause this host ("host" or "host:port"), not the whole crawl; repeatable`)
	fl.DurationVar(&forDur, "for", 0, "end the hold by itself after this long, e.g. 2h")
	fl.StringVar(&until, "until", "", "end the hold by itself at this time (RFC 3339, e.g. 2026-12-01T06:00:00Z)")
	fl.BoolVar(&list, "list", false, "print the holds in force instead")
	fl.StringVar(&format, "format", "table", "output format of --list: table or jsonl")
	return cmd
}

// holdUntil returns the end --for or --until give a hold; zero for none.
func holdUntil(forGiven bool, d time.Duration, until string) (time.Time, error) {
	switch {
	case forGiven && until != "":
		return time.Time{}, usageErr(errors.New("pause: give --for or --until, not both"))
	case forGiven:
		if d <= 0 {
			return time.Time{}, usageErr(fmt.Errorf("pause: --for %s: want a positive duration", d))
		}
		return time.Now().Add(d), nil
	case until != "":
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return time.Time{}, usageErr(fmt.Errorf("pause: --until %q: want an RFC 3339 time such as 2026-12-01T06:00:00Z", until))
		}
		if !t.After(time.Now()) {
			return time.Time{}, usageErr(fmt.Errorf("pause: --until %s is not in the future", until))
		}
		return t, nil
	}
	return time.Time{}, nil
}

// listHolds prints the holds in force; none is errNotFound (exit 1).
func listHolds(cmd *cobra.Command, g *globals, format string) error {
	q, err := openQuerier(cmd.Context(), g, false)
	if err != nil {
		return err
	}
	defer q.close()
	holds, err := q.Holds(cmd.Context())
	if err != nil {
		return queryErr(err)
	}
	lw := newListWriter(g.stdout, format, "PAUSED\tSINCE\tUNTIL")
	for _, h := range holds {
		err := lw.write(h, func(w io.Writer) {
			end := "crawler resume" // no end of its own: not "resumed", which reads as done
			if !h.Until.IsZero() {
				end = h.Until.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", holdWhat(h), h.Since.Format(time.RFC3339), end)
		})
		if err != nil {
			return err
		}
	}
	if err := lw.flush(); err != nil {
		return err
	}
	if len(holds) == 0 {
		return fmt.Errorf("%w: nothing is paused", errNotFound)
	}
	return nil
}

// holdWhat names what h holds, for people.
func holdWhat(h frontier.Hold) string {
	if h.Host == "" {
		return "the whole crawl"
	}
	return h.Host
}

// holdEnd says when a hold ending at until ends, for people.
func holdEnd(until time.Time) string {
	if until.IsZero() {
		return ""
	}
	return " until " + until.Format(time.RFC3339)
}

// holdLines are the stats rows of holds.
func holdLines(holds []frontier.Hold) []string {
	var out, hosts []string
	for _, h := range holds {
		if h.Host == "" {
			out = append(out, "the whole crawl"+holdEnd(h.Until)+` ("crawler resume" lifts it)`)
		} else {
			hosts = append(hosts, h.Host+holdEnd(h.Until))
		}
	}
	if n := len(hosts); n > 0 {
		const show = 5
		more := ""
		if n > show {
			hosts, more = hosts[:show], fmt.Sprintf(", and %d more (crawler pause --list)", n-show)
		}
		out = append(out, fmt.Sprintf("%d host(s): %s%s", n, strings.Join(hosts, ", "), more))
	}
	return out
}
