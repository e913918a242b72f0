package parser

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// tokenTricks are inputs where a tokenizer's corner cases meet: every
// construct the fast path leaves to x/net, the ones it ports, and the
// input ending in the middle of each.
var tokenTricks = []string{
	"", "<", "a<", "</", "<!", "<?", "</>", "< a>", "<1>", "a < b > c", "<<a>>", "</ a>", "</1>",
	"<a>", "<A HREF=X>", "<a href='x'>", `<a href="x">`, "<a href=x/>", "<p a=/>", "<a/>", "<a/b>", "<a =b>",
	"<a ==b>", "<a b = c d=\"e\" f='g' h>", "<a b c=d b=e B=f>", "<a href='x&amp;y'>", "<a href=\"a\rb\">",
	"<a h\x00ref=x>", "<a\x00b>", "<a href=\"x\x00\">", "<a \u212a=1 k=2>", "<a k=1 \u212a=2>", "<\u017fcript>x</script>",
	"<a b=\"c", "<a b='c", "<a b=c", "<a b=", "<a b", "<a ", "<a", "<a/", "</a", "</a b=c", "</a b='c'>x",
	"<script>a</script>b", "<SCRIPT>a<!--<script></script>--></script>c", "<script><!--x</script>", "<script/>x</script>y",
	"<style>a<b>c</b></style>d", "<STYLE>x</StYlE >y", "<style>x</stylex></style>", "<style>x</sty", "<style>x</", "<style>x<",
	"<title>a &amp; b</title>", "<title>a\r\nb\rc</title>", "<textarea>\n&lt;x\x00</textarea>", "<xmp>&amp;<b></xmp>",
	"<iframe><a></iframe>", "<noembed>x</noembed>", "<noframes>x</noframes>", "<noscript><a href=x></noscript>",
	"<plaintext>a</plaintext><b>", "<title/>x</title>", "<title>", "<title>x", "<svg><![CDATA[x<a>]]></svg>",
	"<!-- c -->x", "<!---->", "<!-->", "<!--->", "<!-- a --!>", "<!DOCTYPE html>", "<!doctype", "<?xml x?>", "<!x>",
	"a&amp;b&notit;&#x41;&#0;\x00\r\n\r", "text\r", "\r\n<a>\r\n</a>\r",
	"<a href=\"1\" href=\"2\" HREF=3>", "<p\tclass=x\fid=y\nlang=z\r>",
}

// hostileTokens are seeds of FuzzTokens beyond tokenTricks: a tag with
// more attributes than the fast path reads, huge and entity-laden
// attribute values, invalid UTF-8 and NUL in names, a byte order mark.
func hostileTokens() []string {
	var many strings.Builder
	many.WriteString("<a")
	for i := range maxFastAttrs + 2 {
		fmt.Fprintf(&many, " a%d=%d", i, i)
	}
	many.WriteString(" a0=dup href=/x>t</a>")
	return []string{
		many.String(),
		`<a title="` + strings.Repeat("x&amp;y\r\n", 2000) + `" href=/h>`,
		`<a href="&amp&lt;&#x26;&#38;&notin;&notit;&ampx=1&&AElig&AEligx&#0;&#xD800;&#x110000;">`,
		"<a\xff \xfe=\xfd \xc3(=\xed\xa0\x80>\xc3(</a\xff>",
		"<scr\x00ipt>x</script><!--\x00--><!DOCTYPE \x00 x>",
		"\xef\xbb\xbf<a>\xef\xbb\xbf",
		"<a\rhref=x\r\ntitle='a\r\rb'\r>",
		strings.Repeat("<div>", 600),
		"<textarea>" + strings.Repeat("</textare", 50) + "</TEXTAREA\t>x",
		"<script><!--<script>x</script>-->y</script>z",
	}
}

