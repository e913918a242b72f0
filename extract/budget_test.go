package extract

import (
	"slices"
	"strings"
	"testing"

	"crawler/config"
)

// outputBytes sums the bytes of every value in Apply's fields.
func outputBytes(fields map[string]any) int {
	n := 0
	for _, rf := range fields {
		for _, v := range rf.(map[string]any) {
			switch v := v.(type) {
			case string:
				n += len(v)
			case []string:
				for _, s := range v {
					n += len(s)
				}
			}
		}
	}
	return n
}

// A hostile page nests hundreds of selected elements around a large text:
// with all: true, each element's text or inner HTML repeats the whole
// text, so a 500 KB page made hundreds of MB of fields for its record.
// What one page extracts is bounded by MaxPageBytes, and the fields cut
// short are reported as failed.
func TestApplyNestedBlowupBounded(t *testing.T) {
	const depth = 400
	doc := strings.Repeat(`<div class=i>`, depth) + strings.Repeat("word ", 100_000) // 500 KB
	u, d := parse(t, "https://a.test/", doc)
	for _, attr := range []string{"text", "html"} {
		s := compile(t, config.ExtractRule{Name: "r", Fields: []config.ExtractField{
			{Name: "f", Selector: "div.i", Attr: attr, All: true},
		}})
		fields, failed := s.Apply(u, d, "utf-8")
		if got := outputBytes(fields); got > MaxPageBytes {
			t.Errorf("attr %s: page extracted %d bytes, more than MaxPageBytes %d", attr, got, MaxPageBytes)
		}
		if !slices.Contains(failed, "r.f") {
			t.Errorf("attr %s: failed = %q, want r.f (cut short by the budget)", attr, failed)
		}
	}
}

// An ordinary page is far below the budget and extracts as before.
func TestApplyBudgetLeavesNormalPages(t *testing.T) {
	s := compile(t, productRule())
	u, d := parse(t, "https://shop.test/p/42", productHTML)
	fields, failed := s.Apply(u, d, "utf-8")
	if !slices.Equal(failed, []string{"product.brand"}) || outputBytes(fields) == 0 {
		t.Errorf("fields %v failed %q", fields, failed)
	}
}
