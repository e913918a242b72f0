package crawl

import (
	"testing"

	"crawler/config"
	"crawler/internal/testsite"
)

// A crawl of more hosts than fetcher.DefaultMaxIdleConns can keep idle
// connections for reuses its connections instead of closing the least
// recently used host's and dialing it again at its next turn (which on
// real sites costs a TLS handshake each).
func TestManyHostsReuseConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("320 hosts")
	}
	const hosts, perHost = 320, 2
	site, err := testsite.Start(testsite.Options{Hosts: hosts, Pages: 6, Links: 4, FirstIP: "127.0.4.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	cfg := testConfig(t, site.Seeds()...)
	cfg.Fetch.Concurrency = 128
	cfg.Fetch.PerHostConcurrency = perHost
	crawlToIdle(t, cfg)
	r := site.Report()
	if want := len(site.PageURLs()) + hosts; r.Requests != want {
		t.Fatalf("requests = %d; want %d", r.Requests, want)
	}
	// robots.txt and the pages share a host's connections: at most
	// per_host_concurrency of them each.
	if r.Conns > hosts*perHost {
		t.Errorf("%d connections for %d requests to %d hosts; want at most %d", r.Conns, r.Requests, hosts, hosts*perHost)
	}
	t.Logf("%d connections for %d requests", r.Conns, r.Requests)
}

func TestIdleConnsFollowConcurrency(t *testing.T) {
	for _, c := range []struct{ concurrency, perHost, limit, wantIdle, wantPerHost int }{
		{1, 1, 0, 256, 2},       // at least the fetcher's default, and 2 per host
		{64, 2, 0, 256, 2},      // the default config
		{128, 2, 8, 512, 8},     // four per slot; a host_limits host may use more
		{4096, 16, 0, 4096, 16}, // at most maxIdleConns
	} {
		f := config.Default().Fetch
		f.Concurrency, f.PerHostConcurrency = c.concurrency, c.perHost
		if c.limit > 0 {
			f.HostLimits = []config.HostLimit{{Host: "a.example", Concurrency: c.limit}}
		}
		if got := idleConns(&f); got != c.wantIdle {
			t.Errorf("concurrency %d: idleConns = %d; want %d", c.concurrency, got, c.wantIdle)
		}
		if got := idlePerHost(&f); got != c.wantPerHost {
			t.Errorf("per host %d, host limit %d: idlePerHost = %d; want %d", c.perHost, c.limit, got, c.wantPerHost)
		}
	}
}
