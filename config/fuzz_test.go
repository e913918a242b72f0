package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(contract))
	if data, err := os.ReadFile("../crawler.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"fetch: {timeout: 30}\n",
		"fetch: &a {<<: *a}\n",
		"extract: &a [*a]\n",
		"extract:\n  - name: r\n    match: '('\n    fields: [{name: a, selector: 'a[['}]\n",
		"seeds: [https://a.test/, 'http://[::1]:80/']\nscope: {allowed_hosts: ['B.test:1']}\n",
		"a: 1\n---\nb: 2\n",
		"fetch:\n  <<: [{concurrency: 1}, {retries: 0}]\n",
		"x: y\n  z: :",
		"fetch:\n  politeness_key: domain\n  proxy: 'socks5://u:p@h:1'\n  headers: ['A: b']\n  host_limits: [{host: a.test, max_pages: 3, headers: ['Cookie: c=1']}]\n",
		// A BOM and CRLF line ends, NUL and invalid UTF-8, deep flow
		// nesting, an alias bomb, a tab indent.
		"\ufeffdata_dir: ./d\r\nseeds:\r\n  - https://a.test/\r\n",
		"seeds: [\"https://a.test/\\x00\", 'https://\xff.test/']\nfetch: {user_agent: \"a\\u0000b\"}\n",
		"seeds: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n",
		"a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nextract: [*c, *c, *c, *c]\n",
		"fetch:\n\ttimeout: 1s\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a Config and an error")
			}
			for _, e := range configErrors(t, err) {
				if e.Err == nil || e.Error() == "" {
					t.Fatalf("empty error %+v", e)
				}
				if !errors.Is(e, ErrSyntax) && !errors.Is(e, ErrUnknownKey) && !errors.Is(e, ErrDuplicateKey) &&
					!errors.Is(e, ErrType) && !errors.Is(e, ErrInvalid) {
					t.Fatalf("error %v matches no sentinel", e)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config Validate rejects: %v", err)
		}
		for i := range c.Extract {
			if _, err := c.Extract[i].Compile(); err != nil {
				t.Fatalf("Parse accepted an extract rule Compile rejects: %v", err)
			}
		}
		_ = c.SeedHosts()
		_ = c.HostAllowed("example.com")
		all, perHost := c.Fetch.RequestHeaders()
		if len(all) == 0 && len(c.Fetch.Headers) > 0 {
			t.Fatalf("fetch.headers %q accepted, and none is sent", c.Fetch.Headers)
		}
		for h := range perHost {
			if _, ok := c.Fetch.HostLimitSet()[h]; !ok {
				t.Fatalf("headers for %q, which no host_limits entry names", h)
			}
		}
		if c.Fetch.Proxy != "" && c.Fetch.ProxyURL() == nil {
			t.Fatalf("fetch.proxy %q accepted, and no proxy is used", c.Fetch.Proxy)
		}
		_ = c.Fetch.SendsCredentials()
	})
}
