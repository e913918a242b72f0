package config

import (
	"path/filepath"
	"reflect"
	"testing"
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
