package parser

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// diffCase is one input of the differential tests.
type diffCase struct {
	name        string
	body        []byte
	contentType string
}

// tricky are pages where one walk could plausibly differ from one query
// per field: fields declared after the links they affect, foreign content,
// templates, several candidates for one field.
var tricky = []string{
	`<a href="x">x</a><meta name=robots content=nofollow><base href="/b/"><link rel=canonical href=c>`,
	`<svg><title>svg</title><a xlink:href="/xl">x</a><a href="/h">h</a><style>p{}</style>text</svg><title>html</title>`,
	`<math><title>m</title><mi><a href=/mi>mi</a></mi></math>tail`,
	`<template><title>t</title><meta name=description content=tpl><a href=/t>t</a><base href=/tb/></template><a href=y>y</a><meta name=description content=second>`,
	`<head><title>a</title><title>b</title><link rel="stylesheet canonical" href="/one"><link rel=canonical href="/two"><link rel=canonical></head>`,
	`<link rel=canonical><link href=/nohref-rel><link rel=CANONICAL href=/three>`,
	`<base target=_top><base href="javascript:x"><base href=/late/><a href=z>z</a>`,
	`<frameset><frame src=a></frameset><a href=/after>a</a>text`,
	`<body><p>a</p></body></html>trailing <b>text</b><a href=/t2>t</a><!-- c --> more`,
	`<table><tr><td>cell<a href=/c1>1</a></td></tr><a href=/foster>f</a>foster text</table>`,
	`<select><option>o<a href=/in-select>s</a></option><title>st</title></select>`,
	`<title>first <b>not bold</b></title><body><title>in body</title><textarea>ta <a href=/ta></textarea><noscript><a href=/ns>n</a></noscript>`,
	`<pre>
first line</pre><listing>
l</listing>a` + "\x00" + `b<p>c&nbsp;&nbsp;d</p>`,
	`<meta http-equiv=refresh content="0;url=/r1"><meta http-equiv=Refresh><meta content="1;/r2" http-equiv=REFRESH><meta name=ROBOTS content=NOINDEX><meta name=" Description " content="  d  ">`,
	`<a href=/1><a href=/2><b><a href=/3></b></a><area href=/4><area><a>no</a>`,
	`<body><body class=x>second body tag</body><div><body>third</div>`,
	`<template><template><a href=/nested></template></template><a href=/out>`,
	`<svg><foreignObject><p>fo text<a href=/fo>fo</a><title>fot</title></p></foreignObject></svg>`,
	`<math><annotation-xml encoding="text/html"><body>b<a href=/ax>x</a></body></annotation-xml></math>`,
	"\xef\xbb\xbf<title>bom</title>caf\xc3\xa9",
	"<title>caf\xe9 \xff\xfe</title>\xc3(",
	`<meta charset="utf-8"><title>decl ` + "\xff" + `</title>`,
	"<meta charset=shift_jis><base href=\"/b/?q=\x93\xfa\"><link rel=canonical href=\"/c?q=\x96\x7b\">" +
		"<a href=\"?q=\x93\xfa\x96\x7b&#54620;\">q</a><a href=\"/\x93\xfa?q=\x93\xfa#\x93\xfa\">p</a><a href=\"\">b</a>",
}

// diffCorpus returns the differential tests' inputs: the tricky pages, the
// fuzz seed corpus, the generated-site and article pages, random markup.
func diffCorpus(t *testing.T) []diffCase {
	var cases []diffCase
	for i, s := range tricky {
		for _, ct := range []string{"text/html", "text/html; charset=utf-8", ""} {
			cases = append(cases, diffCase{fmt.Sprintf("tricky%d/%q", i, ct), []byte(s), ct})
		}
	}
	files, err := filepath.Glob("testdata/fuzz/FuzzParse/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		body, ct := readFuzzSeed(t, f)
		cases = append(cases, diffCase{f, body, ct})
	}
	for _, p := range testsitePages(t) {
		cases = append(cases, diffCase{p.name, p.body, p.contentType})
	}
	for seed := range 5 {
		cases = append(cases, diffCase{fmt.Sprintf("article%d", seed), articlePage(seed), "text/html"})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		cases = append(cases, diffCase{fmt.Sprintf("random%d", i), randomMarkup(rng), "text/html"})
	}
	return cases
}

// readFuzzSeed reads a FuzzParse corpus file: a []byte and a string.
func readFuzzSeed(t *testing.T, path string) ([]byte, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%s: want a header and two values", path)
	}
	value := func(line, typ string) string {
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, typ+"("), ")"))
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		return s
	}
	return []byte(value(lines[1], "[]byte")), value(lines[2], "string")
}

// randomMarkup returns a page of random tags from a vocabulary that
// exercises every field, foreign content, templates and table fostering.
func randomMarkup(rng *rand.Rand) []byte {
	tags := []string{"html", "head", "body", "title", "base", "link", "meta", "a", "area", "p", "div", "b",
		"svg", "math", "template", "table", "tr", "td", "select", "option", "script", "style", "noscript",
		"textarea", "pre", "frameset", "foreignObject", "annotation-xml", "mi", "desc"}
	attrs := []string{`href="/h%d"`, `href="x%d#f"`, `href="http://o%d.example/"`, `href="mailto:m%d@x"`,
		`rel="canonical"`, `rel="nofollow"`, `rel="x%d"`, `name="robots" content="noindex"`,
		`name="robots" content="nofollow"`, `name="description" content="d %d"`, `http-equiv="refresh"`,
		`content="0; url=/r%d"`, `xlink:href="/xl%d"`, `encoding="text/html"`}
	var b bytes.Buffer
	for range 1 + rng.IntN(60) {
		switch rng.IntN(4) {
		case 0, 1:
			b.WriteString("<" + tags[rng.IntN(len(tags))])
			for range rng.IntN(3) {
				b.WriteString(" " + fmt.Sprintf(attrs[rng.IntN(len(attrs))], rng.IntN(5)))
			}
			b.WriteString(">")
		case 2:
			b.WriteString("</" + tags[rng.IntN(len(tags))] + ">")
		default:
			b.WriteString([]string{"word ", " ", "\n\t", "text", "日本", "\u00a0", "&amp;", "x y"}[rng.IntN(8)])
		}
	}
	return b.Bytes()
}

