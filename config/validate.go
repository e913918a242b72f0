package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crawler/internal/urlnorm"
	"crawler/robots"
)

const (
	// maxBytesSetting caps byte-size settings (fetch.max_body_bytes,
	// fetch.body_memory) at 1 TiB: far above any sane value, far below
	// where the fetcher's arithmetic on them nears int64 overflow.
	maxBytesSetting = 1 << 40
	// bodyStart is what the fetcher reserves from fetch.body_memory for a
	// body of unknown length before reading it (fetcher's
	// unknownLengthStart).
	bodyStart = 256 << 10
)

// Validate checks the whole configuration and returns every problem found,
// joined with errors.Join, each an *Error naming the field's dotted path; nil
// if the configuration is valid. Validate does not modify c. Parse and Load
// call it with line numbers attached (a field absent from the file that
// fails a check against another field takes that field's line); called
// directly, errors carry no line.
func (c *Config) Validate() error {
	return joinErrors(c.validate(nil))
}

// validator collects problems, locating each path in lines when known.
type validator struct {
	lines map[string]int
	errs  []*Error
}

func (v *validator) fail(path, format string, args ...any) {
	v.failNear(path, nil, format, args...)
}

// failNear is fail for a check of path against the fields in others (or
// derived from them). When path is absent from the file, the error takes
// the line of the first of others that is present: the value the operator
// wrote and may have to change. The message names both.
// A key absent from a list entry (a rule's selector, a host limit's host)
// takes the line of that entry.
func (v *validator) failNear(path string, others []string, format string, args ...any) {
	line := v.lines[path]
	for _, o := range others {
		if line == 0 {
			line = v.lines[o]
		}
	}
	if line == 0 {
		line = v.entryLine(path)
	}
	v.errs = append(v.errs, &Error{Field: path, Line: line, Err: newProblem(ErrInvalid, format, args...)})
}

// line is the line of path, or of the list entry it is absent from
// (entryLine); 0 when neither is in the file.
func (v *validator) line(path string) int {
	if line := v.lines[path]; line > 0 {
		return line
	}
	return v.entryLine(path)
}

// entryLine is the line of the innermost list entry that holds path
// ("extract[0].fields[1]" for "extract[0].fields[1].selector"), or 0.
func (v *validator) entryLine(path string) int {
	if i := strings.LastIndexByte(path, ']'); i >= 0 && i < len(path)-1 {
		return v.lines[path[:i+1]]
	}
	return 0
}

func (v *validator) atLeast(path string, got, min int64) {
	if got < min {
		v.fail(path, "must be >= %d, got %d", min, got)
	}
}

func (v *validator) between(path string, got, min, max int64) {
	if got < min || got > max {
		v.fail(path, "must be >= %d and <= %d, got %d", min, max, got)
	}
}

func (v *validator) nonNegative(path string, d time.Duration) {
	if d < 0 {
		v.fail(path, "must not be negative, got %s", d)
	}
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.fail(path, "must be > 0, got %s", d)
	}
}

func (v *validator) oneOf(path, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	v.fail(path, "must be one of %s, got %q", strings.Join(allowed, ", "), got)
}

func (c *Config) validate(lines map[string]int) []*Error {
	v := &validator{lines: lines}
	if strings.TrimSpace(c.DataDir) == "" {
		v.fail("data_dir", "must not be empty")
	}
	for i, s := range c.Seeds {
		if msg := checkSeed(s); msg != "" {
			v.fail(fmt.Sprintf("seeds[%d]", i), "%s, got %q", msg, s)
		}
	}
	c.Scope.validate(v)
	c.Fetch.validate(v)
	if c.API.Listen != "" && !validListen(c.API.Listen) {
		v.fail("api.listen", "must be host:port or :port, the port a number from 0 to 65535, got %q", c.API.Listen)
	}
	v.atLeast("store.min_free_bytes", c.Store.MinFreeBytes, 0)
	v.atLeast("store.max_mapped_bytes", c.Store.MaxMappedBytes, 0)
	v.between("store.reclaim_garbage_percent", c.Store.ReclaimGarbagePercent, 0, 99)
	v.atLeast("store.reclaim_min_garbage_bytes", c.Store.ReclaimMinGarbageBytes, 0)
	c.Recrawl.validate(v)
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
	v.positive("shutdown_timeout", c.ShutdownTimeout)
	v.atLeast("memory_limit", c.MemoryLimit, 0)
	c.validateExtract(v)
	return v.errs
}

