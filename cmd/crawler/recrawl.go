package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"crawler/api"
	"crawler/crawl"
	"crawler/store"
)

func newRecrawlCmd(g *globals) *cobra.Command {
	var (
		file        string
		failed, all bool
		pf          pageFilterFlags
	)
	cmd := &cobra.Command{
		Use:   "recrawl [URL...] [--file F] | --host H | --failed | --all ...",
		Short: "Fetch finished URLs again now",
		Long: `Recrawl queues URLs the crawl has finished with to be fetched again now,
whatever they finished as:

  done        fetched again (conditionally, with the stored ETag and
              Last-Modified); if that fetch fails, the stored copy stays,
              the failure noted in extra.recrawl_error
  failed      retried afresh (retries start over): after a host's outage
  disallowed  checked against robots.txt again, fetched anew from the site
              (on a stopped crawl, by its next run)

URLs queued or being fetched are left as they are; URLs the crawl never saw
are not added ("crawler seed" adds them).

Name the URLs (arguments, or --file, one per line, "-" for standard input), or
select stored pages with the filters of "crawler pages list": --host, --status,
--prefix, --since, and --failed for pages whose record holds an error. --all
selects every stored page. A filter that selects nothing exits 1. Disallowed
URLs have no page record (they were never requested): name them.`,
		Example: `  crawler recrawl https://example.com/ https://example.com/news
  crawler recrawl --host example.com --failed      # after the site's outage
  crawler recrawl --host example.com --status 404
  crawler recrawl --prefix https://example.com/blog/ --since 720h
  crawler recrawl --all`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			filtered := all || failed || pf.given(fl)
			named := len(args) > 0 || file != ""
			switch {
			case named && filtered:
				return usageErr(errors.New("recrawl: give URLs (or --file), or filters (or --all), not both"))
			case !named && !filtered:
				return usageErr(errors.New("recrawl: give URLs, --file, filters (--host, --failed, ...) or --all"))
			}
			var urls []string
			if named {
				var err error
				if urls, err = urlArgs(g, "recrawl", args, file); err != nil {
					return err
				}
			}
			f, err := pf.filter(fl)
			if err != nil {
				return err
			}
			q, err := openQuerier(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			defer q.close()
			var res crawl.RecrawlResult
			if named {
				err = recrawlBatches(cmd.Context(), q, urls, &res)
			} else {
				err = recrawlPages(cmd.Context(), q, f, failed, &res)
			}
			if err != nil {
				return queryErr(err)
			}
			switch {
			case !named && res == (crawl.RecrawlResult{}):
				return fmt.Errorf("%w: no stored page matches", errNotFound)
			case named && res.Queued == 0 && res.Waiting == 0:
				return fmt.Errorf("%w: the crawl never saw these URLs (crawler seed adds them)", errNotFound)
			}
			msg := fmt.Sprintf("queued %d URL(s) again, %d already queued", res.Queued, res.Waiting)
			if res.Unknown > 0 {
				msg += fmt.Sprintf(", %d never seen (crawler seed adds them)", res.Unknown)
			}
			_, err = fmt.Fprintf(g.stdout, "%s; %s\n", msg, q.whenFetched())
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&file, "file", "", `read URLs from this file, one per line ("-": standard input)`)
	pf.register(fl)
	fl.BoolVar(&failed, "failed", false, "only pages of URLs that failed")
	fl.BoolVar(&all, "all", false, "every stored page")
	return cmd
}

// recrawlBatches recrawls urls seedBatch at a time, adding up what each
// batch did in res.
func recrawlBatches(ctx context.Context, q *querier, urls []string, res *crawl.RecrawlResult) error {
	return inBatches(urls, func(batch []string) error {
		r, err := q.Recrawl(ctx, batch) // r counts what a failed batch did too
		res.Add(r)
		if err != nil && res.Queued > 0 {
			err = fmt.Errorf("%w (after queueing %d URL(s) again)", err, res.Queued)
		}
		return err
	})
}

// recrawlPages recrawls the stored pages f selects (only failed ones when
// failed), as the listing streams them: memory holds one batch, however
// many pages match.
func recrawlPages(ctx context.Context, q *querier, f api.PageFilter, failed bool, res *crawl.RecrawlResult) error {
	batch := make([]string, 0, seedBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := recrawlBatches(ctx, q, batch, res)
		batch = batch[:0]
		return err
	}
	err := q.ListPages(ctx, f, func(p *store.Page) error {
		if failed && p.Error == "" {
			return nil
		}
		batch = append(batch, p.URL)
		if len(batch) == seedBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
