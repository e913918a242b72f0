package config

import (
	"strings"
	"testing"
)

// A pattern that does not compile is reported with its field and line,
// every one of them; the rest of the file still loads into nothing.
func TestURLPatternsValidated(t *testing.T) {
	in := "seeds: [http://a.test/]\nscope:\n  include:\n    - '^http://a\\.test/'\n    - '(unclosed'\n  exclude:\n    - 'ok'\n    - '[a-'\n"
	errs := configErrors(t, mustFail(t, in))
	want := map[string]int{"scope.include[1]": 5, "scope.exclude[1]": 8}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		if line, ok := want[e.Field]; !ok || e.Line != line || !strings.Contains(e.Error(), "RE2") {
			t.Errorf("unexpected error %v (field %q line %d)", e, e.Field, e.Line)
		}
	}
}

func TestURLFilter(t *testing.T) {
	s := Scope{
		Include: []string{`^https://a\.test/(docs|blog)/`, `^https://a\.test/$`},
		Exclude: []string{`/blog/tag/`, `[?&]sessionid=`},
	}
	f, err := s.URLFilter()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ url, want string }{
		{"https://a.test/", ""},
		{"https://a.test/docs/x", ""},
		{"https://a.test/blog/2026/post", ""},
		{"https://a.test/blog/tag/go", `matches scope.exclude[0] "/blog/tag/"`},
		{"https://a.test/docs/x?a=1&sessionid=9", `matches scope.exclude[1] "[?&]sessionid="`},
		{"https://a.test/shop/", "matches no scope.include pattern"},
		{"https://b.test/docs/x", "matches no scope.include pattern"},
	} {
		if got := f.Excluded(tc.url); got != tc.want {
			t.Errorf("Excluded(%s) = %q; want %q", tc.url, got, tc.want)
		}
	}

	// Exclude alone lets everything else in; no patterns, no filter.
	f, _ = (&Scope{Exclude: []string{`\.pdf$`}}).URLFilter()
	if f.Excluded("https://a.test/x") != "" || f.Excluded("https://a.test/x.pdf") == "" {
		t.Error("exclude alone: want only .pdf left out")
	}
	if f, err := (&Scope{}).URLFilter(); f != nil || err != nil || f.Excluded("https://a.test/") != "" {
		t.Errorf("no patterns: %v, %v; want a nil filter that excludes nothing", f, err)
	}
	if _, err := (&Scope{Exclude: []string{"ok", "("}}).URLFilter(); err == nil || !strings.Contains(err.Error(), "scope.exclude[1]") {
		t.Errorf("bad pattern: %v; want it named", err)
	}
}

func TestStripQueryParams(t *testing.T) {
	errs := configErrors(t, mustFail(t, "scope:\n  strip_query_params: ['utm_*', '[', '']\n"))
	if len(errs) != 2 || errs[0].Field != "scope.strip_query_params[1]" || errs[1].Field != "scope.strip_query_params[2]" || errs[0].Line != 2 {
		t.Errorf("bad patterns: %v; want [1] and [2] named, line 2", errs)
	}
	f, err := (&Scope{StripQueryParams: []string{"utm_*", "FBCLID"}}).URLFilter()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"https://a.test/x?UTM_source=1&id=2&fbclid=3", "https://a.test/x?id=2"},
		{"https://a.test/x?utm=1", "https://a.test/x?utm=1"},
		{"https://a.test/x", "https://a.test/x"},
	} {
		if got := f.Strip(tc.in); got != tc.want {
			t.Errorf("Strip(%s) = %s; want %s", tc.in, got, tc.want)
		}
	}
	if f.Excluded("https://a.test/x") != "" {
		t.Error("strip_query_params alone excludes URLs")
	}
	var none *URLFilter
	if none.Strip("https://a.test/x?utm_a=1") != "https://a.test/x?utm_a=1" {
		t.Error("a nil filter strips")
	}
}
