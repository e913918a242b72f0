package extract

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"crawler/config"
	"crawler/store"
)

// CSVWriter writes the fields one rule extracted as CSV (RFC 4180, via
// encoding/csv): a header "url,<field names in rule order>", then one row
// per page the rule matched. Config.Validate refuses a field named "url",
// so the header names each column once. Records end in CRLF, and so does a line break
// inside a value (a value's CR, LF or CRLF alike). A field the page lacks is an empty cell; a
// list (all: true) is the JSON array text of its values, such as
// ["https://a.test/1.jpg","https://a.test/2.jpg"], which keeps values that
// contain separators unambiguous. Cells are written as extracted, with no
// escaping for spreadsheets (a value may start with "=").
//
// A CSVWriter is not safe for concurrent use.
type CSVWriter struct {
	w     *csv.Writer
	rule  string   // rule name, the key in store.Page.Fields
	names []string // field names in rule order
	row   []string // reused for every row
	rows  int
}

// NewCSVWriter returns a writer of rule's fields to w and writes the
// header. Output is buffered: call Flush at the end. An error writing the
// header is returned by the next Write or Flush.
func NewCSVWriter(w io.Writer, rule *config.ExtractRule) *CSVWriter {
	cw := &CSVWriter{w: csv.NewWriter(w), rule: rule.Name}
	cw.w.UseCRLF = true
	header := []string{"url"}
	for _, f := range rule.Fields {
		cw.names = append(cw.names, f.Name)
		header = append(header, f.Name)
	}
	cw.row = make([]string, len(header))
	_ = cw.w.Write(header) // buffered; a failure is sticky and reported later
	return cw
}

// Write writes p's row when p has fields for the rule (the rule matched the
// page when it was fetched), and does nothing otherwise. It accepts both
// the values Set.Apply returns and their form decoded from JSON ([]any for
// lists).
func (cw *CSVWriter) Write(p *store.Page) error {
	got, ok := p.Fields[cw.rule].(map[string]any)
	if !ok {
		return nil
	}
	cw.row[0] = p.URL
	for i, name := range cw.names {
		cell, err := cellOf(got[name])
		if err != nil {
			return fmt.Errorf("csv %s field %s: %w", p.URL, name, err)
		}
		cw.row[i+1] = loneCR.Replace(cell)
	}
	if err := cw.w.Write(cw.row); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw.rows++
	return nil
}

// Rows returns how many page rows Write has written (the header excluded).
func (cw *CSVWriter) Rows() int { return cw.rows }

// Flush writes any buffered output and returns the first write error.
func (cw *CSVWriter) Flush() error {
	cw.w.Flush()
	if err := cw.w.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// loneCR turns a CR that does not start a CRLF into LF: with UseCRLF,
// encoding/csv writes each LF as CRLF but drops every CR.
var loneCR = strings.NewReplacer("\r\n", "\r\n", "\r", "\n")

// cellOf formats one field value: a string as is, nothing as "", anything
// else (lists) as JSON without HTML escaping.
func cellOf(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "&" in URLs readable
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