// compareTokens reads doc with tokens and with html.Tokenizer, making the
// same calls on both (mode varies them: AllowCDATA, NextIsNotRawText,
// whether TagName and TagAttr are called), and fails at the first
// difference.
func compareTokens(t *testing.T, doc []byte, mode byte) {
	t.Helper()
	want := html.NewTokenizer(bytes.NewReader(doc))
	got := newTokens(doc)
	for i := 0; ; i++ {
		if i > 2*len(doc)+4 {
			t.Fatalf("%q: more tokens than bytes", doc)
		}
		cdata := mode&1 != 0 && i%3 != 1
		want.AllowCDATA(cdata)
		got.AllowCDATA(cdata)
		wt, gt := want.Next(), got.Next()
		if wt != gt {
			t.Fatalf("%q mode %d, token %d: %v, want %v", doc, mode, i, gt, wt)
		}
		switch wt {
		case html.ErrorToken:
			return
		case html.TextToken, html.CommentToken, html.DoctypeToken:
			if w, g := string(want.Text()), string(got.Text()); w != g {
				t.Fatalf("%q mode %d, token %d (%v): text %q, want %q", doc, mode, i, wt, g, w)
			}
		default:
			if mode&4 != 0 && i%2 == 0 {
				break // the caller may skip a tag's name and attributes
			}
			wn, wa := want.TagName()
			wName := string(wn)
			gn, ga := got.TagName()
			if wName != string(gn) || wa != ga {
				t.Fatalf("%q mode %d, token %d (%v): name %q %v, want %q %v", doc, mode, i, wt, gn, ga, wName, wa)
			}
			for more := wa; more; {
				wk, wv, wm := want.TagAttr()
				wKey, wVal := string(wk), string(wv)
				gk, gv, gm := got.TagAttr()
				if wKey != string(gk) || wVal != string(gv) || wm != gm {
					t.Fatalf("%q mode %d, token %d: attr %q=%q %v, want %q=%q %v", doc, mode, i, gk, gv, gm, wKey, wVal, wm)
				}
				more = wm
			}
			if mode&2 != 0 && wt != html.EndTagToken && i%2 == 1 {
				want.NextIsNotRawText()
				got.NextIsNotRawText()
			}
		}
	}
}

// TestTokensSameAsTokenizer compares the token streams of the tricky
// inputs, every prefix of them, the fuzz seed pages and generated pages.
func TestTokensSameAsTokenizer(t *testing.T) {
	var docs [][]byte
	for _, s := range append(tokenTricks, tricky...) {
		for n := range len(s) + 1 {
			docs = append(docs, []byte(s[:n]))
		}
	}
	files, err := filepath.Glob("testdata/fuzz/FuzzParse/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("seeds: %v, %d files", err, len(files))
	}
	for _, f := range files {
		body, _ := readFuzzSeed(t, f)
		docs = append(docs, body)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		docs = append(docs, randomMarkup(rng), wellFormedPage(rng))
	}
	for _, doc := range docs {
		for mode := range byte(8) {
			compareTokens(t, doc, mode)
		}
	}
}

// FuzzTokens holds tokens to html.Tokenizer on any input.
func FuzzTokens(f *testing.F) {
	for _, s := range tokenTricks {
		f.Add([]byte(s), byte(0))
	}
	for i, s := range tricky {
		f.Add([]byte(s), byte(i))
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for i := range 10 {
		f.Add(randomMarkup(rng), byte(i))
	}
	for i, s := range hostileTokens() {
		f.Add([]byte(s), byte(i))
	}
	f.Fuzz(func(t *testing.T, doc []byte, mode byte) {
		compareTokens(t, doc, mode)
	})
}

// TestTokensKeepInput: the document is read, never written (x/net lower-
// cases and unescapes in its own copy; tokens must copy first).
func TestTokensKeepInput(t *testing.T) {
	doc := []byte("<A HREF=X Class=y>a\r\nb &amp; c<TITLE>T\r</TITLE><p ID=\"Q\">")
	orig := string(doc)
	z := newTokens(doc)
	for z.Next() != html.ErrorToken {
		z.Text()
		if _, more := z.TagName(); more {
			for more {
				_, _, more = z.TagAttr()
			}
		}
	}
	if string(doc) != orig {
		t.Fatalf("input changed to %q", doc)
	}
}
