package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"crawler/internal/urlnorm"
)

func TestSeedHosts(t *testing.T) {
	tests := []struct {
		seeds []string
		want  []string
	}{
		{nil, nil},
		{[]string{"https://Example.COM/a", "https://example.com/b", "http://example.com/"}, []string{"example.com"}},
		{[]string{"https://a.test:443/", "http://a.test:80/", "http://b.test:443/", "https://b.test:80/"},
			[]string{"a.test", "b.test:443", "b.test:80"}},
		{[]string{"http://c.test:8080/", "https://c.test/", "https://c.test:/"}, []string{"c.test:8080", "c.test"}},
		{[]string{"https://[::1]:443/", "https://[::1]:8443/"}, []string{"[::1]", "[::1]:8443"}},
		{[]string{"https://Bücher.example/"}, []string{"xn--bcher-kva.example"}},
		{[]string{"ftp://x.test/", "notaurl", "https://ok.test/"}, []string{"ok.test"}},
		{[]string{"http://127.1/", "http://[0:0::1]:8080/", "https://ß.de/"}, []string{"127.0.0.1", "[::1]:8080", "xn--zca.de"}},
	}
	for _, tt := range tests {
		c := Default()
		c.Seeds = tt.seeds
		if got := c.SeedHosts(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SeedHosts(%q) = %q, want %q", tt.seeds, got, tt.want)
		}
	}
}

func TestHostAllowed(t *testing.T) {
	seeds := []string{"https://Example.com/", "http://other.test:8080/x", "https://xn--bcher-kva.example/"}
	tests := []struct {
		name    string
		allowed []string
		host    string
		want    bool
	}{
		{"seed host", nil, "example.com", true},
		{"seed host case", nil, "EXAMPLE.com", true},
		{"seed host with non-default port", nil, "example.com:8443", false},
		{"seed host default port written by caller", nil, "example.com:443", false},
		{"seed host:port", nil, "other.test:8080", true},
		{"seed host without its port", nil, "other.test", false},
		{"subdomain is not the host", nil, "www.example.com", false},
		{"unicode equals punycode", nil, "BÜCHER.example", true},
		{"empty", nil, "", false},
		{"allowed list replaces seeds", []string{"A.test", "b.test:8080"}, "example.com", false},
		{"allowed case-insensitive", []string{"A.test", "b.test:8080"}, "a.TEST", true},
		{"allowed host:port", []string{"A.test", "b.test:8080"}, "b.test:8080", true},
		{"allowed port exact", []string{"A.test", "b.test:8080"}, "b.test", false},
		{"root dot on the host", nil, "example.com.", true},
		{"root dot on host:port", nil, "other.test.:8080", true},
		{"root dot in allowed", []string{"a.test.", "b.test.:8080"}, "a.test", true},
		{"root dot in allowed, host:port", []string{"a.test.", "b.test.:8080"}, "b.test:8080", true},
		{"two dots are not one", nil, "example.com..", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Seeds = seeds
			c.Scope.AllowedHosts = tt.allowed
			if got := c.HostAllowed(tt.host); got != tt.want {
				t.Errorf("HostAllowed(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	c := Default()
	c.DataDir = "/srv/crawl"
	if got, want := c.DBPath(), filepath.Join("/srv/crawl", "crawl.db"); got != want {
		t.Errorf("DBPath() = %q, want %q", got, want)
	}
	if got, want := c.SocketPath(), filepath.Join("/srv/crawl", "crawler.sock"); got != want {
		t.Errorf("SocketPath() = %q, want %q", got, want)
	}
	c.API.Socket = "/run/crawler.sock"
	if got := c.SocketPath(); got != "/run/crawler.sock" {
		t.Errorf("SocketPath() = %q, want /run/crawler.sock", got)
	}
}

// TestAllowedHostsCanonical checks that scope.allowed_hosts entries match
// the URLs they name, whose hosts the crawler compares in the form
// internal/urlnorm writes them (WHATWG URL rules): "127.1" never matched
// http://127.1/, whose host is 127.0.0.1.
func TestAllowedHostsCanonical(t *testing.T) {
	for _, tc := range []struct{ entry, url string }{
		{"127.1", "http://127.1/"},
		{"0x7f.0.0.1:8080", "http://127.0.0.1:8080/"},
		{"EXAMPLE.com", "https://example.com/"},
		{"example.com.", "http://EXAMPLE.com./"},
		{"bücher.example", "https://BÜCHER.example/"},
		{"ß.de", "https://ß.de/"},
		{"xn--zca.de", "https://ß.de/"},
		{"[::1]:8080", "http://[::1]:8080/"},
		{"[0:0::1]:8080", "http://[::1]:8080/"},
		{"[::FFFF:1.2.3.4]", "http://[::ffff:1.2.3.4]/"},
		{"a.test:08080", "http://a.test:8080/"},
	} {
		c := Default()
		c.Scope.AllowedHosts = []string{tc.entry}
		if err := c.Validate(); err != nil {
			t.Errorf("allowed_hosts %q: %v, want valid", tc.entry, err)
			continue
		}
		u, err := urlnorm.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if set := c.AllowedHostSet(); !set[urlnorm.DropRootDot(urlnorm.Host(u))] {
			t.Errorf("allowed_hosts %q: set %v lacks %q, the host of %s", tc.entry, set, urlnorm.Host(u), tc.url)
		}
		if !c.HostAllowed(urlnorm.Host(u)) {
			t.Errorf("allowed_hosts %q: HostAllowed(%q) = false", tc.entry, urlnorm.Host(u))
		}
	}
	for _, tc := range []struct{ entry, msg string }{
		{"a.test:99999", "port"},
		{"256.1.1.1", "255"},
		{"1.2.3.4.5", "four parts"},
		{"*.test", "host or host:port"},
		{"example.com:80", `write "example.com"`},
		{"example.com:443", `write "example.com"`},
		{"[::1]:0443", `write "[::1]"`},
	} {
		c := Default()
		c.Scope.AllowedHosts = []string{"ok.test", tc.entry}
		e := findError(t, c.Validate(), "scope.allowed_hosts[1]")
		if e == nil || !strings.Contains(e.Error(), tc.msg) {
			t.Errorf("allowed_hosts %q: error %v, want one for scope.allowed_hosts[1] saying %q", tc.entry, e, tc.msg)
		}
	}
	wantParseError(t, "scope:\n  allowed_hosts:\n    - ok.test\n    - a.test:99999\n",
		"scope.allowed_hosts[1]", 4, `got "a.test:99999"`)
}