// checkSeed returns why s is not an absolute http(s) URL with a host, or "".
func checkSeed(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "must be a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http or https URL"
	case u.Hostname() == "":
		return "must have a host"
	}
	// The crawler parses seeds with urlnorm (WHATWG rules), which refuses
	// some URLs net/url takes, such as a port above 65535: such a seed
	// passed here, then stopped the daemon at start, or failed a reload
	// after the rest of the new config had been applied.
	if _, err := urlnorm.Parse(s); err != nil {
		return fmt.Sprintf("must be a valid URL (%v)", errors.Unwrap(err))
	}
	return ""
}

// validListen reports whether addr is a TCP address the daemon can listen
// on: an optional host (an IP address or a host name) and a port number
// from 0 to 65535. net.SplitHostPort alone takes ":99999" or "a b:80", which
// then failed only when the daemon started.
func validListen(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return false
	}
	if n, _ := strconv.Atoi(port); n > 65535 {
		return false
	}
	if host == "" {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	// A host name: letters, digits, '-', '_' and dots, and not all digits
	// and dots (that would be a malformed IPv4 address).
	name := false
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-', c == '_':
			name = true
		case '0' <= c && c <= '9', c == '.':
		default:
			return false
		}
	}
	return name
}

func (s *Scope) validate(v *validator) {
	for i, h := range s.AllowedHosts {
		validHost(v, fmt.Sprintf("scope.allowed_hosts[%d]", i), h)
	}
	s.compilePatterns(func(path, problem string) { v.fail(path, "%s", problem) })
	v.atLeast("scope.max_depth", int64(s.MaxDepth), 0)
	v.atLeast("scope.max_pages_per_host", int64(s.MaxPagesPerHost), 0)
	v.atLeast("scope.max_pages", int64(s.MaxPages), 0)
	// No URL is longer than the normalizer's limit: a larger value
	// would promise what urlnorm drops.
	v.between("scope.max_url_length", int64(s.MaxURLLength), 256, urlnorm.MaxLength)
	v.atLeast("scope.max_query_params", int64(s.MaxQueryParams), 0)
	v.atLeast("scope.max_repeated_segments", int64(s.MaxRepeatedSegments), 0)
}

// validHost checks h, a "host" or "host:port" as scope.allowed_hosts and
// fetch.host_limits take them, and returns its canonical form.
func validHost(v *validator, path, h string) (string, bool) {
	canon, err := canonicalHost(h)
	switch {
	case err == errNotHostPort:
		v.fail(path, "must be host or host:port without scheme or path, got %q", h)
	case err != nil:
		v.fail(path, "must be host or host:port without scheme or path, got %q (%v)", h, err)
	case namesDefaultPort(h):
		// http drops :80 and https :443: which scheme is meant?
		v.fail(path, "must not name a default port, which URLs drop: write %q (allowed on http and https), got %q",
			strings.TrimSuffix(canon, ":443"), h)
	default:
		return canon, true
	}
	return "", false
}

// namesDefaultPort reports whether the host:port h names port 80 or 443,
// which canonical URLs drop for http and https respectively.
func namesDefaultPort(h string) bool {
	n, err := strconv.Atoi((&url.URL{Host: h}).Port())
	return err == nil && (n == 80 || n == 443)
}

// validateRobotsToken checks that robots_token is an RFC 9309 §2.2.1
// product token, as robots.Token takes it whole: a name with other
// characters would match no group ("360spider"), and its leading letters
// are another crawler's token ("bot" of "bot2000"). One derived from
// user_agent is blamed on user_agent's line and asks for robots_token.
func (f *Fetch) validateRobotsToken(v *validator) {
	if robots.ValidToken(f.RobotsToken) {
		return
	}
	const want = "a product token of letters, '_' and '-' (RFC 9309 §2.2.1)"
	if v.lines["fetch.robots_token"] == 0 && f.RobotsToken == robotsToken(f.UserAgent) {
		v.failNear("fetch.robots_token", []string{"fetch.user_agent"}, "derived from user_agent %q is %q, not "+want+
			": set fetch.robots_token", f.UserAgent, f.RobotsToken)
		return
	}
	v.fail("fetch.robots_token", "must be "+want+", got %q", f.RobotsToken)
}

