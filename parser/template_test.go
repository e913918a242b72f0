package parser

import (
	"reflect"
	"testing"
)

// A <template>'s content is inert: it is not part of the document, so,
// as its links and its <meta http-equiv=refresh> are left out, its
// <title>, <base href>, <link rel=canonical> and <meta name=robots|
// description> must not set the page's fields either. A robots meta in a
// template used to drop every link of the page, and a base href in one
// to resolve them all against the wrong URL.
func TestTemplateContentIsInert(t *testing.T) {
	const body = `<head><template><title>tpl title</title><base href="/tpl-base/">` +
		`<link rel=canonical href="/tpl-canonical"><meta name=robots content="noindex,nofollow">` +
		`<meta name=description content="tpl description"></template>` +
		`<title>page title</title><meta name=description content="page description"></head>` +
		`<body><a href="a.html">a</a></body>`
	want := Document{
		Title:       "page title",
		Description: "page description",
		TextLen:     1,
		Links:       []string{"https://example.com/dir/a.html"},
		Charset:     "utf-8",
	}
	baseOnly := Document{TextLen: 1, Links: []string{"https://example.com/dir/a.html"}, Charset: "utf-8"}
	for _, c := range []struct {
		body string
		want Document
	}{
		{body, want},
		{`<template><base href="/tpl-base/"></template><a href="a.html">a</a>`, baseOnly},
	} {
		for _, opts := range []Options{{}, {NoDOM: true}} {
			doc, err := Parse([]byte(c.body), "text/html", mustURL(t, pageURL), opts)
			if err != nil {
				t.Fatal(err)
			}
			got := *doc
			got.HTML = nil
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%q, NoDOM=%v:\n got  %+v\n want %+v", c.body, opts.NoDOM, got, c.want)
			}
		}
	}
}
