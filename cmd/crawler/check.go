package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"crawler/frontier"
	"crawler/store"
)

// maxProblems bounds how many problems check prints; the count it reports
// covers them all (the frontier stops listing its own at 100).
const maxProblems = 200

func newCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify the database file and the crawl's invariants (daemon stopped)",
		Long: `Check opens data_dir/crawl.db read-only and verifies, in this order:

  bbolt     every page of the file is reachable once and well-formed
            (bbolt's own Tx.Check); a damaged file stops the check here.
  frontier  every queued URL sits in exactly one queue or retry list and
            every entry there belongs to a queued URL (so no URL is lost or
            left in flight by a crash); the done, failed and disallowed
            counters and each host's queued total match the URL records.
  store     every page record decodes; the page counter equals the number
            of records; every record's URL is known to the frontier and is
            not disallowed; every done or failed URL has a record; every
            stored robots.txt file decodes.

It prints "ok: ..." and exits 0 when everything holds; otherwise it prints
each problem on stdout and exits 4. Like the other offline verbs it needs the
daemon stopped (bbolt locks the file): a running daemon, a missing or a
corrupt file is exit 3.`,
		Example: `  crawler check --config crawler.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runCheck(g)
		},
	}
}

// errInconsistent is check's verdict when a problem was found: not one of
// exit.go's classes, so it exits exitFailure (4).
var errInconsistent = errors.New("the database is inconsistent")

func runCheck(g *globals) error {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return err
	}
	db, err := store.Open(cfg.DBPath(), store.Options{ReadOnly: true})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("check needs the daemon stopped: %w", err)
		}
		return dataError{err}
	}
	defer db.Close()
	summary, problems := checkDB(db)
	if len(problems) == 0 {
		fmt.Fprintln(g.stdout, "ok:", summary)
		return nil
	}
	printProblems(g.stdout, problems)
	return fmt.Errorf("check: %d problems (%s): %w", len(problems), summary, errInconsistent)
}

func printProblems(w io.Writer, problems []string) {
	for i, p := range problems {
		if i == maxProblems {
			fmt.Fprintf(w, "problem: ... and %d more\n", len(problems)-maxProblems)
			return
		}
		fmt.Fprintln(w, "problem:", p)
	}
}

// checkDB runs every check and returns a one-line summary and the problems
// found, each one line.
func checkDB(db *store.DB) (string, []string) {
	var problems []string
	file, records := db.CheckParts()
	for _, err := range file {
		problems = append(problems, "bbolt: "+err.Error())
	}
	if len(problems) > 0 {
		// The other checks walk the same pages; they could only fail
		// again, or worse.
		return "file damaged", problems
	}
	for _, err := range records {
		problems = append(problems, "store: "+err.Error())
	}
	var summary string
	err := db.View(func(tx *store.Tx) error {
		if err := frontier.Check(tx); err != nil {
			for _, e := range unjoin(err) {
				problems = append(problems, "frontier: "+e.Error())
			}
		}
		s, ps := checkPages(tx)
		summary = s
		problems = append(problems, ps...)
		return nil
	})
	if err != nil {
		problems = append(problems, "read: "+err.Error())
	}
	return summary, problems
}

// checkPages checks the page records against the store's counter and the
// frontier's URL states.
func checkPages(tx *store.Tx) (string, []string) {
	var problems []string
	var pages, finished int64 // records; records whose URL is done or failed
	err := tx.ForEachPage("", "", func(p *store.Page) error {
		pages++
		st, err := frontier.URLState(tx, p.URL)
		switch {
		case errors.Is(err, store.ErrNotFound):
			problems = append(problems, fmt.Sprintf("store: page %s has no URL record", p.URL))
		case err != nil:
			problems = append(problems, fmt.Sprintf("store: page %s: URL record: %v", p.URL, err))
		case st == frontier.StateDone || st == frontier.StateFailed:
			finished++
		case st == frontier.StateDisallowed:
			problems = append(problems, fmt.Sprintf("store: page %s is stored but its URL is disallowed", p.URL))
		}
		return nil
	})
	if err != nil {
		// ForEachPage stops at the first record that does not decode.
		problems = append(problems, fmt.Sprintf("store: page records after %d: %v", pages, err))
	}
	sc := tx.Counts()
	fc := frontier.ReadCounts(tx)
	if err == nil && sc.Pages != pages {
		problems = append(problems, fmt.Sprintf("store: page counter %d but %d records", sc.Pages, pages))
	}
	if err == nil && fc.Done+fc.Failed != finished {
		problems = append(problems, fmt.Sprintf("store: %d URLs are done or failed but %d of them have a page record",
			fc.Done+fc.Failed, finished))
	}
	summary := fmt.Sprintf("%d pages, %d URLs queued, %d done, %d failed, %d disallowed, %d hosts with work; %d bytes (%d in the database file, %d in its value log, %d of them replaced records and bodies)",
		pages, fc.Queued, fc.Done, fc.Failed, fc.Disallowed, fc.Hosts, sc.FileBytes+sc.ValueBytes, sc.FileBytes, sc.ValueBytes, sc.GarbageBytes)
	return summary, problems
}

// unjoin splits an errors.Join result into its errors.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
