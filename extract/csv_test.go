package extract

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"

	"crawler/config"
	"crawler/store"
)

func TestCSVWriter(t *testing.T) {
	rule := config.ExtractRule{Name: "product", Fields: []config.ExtractField{
		{Name: "title", Selector: "h1"},
		{Name: "images", Selector: "img", Attr: "src", All: true},
		{Name: "sku", Selector: ".sku"},
	}}
	pages := []*store.Page{
		{URL: "https://s.test/p/1", Fields: map[string]any{"product": map[string]any{
			"title": `Chair, "deluxe"` + "\nnew", "images": []string{"https://s.test/a.jpg?x=1&y=2", "https://s.test/b,c.jpg"}, "sku": "S1",
		}}},
		{URL: "https://s.test/list"}, // no fields: no row
		{URL: "https://s.test/other", Fields: map[string]any{"other": map[string]any{"x": "y"}}},
		{URL: "https://s.test/p/2", Fields: map[string]any{"product": map[string]any{"title": "Table"}}},
		{URL: "https://s.test/p/3", Fields: map[string]any{"product": map[string]any{}}}, // matched, nothing found
	}
	// The stored form: lists come back from JSON as []any.
	rec, err := store.MarshalRecord(pages[0])
	if err != nil {
		t.Fatal(err)
	}
	if pages[0], err = store.UnmarshalRecord(rec); err != nil {
		t.Fatal(err)
	}
	if _, ok := pages[0].Fields["product"].(map[string]any)["images"].([]any); !ok {
		t.Fatal("test premise: decoded lists are []any")
	}
	pages = append(pages, &store.Page{URL: "https://s.test/p/4", Fields: map[string]any{"product": map[string]any{
		"images": []string{"https://s.test/d.jpg"}, "sku": "S4",
	}}})

	var buf bytes.Buffer
	w := NewCSVWriter(&buf, &rule)
	for _, p := range pages {
		if err := w.Write(p); err != nil {
			t.Fatalf("Write %s: %v", p.URL, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != 4 {
		t.Errorf("Rows = %d; want 4", w.Rows())
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("output is not valid CSV: %v\n%s", err, buf.String())
	}
	want := [][]string{
		{"url", "title", "images", "sku"},
		{"https://s.test/p/1", `Chair, "deluxe"` + "\nnew", `["https://s.test/a.jpg?x=1&y=2","https://s.test/b,c.jpg"]`, "S1"},
		{"https://s.test/p/2", "Table", "", ""},
		{"https://s.test/p/3", "", "", ""},
		{"https://s.test/p/4", "", `["https://s.test/d.jpg"]`, "S4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("csv:\n got %q\nwant %q", got, want)
	}
}

func TestCSVWriterHeaderOnly(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSVWriter(&buf, &config.ExtractRule{Name: "r", Fields: []config.ExtractField{{Name: "a"}, {Name: "b c"}}})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "url,a,b c\r\n" || w.Rows() != 0 {
		t.Errorf("output %q, rows %d", buf.String(), w.Rows())
	}
}

type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestCSVWriterErrors(t *testing.T) {
	w := NewCSVWriter(failWriter{}, &config.ExtractRule{Name: "r", Fields: []config.ExtractField{{Name: "a"}}})
	big := strings.Repeat("x", 8192) // more than csv's buffer: the write reaches failWriter
	err := w.Write(&store.Page{URL: "https://a.test/", Fields: map[string]any{"r": map[string]any{"a": big}}})
	if err == nil {
		err = w.Flush()
	}
	if !errors.Is(err, errDiskFull) {
		t.Errorf("write error = %v; want disk full", err)
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Errorf("Flush = %v; want disk full", err)
	}

	w = NewCSVWriter(&bytes.Buffer{}, &config.ExtractRule{Name: "r", Fields: []config.ExtractField{{Name: "a"}}})
	err = w.Write(&store.Page{URL: "https://a.test/", Fields: map[string]any{"r": map[string]any{"a": func() {}}}})
	if err == nil || !strings.Contains(err.Error(), "field a") {
		t.Errorf("unencodable value: %v", err)
	}
}

// RFC 4180 ends every record, the header included, with CRLF, and a line
// break inside a quoted field is CRLF too. A lone CR in a value (from
// "&#13;") stays a line break instead of being dropped.
func TestCSVWriterRFC4180LineBreaks(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSVWriter(&buf, &config.ExtractRule{Name: "r", Fields: []config.ExtractField{{Name: "a"}, {Name: "b"}}})
	err := w.Write(&store.Page{URL: "https://a.test/", Fields: map[string]any{"r": map[string]any{
		"a": "one\ntwo", "b": "x\ry\r\nz",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "url,a,b\r\n" + "https://a.test/,\"one\r\ntwo\",\"x\r\ny\r\nz\"\r\n"
	if buf.String() != want {
		t.Errorf("csv =\n %q\nwant\n %q", buf.String(), want)
	}
}
