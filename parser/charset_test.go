package parser

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// A <meta> charset declaration the 1024-byte prescan does not reach (a
// long head of scripts, styles or comments before it) still decides the
// encoding of a body that is not UTF-8, as the HTML Standard's "change the
// encoding" step does when the tree builder meets it: issue 3's GBK and
// Shift_JIS pages whose <meta> says so must get a correct title. Metas in
// comments and raw text, and undeclared pages, keep the old rules.
func TestLateMetaCharset(t *testing.T) {
	enc := func(t *testing.T, s string, gbk bool) string {
		t.Helper()
		e := japanese.ShiftJIS.NewEncoder()
		if gbk {
			e = simplifiedchinese.GBK.NewEncoder()
		}
		out, err := e.String(s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	script := "<script>var x = '" + strings.Repeat("x", 1500) + "';</script>"
	comment := "<!--" + strings.Repeat("c", 1500) + "-->"
	tests := []charsetCase{
		{"gbk meta after a long script", enc(t, "<html><head>"+script+`<meta charset="gbk"><title>中文标题</title></head><body>正文</body></html>`, true),
			"text/html", "中文标题", "gbk"},
		{"gb2312 http-equiv after a comment", enc(t, "<html><head>"+comment+`<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=gb2312"><title>中文标题</title></head></html>`, true),
			"text/html", "中文标题", "gbk"},
		{"shift_jis meta in body", enc(t, "<p>"+strings.Repeat("p", 1500)+`</p><meta charset=shift_jis><title>日本語のタイトル</title>`, false),
			"", "日本語のタイトル", "shift_jis"},
		{"header still wins", enc(t, script+`<meta charset="gbk"><title>中文</title>`, true),
			"text/html; charset=windows-1252", "ÖÐÎÄ", "windows-1252"},
		{"meta inside a comment does not count", "<!--" + strings.Repeat("c", 1500) + "<meta charset=gbk>--><title>caf\xe9</title>",
			"text/html", "café", "windows-1252"},
		{"meta inside a script does not count", "<script>" + strings.Repeat("s", 1500) + "'<meta charset=gbk>'</script><title>caf\xe9</title>",
			"text/html", "café", "windows-1252"},
		{"valid utf-8 keeps utf-8", script + `<meta charset="gbk"><title>café</title>`,
			"text/html", "café", "utf-8"},
	}
	checkTitleCharset(t, tests)
}

// The HTML Standard reads a <meta> naming x-user-defined as windows-1252
// (the prescan and "change the encoding" both say so); only a transport
// layer's x-user-defined is taken as it is.
func TestMetaXUserDefined(t *testing.T) {
	tests := []charsetCase{
		{"early meta", "<meta charset=x-user-defined><title>caf\xe9</title>", "text/html", "café", "windows-1252"},
		{"early http-equiv", "<meta http-equiv=content-type content='text/html; charset=x-user-defined'><title>caf\xe9</title>", "", "café", "windows-1252"},
		{"late meta", "<!--" + strings.Repeat("c", 1500) + "--><meta charset=x-user-defined><title>caf\xe9</title>", "", "café", "windows-1252"},
		{"header", "<title>caf\xe9</title>", "text/html; charset=x-user-defined", "caf\uf7e9", "x-user-defined"},
	}
	checkTitleCharset(t, tests)
}

// charsetCase is a page body and Content-Type with the title and charset
// Parse must find.
type charsetCase struct{ name, body, contentType, title, charset string }

// checkTitleCharset parses each case with and without the DOM.
func checkTitleCharset(t *testing.T, tests []charsetCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, opts := range []Options{{}, {NoDOM: true}} {
				doc, err := Parse([]byte(tt.body), tt.contentType, mustURL(t, pageURL), opts)
				if err != nil {
					t.Fatal(err)
				}
				if doc.Title != tt.title || doc.Charset != tt.charset {
					t.Errorf("NoDOM=%v: Title, Charset = %q, %q; want %q, %q", opts.NoDOM, doc.Title, doc.Charset, tt.title, tt.charset)
				}
			}
		})
	}
}
