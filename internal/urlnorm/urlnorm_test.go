package urlnorm

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://example.com", "http://example.com/"},
		{"HTTP://EXAMPLE.COM/Path", "http://example.com/Path"},
		{"http://example.com:80/", "http://example.com/"},
		{"https://example.com:443/", "https://example.com/"},
		{"http://example.com:443/", "http://example.com:443/"},
		{"https://example.com:80/", "https://example.com:80/"},
		{"http://example.com:08080/", "http://example.com:8080/"},
		{"http://example.com/a#frag", "http://example.com/a"},
		{"http://user:pass@example.com/", "http://example.com/"},
		{"http://@example.com/", "http://example.com/"},
		{"http://example.com/a/./b/../c", "http://example.com/a/c"},
		{"http://example.com/a/%2e/b/%2E%2e/c", "http://example.com/a/c"},
		{"http://example.com/../../a", "http://example.com/a"},
		{"http://example.com/a?", "http://example.com/a"},
		{"http://example.com/a?#x", "http://example.com/a"},
		{"http://example.com/a?b=2&a=1&b=1", "http://example.com/a?b=2&a=1&b=1"},
		{"http://example.com/a?x=&y", "http://example.com/a?x=&y"},
		{"http://example.com/%7euser/%7Efoo", "http://example.com/~user/~foo"},
		{"http://example.com/%41%5a%61%7a%30%39%2D%2e%5F", "http://example.com/AZaz09-._"},
		{"http://example.com/a%2fb%3f%23%25%26", "http://example.com/a%2Fb%3F%23%25%26"},
		{"http://example.com/?q=%7e%2f%3d%26", "http://example.com/?q=~%2F%3D%26"},
		{"http://example.com/%", "http://example.com/%25"},
		{"http://example.com/%zz", "http://example.com/%25zz"},
		{"http://example.com/?q=100%", "http://example.com/?q=100%25"},
		{"http://example.com/?q=%%41", "http://example.com/?q=%25A"},
		{"http://example.com/a b", "http://example.com/a%20b"},
		{"http://example.com/ä?ö", "http://example.com/%C3%A4?%C3%B6"},
		{"http://example.com/a^b|c[d]", "http://example.com/a%5Eb%7Cc[d]"},
		{"http://example.com/Dir/", "http://example.com/Dir/"},
		{"http://www.example.com/", "http://www.example.com/"},
		{"  http://exa\tmple.com/a\nb  ", "http://example.com/ab"},
		{"http:\\\\example.com\\a\\b", "http://example.com/a/b"},
		{"http:example.com/a", "http://example.com/a"},
		{"https://bücher.DE/", "https://xn--bcher-kva.de/"},
		{"https://xn--bcher-kva.de/", "https://xn--bcher-kva.de/"},
		{"http://0x7f.1/", "http://127.0.0.1/"},
		{"http://2130706433/", "http://127.0.0.1/"},
		{"http://0177.0.0.1/", "http://127.0.0.1/"},
		{"http://[0:0::1]:8080/", "http://[::1]:8080/"},
		{"http://%65xample.com/", "http://example.com/"},
		{"http://a_b.example.com/", "http://a_b.example.com/"},
		{"http://example.com/@a/" + strings.Repeat("@", 2*maxAts), "http://example.com/@a/" + strings.Repeat("@", 2*maxAts)},
		{"http://example.com/?" + strings.Repeat("a/", 2*MaxSegments), "http://example.com/?" + strings.Repeat("a/", 2*MaxSegments)},
		{"http://u:p@example.com/", "http://example.com/"},
	}
	for _, tt := range tests {
		u, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := u.String(); got != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
		checkCanonical(t, u.String())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrEmpty},
		{" \t\n", ErrEmpty},
		{"mailto:a@example.com", ErrScheme},
		{"javascript:alert(1)", ErrScheme},
		{"tel:+123", ErrScheme},
		{"data:text/html,hi", ErrScheme},
		{"ftp://example.com/", ErrScheme},
		{"example.com/a", ErrScheme},
		{"/relative", ErrScheme},
		{"http://", ErrNoHost},
		{"https:///", ErrNoHost},
		{"http://exa mple.com/", ErrHost},
		{"http://a{b}.com/", ErrHost},
		{"http://1.2.3.4.5/", ErrHost},
		{"http://256.256.256.256/", ErrHost},
		{"http://[::1/", ErrHost},
		{"http://xn--a.com/", ErrHost},
		{"http://example.com:99999/", ErrSyntax},
		{"http://example.com:8a/", ErrSyntax},
		{"http://example.com/" + strings.Repeat("a", MaxLength), ErrTooLong},
		{"http://example.com/" + strings.Repeat("a/", MaxSegments), ErrTooLong},
		{"http://example.com" + strings.Repeat("\\", MaxSegments), ErrTooLong},
		{"http://" + strings.Repeat("u", maxUserinfo+1) + "@example.com/", ErrSyntax},
		{"http://" + strings.Repeat("@", maxAts+1) + "example.com/", ErrSyntax},
	}
	for _, tt := range tests {
		u, err := Parse(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want error %v", clip(tt.in), u, err, tt.want)
		}
	}
}