// checkSameAsReference parses body with Parse and parseReference and
// fails unless every field and the parsed tree agree.
func checkSameAsReference(t *testing.T, name string, body []byte, contentType string) {
	t.Helper()
	page := mustURL(t, pageURL)
	for _, opts := range []Options{{}, {MaxLinks: 2, MaxURLLength: 40}} {
		got, err := Parse(body, contentType, page, opts)
		want, werr := parseReference(body, contentType, page, opts)
		if tooDeep(err) && tooDeep(werr) {
			continue // both refuse a document nested too deep
		}
		if err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		if werr != nil {
			t.Fatalf("%s: parseReference: %v", name, werr)
		}
		gotHTML, wantHTML := dump(got.HTML.Nodes[0]), dump(want.HTML.Nodes[0])
		if gotHTML != wantHTML {
			t.Errorf("%s: trees differ:\n got  %q\n want %q", name, gotHTML, wantHTML)
		}
		if got.HTML.Url != want.HTML.Url {
			t.Errorf("%s: HTML.Url = %v, want %v", name, got.HTML.Url, want.HTML.Url)
		}
		g, w := *got, *want
		g.HTML, w.HTML = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s, %+v:\n got  %+v\n want %+v", name, opts, g, w)
		}
	}
}

// dump describes the tree under n, node by node in document order
// (html.Render refuses some trees the parser builds, such as a <link>
// with children in foreign content).
func dump(n *html.Node) string {
	var b strings.Builder
	stack := []*html.Node{n}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fmt.Fprintf(&b, "%d %q %q %q\n", n.Type, n.Namespace, n.Data, n.Attr)
		for c := n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, c)
		}
	}
	return b.String()
}

// TestSameAsReference holds Parse to the reference implementation (one
// cascadia query per field, every body through the x/text decoder) on
// hand-picked, seed, generated-site, article and random pages.
func TestSameAsReference(t *testing.T) {
	for _, c := range diffCorpus(t) {
		checkSameAsReference(t, c.name, c.body, c.contentType)
	}
}

// FuzzSameAsReference holds Parse to the reference implementation on any
// input: the walk, the decoding and the tree must agree exactly.
func FuzzSameAsReference(f *testing.F) {
	for _, s := range tricky {
		f.Add([]byte(s), "text/html")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		f.Add(randomMarkup(rng), "")
	}
	for _, p := range hostilePages {
		f.Add([]byte(p.body), p.contentType)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		checkSameAsReference(t, "fuzz", body, contentType)
	})
}

// TestScanNestedBodies covers a tree the HTML parser does not build but
// the scan still counts as visibleTextLen does: a <body> inside another.
func TestScanNestedBodies(t *testing.T) {
	root, err := html.Parse(strings.NewReader(`<body>a <div>b</div> c</body>`))
	if err != nil {
		t.Fatal(err)
	}
	div := root.FirstChild.LastChild.FirstChild.NextSibling // html > body > "a ", div
	inner := &html.Node{Type: html.ElementNode, Data: "body"}
	inner.AppendChild(&html.Node{Type: html.TextNode, Data: "inner words"})
	div.AppendChild(inner)
	s := scanTree(root)
	if len(s.bodies) != 2 {
		t.Fatalf("%d bodies, want 2", len(s.bodies))
	}
	if got, want := s.textLen(), visibleTextLen(s.bodies); got != want || want != len("a binner words c")+len("inner words") {
		t.Errorf("textLen = %d, visibleTextLen = %d", got, want)
	}
}

// TestTextCounter holds textCounter to the rune count of strings.Fields
// joined with single spaces, and, fed in random pieces, to the reference's
// one-byte-at-a-time count over the same pieces (a piece boundary inside
// a multi-byte rune splits it in both), on text mixing every ASCII space,
// Unicode spaces, multi-byte runes and invalid bytes.
func TestTextCounter(t *testing.T) {
	alphabet := []string{" ", "\t", "\n", "\v", "\f", "\r", "\x1f", "!", "a", "Z", "~", "\x7f",
		"\u00a0", "\u0085", "\u3000", "\u2028", "é", "日", "\xff", "\xc2", "\xc3", "\x85", "loremipsum"}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(80) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		var whole textCounter
		whole.add(s)
		if want := utf8.RuneCountInString(strings.Join(strings.Fields(s), " ")); whole.count != want {
			t.Fatalf("textCounter(%q) = %d, want %d", s, whole.count, want)
		}
		var c textCounter
		body := &html.Node{Type: html.ElementNode, Data: "body"}
		var pieces []string
		for rest := s; rest != ""; {
			n := 1 + rng.IntN(len(rest))
			c.add(rest[:n])
			body.AppendChild(&html.Node{Type: html.TextNode, Data: rest[:n]})
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		if want := refVisibleTextLen([]*html.Node{body}); c.count != want {
			t.Fatalf("textCounter(%q) = %d, want %d", pieces, c.count, want)
		}
	}
}
