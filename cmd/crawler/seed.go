package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"crawler/internal/urlnorm"
)

// seedBatch is how many seeds go to the crawl per call: a seed file may
// hold millions. A daemon's client splits a batch further when its URLs
// are long (api.Client.Seed).
const seedBatch = 10_000

func newSeedCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "seed [URL...] [--file F]",
		Short: "Add seed URLs to the crawl",
		Long: `Seed adds URLs to the crawl as depth-0 seeds. The running crawler starts
fetching them at once; for a stopped crawl they are queued in its database and
fetched by the next "crawler run". When scope.allowed_hosts is empty, a
seed's host joins the scope for good. URLs already seen are left alone.

--file reads more URLs from a file ("-" for standard input), one per line;
blank lines and lines starting with # are skipped. Every URL is checked before
any is added: one invalid URL exits 2, naming its line. They are then added
10,000 at a time.`,
		Example: `  crawler seed https://example.org/
  crawler seed https://a.example/ https://b.example/start
  crawler seed --file seeds.txt
  grep -h '^https://' lists/*.txt | crawler seed --file -`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			urls, err := urlArgs(g, "seed", args, file)
			if err != nil {
				return err
			}
			q, err := openQuerier(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			defer q.close()
			added := 0
			err = inBatches(urls, func(batch []string) error {
				n, err := q.Seed(cmd.Context(), batch) // n counts what a failed batch added too
				added += n
				if err != nil && added > 0 {
					err = fmt.Errorf("%w (after adding %d new seed(s))", err, added)
				}
				return err
			})
			if err != nil {
				return queryErr(err)
			}
			_, err = fmt.Fprintf(g.stdout, "added %d new seed(s), %d already known; %s\n", added, len(urls)-added, q.whenFetched())
			return err
		},
	}
	cmd.Flags().StringVar(&file, "file", "", `read seed URLs from this file, one per line ("-": standard input)`)
	return cmd
}

// urlArgs returns the URLs of verb's command line and of file, every one
// checked: an invalid one is a usage error naming it (and its line).
func urlArgs(g *globals, verb string, args []string, file string) ([]string, error) {
	for _, raw := range args {
		if _, err := urlnorm.Parse(raw); err != nil {
			return nil, usageErr(fmt.Errorf("%s %q: %w", verb, raw, err))
		}
	}
	urls := args
	if file != "" {
		var in io.Reader = g.stdin
		name := "standard input"
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				return nil, usageErr(fmt.Errorf("%s file: %w", verb, err))
			}
			defer f.Close()
			in, name = f, file
		}
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), urlnorm.MaxLength+1<<10)
		for line := 1; sc.Scan(); line++ {
			raw := strings.TrimSpace(sc.Text())
			if raw == "" || strings.HasPrefix(raw, "#") {
				continue
			}
			if _, err := urlnorm.Parse(raw); err != nil {
				return nil, usageErr(fmt.Errorf("%s %s line %d: %q: %w", verb, name, line, raw, err))
			}
			urls = append(urls, raw)
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				err = fmt.Errorf("a line is longer than a URL may be (%d bytes)", urlnorm.MaxLength)
			}
			return nil, usageErr(fmt.Errorf("%s %s: %w", verb, name, err))
		}
	}
	if len(urls) == 0 {
		return nil, usageErr(fmt.Errorf("%s: no URLs (give some, or --file)", verb))
	}
	return urls, nil
}

// inBatches calls fn on urls, seedBatch at a time, and stops at its first
// error.
func inBatches(urls []string, fn func(batch []string) error) error {
	for start := 0; start < len(urls); start += seedBatch {
		if err := fn(urls[start:min(start+seedBatch, len(urls))]); err != nil {
			return err
		}
	}
	return nil
}
