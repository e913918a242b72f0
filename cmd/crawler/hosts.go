package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"crawler/frontier"
)

func newHostsCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "hosts",
		Short: "Show per-host progress and politeness state",
		Long: `Hosts lists every host the crawl knows, in host order: URLs queued, in
flight, done, failed and disallowed, and, from a running crawler, the host's
robots.txt state and its current delay between requests (they show as "-"
for a stopped crawl).

JSON fields: host, queued, in_flight, done, failed, disallowed, and from a
running crawler robots, delay and next_at.`,
		Example: `  crawler hosts
  crawler hosts --format jsonl | jq 'select(.failed > 0)'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "jsonl"); err != nil {
				return err
			}
			q, err := openQuerier(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer q.close()
			w := bufio.NewWriter(g.stdout)
			hw := newHostWriter(w, format)
			err = q.Hosts(cmd.Context(), hw.write)
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
	return cmd
}

// hostWriter prints hosts as an aligned table or JSON lines.
type hostWriter struct{ *listWriter }

func newHostWriter(w io.Writer, format string) *hostWriter {
	return &hostWriter{newListWriter(w, format, "HOST\tQUEUED\tIN FLIGHT\tDONE\tFAILED\tDISALLOWED\tDELAY\tROBOTS")}
}

func (hw *hostWriter) write(h *frontier.HostInfo) error {
	return hw.listWriter.write(h, func(w io.Writer) {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", h.Host, h.Queued, h.InFlight, h.Done, h.Failed, h.Disallowed,
			dash(h.Delay), dash(oneLine(h.Robots)))
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
