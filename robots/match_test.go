package robots_test

import (
	"testing"

	"crawler/robots"
)

// group wraps rule lines in a "*" group.
func group(lines string) []byte {
	return []byte("User-agent: *\n" + lines + "\n")
}

// Ensure the longest pattern wins regardless of order (RFC 9309 §5.2 and
// §2.2.2), Allow wins a tie in either order, and no match means allowed.
func TestAllowed_LongestMatch(t *testing.T) {
	tests := []struct {
		name, rules string
		checks      []check
	}{
		{"RFC 5.2", "Allow: /example/page/\nDisallow: /example/page/disallowed.gif", []check{
			{"/example/page/", true},
			{"/example/page/disallowed.gif", false},
			{"/example/page/x.gif", true},
			{"/example/", true}, // no match
		}},
		{"longer allow listed last", "Disallow: /folder\nAllow: /folder/page", []check{
			{"/folder/page", true}, {"/folder/other", false}}},
		{"tie allow listed last", "Disallow: /folder\nAllow: /folder", []check{{"/folder/page", true}}},
		{"tie allow listed first", "Allow: /folder\nDisallow: /folder", []check{{"/folder/page", true}}},
		{"allow /p disallow /", "Allow: /p\nDisallow: /", []check{{"/page", true}, {"/x", false}}},
		{"allow /$ disallow /", "Allow: /$\nDisallow: /", []check{{"/", true}, {"/page.htm", false}}},
		{"wildcard counts pattern octets", "Allow: /a/b/cd\nDisallow: /*.php", []check{
			// 7 octets beat 6; a regexp-length rule (/.*\.php, 8) would not.
			{"/a/b/cd.php", true}, {"/a/b/ce.php", false}}},
		{"equivalent patterns tie", "Allow: /fish\nDisallow: /fish*", []check{{"/fish.php", true}}},
		{"equivalent encodings tie", "Allow: /baz\nDisallow: /%62az", []check{{"/baz", true}}},
		// "*" and "/" both match every path and have one octet each
		// (every path starts with "/"), so Allow wins the tie either way.
		{"allow * disallow /", "Allow: *\nDisallow: /", []check{{"/x", true}, {"/", true}}},
		{"disallow / allow *", "Disallow: /\nAllow: *", []check{{"/x", true}, {"/", true}}},
		{"disallow * allow /", "Disallow: *\nAllow: /", []check{{"/x", true}, {"/", true}}},
		{"disallow * allow /*", "Disallow: *\nAllow: /*", []check{{"/x", true}, {"/", true}}},
		{"allow /* disallow /", "Allow: /*\nDisallow: /", []check{{"/x", true}, {"/", true}}},
		{"allow ** disallow /", "Allow: **\nDisallow: /", []check{{"/x", true}}},
		{"allow *$ disallow /", "Allow: *$\nDisallow: /", []check{{"/x", true}}},
		{"disallow * allow /p", "Disallow: *\nAllow: /p", []check{{"/p", true}, {"/x", false}, {"/", false}}},
		{"disallow * alone", "Disallow: *", []check{{"/", false}, {"/x", false}, {"/robots.txt", true}}},
		{"no rules", "", []check{{"/", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, robots.Parse(group(tt.rules), "crawler"), tt.checks...)
		})
	}
}

// Ensure matching is case-sensitive and anchored at the first octet of the
// path, and includes the query.
func TestAllowed_PrefixSemantics(t *testing.T) {
	r := robots.Parse(group("Disallow: /private\nDisallow: /search?q=\nDisallow: /*/admin"), "crawler")
	expect(t, r,
		check{"/private", false},
		check{"/private/x", false},
		check{"/privateer", false},
		check{"/Private", true},
		check{"/x/private", true},
		check{"/search?q=cats", false},
		check{"/search?p=1&q=cats", true},
		check{"/search", true},
		check{"/a/admin", false},
		check{"/admin", true}, // "*/admin" needs a second slash
	)
}

// Ensure /robots.txt is allowed whatever the rules say.
func TestAllowed_RobotsTxtImplicit(t *testing.T) {
	expect(t, robots.Parse(group("Disallow: /"), "crawler"),
		check{"/robots.txt", true}, check{"/robots.txt?x=1", true}, check{"/robots.txt.bak", false})
	expect(t, robots.DisallowAll(), check{"/robots.txt", true}, check{"/", false})
}