// TestSameKey checks that spellings of one page share one key.
func TestSameKey(t *testing.T) {
	base, err := Parse("http://example.com/dir/page.html?x=1")
	if err != nil {
		t.Fatal(err)
	}
	groups := [][]string{
		{ // fragment, default port, host case, relative form, dot segments, escapes
			"http://example.com/dir/other.html",
			"http://example.com/dir/other.html#top",
			"http://example.com:80/dir/other.html",
			"HTTP://Example.COM/dir/other.html",
			"other.html",
			"./other.html#x",
			"/dir/other.html",
			"//example.com/dir/other.html",
			"../dir/./sub/../other.html",
			"http://example.com/dir/%6Fther.html",
			"http://example.com/dir/%6fther.html",
		},
		{
			"http://example.com/a%2Fb",
			"http://example.com/a%2fb",
			"/a%2fb#c",
		},
		{
			"http://example.com/dir/page.html?x=1",
			"",
			"#section",
			"page.html?x=1#s",
			"?x=1",
		},
	}
	for _, g := range groups {
		var want string
		for i, ref := range g {
			u, err := Resolve(base, ref)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", ref, err)
			}
			if i == 0 {
				want = u.String()
				continue
			}
			if u.String() != want {
				t.Errorf("Resolve(%q) = %q, want %q", ref, u, want)
			}
		}
	}
}

func TestResolve(t *testing.T) {
	base, err := Parse("https://example.com/a/b/c?q=1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ ref, want string }{
		{"d", "https://example.com/a/b/d"},
		{"../d", "https://example.com/a/d"},
		{"../../../../d", "https://example.com/d"},
		{"/d?e=f", "https://example.com/d?e=f"},
		{"?z", "https://example.com/a/b/c?z"},
		{"//other.org", "https://other.org/"},
		{"http://other.org:80/x", "http://other.org/x"},
		{"\\\\other.org\\x", "https://other.org/x"},
		{" d\te ", "https://example.com/a/b/de"},
		{"https:d", "https://example.com/a/b/d"},
	}
	for _, tt := range tests {
		u, err := Resolve(base, tt.ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.ref, err)
			continue
		}
		if u.String() != tt.want {
			t.Errorf("Resolve(%q) = %q, want %q", tt.ref, u, tt.want)
		}
	}
	for _, ref := range []string{"mailto:x@example.com", "javascript:void(0)", "data:,x"} {
		if _, err := Resolve(base, ref); !errors.Is(err, ErrScheme) {
			t.Errorf("Resolve(%q) error = %v, want ErrScheme", ref, err)
		}
	}
	if _, err := Resolve(base, strings.Repeat("a/", MaxLength)); !errors.Is(err, ErrTooLong) {
		t.Errorf("Resolve(long) error = %v, want ErrTooLong", err)
	}
	if u, err := Resolve(nil, "HTTP://example.com"); err != nil || u.String() != "http://example.com/" {
		t.Errorf("Resolve(nil, abs) = %v, %v", u, err)
	}
	if _, err := Resolve(nil, "rel"); !errors.Is(err, ErrScheme) {
		t.Errorf("Resolve(nil, rel) error = %v, want ErrScheme", err)
	}
}

