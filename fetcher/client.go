package fetcher

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	"golang.org/x/sync/semaphore"
)

// Defaults applied by [New] to zero-valued [Options] fields.
const (
	// DefaultUserAgent is sent when Options.UserAgent is empty.
	DefaultUserAgent = "crawler/0.1"
	// DefaultTimeout is used when Options.Timeout is zero or negative.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBodyBytes is used when Options.MaxBodyBytes is zero or
	// negative.
	DefaultMaxBodyBytes int64 = 10 << 20
	// DefaultMaxIdleConnsPerHost is used when Options.MaxIdleConnsPerHost is
	// zero or negative.
	DefaultMaxIdleConnsPerHost = 4

	// maxHeaderBytes caps the response header block (status line included).
	maxHeaderBytes = 64 << 10
	// maxTLSHandshake caps the TLS handshake; Timeout still applies if lower.
	maxTLSHandshake = 10 * time.Second
	// DefaultMaxIdleConns is used when Options.MaxIdleConns is zero or
	// negative.
	DefaultMaxIdleConns = 256
	// idleConnTimeout closes connections idle for longer than this.
	idleConnTimeout = 90 * time.Second
	// http2StreamWindow is the HTTP/2 receive window of each response, so
	// the most of it the transport reads ahead of Fetch, into the heap and
	// outside Options.BodyMemory: the 256 KiB a body of unknown length
	// reserves to start (unknownLengthStart), not Go's default of 4 MiB.
	http2StreamWindow = unknownLengthStart
)

// Options configures a [Client]. The zero value is usable: every field
// documents its default.
type Options struct {
	// UserAgent is sent as the User-Agent header unless the request sets one.
	// Default (empty): DefaultUserAgent, "crawler/0.1".
	UserAgent string
	// Timeout bounds the whole request: dialing, TLS, waiting for headers and
	// reading the body. It is applied in addition to any deadline on the
	// caller's context. Default (zero or negative): 30s.
	Timeout time.Duration
	// Header is sent with every request; a header the request sets
	// itself (Request.Header, User-Agent, Accept-Encoding) replaces it.
	// Default none.
	Header http.Header
	// HostHeader holds more headers per host, keyed as a canonical URL
	// carries it ("example.com", "example.com:8080": lowercase, no default
	// port); they go only with requests to that host and replace Header's
	// of the same name. Default none.
	HostHeader map[string]http.Header
	// MaxBodyBytes caps the decoded body. Longer bodies are cut and
	// Response.Truncated is set. Request.MaxBodyBytes overrides it per
	// request. Default (zero or negative): 10 MiB.
	MaxBodyBytes int64
	// AllowPrivateAddresses disables the dial-time address guard. When false
	// (the default), connections to loopback, RFC 1918, link-local
	// (169.254/16, fe80::/10), unique-local (fc00::/7), unspecified, CGNAT
	// (100.64/10), multicast, documentation and other special-purpose
	// addresses, including their IPv4-mapped IPv6 forms, fail with
	// KindBlocked. Set it only for tests or trusted intranets.
	AllowPrivateAddresses bool
	// AllowedPrefixes are address ranges the guard lets through although
	// AllowPrivateAddresses is false; everything else stays refused. It is
	// for tests that play "public" servers on loopback and for operators
	// who crawl an internal range on purpose. An IPv4 prefix matches IPv4
	// destinations; an IPv6 prefix (IPv4-mapped ones included) matches
	// IPv6 destinations. Default none; ignored when AllowPrivateAddresses
	// is true.
	AllowedPrefixes []netip.Prefix
	// Proxy sends every request through this proxy: an http, https or
	// socks5 URL, with credentials in its user info if it needs them. The
	// address guard then judges the proxy's address no more (it is the
	// operator's choice) but each request's target: Fetch resolves its host
	// before sending and refuses it (KindBlocked) if any of its addresses is
	// one the guard refuses; the proxy resolves it again on its own.
	// Default nil: connect directly.
	Proxy *url.URL
	// MaxIdleConnsPerHost is how many idle keep-alive connections are kept
	// per host. Default (zero or negative): 4.
	MaxIdleConnsPerHost int
	// MaxIdleConns caps the idle keep-alive connections kept over all
	// hosts; past it the least recently used is closed. A cap below what
	// the hosts being crawled in turn keep idle between their requests
	// closes connections that would have been reused, and every request
	// after pays a new TCP (and TLS) handshake: size it to the hosts
	// crawled at once times their idle connections. Each idle connection
	// costs a file descriptor, two goroutines and their buffers (two of 4
	// KiB over HTTP/1.1), and is closed after 90s unused. Default (zero or
	// negative): 256.
	MaxIdleConns int
	// MaxConnsPerHost limits connections per host, including those in use.
	// Default (zero or negative): unlimited; politeness is the frontier's
	// job.
	MaxConnsPerHost int

	// BodyMemory bounds the response bodies held at once by every fetch of
	// this client together, in bytes. Before reading a body, Fetch reserves
	// its Content-Length; a body of unknown length (or encoded) reserves
	// 256 KiB and, if it outgrows that, tops up to twice MaxBodyBytes (the
	// growing buffer's last copy holds both slices; both clamped to
	// BodyMemory). Fetch waits while the budget is spent, within its
	// timeout, and fails with a KindBodyMemory error if the wait runs out;
	// the caller gives the reservation back with Response.Release.
	// A top-up waits while holding its 256 KiB, so fetches that top up at
	// once could wait on each other: one whose wait could deadlock fails
	// at once instead, with a KindBodyMemory error. That never happens when
	// BodyMemory is at least (fetches at once) × 256 KiB + 2 × (the largest
	// MaxBodyBytes in use + 1). Zero means no bound (default 0).
	//
	// Over HTTP/2 the transport also reads up to 256 KiB of each response
	// ahead of Fetch (its flow-control window), into the heap and outside
	// BodyMemory, also while Fetch waits for it: fetches at once × 256 KiB
	// at most. (Over HTTP/1.1 what Fetch has not read stays in the socket.)
	//
	// Decoder state is not counted: besides fixed-size buffers, a br body's
	// decoder holds a window that can grow to what MaxBodyBytes needs
	// (MaxBodyBytes + 17 rounded up to a power of two, or 256 KiB if that
	// is less; at most 16 MiB).
	BodyMemory int64
	// BudgetOf, when set, is the client this one replaces (a reload): if
	// its BodyMemory is the same, both draw on one budget, so the bodies
	// the old client's fetches still hold count against the new one's.
	// Otherwise the new client starts with its own budget, and until the
	// old client's bodies are given back both budgets' bytes may be held.
	// Default nil.
	BudgetOf *Client
}