// Ensure percent-encoding equivalence both ways (RFC 9309 §2.2.2 table):
// encoded unreserved octets equal their character, non-ASCII equals its
// UTF-8 percent-encoding, reserved octets stay distinct.
func TestAllowed_PercentEncoding(t *testing.T) {
	tests := []struct {
		name, rule string
		checks     []check
	}{
		{"encoded rule, plain URL", "Disallow: /foo/bar/%62%61%7A", []check{
			{"/foo/bar/baz", false}, {"/foo/bar/%62%61%7a", false}, {"/foo/bar/bax", true}}},
		{"plain rule, encoded URL", "Disallow: /foo/bar/baz", []check{
			{"/foo/bar/%62%61%7A", false}, {"/foo/bar/ba%7a/x", false}}},
		{"UTF-8 rule, encoded URL", "Disallow: /foo/bar/ツ", []check{
			{"/foo/bar/%E3%83%84", false}, {"/foo/bar/%e3%83%84", false}, {"/foo/bar/ツ", false},
			{"/foo/bar/%E3%83%85", true}}},
		{"encoded rule, UTF-8 URL", "Disallow: /foo/bar/%E3%83%84", []check{{"/foo/bar/ツ", false}}},
		{"lower-case hex rule", "Disallow: /foo/%e3%83%84", []check{{"/foo/ツ", false}}},
		{"reserved stays encoded", "Disallow: /a%2Fb", []check{{"/a%2fb", false}, {"/a/b", true}}},
		{"query as served", "Disallow: /foo/bar?baz=quz", []check{
			{"/foo/bar?baz=quz", false}, {"/foo/bar?baz=%71uz", false}, {"/foo/bar?baz=", true}}},
		{"encoded URL in rule", "Disallow: /https%3A%2F%2Fwww.example.com", []check{
			{"/https%3A%2F%2Fwww.example.com", false}}},
		{"space", "Disallow: /a b", []check{{"/a%20b", false}, {"/a+b", true}}},
		{"stray percent", "Disallow: /100%", []check{{"/100%25", false}, {"/100", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, robots.Parse(group(tt.rule), "crawler"), tt.checks...)
		})
	}
}

// Ensure '*' and '$' (RFC 9309 §2.2.3, with Google's fish examples), '#'
// comments and literal %2A / %24.
func TestAllowed_SpecialCharacters(t *testing.T) {
	tests := []struct {
		rule   string
		checks []check
	}{
		{"Disallow: /fish*.php", []check{
			{"/fish.php", false},
			{"/fishheads/catfish.php?parameters", false},
			{"/Fish.PHP", true},
			{"/x/fish.php", true}, // anchored at the first octet
			{"/fish.ph", true},
		}},
		{"Disallow: /fish*", []check{{"/fish", false}, {"/fish.html", false}, {"/fishheads", false}, {"/Fish.asp", true}, {"/catfish", true}}},
		{"Disallow: /fish", []check{{"/fish", false}, {"/fish/salmon.html", false}, {"/fish.php?id=1", false}, {"/catfish", true}}},
		{"Disallow: /fish/", []check{{"/fish/", false}, {"/fish/?id=1", false}, {"/fish", true}, {"/fish.html", true}}},
		{"Disallow: /*.php", []check{{"/index.php", false}, {"/folder/any.php.file.html", false}, {"/", true}, {"/windows.PHP", true}}},
		{"Disallow: /*.php$", []check{{"/filename.php", false}, {"/folder/filename.php", false},
			{"/filename.php?parameters", true}, {"/filename.php/", true}, {"/filename.php5", true}}},
		{"Disallow: /fish*.php$", []check{{"/fish.php", false}, {"/fishy.php", false}, {"/fish.php.php", false}, {"/fish.phpx", true}}},
		{"Disallow: /fish$", []check{{"/fish", false}, {"/fish/", true}, {"/fishheads", true}, {"/fish?id=1", true}}},
		{"Disallow: /this/*/exactly", []check{{"/this/a/b/exactly", false}, {"/this//exactly", false}, {"/this/exactly", true}}},
		{"Disallow: /a*b*c", []check{{"/abc", false}, {"/a-b-c-d", false}, {"/acb", true}}},
		{"Disallow: /a**b", []check{{"/ab", false}, {"/axxb", false}}},
		{"Disallow: *", []check{{"/", false}, {"/x", false}}},
		{"Disallow: /a*$", []check{{"/a", false}, {"/abc", false}, {"/b", true}}},
		{"Disallow: /a$b", []check{{"/a$b", false}, {"/a%24b", false}, {"/a", true}}},
		{"Disallow: /path/file-with-a-%2A.html", []check{
			{"/path/file-with-a-*.html", false}, {"/path/file-with-a-%2a.html", false}, {"/path/file-with-a-x.html", true}}},
		{"Disallow: /path/foo-%24", []check{{"/path/foo-$", false}, {"/path/foo-", true}}},
		{"Disallow: /x # comment in line", []check{{"/x", false}, {"/y", true}}},
		{"Disallow: /q%23frag", []check{{"/q%23frag", false}, {"/q", true}}},
		{"Disallow: /a#b", []check{{"/a", false}, {"/b", true}}}, // "#b" is a comment
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			expect(t, robots.Parse(group(tt.rule), "crawler"), tt.checks...)
		})
	}
}

// Ensure URLs with an empty path or a forced empty query are matched as
// served.
func TestAllowed_URLForms(t *testing.T) {
	r := robots.Parse(group("Disallow: /$\nDisallow: /a?$"), "crawler")
	expect(t, r, check{"", false}, check{"/", false}, check{"/?", true}, check{"/a?", false}, check{"/a", true})
}

// Ensure the zero value, AllowAll and DisallowAll behave as documented.
func TestRules_Constructors(t *testing.T) {
	expect(t, &robots.Rules{}, check{"/", true})
	a := robots.AllowAll()
	expect(t, a, check{"/", true}, check{"/x?y", true})
	if a.Unreachable() || a.Status() != 0 {
		t.Errorf("AllowAll: Unreachable=%v Status=%d", a.Unreachable(), a.Status())
	}
	d := robots.DisallowAll()
	expect(t, d, check{"/", false}, check{"/x?y", false})
	if !d.Unreachable() || d.Status() != 0 {
		t.Errorf("DisallowAll: Unreachable=%v Status=%d", d.Unreachable(), d.Status())
	}
}
