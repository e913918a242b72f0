package parser

import (
	"reflect"
	"testing"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

// queryCase is a page snippet in one encoding and the links, and
// canonical, Parse must find in it.
type queryCase struct {
	name      string
	charset   string // declared in a <meta> and used to encode the page
	snippet   string // the page after the <meta>, as UTF-8 text
	links     []string
	canonical string
}

// A link's query is percent-encoded in the page's encoding, as browsers
// do (WHATWG URL Standard, the basic URL parser's query state with the
// document's encoding; HTML Standard, "encoding-parse a URL"): output
// bytes outside the special-query percent-encode set stay as they are
// (so Shift_JIS's trail byte 0x7B of 本 is a raw '{', as in the WPT
// encoding/legacy-mb-* href tests, which normalize it for that reason),
// and a character the encoding lacks becomes %26%23<decimal>%3B. The path
// and fragment stay UTF-8. The expected bytes are the WHATWG Encoding
// Standard's indexes: 日 is 0x93FA and 本 0x967B in Shift_JIS, C6FC and
// CBDC in EUC-JP, "F|" and "K\" in ISO-2022-JP's JIS X 0208 mode; 中文 is
// D6D0 CEC4 in GBK, 한국 C7D1 B1B9 in EUC-KR; U+FF0D, which the Japanese
// encoders write for U+2212, is 817C in Shift_JIS, A1DD in EUC-JP and
// "!]" in ISO-2022-JP.
func TestQueryEncoding(t *testing.T) {
	const page = "https://example.com/dir/page.html"
	tests := []queryCase{
		{name: "shift_jis query", charset: "shift_jis",
			snippet: `<a href="/search?q=日本">`,
			links:   []string{"https://example.com/search?q=%93%FA%96{"}},
		{name: "shift_jis path stays utf-8", charset: "shift_jis",
			snippet: `<a href="/日?q=日">`,
			links:   []string{"https://example.com/%E6%97%A5?q=%93%FA"}},
		{name: "shift_jis fragment dropped", charset: "shift_jis",
			snippet: `<a href="/p?q=日#日"><a href="/f#?q=日">`,
			links:   []string{"https://example.com/p?q=%93%FA", "https://example.com/f"}},
		{name: "shift_jis absolute link", charset: "shift_jis",
			snippet: `<a href="https://other.example/?q=日">`,
			links:   []string{"https://other.example/?q=%93%FA"}},
		{name: "shift_jis ascii in the query as in utf-8", charset: "shift_jis",
			snippet: `<a href="/s?a=%41%e9&amp;b='&quot;<> x&amp;q=日">`,
			links:   []string{"https://example.com/s?a=A%E9&b=%27%22%3C%3E%20x&q=%93%FA"}},
		{name: "shift_jis tabs, newlines and outer spaces removed first", charset: "shift_jis",
			snippet: "<a href=\"\n /s?q=日\t本\r\n \">",
			links:   []string{"https://example.com/s?q=%93%FA%96{"}},
		{name: "shift_jis canonical, refresh and base", charset: "shift_jis",
			snippet: `<base href="/b/?q=日"><link rel=canonical href="/c?q=本"><a href=""><a href="x?q=日"><meta http-equiv=refresh content="0;url=/r?q=日">`,
			links: []string{"https://example.com/b/?q=%93%FA", "https://example.com/b/x?q=%93%FA",
				"https://example.com/r?q=%93%FA"},
			canonical: "https://example.com/c?q=%96{"},
		{name: "shift_jis yen sign, overline and minus as WHATWG maps them", charset: "shift_jis",
			snippet: `<a href="/s?p=&#165;100&amp;o=&#8254;&amp;m=&#8722;">`,
			links:   []string{`https://example.com/s?p=\100&o=~&m=%81|`}},
		{name: "euc-jp", charset: "euc-jp",
			snippet: `<a href="/s?q=日本&amp;p=&#165;&amp;m=&#8722;">`,
			links:   []string{`https://example.com/s?q=%C6%FC%CB%DC&p=\&m=%A1%DD`}},
		{name: "iso-2022-jp minus", charset: "iso-2022-jp",
			snippet: `<a href="/s?m=&#8722;">`,
			links:   []string{`https://example.com/s?m=%1B$B!]%1B(B`}},
		{name: "windows-1251", charset: "windows-1251",
			snippet: `<a href="/поиск?q=привет">`,
			links:   []string{"https://example.com/%D0%BF%D0%BE%D0%B8%D1%81%D0%BA?q=%EF%F0%E8%E2%E5%F2"}},
		{name: "iso-8859-1 is windows-1252", charset: "iso-8859-1",
			snippet: `<a href="?q=é"><a href="?q=€">`,
			links:   []string{page + "?q=%E9", page + "?q=%80"}},
		{name: "windows-1252 unencodable", charset: "windows-1252",
			snippet: `<a href="?q=&#26085;&amp;x=é">`,
			links:   []string{page + "?q=%26%2326085%3B&x=%E9"}},
		{name: "gbk", charset: "gbk",
			snippet: `<a href="/s?q=中文">`,
			links:   []string{"https://example.com/s?q=%D6%D0%CE%C4"}},
		{name: "euc-kr", charset: "euc-kr",
			snippet: `<a href="/s?q=한국">`,
			links:   []string{"https://example.com/s?q=%C7%D1%B1%B9"}},
		{name: "iso-2022-jp one run", charset: "iso-2022-jp",
			snippet: `<a href="/s?q=日本">`,
			links:   []string{`https://example.com/s?q=%1B$BF|K\%1B(B`}},
		{name: "iso-2022-jp unencodable between", charset: "iso-2022-jp",
			snippet: `<a href="/s?q=日&#54620;本">`,
			links:   []string{`https://example.com/s?q=%1B$BF|%1B(B%26%2354620%3B%1B$BK\%1B(B`}},
		{name: "utf-8 unchanged", charset: "utf-8",
			snippet: `<a href="/日?q=日本">`,
			links:   []string{"https://example.com/%E6%97%A5?q=%E6%97%A5%E6%9C%AC"}},
	}
	for _, tt := range tests {
		e, err := htmlindex.Get(tt.charset)
		if err != nil {
			t.Fatal(err)
		}
		body, err := e.NewEncoder().String("<meta charset=" + tt.charset + ">" + tt.snippet)
		if err != nil {
			t.Fatalf("%s: encode page: %v", tt.name, err)
		}
		checkQueryLinks(t, tt, body)
	}

	// A UTF-16 page's URLs use UTF-8 (WHATWG "get an output encoding").
	utf16 := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
	body, err := utf16.NewEncoder().String(`<a href="/s?q=日本">`)
	if err != nil {
		t.Fatal(err)
	}
	checkQueryLinks(t, queryCase{name: "utf-16le", links: []string{"https://example.com/s?q=%E6%97%A5%E6%9C%AC"}}, body)
}

// checkQueryLinks parses body with and without the DOM and checks
// Links and Canonical.
func checkQueryLinks(t *testing.T, tt queryCase, body string) {
	t.Helper()
	for _, opts := range []Options{{}, {NoDOM: true}} {
		doc, err := Parse([]byte(body), "text/html", mustURL(t, pageURL), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(doc.Links, tt.links) || doc.Canonical != tt.canonical || doc.Dropped != 0 {
			t.Errorf("%s, NoDOM=%v (charset %s):\n Links %q, Canonical %q, Dropped %d\n want  %q, %q, 0",
				tt.name, opts.NoDOM, doc.Charset, doc.Links, doc.Canonical, doc.Dropped, tt.links, tt.canonical)
		}
	}
}