func (f *Fetch) validate(v *validator) {
	if strings.TrimSpace(f.UserAgent) == "" {
		v.fail("fetch.user_agent", "must not be empty")
	}
	f.validateRobotsToken(v)
	v.atLeast("fetch.concurrency", int64(f.Concurrency), 1)
	if f.PerHostConcurrency < 1 {
		v.fail("fetch.per_host_concurrency", "must be >= 1, got %d", f.PerHostConcurrency)
	} else if f.Concurrency >= 1 && f.PerHostConcurrency > f.Concurrency {
		v.failNear("fetch.per_host_concurrency", []string{"fetch.concurrency"}, "must be <= fetch.concurrency (%d), got %d",
			f.Concurrency, f.PerHostConcurrency)
	}
	v.nonNegative("fetch.per_host_delay", f.PerHostDelay)
	if f.PolitenessKey != urlnorm.ByHost && f.PolitenessKey != urlnorm.ByDomain {
		v.fail("fetch.politeness_key", "must be %q or %q, got %q", urlnorm.ByHost, urlnorm.ByDomain, f.PolitenessKey)
	}
	v.nonNegative("fetch.max_crawl_delay", f.MaxCrawlDelay)
	v.positive("fetch.timeout", f.Timeout)
	v.between("fetch.max_body_bytes", f.MaxBodyBytes, 1, maxBytesSetting)
	v.between("fetch.body_memory", f.BodyMemory, 0, maxBytesSetting)
	f.validateBodyMemory(v)
	v.atLeast("fetch.retries", int64(f.Retries), 0)
	if f.Retries > 0 {
		v.positive("fetch.retry_base_delay", f.RetryBaseDelay)
	} else {
		v.nonNegative("fetch.retry_base_delay", f.RetryBaseDelay)
	}
	if f.RetryMaxDelay < f.RetryBaseDelay {
		v.failNear("fetch.retry_max_delay", []string{"fetch.retry_base_delay"}, "must be >= fetch.retry_base_delay (%s), got %s",
			f.RetryBaseDelay, f.RetryMaxDelay)
	}
	v.atLeast("fetch.max_redirects", int64(f.MaxRedirects), 0)
	v.atLeast("fetch.host_failure_threshold", int64(f.HostFailureThreshold), 0)
	seen := make(map[string]int, len(f.HostLimits))
	for i, l := range f.HostLimits {
		path := fmt.Sprintf("fetch.host_limits[%d]", i)
		if h, ok := validHost(v, path+".host", l.Host); ok {
			key := f.HostKey(h)
			if j, dup := seen[key]; dup && key != h {
				v.fail(path+".host", "is in the same politeness group (%s) as fetch.host_limits[%d], got %q", key, j, l.Host)
			} else if dup {
				v.fail(path+".host", "names the same host as fetch.host_limits[%d], got %q", j, l.Host)
			}
			seen[key] = i
		}
		if l.Delay != nil {
			v.nonNegative(path+".delay", *l.Delay)
		}
		if l.Concurrency < 0 || f.Concurrency >= 1 && l.Concurrency > f.Concurrency {
			v.fail(path+".concurrency", "must be >= 0 (0: fetch.per_host_concurrency) and <= fetch.concurrency (%d), got %d",
				f.Concurrency, l.Concurrency)
		}
		v.atLeast(path+".max_pages", int64(l.MaxPages), 0)
		validateHeaders(v, path+".headers", l.Headers, true)
	}
	validateHeaders(v, "fetch.headers", f.Headers, false)
	if f.Proxy != "" {
		if _, err := parseProxy(f.Proxy); err != nil {
			v.fail("fetch.proxy", "%v", err)
		}
	}
}

