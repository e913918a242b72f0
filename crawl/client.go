package crawl

import (
	"net/netip"

	"crawler/config"
	"crawler/fetcher"
)

// newClient builds the HTTP client for cfg; replacing, when not nil, is the
// client it replaces, whose body-memory budget it shares.
func newClient(cfg *config.Config, replacing *fetcher.Client, allowed ...netip.Prefix) *fetcher.Client {
	header, hostHeader := cfg.Fetch.RequestHeaders()
	return fetcher.New(fetcher.Options{
		UserAgent:             cfg.Fetch.UserAgent,
		Header:                header,
		HostHeader:            hostHeader,
		Proxy:                 cfg.Fetch.ProxyURL(),
		Timeout:               cfg.Fetch.Timeout,
		MaxBodyBytes:          cfg.Fetch.MaxBodyBytes,
		AllowPrivateAddresses: cfg.Fetch.AllowPrivateAddresses,
		AllowedPrefixes:       allowed,
		MaxIdleConnsPerHost:   idlePerHost(&cfg.Fetch),
		MaxIdleConns:          idleConns(&cfg.Fetch),
		BodyMemory:            cfg.Fetch.BodyMemory,
		BudgetOf:              replacing,
	})
}

// idlePerHost is how many idle connections the client keeps per host:
// what the busiest host may have in flight (its host_limits concurrency,
// or per_host_concurrency), at least 2.
func idlePerHost(f *config.Fetch) int {
	n := max(f.PerHostConcurrency, 2)
	for _, l := range f.HostLimits {
		n = max(n, l.Concurrency)
	}
	return n
}

// idleConns is how many idle connections the client keeps over all hosts:
// four per request slot, so that the hosts waiting their turn while
// others fill the slots keep theirs instead of dialing again (bench/README,
// "Connections"), but at least fetcher.DefaultMaxIdleConns and at most
// maxIdleConns.
func idleConns(f *config.Fetch) int {
	return min(max(4*f.Concurrency, fetcher.DefaultMaxIdleConns), maxIdleConns)
}

// maxIdleConns bounds idleConns: each idle connection holds a file
// descriptor, which the process shares with its sockets in use and the
// store's files.
const maxIdleConns = 4096
