// Package config loads, defaults and validates the crawler daemon's YAML
// configuration.
//
// The YAML keys are a contract shared with tests, benchmarks and the shipped
// crawler.yaml; they are the `yaml` tags below. Parse and Load start from
// Default, overlay the file strictly (unknown or duplicate keys, bare integers
// for durations and wrongly typed values, such as a boolean for a string key,
// are errors), then Validate. Every
// problem is an *Error naming the field's dotted path and its line, and all
// problems are reported together.
//
// A key that is present but empty (`timeout:` or `timeout: ~`) keeps its
// default, except for lists, which it empties.
package config

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"crawler/internal/urlnorm"
	"crawler/robots"
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
	// MemoryLimit is the floor of the daemon's soft heap limit in bytes
	// (Go's GOMEMLIMIT): the garbage collector runs rarely (GOGC=400) until
	// the heap nears the limit, then as often as needed to stay under it.
	// The limit is this floor, or twice the live heap when that is more, so
	// a crawl whose live data outgrows the floor (a frontier over very many
	// hosts) is collected as GOGC=100 would, not back to back. Default
	// 100663296 (96 MiB); 0 = Go's defaults (GOGC=100, no limit). The GOGC
	// and GOMEMLIMIT environment variables, when set, take precedence.
	MemoryLimit int64 `yaml:"memory_limit"`
	// Extract lists structured-data extraction rules applied to fetched
	// pages. Default none.
	Extract []ExtractRule `yaml:"extract"`
}

// Scope limits which URLs are crawled.
type Scope struct {
	// AllowedHosts are the hosts that may be crawled, written "host" or
	// "host:port" without scheme or path. They are compared exactly, in the
	// canonical form the crawler gives URL hosts (WHATWG URL rules:
	// lowercase, IDNs in ASCII form, "127.1" as "127.0.0.1", IPv6
	// compressed, without a root dot), so any spelling of a host matches
	// it. A default port (80 or 443) is an error: URLs drop it, so write
	// the host alone, which allows it on http and https. Empty (the
	// default) means the seeds' hosts.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// MaxDepth is the most link hops from a seed. Default 0 = unlimited.
	MaxDepth int `yaml:"max_depth"`
	// MaxPagesPerHost caps the URLs queued per host, redirect targets
	// included (seeds and a seed's redirects are exempt; a URL robots.txt
	// turns away gives its place back). Default 0 = unlimited.
	MaxPagesPerHost int `yaml:"max_pages_per_host"`
	// MaxPages caps the URLs queued over the whole crawl, counted as
	// MaxPagesPerHost is (seeds count, and are never refused): the
	// crawl's budget, as Heritrix's maxDocuments. Default 0 = unlimited.
	MaxPages int `yaml:"max_pages"`
	// MaxURLLength skips longer URLs. Default 2048; 256 to 4096
	// (urlnorm.MaxLength, the longest URL the crawler handles).
	MaxURLLength int `yaml:"max_url_length"`
	// MaxQueryParams skips URLs with more query parameters (non-empty
	// '&'-separated pieces: "a=1&&b" has two). Default 32; 0 = unlimited.
	MaxQueryParams int `yaml:"max_query_params"`
	// MaxRepeatedSegments treats a path that repeats a run of segments more
	// often than this as a crawler trap. Default 3; 0 = off.
	MaxRepeatedSegments int `yaml:"max_repeated_segments"`
	// FollowSitemaps discovers URLs from sitemaps (sitemaps.org) too: the
	// Sitemap lines of each host's robots.txt are queued like links, and a
	// fetched sitemap (XML, an RSS or Atom feed, or a text file that
	// robots.txt or a sitemap index lists; plain or gzip) yields its URLs
	// as its links, which pass scope, dedup, robots.txt and the page
	// budget like any link. Sitemaps are read from robots.txt only when
	// fetch.respect_robots is true. Default false (zero): sitemaps are
	// fetched only when a link or a seed leads to them, and stored as
	// plain files without links.
	FollowSitemaps bool `yaml:"follow_sitemaps"`
	// Include, when not empty, limits the crawl to URLs that match at
	// least one of these regular expressions (RE2 syntax, as Go's regexp;
	// matched anywhere in the canonical URL unless anchored with ^ or $).
	// Default empty: every URL of an allowed host.
	Include []string `yaml:"include"`
	// Exclude leaves out URLs that match any of these regular expressions
	// (as Include); it wins over Include. Default empty.
	//
	// Both apply to links, redirect targets and sitemap URLs when found,
	// and again when a queued URL's turn comes, so a pattern added by a
	// reload or a restart also stops URLs queued before it: such a URL is
	// failed with a record saying why, without a request, and a stored
	// page due for recrawl keeps its record and is not recrawled again.
	// Seeds are exempt, as from allowed_hosts.
	Exclude []string `yaml:"exclude"`
	// StripQueryParams removes query parameters whose name matches one of
	// these patterns (path.Match syntax: utm_*, fbclid; matched without
	// regard to case) from links, redirect targets and sitemap URLs
	// before dedup, scope and storage, so that one page reached with
	// different tracking or session parameters is crawled once, under the
	// URL without them. Seeds are kept as written. A URL queued before a
	// pattern was added is not requested when its turn comes: the URL
	// without the parameters is queued in its place, and it fails saying
	// so (a stored page keeps its record). `crawler pages get` strips them
	// from a URL not stored as given. Default empty: URLs keep every
	// parameter.
	StripQueryParams []string `yaml:"strip_query_params"`
}

