package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"crawler/config"
	"crawler/crawl"
	"crawler/extract"
	"crawler/internal/urlnorm"
	"crawler/parser"
	"crawler/store"
)

// extractResult is the JSON output of `crawler extract`.
type extractResult struct {
	URL    string         `json:"url"`
	Rule   string         `json:"rule"`
	Fields map[string]any `json:"fields"`
	Failed []string       `json:"failed"` // required fields missing; [] when none

	rule *config.ExtractRule // for the text output's field order
}

func newExtractCmd(g *globals) *cobra.Command {
	var rule, rawURL, format string
	cmd := &cobra.Command{
		Use:   "extract --rule NAME --url URL",
		Short: "Run an extraction rule over a stored page, without fetching it again",
		Long: `Extract re-runs the extract: rule NAME of the config file over the body
stored for URL (its first 2 MiB, the part the crawl parses) and prints the
fields, so rules can be developed against pages already crawled. The config
is read fresh, so edits to the rule apply at once; the stored page record is
left unchanged.

Exit 1 when the page or its body is not stored, it is not HTML, or the rule's
match does not accept URL; exit 2 for an unknown rule or a bad config; exit 3
when the database cannot be read (missing, or locked by a running crawler).
Missing required fields are reported ("failed") but are not an error.`,
		Example: `  crawler extract --rule product --url https://shop.example.com/p/42
  crawler extract --rule product --url https://shop.example.com/p/42 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rule == "" || rawURL == "" {
				return usageErr(errors.New("extract needs --rule NAME and --url URL"))
			}
			if format != "text" && format != "json" {
				return usageErr(fmt.Errorf("--format must be json or text, got %q", format))
			}
			res, err := runExtract(cmd.Context(), g, rule, rawURL)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeExtractJSON(g.stdout, res)
			}
			return writeExtractText(g.stdout, res)
		},
	}
	cmd.Flags().StringVar(&rule, "rule", "", "name of the extract rule to run (required)")
	cmd.Flags().StringVar(&rawURL, "url", "", "URL of a stored page (required)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// runExtract loads the config, reads the stored page and runs the rule.
func runExtract(ctx context.Context, g *globals, rule, rawURL string) (*extractResult, error) {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return nil, err
	}
	rules, err := extract.Compile(cfg.Extract)
	if err != nil {
		return nil, err
	}
	cr, ok := rules.Rule(rule)
	if !ok {
		known := "the config has no extract rules"
		if names := rules.Names(); len(names) > 0 {
			known = "rules in " + g.configPath + ": " + strings.Join(names, ", ")
		}
		return nil, usageErr(fmt.Errorf("unknown extract rule %q (%s)", rule, known))
	}
	u, err := urlnorm.Parse(rawURL)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--url: %w", err))
	}
	p, body, err := storedPage(ctx, g, u.String())
	if err != nil {
		return nil, err
	}
	if !parser.IsHTML(p.ContentType, body) {
		return nil, fmt.Errorf("%s is not an HTML page (content type %q): %w", p.URL, p.ContentType, errNotFound)
	}
	ct := p.ContentType
	if p.Charset != "" {
		ct += "; charset=" + p.Charset // decode as the crawl did
	}
	if len(body) > crawl.MaxParseBytes {
		body = body[:crawl.MaxParseBytes] // as the crawl did
	}
	doc, err := parser.Parse(body, ct, u, parser.Options{MaxURLLength: cfg.Scope.MaxURLLength})
	if err != nil {
		return nil, dataError{fmt.Errorf("parse %s: %w", p.URL, err)}
	}
	fields, failed, err := rules.ApplyRule(rule, u, doc.HTML, doc.Charset)
	if errors.Is(err, extract.ErrNoMatch) {
		return nil, fmt.Errorf("extract rule %q does not apply to %s (its match is %q): %w",
			rule, p.URL, cr.Rule.Match, errNotFound)
	}
	if err != nil {
		return nil, err
	}
	if failed == nil {
		failed = []string{}
	}
	return &extractResult{URL: p.URL, Rule: rule, Fields: fields, Failed: failed, rule: cr.Rule}, nil
}

// storedPage returns url's record and body, from the running daemon when
// one answers on the socket, else from the file.
func storedPage(ctx context.Context, g *globals, url string) (*store.Page, []byte, error) {
	q, err := openQuerier(ctx, g, false)
	if err != nil {
		return nil, nil, err
	}
	defer q.close()
	p, body, err := q.GetPage(ctx, url, true)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, fmt.Errorf("page %s is not stored (check the URL, or crawl it first): %w", url, errNotFound)
	case err != nil:
		return nil, nil, queryErr(err)
	case len(body) == 0:
		return nil, nil, fmt.Errorf("page %s has no stored body (status %d): %w", url, p.Status, errNotFound)
	}
	return p, body, nil
}

func writeExtractJSON(w io.Writer, res *extractResult) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// writeExtractText prints one "name: value" line per field in rule order,
// a list as indented "- value" lines, and "(missing)" or "(missing,
// required)" for fields the page lacks. Values come from the web, so each
// is kept on its line and free of control characters (oneLine); the JSON
// output has them exactly.
func writeExtractText(w io.Writer, res *extractResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "url: %s\nrule: %s\n", oneLine(res.URL), res.Rule)
	for _, f := range res.rule.Fields {
		switch v := res.Fields[f.Name].(type) {
		case nil:
			if f.Required {
				fmt.Fprintf(&b, "%s: (missing, required)\n", f.Name)
			} else {
				fmt.Fprintf(&b, "%s: (missing)\n", f.Name)
			}
		case []string:
			fmt.Fprintf(&b, "%s:\n", f.Name)
			for _, s := range v {
				fmt.Fprintf(&b, "  - %s\n", oneLine(s))
			}
		default:
			fmt.Fprintf(&b, "%s: %s\n", f.Name, oneLine(fmt.Sprint(v)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
