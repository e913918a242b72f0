package parser

import (
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(`<html><head><title>t</title><base href="/b/"><meta name=robots content=noindex></head><body><a href="a#f">a</a><area href="//x.org/"><meta http-equiv=refresh content="0;url=/r"></body></html>`), "text/html")
	f.Add([]byte(`<div><a href="/one">unclosed</div></div><a href='mailto:x@y'>`), "")
	f.Add([]byte("\xef\xbb\xbf<title>bom</title>"), "text/html; charset=gbk")
	f.Add([]byte("<meta charset=shift_jis><title>\x93\xfa\x96\x7b</title>"), "text/html")
	f.Add([]byte("<meta charset=iso-2022-jp><a href=\"/\x1b$BF|\x1b(B?q=\x1b$BF|K\\\x1b(B&#54620;\t#\x1b$BF|\x1b(B\">"), "text/html")
	f.Add([]byte("\x00\xff\xfe<a href=\"\\\\evil\\x\">"), "text/html")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		page := mustURL(t, pageURL)
		doc, err := Parse(body, contentType, page, Options{})
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		checkDocument(t, doc)
		_ = IsHTML(contentType, body)
	})
}