// validateBodyMemory checks that a bounded fetch.body_memory cannot
// deadlock. A body of unknown length reserves bodyStart, then tops up to
// twice its cap plus 2 bytes (2 × (cap + 1)) while still holding its start.
// With every fetch holding its start (concurrency × bodyStart) there must
// remain room for the largest top-up, so that one waiter is always served.
// The largest cap is fetch.max_body_bytes or robots.txt's, whichever is
// larger. The fetcher would fail such waits at once instead of
// deadlocking, but the crawl would then keep retrying them.
func (f *Fetch) validateBodyMemory(v *validator) {
	if f.BodyMemory <= 0 || f.BodyMemory > maxBytesSetting || f.Concurrency < 1 ||
		f.MaxBodyBytes < 1 || f.MaxBodyBytes > maxBytesSetting {
		return // off, or already reported
	}
	largest := max(f.MaxBodyBytes, robots.MaxBytes)
	if f.Concurrency > maxBytesSetting/bodyStart {
		v.failNear("fetch.body_memory", []string{"fetch.concurrency"}, "must be 0 or >= fetch.concurrency × 262144 + 2 × (max(fetch.max_body_bytes, %d) + 1), "+
			"more than the %d maximum for fetch.concurrency %d; lower fetch.concurrency", robots.MaxBytes, int64(maxBytesSetting), f.Concurrency)
		return
	}
	need := int64(f.Concurrency)*bodyStart + 2*(largest+1)
	if f.BodyMemory < need {
		near := []string{"fetch.concurrency"} // what the bound grows with
		if f.MaxBodyBytes > robots.MaxBytes {
			near = []string{"fetch.max_body_bytes", "fetch.concurrency"}
		}
		v.failNear("fetch.body_memory", near, "must be 0 or >= fetch.concurrency × 262144 + 2 × (max(fetch.max_body_bytes, %d) + 1) "+
			"= %d × 262144 + 2 × (%d + 1) = %d, got %d (a smaller budget lets large bodies wait on each other)",
			robots.MaxBytes, f.Concurrency, largest, need, f.BodyMemory)
	}
}

func (r *Recrawl) validate(v *validator) {
	v.nonNegative("recrawl.interval", r.Interval)
	if r.Adaptive && r.MinInterval == 0 {
		// Halving a changing page's interval toward 0 refetches it as
		// fast as fetch.per_host_delay allows.
		v.fail("recrawl.min_interval", "must be > 0 when recrawl.adaptive is true, got 0s")
	}
	v.nonNegative("recrawl.min_interval", r.MinInterval)
	v.nonNegative("recrawl.max_interval", r.MaxInterval)
	if r.MaxInterval < r.MinInterval {
		v.failNear("recrawl.max_interval", []string{"recrawl.min_interval"}, "must be >= recrawl.min_interval (%s), got %s",
			r.MinInterval, r.MaxInterval)
	}
}

func (c *Config) validateExtract(v *validator) {
	rules := make(map[string]int, len(c.Extract))
	for i := range c.Extract {
		r := &c.Extract[i]
		p := fmt.Sprintf("extract[%d].", i)
		if strings.TrimSpace(r.Name) == "" {
			v.fail(p+"name", "must not be empty")
		} else if j, dup := rules[r.Name]; dup {
			v.fail(p+"name", "duplicate rule name %q (also extract[%d])", r.Name, j)
		} else {
			rules[r.Name] = i
		}
		if len(r.Fields) == 0 {
			v.fail(p+"fields", "must list at least one field")
		}
		fields := make(map[string]int, len(r.Fields))
		for j := range r.Fields {
			f := &r.Fields[j]
			fp := fmt.Sprintf("%sfields[%d].", p, j)
			if strings.TrimSpace(f.Name) == "" {
				v.fail(fp+"name", "must not be empty")
			} else if f.Name == "url" {
				v.fail(fp+"name", `"url" is reserved: "url" is the CSV export's page URL column; name the field otherwise`)
			} else if k, dup := fields[f.Name]; dup {
				v.fail(fp+"name", "duplicate field name %q in rule (also fields[%d])", f.Name, k)
			} else {
				fields[f.Name] = j
			}
			if strings.TrimSpace(f.Attr) == "" {
				v.fail(fp+"attr", `must be "text", "html" or an attribute name`)
			}
		}
		_, errs := r.compile(p)
		for _, e := range errs {
			e.Line = v.line(e.Field)
		}
		v.errs = append(v.errs, errs...)
	}
}