// Fetch controls HTTP fetching and politeness.
type Fetch struct {
	// UserAgent is sent with every request. Default DefaultUserAgent.
	UserAgent string `yaml:"user_agent"`
	// RobotsToken is the product token matched against robots.txt
	// User-agent lines. Empty (in a file) means derived from UserAgent: the
	// text before the first '/' or space, lowercased; "crawler" for the
	// default user agent. Given or derived, it must be an RFC 9309 product
	// token: ASCII letters, '_' and '-' only.
	RobotsToken string `yaml:"robots_token"`
	// Concurrency is the most requests in flight over all hosts.
	// Default 64; must be >= 1.
	Concurrency int `yaml:"concurrency"`
	// PerHostConcurrency is the most requests in flight to one host.
	// Default 2; must be >= 1 and <= Concurrency.
	PerHostConcurrency int `yaml:"per_host_concurrency"`
	// PolitenessKey says what "one host" is for the per-host limits, the
	// adaptive throttle, the circuit breaker and max_pages_per_host:
	// "host" (default), each host[:port] on its own; or "domain", the
	// hosts of one registrable domain together (www.example.com,
	// docs.example.com and example.com:8080 share one delay and
	// concurrency; see urlnorm.PolitenessKey), for sites whose subdomains
	// are one server. Changing it re-keys the queued URLs at the next start.
	PolitenessKey string `yaml:"politeness_key"`
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
	// Proxy sends every request through a proxy: an http, https or socks5
	// URL ("http://proxy.internal:3128", with "user:password@" when it
	// wants them). With AllowPrivateAddresses false the crawler resolves
	// each request's host first and refuses it when an address is not
	// public, as it does for its own connections; the proxy itself may be
	// on any address. Default "" = connect directly (the HTTP_PROXY
	// environment variables are never used).
	Proxy string `yaml:"proxy"`
	// Headers are sent with every request, robots.txt included, each
	// "Name: value" as curl -H takes it ("Accept-Language: en"). Headers
	// the crawler or the HTTP stack sets (User-Agent: use UserAgent;
	// Accept-Encoding, If-None-Match, Host, Connection, ...) are refused,
	// and so are Authorization and Cookie: credentials go in the
	// HostLimits entry of the host they are for. Default none.
	Headers []string `yaml:"headers"`
	// HostLimits overrides PerHostDelay, PerHostConcurrency and Headers
	// for the hosts it names (as Scrapy's DOWNLOAD_SLOTS): a fragile site
	// crawled more gently, a site of one's own faster, or with a login.
	// Default none.
	HostLimits []HostLimit `yaml:"host_limits"`
}

// HostLimit is one host's politeness limits and request headers.
type HostLimit struct {
	// Host is "host" or "host:port", as in scope.allowed_hosts.
	Host string `yaml:"host"`
	// Delay replaces fetch.per_host_delay for the host; absent keeps it.
	// robots.txt Crawl-delay (up to max_crawl_delay) and the adaptive
	// throttle still lengthen it.
	Delay *time.Duration `yaml:"delay"`
	// Concurrency replaces fetch.per_host_concurrency for the host; 0
	// keeps it. Must be <= fetch.concurrency.
	Concurrency int `yaml:"concurrency"`
	// MaxPages replaces scope.max_pages_per_host for the host; 0 keeps
	// it.
	MaxPages int `yaml:"max_pages"`
	// Headers are sent with the host's requests only (robots.txt
	// included), over fetch.headers: a name in both takes the values
	// given here. Authorization and Cookie are allowed here. A request
	// redirected to another host does not carry them: each hop is a
	// request of its own host. Default none.
	Headers []string `yaml:"headers"`
}

// HostKey returns the politeness key of host (canonical host[:port]) under
// PolitenessKey: the key the frontier queues its URLs under, and the one
// host_limits, the throttle and the page budgets count by.
func (f *Fetch) HostKey(host string) string { return urlnorm.PolitenessKey(f.PolitenessKey, host) }

