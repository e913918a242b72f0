package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func rule(name string, fields ...ExtractField) ExtractRule {
	return ExtractRule{Name: name, Fields: fields}
}

func field(name, selector string) ExtractField {
	return ExtractField{Name: name, Selector: selector, Attr: "text"}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string // "" = valid
		msg    string // substring of the message
	}{
		{"defaults", func(*Config) {}, "", ""},
		{"data_dir empty", func(c *Config) { c.DataDir = "" }, "data_dir", "must not be empty"},
		{"seed relative", func(c *Config) { c.Seeds = []string{"https://a.test/", "/path"} }, "seeds[1]", "absolute http or https"},
		{"seed ftp", func(c *Config) { c.Seeds = []string{"ftp://a.test/"} }, "seeds[0]", "absolute http or https"},
		{"seed without host", func(c *Config) { c.Seeds = []string{"http:///x"} }, "seeds[0]", "must have a host"},
		{"seed unparsable", func(c *Config) { c.Seeds = []string{"http://a b.test/%zz"} }, "seeds[0]", "valid URL"},
		{"seed port out of range", func(c *Config) { c.Seeds = []string{"http://a.test:99999/"} }, "seeds[0]", "valid URL"},
		{"seed IPv4 part above 255", func(c *Config) { c.Seeds = []string{"http://256.1.1.1/"} }, "seeds[0]", "valid URL"},
		{"seeds valid", func(c *Config) { c.Seeds = []string{"HTTP://A.test:8080/x?y", "https://[::1]/"} }, "", ""},
		{"allowed host with scheme", func(c *Config) { c.Scope.AllowedHosts = []string{"https://a.test"} }, "scope.allowed_hosts[0]", "without scheme"},
		{"allowed host with path", func(c *Config) { c.Scope.AllowedHosts = []string{"a.test", "a.test/x"} }, "scope.allowed_hosts[1]", "without scheme or path"},
		{"allowed host empty", func(c *Config) { c.Scope.AllowedHosts = []string{""} }, "scope.allowed_hosts[0]", "host or host:port"},
		{"allowed host bad port", func(c *Config) { c.Scope.AllowedHosts = []string{"a.test:http"} }, "scope.allowed_hosts[0]", "host or host:port"},
		{"allowed hosts valid", func(c *Config) { c.Scope.AllowedHosts = []string{"A.test", "a.test:8080", "[::1]:8080", "10.0.0.1"} }, "", ""},
		{"max_depth negative", func(c *Config) { c.Scope.MaxDepth = -1 }, "scope.max_depth", "must be >= 0"},
		{"max_pages_per_host negative", func(c *Config) { c.Scope.MaxPagesPerHost = -1 }, "scope.max_pages_per_host", ">= 0"},
		{"max_url_length too small", func(c *Config) { c.Scope.MaxURLLength = 255 }, "scope.max_url_length", "must be >= 256 and <= 4096, got 255"},
		{"max_url_length minimum", func(c *Config) { c.Scope.MaxURLLength = 256 }, "", ""},
		{"max_url_length maximum", func(c *Config) { c.Scope.MaxURLLength = 4096 }, "", ""},
		{"max_url_length beyond urlnorm's", func(c *Config) { c.Scope.MaxURLLength = 8192 }, "scope.max_url_length", "must be >= 256 and <= 4096, got 8192"},
		{"max_query_params negative", func(c *Config) { c.Scope.MaxQueryParams = -1 }, "scope.max_query_params", ">= 0"},
		{"max_repeated_segments negative", func(c *Config) { c.Scope.MaxRepeatedSegments = -1 }, "scope.max_repeated_segments", ">= 0"},
		{"follow_sitemaps without respect_robots", func(c *Config) { c.Scope.FollowSitemaps, c.Fetch.RespectRobots = true, false }, "", ""},
		{"zero means unlimited or off", func(c *Config) {
			c.Scope.MaxQueryParams, c.Scope.MaxRepeatedSegments, c.Fetch.HostFailureThreshold = 0, 0, 0
			c.Fetch.MaxRedirects, c.Store.MinFreeBytes, c.Fetch.PerHostDelay = 0, 0, 0
		}, "", ""},
		{"user_agent empty", func(c *Config) { c.Fetch.UserAgent = " " }, "fetch.user_agent", "must not be empty"},
		{"robots_token empty", func(c *Config) { c.Fetch.RobotsToken = "" }, "fetch.robots_token", "product token"},
		{"robots_token with slash", func(c *Config) { c.Fetch.RobotsToken = "bot/1" }, "fetch.robots_token", "product token"},
		{"robots_token with digits", func(c *Config) { c.Fetch.RobotsToken = "bot2000" }, "fetch.robots_token", "product token"},
		{"robots_token of digits", func(c *Config) { c.Fetch.RobotsToken = "2024" }, "fetch.robots_token", "product token"},
		{"robots_token non-ASCII", func(c *Config) { c.Fetch.RobotsToken = "bot\u00e9" }, "fetch.robots_token", "product token"},
		{"robots_token letters, '_' and '-'", func(c *Config) { c.Fetch.RobotsToken = "My_Bot-X" }, "", ""},
		{"concurrency zero", func(c *Config) { c.Fetch.Concurrency = 0 }, "fetch.concurrency", "must be >= 1, got 0"},
		{"per_host_concurrency zero", func(c *Config) { c.Fetch.PerHostConcurrency = 0 }, "fetch.per_host_concurrency", "must be >= 1"},
		{"per_host_concurrency above concurrency", func(c *Config) { c.Fetch.Concurrency, c.Fetch.PerHostConcurrency = 4, 5 }, "fetch.per_host_concurrency", "must be <= fetch.concurrency (4), got 5"},
		{"per_host_concurrency equal concurrency", func(c *Config) { c.Fetch.Concurrency, c.Fetch.PerHostConcurrency = 4, 4 }, "", ""},
		{"per_host_delay negative", func(c *Config) { c.Fetch.PerHostDelay = -time.Second }, "fetch.per_host_delay", "must not be negative"},
		{"max_crawl_delay negative", func(c *Config) { c.Fetch.MaxCrawlDelay = -1 }, "fetch.max_crawl_delay", "must not be negative"},
		{"timeout zero", func(c *Config) { c.Fetch.Timeout = 0 }, "fetch.timeout", "must be > 0"},
		{"max_body_bytes zero", func(c *Config) { c.Fetch.MaxBodyBytes = 0 }, "fetch.max_body_bytes", "must be >= 1"},
		{"max_body_bytes above 1 TiB", func(c *Config) { c.Fetch.MaxBodyBytes, c.Fetch.BodyMemory = 1<<40+1, 0 }, "fetch.max_body_bytes", "must be >= 1 and <= 1099511627776, got 1099511627777"},
		{"max_body_bytes 1 TiB", func(c *Config) { c.Fetch.MaxBodyBytes, c.Fetch.BodyMemory = 1<<40, 0 }, "", ""},
		{"body_memory above 1 TiB", func(c *Config) { c.Fetch.BodyMemory = 1<<40 + 1 }, "fetch.body_memory", "must be >= 0 and <= 1099511627776, got 1099511627777"},
		{"body_memory negative", func(c *Config) { c.Fetch.BodyMemory = -1 }, "fetch.body_memory", "must be >= 0"},
		{"body_memory zero is unbounded", func(c *Config) { c.Fetch.BodyMemory = 0 }, "", ""},
		{"body_memory exactly enough", func(c *Config) { c.Fetch.BodyMemory = 64*256<<10 + 2*(10<<20+1) }, "", ""},
		{"body_memory one byte short", func(c *Config) { c.Fetch.BodyMemory = 64*256<<10 + 2*(10<<20+1) - 1 }, "fetch.body_memory",
			"must be 0 or >= fetch.concurrency × 262144 + 2 × (max(fetch.max_body_bytes, 512000) + 1) = 64 × 262144 + 2 × (10485760 + 1) = 37748738, got 37748737"},
		{"body_memory below cap", func(c *Config) { c.Fetch.MaxBodyBytes, c.Fetch.BodyMemory = 4<<20, 4<<20 }, "fetch.body_memory", "= 25165826, got 4194304"},
		{"body_memory counts robots.txt cap", func(c *Config) {
			c.Fetch.Concurrency, c.Fetch.PerHostConcurrency, c.Fetch.MaxBodyBytes, c.Fetch.BodyMemory = 1, 1, 1000, 1<<20
		}, "fetch.body_memory", "= 1 × 262144 + 2 × (512000 + 1) = 1286146, got 1048576"},
		{"body_memory huge concurrency", func(c *Config) { c.Fetch.Concurrency = 1 << 30 }, "fetch.body_memory", "lower fetch.concurrency"},
		{"retries negative", func(c *Config) { c.Fetch.Retries = -1 }, "fetch.retries", "must be >= 0"},
		{"retry_base_delay zero with retries", func(c *Config) { c.Fetch.RetryBaseDelay = 0 }, "fetch.retry_base_delay", "must be > 0"},
		{"retry_base_delay zero without retries", func(c *Config) { c.Fetch.Retries, c.Fetch.RetryBaseDelay = 0, 0 }, "", ""},
		{"retry_max_delay below base", func(c *Config) { c.Fetch.RetryMaxDelay = time.Second }, "fetch.retry_max_delay", "must be >= fetch.retry_base_delay (2s), got 1s"},
		{"max_redirects negative", func(c *Config) { c.Fetch.MaxRedirects = -1 }, "fetch.max_redirects", "must be >= 0"},
		{"host_failure_threshold negative", func(c *Config) { c.Fetch.HostFailureThreshold = -1 }, "fetch.host_failure_threshold", "must be >= 0"},
		{"api.listen bad", func(c *Config) { c.API.Listen = "9090" }, "api.listen", "host:port"},
		{"api.listen valid", func(c *Config) { c.API.Listen = ":9090" }, "", ""},
		{"min_free_bytes negative", func(c *Config) { c.Store.MinFreeBytes = -1 }, "store.min_free_bytes", "must be >= 0"},
		{"max_mapped_bytes negative", func(c *Config) { c.Store.MaxMappedBytes = -1 }, "store.max_mapped_bytes", "must be >= 0"},
		{"reclaim_garbage_percent 100", func(c *Config) { c.Store.ReclaimGarbagePercent = 100 }, "store.reclaim_garbage_percent", "must be >= 0 and <= 99"},
		{"reclaim_garbage_percent negative", func(c *Config) { c.Store.ReclaimGarbagePercent = -1 }, "store.reclaim_garbage_percent", "must be >= 0 and <= 99"},
		{"reclaim_min_garbage_bytes negative", func(c *Config) { c.Store.ReclaimMinGarbageBytes = -1 }, "store.reclaim_min_garbage_bytes", "must be >= 0"},
		{"recrawl interval negative", func(c *Config) { c.Recrawl.Interval = -1 }, "recrawl.interval", "must not be negative"},
		{"recrawl min above max", func(c *Config) { c.Recrawl.MinInterval, c.Recrawl.MaxInterval = 2*time.Hour, time.Hour }, "recrawl.max_interval", "must be >= recrawl.min_interval (2h0m0s), got 1h0m0s"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", `must be one of debug, info, warn, error, got "verbose"`},
		{"log level case", func(c *Config) { c.Log.Level = "INFO" }, "log.level", "must be one of"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `must be one of text, json, got "xml"`},
		{"log valid", func(c *Config) { c.Log.Level, c.Log.Format = "debug", "json" }, "", ""},
		{"shutdown_timeout zero", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout", "must be > 0"},
		{"extract valid", func(c *Config) {
			c.Extract = []ExtractRule{rule("a", field("x", "h1"), field("y", "a[href]")), rule("b", field("x", "p, li"))}
		}, "", ""},
		{"extract rule name empty", func(c *Config) { c.Extract = []ExtractRule{rule(" ", field("x", "h1"))} }, "extract[0].name", "must not be empty"},
		{"extract rule names unique", func(c *Config) {
			c.Extract = []ExtractRule{rule("a", field("x", "h1")), rule("a", field("x", "h1"))}
		}, "extract[1].name", `duplicate rule name "a" (also extract[0])`},
		{"extract rule without fields", func(c *Config) { c.Extract = []ExtractRule{rule("a")} }, "extract[0].fields", "at least one field"},
		{"extract field name empty", func(c *Config) { c.Extract = []ExtractRule{rule("a", field("", "h1"))} }, "extract[0].fields[0].name", "must not be empty"},
		{"extract field names unique", func(c *Config) {
			c.Extract = []ExtractRule{rule("a", field("x", "h1"), field("y", "h2"), field("x", "h3"))}
		}, "extract[0].fields[2].name", `duplicate field name "x" in rule (also fields[0])`},
		{"extract attr empty", func(c *Config) {
			c.Extract = []ExtractRule{rule("a", ExtractField{Name: "x", Selector: "h1"})}
		}, "extract[0].fields[0].attr", "must be"},
		{"extract selector empty", func(c *Config) { c.Extract = []ExtractRule{rule("a", field("x", ""))} }, "extract[0].fields[0].selector", "must not be empty"},
		{"extract selector bad", func(c *Config) {
			c.Extract = []ExtractRule{rule("a", field("x", "h1")), rule("b", field("x", "h1"), field("y", "a[href"))}
		}, "extract[1].fields[1].selector", `invalid CSS selector "a[href"`},
		{"extract match bad", func(c *Config) {
			r := rule("a", field("x", "h1"))
			r.Match = "(["
			c.Extract = []ExtractRule{r}
		}, "extract[0].match", `invalid regexp "(["`},
		{"extract pattern bad", func(c *Config) {
			f := field("y", "h2")
			f.Pattern = "a)"
			c.Extract = []ExtractRule{rule("a", field("x", "h1"), f)}
		}, "extract[0].fields[1].pattern", `invalid regexp "a)"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			errs := configErrors(t, err)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), err)
			}
			e := errs[0]
			if e.Field != tt.field || e.Line != 0 || e.File != "" {
				t.Errorf("error at field %q line %d file %q, want field %q and no position", e.Field, e.Line, e.File, tt.field)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false: %v", err)
			}
			if !strings.Contains(e.Error(), tt.msg) || !strings.HasPrefix(e.Error(), tt.field+": ") {
				t.Errorf("Error() = %q, want prefix %q and %q in it", e.Error(), tt.field+": ", tt.msg)
			}
		})
	}
}

func TestValidateDoesNotModify(t *testing.T) {
	c := Default()
	c.Fetch.RobotsToken = ""
	c.Extract = []ExtractRule{rule("a", ExtractField{Name: "x", Selector: "h1"})}
	_ = c.Validate()
	if c.Fetch.RobotsToken != "" || c.Extract[0].Fields[0].Attr != "" {
		t.Errorf("Validate modified the config: %+v", c)
	}
}

func TestValidateReportsAll(t *testing.T) {
	c := Default()
	c.DataDir = ""
	c.Fetch.Concurrency = 0
	c.Log.Format = "xml"
	c.Extract = []ExtractRule{rule("a", field("x", "h1"), field("y", "::"))}
	errs := configErrors(t, c.Validate())
	want := []string{"data_dir", "fetch.concurrency", "log.format", "extract[0].fields[1].selector"}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for i, e := range errs {
		if e.Field != want[i] {
			t.Errorf("error %d is for %q, want %q", i, e.Field, want[i])
		}
	}
}

// TestParseValidationLines checks that validation errors from Parse point at
// the line of the offending key, and that all of them are reported.
func TestParseValidationLines(t *testing.T) {
	in := `data_dir: ""
seeds:
  - https://ok.test/
  - notaurl
fetch:
  concurrency: 2
  per_host_concurrency: 3
  timeout: 0s
log: {level: loud}
recrawl:
  min_interval: 800h
extract:
  - name: r
    match: "("
    fields:
      - name: a
        selector: h1
      - name: b
        selector: "a[["
`
	err := mustFail(t, in)
	want := map[string]int{
		"data_dir":                      1,
		"seeds[1]":                      4,
		"fetch.per_host_concurrency":    7,
		"fetch.timeout":                 8,
		"log.level":                     9,
		"extract[0].match":              14,
		"extract[0].fields[1].selector": 19,
	}
	errs := configErrors(t, err)
	if len(errs) != len(want)+1 {
		t.Errorf("got %d errors, want %d: %v", len(errs), len(want)+1, err)
	}
	for field, line := range want {
		e := findError(t, err, field)
		if e == nil {
			t.Errorf("no error for %s in %v", field, err)
			continue
		}
		if e.Line != line {
			t.Errorf("%s: line %d, want %d", field, e.Line, line)
		}
	}
	// recrawl.max_interval is absent from the file, so its error takes the
	// line of recrawl.min_interval, which it is checked against.
	if e := findError(t, err, "recrawl.max_interval"); e == nil || e.Line != 11 {
		t.Errorf("recrawl.max_interval error = %v, want one at line 11", e)
	}
	if e := findError(t, err, "extract[0].fields[1].selector"); e != nil {
		if got, want := e.Error(), `line 19: extract[0].fields[1].selector: invalid CSS selector "a[["`; !strings.HasPrefix(got, want) {
			t.Errorf("Error() = %q, want prefix %q", got, want)
		}
	}
}

// TestParseBodyMemoryLines checks that the byte-size caps and the
// body-memory rule report the line of their key, with the values.
func TestParseBodyMemoryLines(t *testing.T) {
	err := mustFail(t, "fetch:\n  concurrency: 4\n  per_host_concurrency: 2\n  max_body_bytes: 1048576\n  body_memory: 2097152\n")
	e := findError(t, err, "fetch.body_memory")
	if e == nil || e.Line != 5 {
		t.Fatalf("fetch.body_memory error = %v, want one at line 5", e)
	}
	if got, want := e.Error(), "line 5: fetch.body_memory: must be 0 or >= fetch.concurrency × 262144 + 2 × (max(fetch.max_body_bytes, 512000) + 1) = 4 × 262144 + 2 × (1048576 + 1) = 3145730, got 2097152"; !strings.HasPrefix(got, want) {
		t.Errorf("Error() = %q, want prefix %q", got, want)
	}
	err = mustFail(t, "fetch:\n  max_body_bytes: 9223372036854775807\n  body_memory: 9223372036854775807\n")
	for field, line := range map[string]int{"fetch.max_body_bytes": 2, "fetch.body_memory": 3} {
		if e := findError(t, err, field); e == nil || e.Line != line || !strings.Contains(e.Error(), "<= 1099511627776, got 9223372036854775807") {
			t.Errorf("%s error = %v, want the 1 TiB cap at line %d", field, e, line)
		}
	}
	if errs := configErrors(t, err); len(errs) != 2 {
		t.Errorf("got %d errors, want the 2 caps only: %v", len(errs), err)
	}
}

// wantParseError parses in and checks that it fails with exactly one error,
// for field at line, whose message contains msg.
func wantParseError(t *testing.T, in, field string, line int, msg string) {
	t.Helper()
	err := mustFail(t, in)
	errs := configErrors(t, err)
	if len(errs) != 1 {
		t.Fatalf("Parse(%q): got %d errors, want 1: %v", in, len(errs), err)
	}
	if e := errs[0]; e.Field != field || e.Line != line || !strings.Contains(e.Error(), msg) {
		t.Errorf("Parse(%q) = %q (field %q line %d), want field %q line %d and %q",
			in, e.Error(), e.Field, e.Line, field, line, msg)
	}
}

// TestValidateAPIListen checks that an api.listen the daemon cannot listen
// on (port out of range or not a number, malformed host) fails Validate
// naming api.listen and its line, instead of failing at start.
func TestValidateAPIListen(t *testing.T) {
	for _, bad := range []string{":99999", "127.0.0.1:65536", ":-1", ":", "127.0.0.1:", "localhost:http",
		"a b:9090", "256.0.0.1:9090", "127.0.0.1:9090:1", "[::1:9090", "exa$mple.test:9090"} {
		c := Default()
		c.API.Listen = bad
		e := findError(t, c.Validate(), "api.listen")
		if e == nil || !strings.Contains(e.Error(), "host:port or :port") {
			t.Errorf("api.listen %q: error %v, want one naming api.listen", bad, e)
		}
	}
	for _, good := range []string{"", ":9090", ":0", "127.0.0.1:9090", "[::1]:65535", "localhost:9090", "0.0.0.0:80", "[fe80::1%eth0]:9090"} {
		c := Default()
		c.API.Listen = good
		if err := c.Validate(); err != nil {
			t.Errorf("api.listen %q: %v, want valid", good, err)
		}
	}
	wantParseError(t, "log: {level: info}\napi:\n  listen: ':99999'\n", "api.listen", 3, `got ":99999"`)
}

// TestValidateExtractFieldURL checks that a field named "url" is refused:
// the CSV export's first column is the page URL, headed "url", so the
// header read "url,url".
func TestValidateExtractFieldURL(t *testing.T) {
	c := Default()
	c.Extract = []ExtractRule{rule("a", field("title", "h1"), field("url", "link[rel=canonical]"))}
	e := findError(t, c.Validate(), "extract[0].fields[1].name")
	if e == nil || !strings.Contains(e.Error(), `"url" is the CSV export's page URL column`) {
		t.Errorf("field named url: error %v, want one for extract[0].fields[1].name", e)
	}
	c.Extract = []ExtractRule{rule("a", field("URL", "h1"), field("page_url", "h2"))}
	if err := c.Validate(); err != nil {
		t.Errorf("fields URL and page_url: %v, want valid", err)
	}
	wantParseError(t, "extract:\n  - name: r\n    fields:\n      - name: url\n        selector: a\n",
		"extract[0].fields[0].name", 4, "reserved")
}

// TestValidateAdaptiveMinInterval checks that recrawl.min_interval 0 is
// refused with recrawl.adaptive: a page that changed at every fetch had its
// interval halved toward nothing, refetched with no gap beyond
// fetch.per_host_delay. Without adaptive, min_interval is unused.
func TestValidateAdaptiveMinInterval(t *testing.T) {
	c := Default()
	c.Recrawl.Interval, c.Recrawl.MinInterval, c.Recrawl.Adaptive = time.Hour, 0, true
	e := findError(t, c.Validate(), "recrawl.min_interval")
	if e == nil || !strings.Contains(e.Error(), "must be > 0 when recrawl.adaptive is true") {
		t.Errorf("adaptive with min_interval 0: error %v, want one for recrawl.min_interval", e)
	}
	c.Recrawl.Adaptive = false
	if err := c.Validate(); err != nil {
		t.Errorf("min_interval 0 without adaptive: %v, want valid", err)
	}
	c.Recrawl.MinInterval, c.Recrawl.Adaptive = time.Millisecond, true
	if err := c.Validate(); err != nil {
		t.Errorf("adaptive with min_interval 1ms: %v, want valid", err)
	}
	wantParseError(t, "recrawl:\n  interval: 1h\n  min_interval: 0s\n  adaptive: true\n",
		"recrawl.min_interval", 3, "must be > 0 when recrawl.adaptive is true, got 0s")
}

// TestRobotsTokenIsProductToken ensures a robots_token that is not an RFC
// 9309 §2.2.1 product token ([A-Za-z_-]+) is an error on its own line, and
// a user_agent whose product name is not one asks for robots_token on the
// user_agent line, instead of a token robots.txt matching would cut ("bot"
// of "bot2000" is another crawler's) or never match ("360spider").
func TestRobotsTokenIsProductToken(t *testing.T) {
	for _, tc := range []struct {
		in, msg string
		line    int
	}{
		{"data_dir: x\nfetch:\n  robots_token: bot2000\n",
			`fetch.robots_token: must be a product token of letters, '_' and '-' (RFC 9309 §2.2.1), got "bot2000"`, 3},
		{"data_dir: x\nfetch:\n  user_agent: MyBot/1.0\n  robots_token: 2024\n", `got "2024"`, 4},
		{"data_dir: x\nfetch:\n  robots_token: \"bot\u00e9\"\n", "got \"bot\u00e9\"", 3},
		{"data_dir: x\nfetch:\n  user_agent: 360Spider/1.0\n",
			`fetch.robots_token: derived from user_agent "360Spider/1.0" is "360spider", not a product token of letters, ` +
				`'_' and '-' (RFC 9309 §2.2.1): set fetch.robots_token`, 3},
		{"data_dir: x\nfetch:\n  user_agent: Bot2000/1.0 (+https://x.test)\n", `is "bot2000", not a product token`, 3},
	} {
		wantParseError(t, tc.in, "fetch.robots_token", tc.line, tc.msg)
	}
	c, err := Parse([]byte("data_dir: x\nfetch:\n  user_agent: 360Spider/1.0\n  robots_token: Spider\n"))
	if err != nil || c.Fetch.RobotsToken != "Spider" {
		t.Errorf("user_agent with digits and a robots_token: %+v, %v", c, err)
	}
}

// TestCrossFieldErrorLine ensures a check that blames a key absent from the
// file points at the key given, or else at the list entry it is missing from.
func TestCrossFieldErrorLine(t *testing.T) {
	for _, tc := range []struct {
		in, field, msg string
		line           int
	}{
		{"data_dir: x\nfetch:\n  concurrency: 1\n", "fetch.per_host_concurrency", "<= fetch.concurrency (1)", 3},
		{"data_dir: x\nfetch:\n  retry_base_delay: 10m\n", "fetch.retry_max_delay", ">= fetch.retry_base_delay (10m0s)", 3},
		{"data_dir: x\nfetch:\n  max_body_bytes: 104857600\n", "fetch.body_memory", "max(fetch.max_body_bytes", 3},
		{"data_dir: x\nfetch:\n  concurrency: 1000\n", "fetch.body_memory", "fetch.concurrency ×", 3},
		{"data_dir: x\nrecrawl:\n  min_interval: 800h\n", "recrawl.max_interval", ">= recrawl.min_interval (800h0m0s)", 3},
		{"data_dir: x\nfetch:\n  user_agent: /x\n", "fetch.robots_token", "derived from user_agent", 3},
		// A required key left out of a list entry: the entry's line.
		{"data_dir: x\nextract:\n  - name: r\n    fields:\n      - name: a\n        selector: h1\n      - name: b\n", "extract[0].fields[1].selector", "must not be empty", 7},
		{"data_dir: x\nextract:\n  - name: r\n    fields:\n      - selector: h1\n", "extract[0].fields[0].name", "must not be empty", 5},
		{"data_dir: x\nextract:\n  - fields:\n      - {name: a, selector: h1}\n", "extract[0].name", "must not be empty", 3},
		{"data_dir: x\nfetch:\n  host_limits:\n    - delay: 1s\n", "fetch.host_limits[0].host", "", 4},
	} {
		wantParseError(t, tc.in, tc.field, tc.line, tc.msg)
	}
}

// Ensure a default body_memory made too small by concurrency is blamed on
// concurrency's line, not on a max_body_bytes below robots.txt's cap,
// which plays no part in the bound.
func TestBodyMemoryLineIsConcurrency(t *testing.T) {
	in := "data_dir: x\nfetch:\n  max_body_bytes: 100000\n  concurrency: 1000\n"
	_, err := Parse([]byte(in))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse = %v; want an *Error", err)
	}
	if ce.Field != "fetch.body_memory" || ce.Line != 4 {
		t.Errorf("error %q at line %d; want fetch.body_memory at line 4 (concurrency: 1000, the value to change)", ce.Error(), ce.Line)
	}
}
