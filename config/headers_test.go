package config

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// fetch.headers and a host_limits entry's headers parse as curl -H lines
// into canonical names, the host's over the global ones; a malformed
// line, a header the crawler sets itself, and a credential outside a
// host's entry are each reported at their field and line.
func TestRequestHeaders(t *testing.T) {
	c, err := Parse([]byte("fetch:\n  headers: ['accept-language: en', 'X-Team:  crawl ', 'X-Team: two']\n" +
		"  host_limits:\n    - {host: A.Test, headers: ['Authorization: Bearer s3cret', 'x-team: mine']}\n    - {host: b.test, concurrency: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	all, perHost := c.Fetch.RequestHeaders()
	if want := (http.Header{"Accept-Language": {"en"}, "X-Team": {"crawl", "two"}}); !reflect.DeepEqual(all, want) {
		t.Errorf("fetch.headers = %v; want %v", all, want)
	}
	if want := map[string]http.Header{"a.test": {"Authorization": {"Bearer s3cret"}, "X-Team": {"mine"}}}; !reflect.DeepEqual(perHost, want) {
		t.Errorf("per host = %v; want %v", perHost, want)
	}

	in := "fetch:\n  headers:\n" +
		"    - 'no colon'\n" + // line 3
		"    - 'Bad Name: x'\n" + // line 4
		"    - 'User-Agent: other'\n" + // line 5
		"    - 'Cookie: a=b'\n" + // line 6
		"    - \"X-Ok: \\u0001\"\n" + // line 7
		"  host_limits:\n" +
		"    - {host: a.test, headers: ['Accept-Encoding: identity', 'Cookie: a=b']}\n" // line 9
	errs := configErrors(t, mustFail(t, in))
	want := map[string]string{
		"fetch.headers[0]":                "want \"Name: value\"",
		"fetch.headers[1]":                "not a header name",
		"fetch.headers[2]":                "fetch.user_agent",
		"fetch.headers[3]":                "host_limits entry",
		"fetch.headers[4]":                "control character",
		"fetch.host_limits[0].headers[0]": "Accept-Encoding cannot be set",
	}
	lines := map[string]int{"fetch.headers[0]": 3, "fetch.headers[1]": 4, "fetch.headers[2]": 5, "fetch.headers[3]": 6,
		"fetch.headers[4]": 7, "fetch.host_limits[0].headers[0]": 9}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		if s, ok := want[e.Field]; !ok || !strings.Contains(e.Error(), s) || e.Line != lines[e.Field] {
			t.Errorf("unexpected error %v (field %q line %d)", e, e.Field, e.Line)
		}
	}
	var none Fetch
	if all, perHost := none.RequestHeaders(); all != nil || perHost != nil {
		t.Errorf("no headers: %v, %v; want nil", all, perHost)
	}
}

// fetch.proxy takes an http, https or socks5 URL of a host and port; a
// bad one is reported without echoing a password it holds, and one with
// a password counts as credentials. A port no connection can go to
// (0, above 65535) was accepted, and then every request failed.
func TestProxy(t *testing.T) {
	for _, ok := range []string{"http://proxy.internal:3128", "socks5://u:p@10.0.0.1:1080", "HTTPS://p/"} {
		c, err := Parse([]byte("fetch: {proxy: '" + ok + "'}\n"))
		if err != nil || c.Fetch.ProxyURL() == nil {
			t.Errorf("proxy %q: %v; want it accepted", ok, err)
		}
	}
	for _, bad := range []string{"ftp://p:21", "http://", "http://p:3128/path", "proxy:3128", "http://u:s3cret@p q:1", "http://u:s3cret@p:1?x",
		"http://proxy.internal:99999", "socks5://u:s3cret@p:65536", "http://p:0"} {
		err := mustFail(t, "fetch:\n  proxy: '"+bad+"'\n")
		errs := configErrors(t, err)
		if len(errs) != 1 || errs[0].Field != "fetch.proxy" || errs[0].Line != 2 || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("proxy %q: %v; want one fetch.proxy error at line 2, no password", bad, err)
		}
	}
	for proxy, want := range map[string]bool{"http://u:p@p:1": true, "http://u@p:1": false, "": false} {
		if got := (&Fetch{Proxy: proxy}).SendsCredentials(); got != want {
			t.Errorf("SendsCredentials with proxy %q = %v; want %v", proxy, got, want)
		}
	}
}
