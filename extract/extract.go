// Package extract runs the declarative extraction rules of the config
// (extract:) over a parsed page.
package extract

import (
	"net/url"

	"github.com/PuerkitoBio/goquery"

	"crawler/config"
)

// Set is a compiled, immutable set of rules, safe for concurrent use.
type Set struct {
	rules []*config.CompiledRule
}

// Compile compiles rules; a bad selector or regexp is an error naming the
// rule and field.
func Compile(rules []config.ExtractRule) (*Set, error) {
	s := &Set{}
	for i := range rules {
		cr, err := rules[i].Compile()
		if err != nil {
			return nil, err
		}
		s.rules = append(s.rules, cr)
	}
	return s, nil
}

// Empty reports whether the set has no rules.
func (s *Set) Empty() bool { return s == nil || len(s.rules) == 0 }

// Apply runs every rule whose match accepts pageURL over doc. fields maps
// rule name to field name to value (string, or []string for all: true).
// failed lists "rule.field" for each required field that was missing.
func (s *Set) Apply(pageURL *url.URL, doc *goquery.Document) (fields map[string]any, failed []string) {
	return nil, nil // implemented by the extraction work
}