func TestOriginHost(t *testing.T) {
	tests := []struct{ in, origin, host string }{
		{"http://Example.com:80/a", "http://example.com", "example.com"},
		{"https://example.com:8443/a", "https://example.com:8443", "example.com:8443"},
		{"http://[::1]:8080/", "http://[::1]:8080", "[::1]:8080"},
		{"https://bücher.de/", "https://xn--bcher-kva.de", "xn--bcher-kva.de"},
	}
	for _, tt := range tests {
		u, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Origin(u); got != tt.origin {
			t.Errorf("Origin(%q) = %q, want %q", tt.in, got, tt.origin)
		}
		if got := Host(u); got != tt.host || got != u.Host {
			t.Errorf("Host(%q) = %q, want %q (u.Host %q)", tt.in, got, tt.host, u.Host)
		}
	}
	// Non-canonical input still yields the key.
	u := &url.URL{Scheme: "HTTPS", Host: "Example.COM:443"}
	if got := Host(u); got != "example.com" {
		t.Errorf("Host(non-canonical) = %q", got)
	}
	if got := Origin(u); got != "https://example.com" {
		t.Errorf("Origin(non-canonical) = %q", got)
	}
}

// checkCanonical asserts the package's promises about a canonical string.
func checkCanonical(t *testing.T, s string) {
	t.Helper()
	u, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(canonical %q): %v", s, err)
	}
	if u.String() != s {
		t.Fatalf("not idempotent: %q -> %q", s, u)
	}
	nu, err := url.Parse(s)
	if err != nil {
		t.Fatalf("net/url.Parse(%q): %v", s, err)
	}
	if nu.String() != s {
		t.Fatalf("net/url round trip: %q -> %q", s, nu)
	}
	// The crawl judges robots.txt rules on this slice of a link.
	if _, _, rest := SplitCanonical(s); rest != nu.RequestURI() {
		t.Fatalf("SplitCanonical(%q) rest %q, RequestURI %q", s, rest, nu.RequestURI())
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil ||
		u.Fragment != "" || u.RawFragment != "" || u.ForceQuery || u.Opaque != "" {
		t.Fatalf("canonical %q has forbidden parts: %#v", s, u)
	}
	if u.Host != strings.ToLower(u.Host) {
		t.Fatalf("canonical %q host not lowercase", s)
	}
	if len(s) > MaxLength {
		t.Fatalf("canonical %q longer than MaxLength", clip(s))
	}
}

func TestDropQueryParams(t *testing.T) {
	tracking := func(name string) bool { return strings.HasPrefix(name, "utm_") || name == "fbclid" }
	for _, tc := range []struct{ in, want string }{
		{"https://a.test/x", "https://a.test/x"},
		{"https://a.test/x?id=1", "https://a.test/x?id=1"},
		{"https://a.test/x?utm_source=n&id=1&utm_medium=e", "https://a.test/x?id=1"},
		{"https://a.test/x?utm_source=n&fbclid=abc", "https://a.test/x"},
		{"https://a.test/x?fbclid", "https://a.test/x"},
		{"https://a.test/x?b=2&&utm_x=1&a=1", "https://a.test/x?b=2&&a=1"},
		{"https://a.test/x?id=utm_source", "https://a.test/x?id=utm_source"},
	} {
		got := DropQueryParams(tc.in, tracking)
		if got != tc.want {
			t.Errorf("DropQueryParams(%s) = %s; want %s", tc.in, got, tc.want)
		}
		if u, err := Parse(got); err != nil || u.String() != got {
			t.Errorf("DropQueryParams(%s) = %s is not canonical: %v, %v", tc.in, got, u, err)
		}
	}
}

// Ensure Scheme reads a reference's scheme as the parser does, whatever
// its length, and tells relative references from absolute ones.
func TestScheme(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	tests := []struct {
		ref, scheme string
		ok          bool
	}{
		{"https://example.com/", "https", true},
		{" \x00HTTP://example.com/", "http", true},
		{"ja\tva\nscript:alert(1)", "javascript", true},
		{"mailto:a@example.com", "mailto", true},
		{"data:text/plain," + long, "data", true},
		{"web+custom-scheme.v2:x", "web+custom-scheme.v2", true},
		{"/path:with:colons", "", false},
		{"./a:b", "", false},
		{"1http://x", "", false},
		{":x", "", false},
		{"?q=a:b", "", false},
		{"#frag:x", "", false},
		{"//host:80/", "", false},
		{"noscheme" + long, "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Scheme(tt.ref)
		if got != tt.scheme || ok != tt.ok {
			t.Errorf("Scheme(%.40q) = %q, %v; want %q, %v", tt.ref, got, ok, tt.scheme, tt.ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Scheme("HTTPS://example.com/") }); n != 0 {
		t.Errorf("Scheme of an https URL allocates %v times; want 0", n)
	}
}
