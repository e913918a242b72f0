package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"crawler/internal/urlnorm"
)

func newSeedCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "seed URL...",
		Short: "Add seed URLs to the crawl",
		Long: `Seed adds URLs to the crawl as depth-0 seeds. The running crawler starts
fetching them at once; for a stopped crawl they are queued in its database and
fetched by the next "crawler run". When scope.allowed_hosts is empty, a
seed's host joins the scope for good. URLs already seen are left alone.
Every URL is checked before any is added: one invalid URL exits 2.`,
		Example: `  crawler seed https://example.org/
  crawler seed https://a.example/ https://b.example/start`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, raw := range args {
				if _, err := urlnorm.Parse(raw); err != nil {
					return usageErr(fmt.Errorf("seed %q: %w", raw, err))
				}
			}
			q, err := openQuerier(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			defer q.close()
			n, err := q.Seed(cmd.Context(), args)
			if err != nil {
				return queryErr(err)
			}
			where := "the running crawler fetches them now"
			if !q.running {
				where = "queued for the next crawler run"
			}
			_, err = fmt.Fprintf(g.stdout, "added %d new seed(s), %d already known; %s\n", n, len(args)-n, where)
			return err
		},
	}
}
