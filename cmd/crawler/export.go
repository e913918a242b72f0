package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crawler/api"
	"crawler/config"
	"crawler/extract"
	"crawler/internal/warc"
	"crawler/store"
)

func newExportCmd(g *globals) *cobra.Command {
	var (
		format, output, rule string
		pf                   pageFilterFlags
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the stored pages as JSON lines, CSV or a WARC file",
		Long: `Export writes every stored page, in URL order, to --output (default: standard
output), or those the filters of "crawler pages list" select: --host, --status,
--prefix, and --since for an incremental export (what was fetched since the
last one).

  jsonl  one page record per line (the fields of "pages list --format jsonl").
  csv    with --rule NAME: one row per page the extraction rule matched, a
         column per field of the rule (lists as JSON arrays).
  warc   a WARC 1.1 file for archival tools: a warcinfo record, then one
         response record per page that got an HTTP response, holding the
         stored headers and body, each record its own gzip member (.warc.gz).
         Bodies are stored decoded, so Content-Encoding is dropped and
         Content-Length is the stored body's. Failed URLs with no response
         have nothing to archive and are skipped (counted on stderr). A page
         whose stored body a recrawl's 304 confirmed is its response record
         dated by the body's fetch, then a revisit record (server-not-modified)
         dated by the 304, holding the 304's headers.

A file given with --output is written under a temporary name and renamed when
complete. On a terminal, stderr shows "exported N/M pages" as it goes. Filters
that select nothing make an empty export (a CSV file holds its header, a
WARC file its warcinfo record) and exit 0, unlike the listings' exit 1: an
incremental export with nothing new is no failure.`,
		Example: `  crawler export --format jsonl > pages.jsonl
  crawler export --format warc --output crawl.warc.gz
  crawler export --format warc --since 24h --output today.warc.gz
  crawler export --host example.com --status 200 > example.jsonl
  crawler export --format csv --rule product --output products.csv`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "jsonl", "warc", "csv"); err != nil {
				return err
			}
			if (format == "csv") != (rule != "") {
				return usageErr(errors.New("--rule goes with --format csv, and csv needs --rule"))
			}
			if format == "warc" && (output == "" || output == "-") && isTerminal(g.stdout) {
				return usageErr(errors.New("refusing to write a gzipped WARC file to a terminal; use --output FILE"))
			}
			f, err := pf.filter(cmd.Flags())
			if err != nil {
				return err
			}
			q, err := openQuerier(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer q.close()
			var total int64 // unknown when filtered
			if !pf.given(cmd.Flags()) {
				s, err := q.Stats(cmd.Context())
				if err != nil {
					return queryErr(err)
				}
				total = s.PagesStored
			}
			return writeExport(g, output, func(w io.Writer) error {
				prog := newExportProgress(g.stderr, total)
				defer prog.done()
				if format == "csv" {
					return exportCSV(cmd.Context(), q, f, w, rule, prog)
				}
				if format == "jsonl" {
					enc := json.NewEncoder(w)
					// The records only: no body is decompressed.
					return queryErr(q.ListPages(cmd.Context(), f, func(p *store.Page) error {
						prog.add()
						return enc.Encode(p)
					}))
				}
				ww := warc.NewWriter(w)
				filename := "" // standard output has none
				if output != "" && output != "-" {
					filename = filepath.Base(output)
				}
				if err := ww.WriteInfo(filename, "software", "crawler", "format", "WARC File Format 1.1",
					"conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
					"description", "pages exported from "+q.source); err != nil {
					return err
				}
				skipped := 0
				err := q.Export(cmd.Context(), f, func(p *store.Page, body []byte) error {
					prog.add()
					if p.Status < 100 || p.Status > 999 {
						skipped++
						return nil
					}
					return exportWARCPage(ww, p, body)
				})
				if err == nil && skipped > 0 {
					prog.done()
					fmt.Fprintf(g.stderr, "crawler: export: skipped %d pages without an HTTP response (nothing to archive)\n", skipped)
				}
				return queryErr(err)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl, warc or csv")
	cmd.Flags().StringVar(&rule, "rule", "", "extraction rule whose fields the csv export writes")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	pf.register(cmd.Flags())
	return cmd
}

// exportWARCPage writes p as a response record dated by its fetch. When a
// recrawl's 304 kept an earlier fetch's body (extra.body_fetched_at, before
// fetched_at), the response is dated by that earlier capture and followed
// by a server-not-modified revisit record dated by the 304, referring to
// it: the server did not send the body at the 304's time.
func exportWARCPage(ww *warc.Writer, p *store.Page, body []byte) error {
	r := &warc.Response{URL: p.URL, Date: p.FetchedAt, Status: p.Status,
		Header: p.Header, Body: body, Truncated: p.Truncated}
	captured, err := time.Parse(time.RFC3339Nano, p.Extra["body_fetched_at"])
	revisit := err == nil && captured.Before(p.FetchedAt)
	if revisit {
		r.Date = captured
	}
	resp, err := ww.WriteResponse(r)
	if err != nil || !revisit {
		return err
	}
	return ww.WriteRevisit(&warc.Revisit{URL: p.URL, Date: p.FetchedAt, Header: p.NotModifiedHeader,
		RefersTo: resp.ID, RefersToURL: p.URL, RefersToDate: captured, PayloadDigest: resp.PayloadDigest})
}

// exportCSV writes the fields rule extracted, one row per matching page.
func exportCSV(ctx context.Context, q *querier, f api.PageFilter, w io.Writer, rule string, prog *exportProgress) error {
	var r *config.ExtractRule
	for i := range q.cfg.Extract {
		if q.cfg.Extract[i].Name == rule {
			r = &q.cfg.Extract[i]
		}
	}
	if r == nil {
		var names []string
		for _, x := range q.cfg.Extract {
			names = append(names, x.Name)
		}
		return usageErr(fmt.Errorf("no extraction rule %q in the config (rules: %s)", rule, strings.Join(names, ", ")))
	}
	cw := extract.NewCSVWriter(w, r)
	err := q.ListPages(ctx, f, func(p *store.Page) error {
		prog.add()
		return cw.Write(p)
	})
	if err != nil {
		return queryErr(err)
	}
	return cw.Flush()
}

// writeExport runs write on standard output, or on a temporary file that
// replaces output once write succeeds.
func writeExport(g *globals, output string, write func(io.Writer) error) error {
	if output == "" || output == "-" {
		w := bufio.NewWriterSize(g.stdout, 256<<10)
		err := write(w)
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".*.partial")
	if err != nil {
		return dataError{fmt.Errorf("export: %w", err)}
	}
	w := bufio.NewWriterSize(f, 256<<10)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), output)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}

// exportProgress shows "exported N/M pages" on one updating line when w
// is a terminal, and nothing otherwise.
type exportProgress struct {
	w     io.Writer // nil when not a terminal
	total int64
	n     int64
	last  time.Time
	ended bool
}

func newExportProgress(w io.Writer, total int64) *exportProgress {
	p := &exportProgress{total: total}
	if isTerminal(w) {
		p.w = w
	}
	return p
}

func (p *exportProgress) add() {
	p.n++
	if p.w == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.print("")
	}
}

// print writes the count so far, then end.
func (p *exportProgress) print(end string) {
	if p.total > 0 {
		fmt.Fprintf(p.w, "\rexported %d/%d pages%s", p.n, max(p.total, p.n), end)
	} else {
		fmt.Fprintf(p.w, "\rexported %d pages%s", p.n, end)
	}
}

// done prints the final count and ends the line; later calls do nothing.
func (p *exportProgress) done() {
	if p.w == nil || p.ended {
		return
	}
	p.ended = true
	p.print("\n")
}
