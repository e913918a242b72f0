package urlnorm

import "testing"

// EncodeQuery leaves an href alone unless the page is not UTF-8 and the
// href's query has a non-ASCII character: no cleaning, no copy.
func TestEncodeQueryUnchanged(t *testing.T) {
	sjis := QueryEncoding("shift_jis")
	if sjis == nil || QueryEncoding("utf-8") != nil || QueryEncoding("utf-16le") != nil ||
		QueryEncoding("utf-16be") != nil || QueryEncoding("replacement") != nil ||
		QueryEncoding("") != nil || QueryEncoding("no-such-encoding") != nil {
		t.Fatal("QueryEncoding: want nil for utf-8, utf-16, replacement, \"\" and unknown names only")
	}
	for _, href := range []string{" /a?q=x\t ", "/日", "/日?q=a b", "/p#?q=日", "/p#f?q=日", "?"} {
		if got := EncodeQuery(href, sjis); got != href {
			t.Errorf("EncodeQuery(%q, shift_jis) = %q", href, got)
		}
	}
	if got := EncodeQuery("/p?q=日", nil); got != "/p?q=日" {
		t.Errorf("EncodeQuery with UTF-8 = %q", got)
	}
}
