package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newSearchCmd(g *globals) *cobra.Command {
	var (
		limit  int
		format string
	)
	cmd := &cobra.Command{
		Use:   "search TEXT...",
		Short: "Find stored pages whose title or text contains TEXT",
		Long: `Search lists, in URL order, the stored pages whose title or visible text
contains TEXT (the words given, joined by spaces), ignoring case and runs of
white space. The text is the stored HTML body with tags, scripts and styles
stripped, or a text/* body as is. It exits 1 when nothing matches.

There is no index: every stored HTML or text body is decompressed and
scanned, so a search takes time in proportion to the bytes stored.`,
		Example: `  crawler search "opening hours"
  crawler search pricing --limit 10 --format jsonl`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "jsonl"); err != nil {
				return err
			}
			if limit < 0 {
				return usageErr(errors.New("--limit must be >= 0"))
			}
			text := strings.Join(args, " ")
			out := newPageWriter(g.stdout, format)
			return listTo(cmd.Context(), g, out.listWriter, fmt.Sprintf("no stored page contains %q", text), func(q *querier) error {
				return q.Search(cmd.Context(), text, limit, out.write)
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "stop after this many pages (0: no limit)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or jsonl")
	return cmd
}
