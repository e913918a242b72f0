package config

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestCompile(t *testing.T) {
	r := &ExtractRule{Name: "p", Fields: []ExtractField{
		{Name: "title", Selector: "h1.t", Attr: "text"},
		{Name: "price", Selector: "span, b", Attr: "text", Pattern: `([0-9]+)`},
	}}
	cr, err := r.Compile()
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if cr.Rule != r || len(cr.Fields) != 2 || cr.Fields[1].Field != &r.Fields[1] {
		t.Fatalf("CompiledRule does not point at its rule and fields: %+v", cr)
	}
	if cr.Match == nil || !cr.Match.MatchString("https://any.test/") {
		t.Error("empty match must compile to an expression matching every URL")
	}
	if cr.Fields[0].Pattern != nil {
		t.Error("empty pattern must compile to nil")
	}
	if got := cr.Fields[1].Pattern.FindStringSubmatch("cost 42 EUR"); len(got) != 2 || got[1] != "42" {
		t.Errorf("pattern submatch = %q", got)
	}
	doc, err := html.Parse(strings.NewReader(`<h1 class=t>Hi</h1><h1>No</h1><span>1</span><b>2</b>`))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cr.Fields[0].Selector.MatchAll(doc)); n != 1 {
		t.Errorf("h1.t matched %d nodes, want 1", n)
	}
	if n := len(cr.Fields[1].Selector.MatchAll(doc)); n != 2 {
		t.Errorf("selector group matched %d nodes, want 2", n)
	}

	r.Match = `^https://a\.test/`
	if cr, err = r.Compile(); err != nil || cr.Match.MatchString("https://b.test/") {
		t.Errorf("Compile with match: %v, %v", cr, err)
	}
}

func TestCompileErrors(t *testing.T) {
	r := &ExtractRule{Name: "prod", Match: "(", Fields: []ExtractField{
		{Name: "ok", Selector: "h1"},
		{Name: "bad", Selector: "div >", Pattern: "[z-a]"},
	}}
	cr, err := r.Compile()
	if err == nil {
		t.Fatalf("Compile succeeded: %+v", cr)
	}
	msg := err.Error()
	for _, want := range []string{`compile extract rule "prod"`, "match: invalid regexp", "fields[1].selector: invalid CSS selector", "fields[1].pattern: invalid regexp"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) = false")
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Field != "match" {
		t.Errorf("first *Error = %+v, want field match", ce)
	}
}
