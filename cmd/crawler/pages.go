package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"crawler/api"
	"crawler/store"
)

func newPagesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pages",
		Short: "List stored pages, or show one",
		Long: `Pages queries the page records the crawler stored: "pages list" streams
them (filtered), "pages get" shows one. Both ask the running crawler through
its socket, or read the database file when it is stopped.`,
		Example: `  crawler pages list --host example.com --status 200 --limit 20
  crawler pages get https://example.com/ --body`,
	}
	cmd.AddCommand(newPagesListCmd(g), newPagesGetCmd(g))
	return cmd
}

func newPagesListCmd(g *globals) *cobra.Command {
	var (
		pf     pageFilterFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Stream the stored pages, in URL order",
		Long: `List streams every stored page record that matches the filters, in URL
order, in constant memory however many there are. Records of failed URLs are
pages too (status 0 when there was no response). It exits 1 when nothing
matches.

--since takes an RFC 3339 time (2024-05-01T12:00:00Z), a date (2024-05-01,
UTC), or a duration meaning that long ago (90m, 24h).`,
		Example: `  crawler pages list
  crawler pages list --host example.com --status 404
  crawler pages list --prefix https://example.com/blog/ --since 24h --format jsonl`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "jsonl"); err != nil {
				return err
			}
			f, err := pf.filter(cmd.Flags())
			if err != nil {
				return err
			}
			if f.Limit < 0 {
				return usageErr(errors.New("--limit must be >= 0"))
			}
			out := newPageWriter(g.stdout, format)
			return listTo(cmd.Context(), g, out.listWriter, "no stored page matches", func(q *querier) error {
				return q.ListPages(cmd.Context(), f, out.write)
			})
		},
	}
	fl := cmd.Flags()
	pf.register(fl)
	fl.IntVar(&pf.f.Limit, "limit", 0, "stop after this many pages (0: no limit)")
	fl.StringVar(&format, "format", "table", "output format: table or jsonl")
	return cmd
}

// pageFilterFlags are the page filters of pages list and recrawl.
type pageFilterFlags struct {
	f      api.PageFilter
	status int
	since  string
}

// pageFilterNames are the flags register adds.
var pageFilterNames = []string{"host", "status", "prefix", "since"}

func (p *pageFilterFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&p.f.Host, "host", "", `only pages of this host ("host" or "host:port")`)
	fl.IntVar(&p.status, "status", 0, "only pages with this final HTTP status (0: no response)")
	fl.StringVar(&p.f.Prefix, "prefix", "", "only URLs starting with this prefix")
	fl.StringVar(&p.since, "since", "", "only pages fetched since this time or duration ago")
}

// given reports whether any filter flag of fl was given.
func (p *pageFilterFlags) given(fl *pflag.FlagSet) bool {
	for _, name := range pageFilterNames {
		if fl.Changed(name) {
			return true
		}
	}
	return false
}

// filter returns the filter the flags of fl give; a bad --since is a
// usage error.
func (p *pageFilterFlags) filter(fl *pflag.FlagSet) (api.PageFilter, error) {
	f := p.f
	if fl.Changed("status") {
		f.Status = &p.status
	}
	if p.since != "" {
		t, err := parseSince(p.since, time.Now())
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	return f, nil
}

// parseSince reads --since: an RFC 3339 time, a date, or a duration ago.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErr(fmt.Errorf("--since %q: want an RFC 3339 time, a date (2006-01-02) or a duration (24h)", s))
}

func newPagesGetCmd(g *globals) *cobra.Command {
	var (
		withBody bool
		format   string
	)
	cmd := &cobra.Command{
		Use:   "get URL",
		Short: "Show the stored record of one URL",
		Long: `Get shows the stored record of URL (normalized first, as the crawler stores
it), and with --body the stored body (decoded, as fetched). A URL that is not
stored exits 1 with "not found: URL".

With --format json, the record is one JSON object; --body adds "body" (or
"body_base64" when the body is not UTF-8 text).`,
		Example: `  crawler pages get https://example.com/
  crawler pages get https://example.com/about --body
  crawler pages get https://example.com/ --format json | jq .status`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			q, err := openQuerier(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer q.close()
			p, body, err := q.GetPage(cmd.Context(), args[0], withBody)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: %s", errNotFound, args[0])
			}
			if err != nil {
				return queryErr(err)
			}
			w := bufio.NewWriter(g.stdout)
			if format == "json" {
				err = writePageJSON(w, p, body, withBody)
			} else {
				err = writePageText(w, p, body, withBody)
			}
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&withBody, "body", false, "also print the stored body")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// pageJSON is `pages get --format json`: the record, plus the body when
// asked for.
type pageJSON struct {
	*store.Page
	Body       *string `json:"body,omitempty"`
	BodyBase64 []byte  `json:"body_base64,omitempty"`
}

func writePageJSON(w io.Writer, p *store.Page, body []byte, withBody bool) error {
	v := pageJSON{Page: p}
	if withBody {
		if utf8.Valid(body) {
			s := string(body)
			v.Body = &s
		} else {
			v.BodyBase64 = body
		}
	}
	return json.NewEncoder(w).Encode(v)
}

func writePageText(w io.Writer, p *store.Page, body []byte, withBody bool) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, oneLine(v))
		}
	}
	row("URL", p.URL)
	row("Status", strconv.Itoa(p.Status))
	row("Content-Type", p.ContentType)
	row("Title", p.Title)
	row("Description", p.Description)
	row("Fetched", p.FetchedAt.Format(time.RFC3339))
	row("Duration", (time.Duration(p.DurationMS) * time.Millisecond).String())
	row("Depth", strconv.Itoa(p.Depth))
	row("Parent", p.Parent)
	row("Redirect to", p.RedirectTo)
	row("Canonical", p.Canonical)
	size := strconv.FormatInt(p.BodyBytes, 10)
	if p.Truncated {
		size += " (truncated)"
	}
	row("Body bytes", size)
	row("Outlinks", strconv.Itoa(p.Outlinks))
	row("Error", p.Error)
	if len(p.Fields) > 0 {
		b, err := json.Marshal(p.Fields)
		if err != nil {
			return err
		}
		row("Fields", string(b))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if withBody {
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
		if _, err := w.Write(body); err != nil {
			return err
		}
	}
	return nil
}

// pageWriter prints streamed pages as an aligned table or JSON lines.
type pageWriter struct{ *listWriter }

func newPageWriter(w io.Writer, format string) *pageWriter {
	return &pageWriter{newListWriter(w, format, "STATUS\tBYTES\tFETCHED\tURL\tTITLE")}
}

func (pw *pageWriter) write(p *store.Page) error {
	return pw.listWriter.write(p, func(w io.Writer) {
		title := p.Title
		if p.Error != "" {
			title = "error: " + p.Error
		}
		fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%s\n", p.Status, p.BodyBytes, p.FetchedAt.UTC().Format(time.RFC3339),
			oneLine(p.URL), clip(oneLine(title), 60))
	})
}

// oneLine keeps a cell on one line and free of tabs, and of the other
// control characters (escape sequences from a page's title must not reach
// a terminal): white space runs become one space, other controls U+FFFD.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.Join(strings.Fields(s), " "))
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
