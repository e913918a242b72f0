// Package config loads, defaults and validates the crawler daemon's YAML
// configuration.
//
// The YAML keys are a contract shared with tests, benchmarks and the shipped
// crawler.yaml; they are the `yaml` tags below. Parse and Load start from
// Default, overlay the file strictly (unknown or duplicate keys, bare integers
// for durations and wrongly typed values are errors), then Validate. Every
// problem is an *Error naming the field's dotted path and its line, and all
// problems are reported together.
//
// A key that is present but empty (`timeout:` or `timeout: ~`) keeps its
// default, except for lists, which it empties.
package config

import (
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// DefaultUserAgent is the User-Agent sent when fetch.user_agent is not set.
const DefaultUserAgent = "crawler/0.1 (+https://example.com/bot)"

// Config is the whole daemon configuration. Zero values are never used
// directly: Default fills every field, and Parse and Load start from it.
type Config struct {
	// DataDir holds crawl.db and, by default, the control socket.
	// Default "./data", relative to the daemon's working directory.
	DataDir string `yaml:"data_dir"`
	// Seeds are absolute http or https URLs the crawl starts from. Default
	// none: seeds may be added later through the control API.
	Seeds []string `yaml:"seeds"`
	// Scope limits which URLs are crawled.
	Scope Scope `yaml:"scope"`
	// Fetch controls HTTP fetching and politeness.
	Fetch Fetch `yaml:"fetch"`
	// API configures the control and metrics endpoints.
	API API `yaml:"api"`
	// Store configures the on-disk store.
	Store Store `yaml:"store"`
	// Recrawl controls revisiting pages already fetched.
	Recrawl Recrawl `yaml:"recrawl"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// in-flight work before aborting it. Default 15s; must be > 0.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MemoryLimit is the daemon's soft heap limit in bytes (Go's
	// GOMEMLIMIT): the garbage collector runs rarely (GOGC=400) until the
	// heap nears it, then as often as needed to stay under it. Default
	// 268435456 (256 MiB); 0 = Go's defaults (GOGC=100, no limit). The
	// GOGC and GOMEMLIMIT environment variables, when set, take precedence.
	MemoryLimit int64 `yaml:"memory_limit"`
	// Extract lists structured-data extraction rules applied to fetched
	// pages. Default none.
	Extract []ExtractRule `yaml:"extract"`
}

// Scope limits which URLs are crawled.
type Scope struct {
	// AllowedHosts are the hosts that may be crawled, written "host" or
	// "host:port" without scheme or path, compared exactly and
	// case-insensitively. Write default ports (80 for http, 443 for https)
	// without the port. Empty (the default) means the seeds' hosts.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// MaxDepth is the most link hops from a seed. Default 0 = unlimited.
	MaxDepth int `yaml:"max_depth"`
	// MaxPagesPerHost caps the pages fetched per host. Default 0 = unlimited.
	MaxPagesPerHost int `yaml:"max_pages_per_host"`
	// MaxURLLength skips longer URLs. Default 2048; must be >= 256.
	MaxURLLength int `yaml:"max_url_length"`
	// MaxQueryParams skips URLs with more query parameters.
	// Default 32; 0 = unlimited.
	MaxQueryParams int `yaml:"max_query_params"`
	// MaxRepeatedSegments treats a path that repeats a run of segments more
	// often than this as a crawler trap. Default 3; 0 = off.
	MaxRepeatedSegments int `yaml:"max_repeated_segments"`
}

// Fetch controls HTTP fetching and politeness.
type Fetch struct {
	// UserAgent is sent with every request. Default DefaultUserAgent.
	UserAgent string `yaml:"user_agent"`
	// RobotsToken is the product token matched against robots.txt
	// User-agent lines. Empty (in a file) means derived from UserAgent: the
	// text before the first '/' or space, lowercased; "crawler" for the
	// default user agent.
	RobotsToken string `yaml:"robots_token"`
	// Concurrency is the most requests in flight over all hosts.
	// Default 64; must be >= 1.
	Concurrency int `yaml:"concurrency"`
	// PerHostConcurrency is the most requests in flight to one host.
	// Default 2; must be >= 1 and <= Concurrency.
	PerHostConcurrency int `yaml:"per_host_concurrency"`
	// PerHostDelay is the least time between two request starts on one
	// host. Default 1s; 0 = no delay.
	PerHostDelay time.Duration `yaml:"per_host_delay"`
	// MaxCrawlDelay caps a robots.txt Crawl-delay. Default 30s; 0 = ignore
	// Crawl-delay.
	MaxCrawlDelay time.Duration `yaml:"max_crawl_delay"`
	// Timeout bounds a whole request, body included. Default 30s; must be > 0.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes truncates longer bodies. Default 10485760 (10 MiB);
	// must be > 0 and <= 1 TiB (1099511627776).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// BodyMemory bounds the response bodies held at once, all fetches
	// together, from the first byte read until the page is committed; a
	// fetch waits for room before reading its body. It is what keeps memory
	// flat when many slots hit huge bodies. Default 67108864 (64 MiB);
	// 0 = no bound. Otherwise it must be <= 1 TiB and at least
	// Concurrency × 256 KiB + 2 × (max(MaxBodyBytes, 512000) + 1): a body
	// of unknown length holds 256 KiB while it waits to grow to twice its
	// cap (512000 is robots.txt's cap), and a smaller budget would let such
	// fetches wait on each other.
	BodyMemory int64 `yaml:"body_memory"`
	// RespectRobots obeys robots.txt. Default true.
	RespectRobots bool `yaml:"respect_robots"`
	// AllowPrivateAddresses permits connecting to loopback, private and
	// other non-public addresses. Default false.
	AllowPrivateAddresses bool `yaml:"allow_private_addresses"`
	// Retries is how often a failed fetch is retried after the first
	// attempt. Default 3; 0 = no retry.
	Retries int `yaml:"retries"`
	// RetryBaseDelay is the first retry's backoff, doubled per retry.
	// Default 2s; must be > 0 when Retries > 0.
	RetryBaseDelay time.Duration `yaml:"retry_base_delay"`
	// RetryMaxDelay caps the retry backoff. Default 5m; must be >=
	// RetryBaseDelay.
	RetryMaxDelay time.Duration `yaml:"retry_max_delay"`
	// MaxRedirects is the most redirect hops followed per chain.
	// Default 10; 0 = do not follow redirects.
	MaxRedirects int `yaml:"max_redirects"`
	// HostFailureThreshold is how many consecutive failures open a host's
	// circuit breaker. Default 10; 0 = off.
	HostFailureThreshold int `yaml:"host_failure_threshold"`
}

// API configures the control and metrics endpoints.
type API struct {
	// Listen is a TCP address ("127.0.0.1:9090", ":9090") serving /metrics
	// and /healthz: an optional IP address or host name, then a port
	// number from 0 to 65535. Default "" = off.
	Listen string `yaml:"listen"`
	// Socket is the unix socket of the control API. Default "" =
	// <data_dir>/crawler.sock; see SocketPath.
	Socket string `yaml:"socket"`
}

// Store configures the on-disk store.
type Store struct {
	// MinFreeBytes pauses fetching while free space in DataDir is below it.
	// Default 104857600 (100 MiB); 0 = off.
	MinFreeBytes int64 `yaml:"min_free_bytes"`
	// MaxMappedBytes bounds how much of crawl.db counts in the daemon's
	// RSS: once mapped files (the database bbolt has read, and the
	// binary's own pages) count more than this, the daemon unmaps the
	// database; the pages stay in the kernel's page cache. Without it the
	// whole file ends up counted in RSS, though it is reclaimable page
	// cache. The price is page faults: once the file is much larger than
	// this, a crawl bound by the store's writer does 15-35 % fewer pages a
	// second (bench/README.md). Default 0 = never unmap.
	MaxMappedBytes int64 `yaml:"max_mapped_bytes"`
}

// Recrawl controls revisiting pages already fetched.
type Recrawl struct {
	// Interval is the time after which a fetched page is fetched again.
	// Default 0 = never recrawl.
	Interval time.Duration `yaml:"interval"`
	// MinInterval is the shortest recrawl interval adaptive scheduling may
	// choose. Default 1h; must be > 0 when Adaptive is true.
	MinInterval time.Duration `yaml:"min_interval"`
	// MaxInterval is the longest recrawl interval adaptive scheduling may
	// choose. Default 720h; must be >= MinInterval.
	MaxInterval time.Duration `yaml:"max_interval"`
	// Adaptive shortens the interval for pages that changed and lengthens
	// it for pages that did not. Default false.
	Adaptive bool `yaml:"adaptive"`
}

// Log configures logging.
type Log struct {
	// Level is one of debug, info, warn, error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Default returns a new Config with every default filled.
func Default() *Config {
	return &Config{
		DataDir: "./data",
		Scope: Scope{
			MaxURLLength:        2048,
			MaxQueryParams:      32,
			MaxRepeatedSegments: 3,
		},
		Fetch: Fetch{
			UserAgent:            DefaultUserAgent,
			RobotsToken:          robotsToken(DefaultUserAgent),
			Concurrency:          64,
			PerHostConcurrency:   2,
			PerHostDelay:         time.Second,
			MaxCrawlDelay:        30 * time.Second,
			Timeout:              30 * time.Second,
			MaxBodyBytes:         10 << 20,
			BodyMemory:           64 << 20,
			RespectRobots:        true,
			Retries:              3,
			RetryBaseDelay:       2 * time.Second,
			RetryMaxDelay:        5 * time.Minute,
			MaxRedirects:         10,
			HostFailureThreshold: 10,
		},
		Store: Store{MinFreeBytes: 100 << 20},
		Recrawl: Recrawl{
			MinInterval: time.Hour,
			MaxInterval: 720 * time.Hour,
		},
		Log:             Log{Level: "info", Format: "text"},
		ShutdownTimeout: 15 * time.Second,
		MemoryLimit:     256 << 20,
	}
}

// SocketPath returns API.Socket, or <DataDir>/crawler.sock when it is empty.
func (c *Config) SocketPath() string {
	if c.API.Socket != "" {
		return c.API.Socket
	}
	return filepath.Join(c.DataDir, "crawler.sock")
}

// DBPath returns the path of the crawl database, <DataDir>/crawl.db.
func (c *Config) DBPath() string {
	return filepath.Join(c.DataDir, "crawl.db")
}

// SeedHosts returns the seeds' hosts as lowercased "host" or "host:port"
// (the scheme's default port dropped, internationalized names in their
// ASCII form), without duplicates, in seed order. Seeds that are not valid
// absolute URLs are skipped; Validate reports them.
func (c *Config) SeedHosts() []string {
	var hosts []string
	seen := make(map[string]bool, len(c.Seeds))
	for _, s := range c.Seeds {
		h := seedHost(s)
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		hosts = append(hosts, h)
	}
	return hosts
}

// AllowedHostSet returns the hosts in scope, normalized as HostAllowed
// compares them: AllowedHosts when given, else SeedHosts. Build it once and
// look canonical hosts up in it on hot paths.
func (c *Config) AllowedHostSet() map[string]bool {
	set := make(map[string]bool)
	if len(c.Scope.AllowedHosts) > 0 {
		for _, a := range c.Scope.AllowedHosts {
			if h := normalizeHost(a); h != "" {
				set[h] = true
			}
		}
		return set
	}
	for _, h := range c.SeedHosts() {
		set[h] = true
	}
	return set
}

// HostAllowed reports whether hostport ("host" or "host:port", the default
// port omitted) is in scope: it is one of Scope.AllowedHosts when that is
// non-empty, otherwise one of SeedHosts. Comparison is exact after
// lowercasing (and converting internationalized names to ASCII).
//
// It builds the set on each call; callers on a hot path build
// AllowedHostSet once and look canonical hosts up in it.
func (c *Config) HostAllowed(hostport string) bool {
	h := normalizeHost(hostport)
	return h != "" && c.AllowedHostSet()[h]
}

// seedHost returns the normalized host[:port] of an absolute http(s) URL, or
// "" if s is not one.
func seedHost(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return ""
	}
	host := strings.TrimSuffix(u.Host, ":") // "example.com:" has an empty port
	switch port := u.Port(); {
	case u.Scheme == "http" && port == "80", u.Scheme == "https" && port == "443":
		host = strings.TrimSuffix(host, ":"+port)
	}
	return normalizeHost(host)
}

// normalizeHost lowercases host[:port] and converts an internationalized
// host name to its ASCII (punycode) form, so "Bücher.example" and
// "xn--bcher-kva.example" compare equal. Hand-written because no library here
// normalizes a host:port pair; idna does the name itself.
func normalizeHost(hostport string) string {
	hostport = strings.ToLower(hostport)
	for i := 0; i < len(hostport); i++ {
		if hostport[i] >= 0x80 {
			return idnaHost(hostport)
		}
	}
	return hostport
}

func idnaHost(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return hostport
	}
	if port != "" {
		return net.JoinHostPort(ascii, port)
	}
	return ascii
}

// robotsToken derives the robots.txt product token from a User-Agent: the
// text before the first '/' or space, lowercased.
func robotsToken(userAgent string) string {
	if i := strings.IndexAny(userAgent, "/ \t"); i >= 0 {
		userAgent = userAgent[:i]
	}
	return strings.ToLower(userAgent)
}
