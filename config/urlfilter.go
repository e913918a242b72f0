package config

import (
	"fmt"
	"regexp"
)

// URLFilter is Scope.Include and Scope.Exclude compiled. A nil
// *URLFilter (no patterns) excludes nothing.
type URLFilter struct {
	include, exclude []*regexp.Regexp
}

// URLFilter compiles s.Include and s.Exclude; nil when both are empty.
// The error names the first pattern that does not compile (Validate
// reports every one, with its line).
func (s *Scope) URLFilter() (*URLFilter, error) {
	if len(s.Include) == 0 && len(s.Exclude) == 0 {
		return nil, nil
	}
	f := &URLFilter{}
	for _, p := range []struct {
		field string
		pats  []string
		out   *[]*regexp.Regexp
	}{{"scope.include", s.Include, &f.include}, {"scope.exclude", s.Exclude, &f.exclude}} {
		for i, pat := range p.pats {
			re, err := regexp.Compile(pat)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", p.field, i, err)
			}
			*p.out = append(*p.out, re)
		}
	}
	return f, nil
}

// Excluded says why the patterns leave url out ("matches
// scope.exclude[1] ..." or "matches no scope.include pattern"), or ""
// when they let it in.
func (f *URLFilter) Excluded(url string) string {
	if f == nil {
		return ""
	}
	for i, re := range f.exclude {
		if re.MatchString(url) {
			return fmt.Sprintf("matches scope.exclude[%d] %q", i, re.String())
		}
	}
	if len(f.include) == 0 {
		return ""
	}
	for _, re := range f.include {
		if re.MatchString(url) {
			return ""
		}
	}
	return "matches no scope.include pattern"
}