// Client fetches URLs over one shared, tuned http.Transport. It is safe for
// concurrent use. Create it with [New] and release it with [Client.Close].
type Client struct {
	budget       *bodyBudget // nil: BodyMemory is zero
	userAgent    string
	header       http.Header
	hostHeader   map[string]http.Header
	timeout      time.Duration
	maxBodyBytes int64
	transport    *http.Transport
	targetGuard  *ssrf.Guardian   // with a proxy: checks each request's target; nil: none
	targets      *targetVerdicts  // targetGuard's recent verdicts, by host
	now          func() time.Time // injectable clock for Response.Duration
}

// New returns a Client configured by opts (see [Options] for defaults).
//
// Redirects are never followed: Fetch hands each request straight to the
// transport, which does not act on 3xx responses. The transport reuses
// connections, uses no proxy but Options.Proxy (never the environment's),
// attempts HTTP/2 over TLS (reading at most 256 KiB of a response ahead of
// Fetch, see Options.BodyMemory), does not
// decompress transparently (Fetch decodes itself, with caps), limits response
// headers to 64 KiB and bounds the TLS handshake and the wait for response
// headers by Timeout.
func New(opts Options) *Client {
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if opts.MaxIdleConns <= 0 {
		opts.MaxIdleConns = DefaultMaxIdleConns
	}
	if opts.MaxConnsPerHost < 0 {
		opts.MaxConnsPerHost = 0
	}

	dialer := &net.Dialer{
		Timeout:   opts.Timeout,
		KeepAlive: 30 * time.Second,
		Control:   dialControl(opts.AllowPrivateAddresses, opts.AllowedPrefixes...),
	}
	var proxy func(*http.Request) (*url.URL, error)
	var target *ssrf.Guardian
	if opts.Proxy != nil {
		proxy = http.ProxyURL(opts.Proxy)
		dialer.Control = nil
		target = newGuard(opts.AllowPrivateAddresses, opts.AllowedPrefixes...)
	}
	transport := &http.Transport{
		Proxy:                  proxy,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		DisableCompression:     true,
		MaxIdleConns:           opts.MaxIdleConns,
		MaxIdleConnsPerHost:    opts.MaxIdleConnsPerHost,
		MaxConnsPerHost:        opts.MaxConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		TLSHandshakeTimeout:    min(maxTLSHandshake, opts.Timeout),
		ResponseHeaderTimeout:  opts.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
		// Over HTTP/2 the transport reads each stream on its own, up to the
		// stream's flow-control window, whether Fetch reads or not (while it
		// waits for body memory, say). The window bounds what a fetch holds
		// outside the budget. The connection's window is left at Go's
		// default (1 GiB): every stream is bounded already, and a smaller
		// one would let streams stalled waiting for memory hold back the
		// bodies of the same connection that hold it, until Timeout.
		HTTP2: &http.HTTP2Config{MaxReceiveBufferPerStream: http2StreamWindow},
	}
	c := &Client{
		userAgent:    opts.UserAgent,
		header:       opts.Header.Clone(),
		hostHeader:   cloneHostHeader(opts.HostHeader),
		timeout:      opts.Timeout,
		maxBodyBytes: opts.MaxBodyBytes,
		transport:    transport,
		targetGuard:  target,
		now:          time.Now,
	}
	c.targets = newTargetVerdicts(func() time.Time { return c.now() })
	switch {
	case opts.BodyMemory <= 0:
	case opts.BudgetOf != nil && opts.BudgetOf.budget != nil && opts.BudgetOf.budget.size == opts.BodyMemory:
		c.budget = opts.BudgetOf.budget
	default:
		c.budget = &bodyBudget{Weighted: semaphore.NewWeighted(opts.BodyMemory), size: opts.BodyMemory}
	}
	return c
}

// Close closes idle connections. It is safe to call more than once. Fetches
// still in flight are not interrupted, and the Client remains usable, opening
// new connections as needed.
func (c *Client) Close() {
	c.transport.CloseIdleConnections()
}

// cloneHostHeader deep-copies per-host headers; nil for none.
func cloneHostHeader(m map[string]http.Header) map[string]http.Header {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]http.Header, len(m))
	for host, h := range m {
		out[strings.ToLower(host)] = h.Clone()
	}
	return out
}
