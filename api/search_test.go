package api

import (
	"testing"
)

func TestBodyText(t *testing.T) {
	for _, tc := range []struct {
		body, cs string
		html     bool
		want     string
	}{
		{`<html><head><title>T</title><style>p{}</style><script>var secret=1</script></head>
		  <body><p>Hello,&nbsp;<b>World</b>!</p><br/>Fish &amp; Chips<template>hidden</template></body></html>`,
			"", true, "hello, world ! fish & chips"},
		{"Plain\n\tTEXT  here", "", false, "plain text here"},
		{"caf\xe9", "windows-1252", true, "café"},
	} {
		if got := bodyText([]byte(tc.body), tc.html, tc.cs); got != tc.want {
			t.Errorf("bodyText(%q) = %q; want %q", tc.body, got, tc.want)
		}
	}
	if _, ok := searchable("image/png"); ok {
		t.Error("image/png searchable")
	}
	if h, ok := searchable("application/xhtml+xml"); !ok || !h {
		t.Error("xhtml not searched as HTML")
	}
}

func TestCanonicalPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP://Example.COM/Path": "http://example.com/Path",
		"https://A.b?Q":           "https://a.b/?Q", // stored URLs have the path "/"
		"https://a.b#F":           "https://a.b/#F",
		"HTTP://EX":               "http://ex",
		"":                        "",
		// A whole authority is canonicalized as crawled URLs are: the
		// default port goes, an IDN becomes punycode.
		"https://Example.com:443/a": "https://example.com/a",
		"http://example.com:80?x":   "http://example.com/?x",
		"http://example.com:8080/B": "http://example.com:8080/B",
		"http://Bücher.example/x":   "http://xn--bcher-kva.example/x",
		"https://example.com:44":    "https://example.com:44",
	} {
		if got := canonicalPrefix(in); got != want {
			t.Errorf("canonicalPrefix(%q) = %q; want %q", in, got, want)
		}
	}
}
