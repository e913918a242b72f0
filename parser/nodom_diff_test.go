package parser

import (
	"reflect"
	"testing"
)

// nodomPair parses body with the DOM path and with Options.NoDOM.
func nodomPair(t *testing.T, body string) (dom, stream *Document) {
	t.Helper()
	dom = parse(t, body, "text/html", Options{})
	stream, err := Parse([]byte(body), "text/html", mustURL(t, pageURL), Options{NoDOM: true})
	if err != nil {
		t.Fatal(err)
	}
	return dom, stream
}

// TestNoDOMModelled covers the tree-construction effects the streaming
// path models exactly: implied body, title in head and in body, raw text,
// nested templates, svg titles, NUL and leading newlines, framesets.
func TestNoDOMModelled(t *testing.T) {
	for _, body := range []string{
		`<title>head</title>text before any body tag<title>body title</title>`,
		`<head><title>h</title></head> <p>after head</p>`,
		`<html><head><title>t</title><style>p{}</style><script>x</script><noscript><a href=/ns>n</a></noscript></head></html>tail`,
		`<template><p>in</p><template><a href=/nested>n</a></template><a href=/t>t</a></template><a href=/out>out</a>`,
		`<template><title>tpl title</title><meta name=description content=tpl></template>`,
		`<svg><title>icon</title><style>.a{}</style>svg text<![CDATA[cdata]]></svg><title>doc</title>`,
		`<svg><path/></svg><math><mrow>m</mrow></math><div>after</div>`,
		`<svg><g><p>breaks out</p><title>html title</title></svg>`,
		"<body>a\x00b <pre>\nline</pre><listing>\nl</listing><textarea>\nta</textarea>",
		`<frameset><frame src=a></frameset><a href=/after>a</a>text<title>t</title>`,
		`<div><a href=/gone></a></div><frameset>`,
		`<p>text</p><frameset><a href=/kept>k</a>`,
		`<svg><a xlink:href="/xl" href="/h">x</a></svg><a xlink:href="/html-xlink">`,
		`<xmp><a href=/x></xmp><iframe><a href=/y></iframe><noembed>n</noembed>`,
	} {
		dom, stream := nodomPair(t, body)
		dom.HTML = nil
		if !reflect.DeepEqual(dom, stream) {
			t.Errorf("%q:\n stream %+v\n dom    %+v", body, stream, dom)
		}
	}
}

// TestNoDOMDifferences shows each permitted difference documented at
// Options.NoDOM: what the streaming path gives and what the DOM path
// gives for the same markup.
func TestNoDOMDifferences(t *testing.T) {
	for _, c := range []struct {
		name, body string
		check      func(dom, stream *Document) bool
	}{
		{"table links keep token order", `<table><tr><td><a href=/cell>c</a></td></tr><a href=/foster>f</a></table>`,
			func(dom, stream *Document) bool {
				return reflect.DeepEqual(stream.Links, []string{"https://example.com/cell", "https://example.com/foster"}) &&
					reflect.DeepEqual(dom.Links, []string{"https://example.com/foster", "https://example.com/cell"})
			}},
		{"table text keeps token order", `x <table><tr><td>c</td></tr> f</table>`,
			func(dom, stream *Document) bool { return stream.TextLen == len("x c f") && dom.TextLen == len("x fc") }},
		{"integration point title", `<svg><foreignObject><title>fo</title></foreignObject></svg>`,
			func(dom, stream *Document) bool { return stream.Title == "" && dom.Title == "fo" }},
		{"integration point base", `<svg><foreignObject><base href=/fo/></foreignObject></svg><a href=x>x</a>`,
			func(dom, stream *Document) bool {
				return reflect.DeepEqual(stream.Links, []string{"https://example.com/dir/x"}) &&
					reflect.DeepEqual(dom.Links, []string{"https://example.com/fo/x"})
			}},
		{"script in integration point is markup", `<svg><foreignObject><script>w('<a href="/js">')</script></foreignObject></svg>`,
			func(dom, stream *Document) bool {
				return reflect.DeepEqual(stream.Links, []string{"https://example.com/js"}) && dom.Links == nil
			}},
		{"end tag closes svg", `<svg></math><title>s</title></svg><title>h</title>`,
			func(dom, stream *Document) bool { return stream.Title == "s" && dom.Title == "h" }},
		{"frameset keeps head fields found in the replaced body", `<div><meta name=description content=d></div><frameset>`,
			func(dom, stream *Document) bool { return stream.Description == "d" && dom.Description == "" }},
		{"any input clears frameset-ok", `<div><a href=/x></a><input type=hidden></div><frameset>`,
			func(dom, stream *Document) bool {
				return reflect.DeepEqual(stream.Links, []string{"https://example.com/x"}) && dom.Links == nil
			}},
		{"NUL in foreign text", "<body><svg><text>a\x00b</text></svg>",
			func(dom, stream *Document) bool { return stream.TextLen == 2 && dom.TextLen == 3 }},
	} {
		dom, stream := nodomPair(t, c.body)
		if !c.check(dom, stream) {
			dom.HTML = nil
			t.Errorf("%s: %q:\n stream %+v\n dom    %+v", c.name, c.body, stream, dom)
		}
	}
}

// Ensure an empty first <title> is the title with Options.NoDOM too: the
// token pass gave the text of the next <title> instead, as the first had
// no text token to take.
func TestNoDOMEmptyFirstTitle(t *testing.T) {
	for _, body := range []string{
		`<title></title><title>second</title><p>x`,
		`<head><title></title></head><body><title>in body</title>`,
		`<title></title><svg><title>svg</title></svg><title>third</title>`,
	} {
		dom, stream := nodomPair(t, body)
		if dom.Title != "" || stream.Title != "" {
			t.Errorf("%q: Title %q with NoDOM, %q without; want \"\" (the first title is empty)", body, stream.Title, dom.Title)
		}
	}
}
