package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newResumeCmd(g *globals) *cobra.Command {
	var (
		hosts []string
		all   bool
	)
	cmd := &cobra.Command{
		Use:   "resume [--host H ...] | --all",
		Short: `Lift holds "crawler pause" placed`,
		Long: `Resume lifts the hold of the whole crawl, or with --host the holds of the
hosts named (repeat it), or with --all every hold. The running crawler starts
requests again at once, keeping each host's politeness delay from its last
request; for a stopped crawl the next run starts without the holds lifted.`,
		Example: `  crawler resume
  crawler resume --host shop.example.com
  crawler resume --all`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all && len(hosts) > 0 {
				return usageErr(errors.New("resume: give --host or --all, not both"))
			}
			q, err := openQuerier(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			defer q.close()
			targets := hosts
			switch {
			case all:
				holds, err := q.Holds(cmd.Context())
				if err != nil {
					return queryErr(err)
				}
				targets = targets[:0]
				for _, h := range holds {
					targets = append(targets, h.Host)
				}
				if len(targets) == 0 {
					_, err := fmt.Fprintln(g.stdout, "nothing is paused")
					return err
				}
			case len(targets) == 0:
				targets = []string{""} // the whole crawl
			}
			n, err := q.Resume(cmd.Context(), targets)
			if err != nil {
				return queryErr(err)
			}
			if n == 0 {
				_, err = fmt.Fprintln(g.stdout, "nothing named was paused")
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "lifted %d hold(s) of %d named\n", n, len(targets))
			return err
		},
	}
	cmd.Flags().StringArrayVar(&hosts, "host", nil, `lift this host's hold ("host" or "host:port"), not the whole crawl's; repeatable`)
	cmd.Flags().BoolVar(&all, "all", false, "lift every hold: the whole crawl's and every host's")
	return cmd
}
