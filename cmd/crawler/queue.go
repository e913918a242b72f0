package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"crawler/api"
	"crawler/frontier"
)

func newQueueCmd(g *globals) *cobra.Command {
	var (
		f      api.QueueFilter
		format string
	)
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List the queued URLs, in the order they are fetched",
		Long: `Queue lists the URLs waiting in the frontier: host by host, each host's in
the order they will be fetched (breadth-first: by depth, then discovery;
revisits of pages fetched before, in the order they came due, after them),
then the retries waiting for their time, soonest first. STATE is "queued",
"revisit due T" for a revisit (a recrawl come due, a refresh or "crawler
recrawl") with when it came due, "retry T" for a retry and its time, or "in
flight": a running crawler marks the URLs its workers are fetching now.
Pages waiting to be recrawled are not queued and not listed. It streams, holding only the
queue keys of URLs staged for a merge (about 60 bytes each), and exits 1
when nothing is queued.

JSON fields: url, host, depth, parent, attempts, retry_at, in_flight,
revisit, due_at.`,
		Example: `  crawler queue --host example.com --limit 20
  crawler queue --format jsonl | jq -r .url | grep calendar`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "jsonl"); err != nil {
				return err
			}
			if f.Limit < 0 {
				return usageErr(errors.New("--limit must be >= 0"))
			}
			out := newQueueWriter(g.stdout, format)
			return listTo(cmd.Context(), g, out.listWriter, "no URL is queued", func(q *querier) error {
				return q.Queue(cmd.Context(), f, out.write)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Host, "host", "", `only URLs of this host ("host" or "host:port")`)
	fl.IntVar(&f.Limit, "limit", 0, "stop after this many URLs (0: no limit)")
	fl.StringVar(&format, "format", "table", "output format: table or jsonl")
	return cmd
}

// queueWriter prints queued URLs as an aligned table or JSON lines.
type queueWriter struct{ *listWriter }

func newQueueWriter(w io.Writer, format string) *queueWriter {
	return &queueWriter{newListWriter(w, format, "STATE\tDEPTH\tATTEMPTS\tURL\tPARENT")}
}

func (qw *queueWriter) write(u *frontier.QueuedURL) error {
	return qw.listWriter.write(u, func(w io.Writer) {
		state := "queued"
		switch {
		case u.InFlight:
			state = "in flight"
		case !u.RetryAt.IsZero():
			state = "retry " + u.RetryAt.UTC().Format(time.RFC3339)
		case u.Revisit && !u.DueAt.IsZero():
			state = "revisit due " + u.DueAt.UTC().Format(time.RFC3339)
		case u.Revisit:
			state = "revisit"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\n", state, u.Depth, u.Attempts, oneLine(u.URL), dash(oneLine(u.Parent)))
	})
}
