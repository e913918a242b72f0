package config

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"crawler/internal/urlnorm"
)

// URLFilter is Scope.Include, Scope.Exclude and Scope.StripQueryParams
// compiled. A nil *URLFilter (no patterns) excludes and strips nothing.
type URLFilter struct {
	include, exclude []*regexp.Regexp
	strip            []string // lowercased path.Match patterns
}

// URLFilter compiles s.Include, s.Exclude and s.StripQueryParams; nil
// when all are empty. The error names the first pattern that does not
// compile (Validate reports every one, with its line).
func (s *Scope) URLFilter() (*URLFilter, error) {
	if len(s.Include) == 0 && len(s.Exclude) == 0 && len(s.StripQueryParams) == 0 {
		return nil, nil
	}
	var first error
	f := s.compilePatterns(func(path, problem string) {
		if first == nil {
			first = fmt.Errorf("%s: %s", path, problem)
		}
	})
	if first != nil {
		return nil, first
	}
	return f, nil
}

// compilePatterns compiles the URL patterns of s, calling bad with the
// field path and the problem of each that does not compile.
func (s *Scope) compilePatterns(bad func(path, problem string)) *URLFilter {
	f := &URLFilter{}
	for i, pat := range s.StripQueryParams {
		if _, err := path.Match(pat, ""); err != nil || pat == "" {
			bad(fmt.Sprintf("scope.strip_query_params[%d]", i), fmt.Sprintf("must be a parameter name or a path.Match pattern (utm_*), got %q", pat))
			continue
		}
		f.strip = append(f.strip, strings.ToLower(pat))
	}
	for _, p := range []struct {
		field string
		pats  []string
		out   *[]*regexp.Regexp
	}{{"scope.include", s.Include, &f.include}, {"scope.exclude", s.Exclude, &f.exclude}} {
		for i, pat := range p.pats {
			re, err := regexp.Compile(pat)
			if err != nil {
				bad(fmt.Sprintf("%s[%d]", p.field, i), fmt.Sprintf("must be a regular expression (RE2 syntax): %v", err))
				continue
			}
			*p.out = append(*p.out, re)
		}
	}
	return f
}

// Strip returns the canonical URL u without the query parameters that
// Scope.StripQueryParams names; u itself when none is there.
func (f *URLFilter) Strip(u string) string {
	if f == nil || len(f.strip) == 0 || !strings.Contains(u, "?") {
		return u
	}
	return urlnorm.DropQueryParams(u, func(name string) bool {
		name = strings.ToLower(name)
		for _, pat := range f.strip {
			if ok, _ := path.Match(pat, name); ok {
				return true
			}
		}
		return false
	})
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