// HostLimitSet returns HostLimits by canonical host (nil for none),
// with Host canonical; entries whose host does not parse are left out
// (Validate reports them).
func (f *Fetch) HostLimitSet() map[string]HostLimit {
	if len(f.HostLimits) == 0 {
		return nil
	}
	set := make(map[string]HostLimit, len(f.HostLimits))
	for _, l := range f.HostLimits {
		if h, err := canonicalHost(l.Host); err == nil {
			l.Host = h
			set[h] = l
		}
	}
	return set
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
	// RSS: once mapped files count more than this beyond what they did
	// when the store opened (mostly the binary's own pages), the daemon
	// unmaps the database; the pages stay in the kernel's page cache. Without it the
	// whole file ends up counted in RSS, though it is reclaimable page
	// cache. The price is page faults: once the file is much larger than
	// this, a crawl bound by the store's writer does 15-35 % fewer pages a
	// second (bench/README.md). Default 0 = never unmap.
	MaxMappedBytes int64 `yaml:"max_mapped_bytes"`
	// ReclaimGarbagePercent makes the running daemon reclaim the value
	// log (move what is live into a new log, delete the old one) once
	// replaced records and bodies are at least this percent of it and
	// at least ReclaimMinGarbageBytes. Recrawling replaces both, so
	// without it the log grows with every recrawl until `crawler
	// compact`. Default 50; 0 = never while running (compact still
	// reclaims, with the daemon stopped); at most 99.
	ReclaimGarbagePercent int64 `yaml:"reclaim_garbage_percent"`
	// ReclaimMinGarbageBytes is the least garbage worth a reclaim.
	// Default 67108864 (64 MiB); 0 = any amount.
	ReclaimMinGarbageBytes int64 `yaml:"reclaim_min_garbage_bytes"`
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
			PolitenessKey:        urlnorm.ByHost,
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
		Store: Store{MinFreeBytes: 100 << 20, ReclaimGarbagePercent: 50, ReclaimMinGarbageBytes: 64 << 20},
		Recrawl: Recrawl{
			MinInterval: time.Hour,
			MaxInterval: 720 * time.Hour,
		},
		Log:             Log{Level: "info", Format: "text"},
		ShutdownTimeout: 15 * time.Second,
		MemoryLimit:     96 << 20,
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

// SeedHosts returns the seeds' hosts in the canonical form
// internal/urlnorm gives a URL's host (lowercase, internationalized names in
// their ASCII form, IP addresses in their standard form, the scheme's
// default port dropped), as "host" or "host:port", without duplicates, in
// seed order. Seeds that are not valid URLs are skipped; Validate reports
// them.
func (c *Config) SeedHosts() []string {
	var hosts []string
	seen := make(map[string]bool, len(c.Seeds))
	for _, s := range c.Seeds {
		u, err := urlnorm.Parse(s)
		if err != nil {
			continue
		}
		h := urlnorm.Host(u)
		if seen[h] {
			continue
		}
		seen[h] = true
		hosts = append(hosts, h)
	}
	return hosts
}

// AllowedHostSet returns the hosts in scope, in the canonical form of
// SeedHosts without a root dot (urlnorm.DropRootDot), which the crawler
// compares URL hosts in: AllowedHosts when given, else SeedHosts. Build it
// once and look hosts up in it on hot paths, also without their root dot:
// "a.test." and "a.test" are one name.
func (c *Config) AllowedHostSet() map[string]bool {
	set := make(map[string]bool)
	if len(c.Scope.AllowedHosts) > 0 {
		for _, a := range c.Scope.AllowedHosts {
			if h, err := canonicalHost(a); err == nil {
				set[urlnorm.DropRootDot(h)] = true
			}
		}
		return set
	}
	for _, h := range c.SeedHosts() {
		set[urlnorm.DropRootDot(h)] = true
	}
	return set
}

// HostAllowed reports whether hostport ("host" or "host:port", the default
// port omitted) is in scope: it is one of Scope.AllowedHosts when that is
// non-empty, otherwise one of SeedHosts. Both sides are compared in
// canonical form, so "127.1" and "127.0.0.1", or "Bücher.example" and
// "xn--bcher-kva.example", are the same host, and so are "a.test." and
// "a.test".
//
// It builds the set on each call; callers on a hot path build
// AllowedHostSet once and look canonical hosts up in it.
func (c *Config) HostAllowed(hostport string) bool {
	h, err := canonicalHost(hostport)
	return err == nil && c.AllowedHostSet()[urlnorm.DropRootDot(h)]
}

// errNotHostPort is canonicalHost's error for a string with more or less
// than a host[:port] in it.
var errNotHostPort = errors.New("not a host[:port]")

// canonicalHost returns hostport ("host" or "host:port") in the canonical
// form internal/urlnorm gives the host of an http URL, or why it is not a
// host[:port]. Hand-checked first because WHATWG parsing of "http://"+s
// would take a path, userinfo or query in s without complaint.
func canonicalHost(hostport string) (string, error) {
	if !validHostPort(hostport) {
		return "", errNotHostPort
	}
	u, err := urlnorm.Parse("http://" + hostport + "/")
	if err != nil {
		return "", errors.Unwrap(err)
	}
	return urlnorm.Host(u), nil
}

// validHostPort reports whether h is exactly a URL's host[:port] part.
func validHostPort(h string) bool {
	if h == "" || strings.ContainsAny(h, "/?#@\\ \t") {
		return false
	}
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.Hostname() != ""
}

// robotsToken derives the robots.txt product token from a User-Agent: the
// text before the first '/' or space, lowercased. It is not cut to its
// leading letters: validation refuses a result that is not a product token
// ("360spider", "bot2000") and asks for robots_token.
func robotsToken(userAgent string) string { return robots.ProductName(userAgent) }
