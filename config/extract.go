package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/andybalholm/cascadia"
)

// ExtractRule extracts named fields from the pages whose URL it matches.
type ExtractRule struct {
	// Name identifies the rule; required and unique among rules.
	Name string `yaml:"name"`
	// Match is a URL regular expression (Go RE2 syntax) selecting the pages
	// the rule applies to. Empty = every page.
	Match string `yaml:"match"`
	// Fields are the values extracted; at least one is required.
	Fields []ExtractField `yaml:"fields"`
}

// ExtractField extracts one value from a page.
type ExtractField struct {
	// Name identifies the field; required and unique within its rule, and
	// not "url", the name of the CSV export's page URL column.
	Name string `yaml:"name"`
	// Selector is a CSS selector (cascadia syntax, groups allowed) for the
	// elements to read. Required.
	Selector string `yaml:"selector"`
	// Attr is what to read from a selected element: "text" (its text
	// content), "html" (its inner HTML), or an attribute name such as
	// "href". Empty in a file means "text". Like attribute names, which
	// are case-insensitive, the keywords match in any case: "Text" is
	// "text".
	Attr string `yaml:"attr"`
	// Pattern is an optional regular expression (Go RE2) applied to the
	// value; the first capture group, or the whole match if it has none, is
	// kept, and a value that does not match is dropped. Empty = keep the
	// value as is.
	Pattern string `yaml:"pattern"`
	// All keeps every selected element's value instead of only the first.
	// Default false.
	All bool `yaml:"all"`
	// Absolute resolves the value as a URL as the crawler resolves a
	// link: against the page's <base href> or URL, its query
	// percent-encoded in the page's encoding (see package extract).
	// Default false.
	Absolute bool `yaml:"absolute"`
	// Required makes a page without this value an extraction failure.
	// Default false.
	Required bool `yaml:"required"`
}

// CompiledRule is an ExtractRule with its expressions compiled.
type CompiledRule struct {
	// Rule is the rule compiled from.
	Rule *ExtractRule
	// Match is the compiled ExtractRule.Match, never nil: an empty Match
	// compiles to an expression that matches every URL.
	Match *regexp.Regexp
	// Fields are the compiled fields, in Rule.Fields order.
	Fields []CompiledField
}

// CompiledField is an ExtractField with its expressions compiled.
type CompiledField struct {
	// Field is the field compiled from.
	Field *ExtractField
	// Selector is the compiled ExtractField.Selector. It satisfies
	// goquery.Matcher, so it can be passed to Selection.FindMatcher.
	Selector cascadia.Selector
	// Pattern is the compiled ExtractField.Pattern, or nil when it is empty.
	Pattern *regexp.Regexp
}

// Compile compiles the rule's match expression, selectors and patterns.
// The error names the rule and joins one *Error per bad expression, whose
// Field is relative to the rule ("match", "fields[1].selector"). Names,
// uniqueness and attr are checked by Config.Validate, not here.
func (r *ExtractRule) Compile() (*CompiledRule, error) {
	cr, errs := r.compile("")
	if len(errs) > 0 {
		return nil, fmt.Errorf("compile extract rule %q: %w", r.Name, joinErrors(errs))
	}
	return cr, nil
}

// compile compiles r, naming fields with prefix (such as "extract[0].").
// It returns every problem rather than stopping at the first.
func (r *ExtractRule) compile(prefix string) (*CompiledRule, []*Error) {
	var errs []*Error
	cr := &CompiledRule{Rule: r, Fields: make([]CompiledField, len(r.Fields))}
	m, err := regexp.Compile(r.Match)
	if err != nil {
		errs = append(errs, &Error{Field: prefix + "match", Err: &problem{
			kind: ErrInvalid, msg: fmt.Sprintf("invalid regexp %q: %v", r.Match, err), cause: err,
		}})
	}
	cr.Match = m
	for i := range r.Fields {
		f := &r.Fields[i]
		path := fmt.Sprintf("%sfields[%d].", prefix, i)
		cf := &cr.Fields[i]
		cf.Field = f
		if strings.TrimSpace(f.Selector) == "" {
			errs = append(errs, &Error{Field: path + "selector", Err: newProblem(ErrInvalid, "must not be empty")})
		} else if sel, err := cascadia.Compile(f.Selector); err != nil {
			errs = append(errs, &Error{Field: path + "selector", Err: &problem{
				kind: ErrInvalid, msg: fmt.Sprintf("invalid CSS selector %q: %v", f.Selector, err), cause: err,
			}})
		} else {
			cf.Selector = sel
		}
		if f.Pattern != "" {
			p, err := regexp.Compile(f.Pattern)
			if err != nil {
				errs = append(errs, &Error{Field: path + "pattern", Err: &problem{
					kind: ErrInvalid, msg: fmt.Sprintf("invalid regexp %q: %v", f.Pattern, err), cause: err,
				}})
			}
			cf.Pattern = p
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cr, nil
}
