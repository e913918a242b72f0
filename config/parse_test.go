package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// contract is the acceptance contract: Parse must accept exactly this file.
const contract = `data_dir: ./data
seeds: [https://example.com/]
scope:
  allowed_hosts: []
  max_depth: 0
fetch:
  user_agent: "crawler/0.1 (+https://example.com/bot)"
  concurrency: 64
  per_host_concurrency: 2
  per_host_delay: 1s
  timeout: 30s
  max_body_bytes: 10485760
  respect_robots: true
  allow_private_addresses: false
api:
  listen: ""
`

func TestParseContract(t *testing.T) {
	c, err := Parse([]byte(contract))
	if err != nil {
		t.Fatalf("Parse(contract): %v", err)
	}
	want := Default()
	want.Seeds = []string{"https://example.com/"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(contract) =\n%+v\nwant\n%+v", c, want)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"data_dir", c.DataDir, "./data"},
		{"seeds", len(c.Seeds), 0},
		{"allowed_hosts", len(c.Scope.AllowedHosts), 0},
		{"max_depth", c.Scope.MaxDepth, 0},
		{"max_pages_per_host", c.Scope.MaxPagesPerHost, 0},
		{"max_url_length", c.Scope.MaxURLLength, 2048},
		{"max_query_params", c.Scope.MaxQueryParams, 32},
		{"max_repeated_segments", c.Scope.MaxRepeatedSegments, 3},
		{"follow_sitemaps", c.Scope.FollowSitemaps, false},
		{"user_agent", c.Fetch.UserAgent, "crawler/0.1 (+https://example.com/bot)"},
		{"robots_token", c.Fetch.RobotsToken, "crawler"},
		{"concurrency", c.Fetch.Concurrency, 64},
		{"per_host_concurrency", c.Fetch.PerHostConcurrency, 2},
		{"per_host_delay", c.Fetch.PerHostDelay, time.Second},
		{"max_crawl_delay", c.Fetch.MaxCrawlDelay, 30 * time.Second},
		{"timeout", c.Fetch.Timeout, 30 * time.Second},
		{"max_body_bytes", c.Fetch.MaxBodyBytes, int64(10485760)},
		{"respect_robots", c.Fetch.RespectRobots, true},
		{"allow_private_addresses", c.Fetch.AllowPrivateAddresses, false},
		{"retries", c.Fetch.Retries, 3},
		{"retry_base_delay", c.Fetch.RetryBaseDelay, 2 * time.Second},
		{"retry_max_delay", c.Fetch.RetryMaxDelay, 5 * time.Minute},
		{"max_redirects", c.Fetch.MaxRedirects, 10},
		{"host_failure_threshold", c.Fetch.HostFailureThreshold, 10},
		{"listen", c.API.Listen, ""},
		{"socket", c.API.Socket, ""},
		{"min_free_bytes", c.Store.MinFreeBytes, int64(104857600)},
		{"max_mapped_bytes", c.Store.MaxMappedBytes, int64(0)},
		{"reclaim_garbage_percent", c.Store.ReclaimGarbagePercent, int64(50)},
		{"reclaim_min_garbage_bytes", c.Store.ReclaimMinGarbageBytes, int64(64 << 20)},
		{"interval", c.Recrawl.Interval, time.Duration(0)},
		{"min_interval", c.Recrawl.MinInterval, time.Hour},
		{"max_interval", c.Recrawl.MaxInterval, 720 * time.Hour},
		{"adaptive", c.Recrawl.Adaptive, false},
		{"level", c.Log.Level, "info"},
		{"format", c.Log.Format, "text"},
		{"shutdown_timeout", c.ShutdownTimeout, 15 * time.Second},
		{"extract", len(c.Extract), 0},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("Default() %s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	c.Fetch.Concurrency = 1
	if Default().Fetch.Concurrency != 64 {
		t.Error("Default() must return a fresh Config each call")
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "---\n", "~\n", "---\n...\n"} {
		c, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("Parse(%q) = %+v, want Default()", in, c)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		field string
		line  int
		is    error
		msg   string // the full Error() of that *Error
	}{
		{"unknown top-level key", "data_dir: x\nfoo: 1\n", "foo", 2, ErrUnknownKey,
			`line 2: unknown key "foo"`},
		{"unknown nested key", "fetch:\n  concurrency: 4\n  foo: 1\n", "fetch.foo", 3, ErrUnknownKey,
			`line 3: unknown key "foo" in fetch`},
		{"unknown key in extract field",
			"extract:\n  - name: r\n    fields:\n      - name: f\n        selector: p\n        colour: red\n",
			"extract[0].fields[0].colour", 6, ErrUnknownKey,
			`line 6: unknown key "colour" in extract[0].fields[0]`},
		{"typo suggestion", "fetch:\n  concurency: 4\n", "fetch.concurency", 2, ErrUnknownKey,
			`line 2: unknown key "concurency" in fetch (did you mean "concurrency"?)`},
		{"case suggestion", "Fetch: {}\n", "Fetch", 1, ErrUnknownKey,
			`line 1: unknown key "Fetch" (did you mean "fetch"?)`},
		{"duplicate top-level key", "data_dir: a\nlog: {}\ndata_dir: b\n", "data_dir", 3, ErrDuplicateKey,
			"line 3: data_dir: duplicate key, first given at line 1"},
		{"duplicate nested key", "fetch:\n  timeout: 1s\n  retries: 1\n  timeout: 2s\n", "fetch.timeout", 4,
			ErrDuplicateKey, "line 4: fetch.timeout: duplicate key, first given at line 2"},
		{"bare integer duration", "fetch:\n  timeout: 30\n", "fetch.timeout", 2, ErrType,
			`line 2: fetch.timeout: bare number 30 is not a duration; write it with a unit, e.g. "30s"`},
		{"bare zero duration", "recrawl:\n  interval: 0\n", "recrawl.interval", 2, ErrType,
			`line 2: recrawl.interval: bare number 0 is not a duration; write it with a unit, e.g. "0s"`},
		{"float duration", "shutdown_timeout: 1.5\n", "shutdown_timeout", 1, ErrType,
			`line 1: shutdown_timeout: must be a duration such as "30s", got "1.5"`},
		{"unitless duration string", "fetch:\n  timeout: \"30\"\n", "fetch.timeout", 2, ErrType,
			`line 2: fetch.timeout: invalid duration "30": write e.g. "200ms", "30s" or "1h30m"`},
		{"negative duration", "fetch:\n  per_host_delay: -1s\n", "fetch.per_host_delay", 2, ErrInvalid,
			"line 2: fetch.per_host_delay: must not be negative, got -1s"},
		{"duration as list", "fetch:\n  timeout: [1s]\n", "fetch.timeout", 2, ErrType,
			`line 2: fetch.timeout: must be a duration such as "30s", got a list`},
		{"string for int", "fetch:\n  concurrency: many\n", "fetch.concurrency", 2, ErrType,
			`line 2: fetch.concurrency: must be an integer, got "many"`},
		{"int overflow", "fetch:\n  max_body_bytes: 99999999999999999999999\n", "fetch.max_body_bytes", 2, ErrType,
			`line 2: fetch.max_body_bytes: must be an integer, got "99999999999999999999999"`},
		{"word for bool", "fetch:\n  respect_robots: maybe\n", "fetch.respect_robots", 2, ErrType,
			`line 2: fetch.respect_robots: must be true or false, got "maybe"`},
		{"word for follow_sitemaps", "scope:\n  follow_sitemaps: sometimes\n", "scope.follow_sitemaps", 2, ErrType,
			`line 2: scope.follow_sitemaps: must be true or false, got "sometimes"`},
		{"number for follow_sitemaps", "scope:\n  follow_sitemaps: 1\n", "scope.follow_sitemaps", 2, ErrType,
			`line 2: scope.follow_sitemaps: must be true or false, got "1"`},
		{"list for string", "data_dir: [a]\n", "data_dir", 1, ErrType,
			"line 1: data_dir: must be a string, got a list"},
		{"scalar for list", "seeds: https://example.com/\n", "seeds", 1, ErrType,
			`line 1: seeds: must be a list, got "https://example.com/"`},
		{"list for section", "fetch:\n  - 1\n", "fetch", 2, ErrType,
			"line 2: fetch: must be a mapping of keys, got a list"},
		{"root not a mapping", "- a\n- b\n", "", 1, ErrType, "line 1: must be a mapping of keys, got a list"},
		{"syntax error keeps line", "data_dir: x\nfetch:\n  timeout: 1s\n    retries: 2\n", "", 4, ErrSyntax,
			"line 4: invalid YAML: mapping values are not allowed in this context"},
		{"tab indentation", "fetch:\n\ttimeout: 1s\n", "", 2, ErrSyntax, ""},
		{"two documents", "data_dir: a\n---\ndata_dir: b\n", "", 2, ErrSyntax, "line 2: more than one YAML document"},
		{"unknown anchor", "fetch: *nope\n", "", 0, ErrSyntax, ""},
		{"merge cycle", "fetch: &f\n  <<: *f\n", "fetch", 2, ErrSyntax,
			"line 2: fetch: merge key refers to its own mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if c != nil {
				t.Error("Parse returned a Config with an error")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false; err = %v", tt.is, err)
			}
			errs := configErrors(t, err)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), err)
			}
			e := errs[0]
			if e.Field != tt.field {
				t.Errorf("Field = %q, want %q", e.Field, tt.field)
			}
			if tt.line != 0 && e.Line != tt.line {
				t.Errorf("Line = %d, want %d (%v)", e.Line, tt.line, e)
			}
			if tt.msg != "" && e.Error() != tt.msg {
				t.Errorf("Error() =\n  %q\nwant\n  %q", e.Error(), tt.msg)
			}
		})
	}
}

func TestParseStructuralErrorsReportedTogether(t *testing.T) {
	in := "foo: 1\nfetch:\n  timeout: 30\n  bar: 2\nlog:\n  level: [x]\n"
	errs := configErrors(t, mustFail(t, in))
	want := map[string]int{"foo": 1, "fetch.timeout": 3, "fetch.bar": 4, "log.level": 6}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		if line, ok := want[e.Field]; !ok || e.Line != line {
			t.Errorf("unexpected error %v (field %q line %d)", e, e.Field, e.Line)
		}
	}
}

func mustFail(t *testing.T, in string) error {
	t.Helper()
	c, err := Parse([]byte(in))
	if err == nil {
		t.Fatalf("Parse(%q) succeeded: %+v", in, c)
	}
	return err
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(*Config) bool
	}{
		{"empty value keeps default", "fetch:\n  timeout:\n  retries: ~\n", func(c *Config) bool {
			return c.Fetch.Timeout == 30*time.Second && c.Fetch.Retries == 3
		}},
		{"empty section keeps defaults", "fetch:\nlog: {}\n", func(c *Config) bool {
			return reflect.DeepEqual(c, Default())
		}},
		{"durations", "fetch:\n  per_host_delay: 0s\n  timeout: 1h30m\n  retry_base_delay: 200ms\n",
			func(c *Config) bool {
				return c.Fetch.PerHostDelay == 0 && c.Fetch.Timeout == 90*time.Minute &&
					c.Fetch.RetryBaseDelay == 200*time.Millisecond
			}},
		{"only given keys change", "fetch:\n  concurrency: 8\n", func(c *Config) bool {
			want := Default()
			want.Fetch.Concurrency = 8
			return reflect.DeepEqual(c, want)
		}},
		{"empty lists are nil", "seeds: []\nscope: {allowed_hosts: []}\nextract: []\n", func(c *Config) bool {
			return reflect.DeepEqual(c, Default())
		}},
		{"follow_sitemaps on", "scope:\n  follow_sitemaps: true\n", func(c *Config) bool {
			want := Default()
			want.Scope.FollowSitemaps = true
			return reflect.DeepEqual(c, want)
		}},
		{"follow_sitemaps empty keeps default", "scope:\n  follow_sitemaps:\n", func(c *Config) bool {
			return reflect.DeepEqual(c, Default())
		}},
		{"robots token derived", "fetch:\n  user_agent: MyBot/2.0 (+https://x.test)\n", func(c *Config) bool {
			return c.Fetch.RobotsToken == "mybot"
		}},
		{"robots token derived at space", "fetch:\n  user_agent: Some Bot\n", func(c *Config) bool {
			return c.Fetch.RobotsToken == "some"
		}},
		{"robots token kept", "fetch:\n  user_agent: MyBot/2.0\n  robots_token: OtherBot\n", func(c *Config) bool {
			return c.Fetch.RobotsToken == "OtherBot"
		}},
		{"attr defaults to text", "extract:\n  - name: r\n    fields:\n      - {name: t, selector: h1}\n      - {name: l, selector: a, attr: href}\n",
			func(c *Config) bool {
				f := c.Extract[0].Fields
				return f[0].Attr == "text" && f[1].Attr == "href"
			}},
		{"anchors and merge keys", "fetch:\n  <<: &base {concurrency: 8, timeout: 5s}\n  timeout: 7s\nrecrawl:\n  <<: [{interval: 2h}]\n",
			func(c *Config) bool {
				return c.Fetch.Concurrency == 8 && c.Fetch.Timeout == 7*time.Second && c.Recrawl.Interval == 2*time.Hour
			}},
		{"alias for a value", "fetch:\n  timeout: &t 9s\n  retry_base_delay: *t\n", func(c *Config) bool {
			return c.Fetch.RetryBaseDelay == 9*time.Second
		}},
		{"every extract key", `extract:
  - name: product
    match: '^https://example\.com/p/'
    fields:
      - {name: title, selector: h1, required: true}
      - {name: price, selector: .price, attr: text, pattern: '([0-9.]+)'}
      - {name: img, selector: img, attr: src, all: true, absolute: true}
`, func(c *Config) bool {
			r := c.Extract[0]
			f := r.Fields
			return r.Name == "product" && r.Match == `^https://example\.com/p/` && f[0].Required &&
				f[1].Pattern == "([0-9.]+)" && f[2].All && f[2].Absolute && f[2].Attr == "src"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()

	missing := filepath.Join(dir, "nope.yaml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) error %v does not name %s", err, missing)
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error %v is not os.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "data_dir: x\nfetch:\n  concurrency: 0\n  foo: 1\n")
	_, err := Load(bad)
	errs := configErrors(t, err)
	if len(errs) != 1 || errs[0].File != bad {
		t.Fatalf("Load(bad) = %v, want one error with File %s", err, bad)
	}
	if want := bad + `:4: unknown key "foo" in fetch`; err.Error() != want {
		t.Errorf("Load(bad) error = %q, want %q", err, want)
	}

	invalid := filepath.Join(dir, "invalid.yaml")
	writeFile(t, invalid, "fetch:\n  concurrency: 0\n")
	_, err = Load(invalid)
	if want := invalid + ":2: fetch.concurrency: must be >= 1, got 0"; err == nil || err.Error() != want {
		t.Errorf("Load(invalid) error = %v, want %q", err, want)
	}

	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, "data_dir: /var/lib/crawler\n")
	c, err := Load(good)
	if err != nil {
		t.Fatalf("Load(good): %v", err)
	}
	if c.DataDir != "/var/lib/crawler" || c.DBPath() != "/var/lib/crawler/crawl.db" {
		t.Errorf("Load(good) DataDir = %q, DBPath = %q", c.DataDir, c.DBPath())
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestShippedConfig keeps ../crawler.yaml in step with the code: it must load,
// equal Default apart from its seeds, and show every key.
func TestShippedConfig(t *testing.T) {
	const path = "../crawler.yaml"
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	if want := []string{"https://example.com/"}; !reflect.DeepEqual(c.Seeds, want) {
		t.Errorf("seeds = %q, want %q", c.Seeds, want)
	}
	c.Seeds = nil
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("%s differs from Default():\n got %+v\nwant %+v", path, c, Default())
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, lines, errs := parse(data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, key := range schemaKeys(reflect.TypeOf(Config{}), "") {
		if lines[key] == 0 {
			t.Errorf("%s does not show key %q", path, key)
		}
	}
	if !strings.Contains(string(data), "# extract:\n#   - name:") {
		t.Errorf("%s lacks the commented extract example", path)
	}
}

// schemaKeys lists the dotted path of every key of struct type t, not
// descending into lists.
func schemaKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		p := joinPath(prefix, yamlName(f))
		keys = append(keys, p)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			keys = append(keys, schemaKeys(f.Type, p)...)
		}
	}
	return keys
}

func TestSchemaKeysSanity(t *testing.T) {
	keys := schemaKeys(reflect.TypeOf(Config{}), "")
	for _, want := range []string{"data_dir", "fetch.host_failure_threshold", "recrawl.adaptive", "extract"} {
		found := false
		for _, k := range keys {
			found = found || k == want
		}
		if !found {
			t.Errorf("schemaKeys lacks %q: %v", want, keys)
		}
	}
}

func TestCheckerBudget(t *testing.T) {
	root, errs := parseDocument([]byte("seeds: &s [https://a.test/, https://b.test/]\nscope: {allowed_hosts: *s}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ch := newChecker()
	ch.budget = 4
	ch.value(root, "", reflect.TypeOf(Config{}))
	if len(ch.errs) != 1 || !errors.Is(ch.errs[0], ErrSyntax) ||
		!strings.Contains(ch.errs[0].Error(), "too many aliases") {
		t.Errorf("errors = %v, want one budget error", ch.errs)
	}
}

// A number with a fraction for an integer key is an error naming the key:
// yaml.v3 would truncate it ("retries: 0.5" silently meant no retries). A
// whole number written as a float ("1e6") is still that integer.
func TestParseFractionalInteger(t *testing.T) {
	for _, tt := range []struct{ in, field string }{
		{"fetch:\n  retries: 0.5\n", "fetch.retries"},
		{"scope:\n  max_depth: 2.9\n", "scope.max_depth"},
		{"fetch:\n  max_body_bytes: 1048576.5\n", "fetch.max_body_bytes"},
		{"fetch:\n  concurrency: .nan\n", "fetch.concurrency"},
		{"memory_limit: -.inf\n", "memory_limit"},
	} {
		errs := configErrors(t, mustFail(t, tt.in))
		if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Line != strings.Count(tt.in, "\n") ||
			!errors.Is(errs[0], ErrType) {
			t.Errorf("Parse(%q) = %v, want one ErrType on %s at its line", tt.in, errs, tt.field)
		}
	}
	c, err := Parse([]byte("fetch:\n  max_body_bytes: 1e6\n"))
	if err != nil || c.Fetch.MaxBodyBytes != 1000000 {
		t.Errorf("max_body_bytes: 1e6 = %v, %v; want 1000000", c, err)
	}
}

// TestParseLeadingZeroInteger checks that an integer written with a
// leading zero is refused: yaml.v3 reads 017 as YAML 1.1 octal, 15, where
// the operator most likely meant 17. Quoted, 0o-prefixed and non-octal
// digits read as written.
func TestParseLeadingZeroInteger(t *testing.T) {
	for _, in := range []string{"fetch:\n  concurrency: 017\n", "fetch:\n  retries: -01\n", "scope:\n  max_depth: 0_10\n"} {
		errs := configErrors(t, mustFail(t, in))
		if len(errs) != 1 || errs[0].Line != 2 || !errors.Is(errs[0], ErrType) || !strings.Contains(errs[0].Error(), "leading zero") {
			t.Errorf("Parse(%q) = %v, want one ErrType about the leading zero at line 2", in, errs)
		}
	}
	for in, want := range map[string]int{"fetch:\n  concurrency: 0o17\n": 15, "fetch:\n  concurrency: 19\n": 19, "fetch:\n  concurrency: 0\n  per_host_concurrency: 0\n": 0} {
		c, err := Parse([]byte(in))
		if want == 0 {
			if err == nil || strings.Contains(err.Error(), "leading zero") {
				t.Errorf("Parse(%q) = %v; want a range error, not a leading zero", in, err)
			}
			continue
		}
		if err != nil || c.Fetch.Concurrency != want {
			t.Errorf("Parse(%q) = %v, %v; want concurrency %d", in, c, err, want)
		}
	}
}

// A YAML syntax error the parser (not the scanner) finds names the line of
// the construct it was parsing or of the problem; yaml.v3 gives those
// 0-based, so errors pointed at the line before, often another key's.
func TestParseSyntaxErrorLines(t *testing.T) {
	for _, tt := range []struct {
		in   string
		line int
	}{
		{"data_dir: x\nfetch: {timeout: 1s\n", 2},                   // flow mapping opened on 2
		{"data_dir: x\nlog: {}\nseeds: [a, b\n", 3},                 // flow sequence opened on 3
		{"data_dir: x\nfetch:\n  timeout: 1s\n bad: 2\n", 4},        // stray indentation on 4
		{"data_dir: x\nlog: {}\nfetch: !x!y {}\n", 3},               // undefined tag handle on 3
		{"%YAML 1.1\n%YAML 1.1\n---\ndata_dir: x\n", 2},             // duplicate directive on 2
		{"data_dir: x\nfetch:\n  timeout: 1s\n    retries: 2\n", 4}, // a scanner error, already right
	} {
		errs := configErrors(t, mustFail(t, tt.in))
		if len(errs) != 1 || !errors.Is(errs[0], ErrSyntax) || errs[0].Line != tt.line {
			t.Errorf("Parse(%q) = %v, want one syntax error on line %d", tt.in, errs, tt.line)
		}
	}
}

// TestParseBoolForString checks that a YAML boolean for a string key is a
// type error: "data_dir: true" became the directory "true". A quoted "true"
// is the text, and numbers keep the text written ("2024"; robots_token
// takes no digits, see TestRobotsTokenIsProductToken).
func TestParseBoolForString(t *testing.T) {
	for _, tc := range []struct {
		in, field string
		line      int
	}{
		{"data_dir: true\n", "data_dir", 1},
		{"fetch:\n  user_agent: False\n", "fetch.user_agent", 2},
		{"extract:\n  - name: r\n    fields:\n      - {name: TRUE, selector: h1}\n", "extract[0].fields[0].name", 4},
	} {
		err := mustFail(t, tc.in)
		errs := configErrors(t, err)
		if len(errs) != 1 || errs[0].Field != tc.field || errs[0].Line != tc.line || !errors.Is(err, ErrType) ||
			!strings.Contains(err.Error(), "must be a string") || !strings.Contains(err.Error(), "quote") {
			t.Errorf("Parse(%q) = %v, want one type error for %s at line %d", tc.in, err, tc.field, tc.line)
		}
	}
	c, err := Parse([]byte("data_dir: \"true\"\nfetch:\n  user_agent: 2024\n  robots_token: bot\n"))
	if err != nil || c.DataDir != "true" || c.Fetch.UserAgent != "2024" || c.Fetch.RobotsToken != "bot" {
		t.Errorf("quoted true and numbers: %+v, %v", c, err)
	}
}

// TestTabIndentationLine ensures a tab in the indentation is reported on its own line.
func TestTabIndentationLine(t *testing.T) {
	for _, in := range []string{
		"data_dir: x\nlog: {}\nfetch:\n  concurrency: 4\n\ttimeout: 1s\n",
		"data_dir: x\nfetch:\n  timeout: 1s\n  retries: 2\n  \t  max_redirects: 3\n",
	} {
		errs := configErrors(t, mustFail(t, in))
		if len(errs) != 1 || !errors.Is(errs[0], ErrSyntax) || errs[0].Line != 5 {
			t.Errorf("Parse(%q) = %v; want one syntax error at line 5, where the tab is", in, errs)
		}
	}
}

// TestFirstLineSyntaxErrorLine ensures a syntax error on line 1 says so, and an unplaceable one claims no line.
func TestFirstLineSyntaxErrorLine(t *testing.T) {
	for _, tt := range []struct {
		in   string
		line int
	}{
		{"data_dir: \"C:\\xZZ\"\nseeds: []\n", 1}, // a scanner error
		{"@data_dir: x\n", 1},
		{"data_dir: x\nseeds: []\nlog: \xff\n", 0}, // yaml.v3's reader gives no position
		{"data_dir: x\nfetch: *nope\n", 0},
	} {
		errs := configErrors(t, mustFail(t, tt.in))
		if len(errs) != 1 || !errors.Is(errs[0], ErrSyntax) || errs[0].Line != tt.line {
			t.Errorf("Parse(%q) = %v; want one syntax error at line %d", tt.in, errs, tt.line)
		}
	}
}

// TestDuplicateMergeKey ensures a second "<<" in a mapping is a duplicate key named with its line.
func TestDuplicateMergeKey(t *testing.T) {
	in := "fetch:\n  <<: {concurrency: 4}\n  <<: {timeout: 5s}\n"
	errs := configErrors(t, mustFail(t, in))
	if len(errs) != 1 || errs[0].Field != "fetch.<<" || errs[0].Line != 3 || !errors.Is(errs[0], ErrDuplicateKey) {
		t.Errorf("Parse(%q) = %v; want one ErrDuplicateKey for fetch.<< at line 3", in, errs)
	}
}

// TestNullTagWithText ensures a value tagged !!null must be empty, and names its field and line when not.
func TestNullTagWithText(t *testing.T) {
	in := "data_dir: x\nlog:\n  level: !!null debug\n"
	errs := configErrors(t, mustFail(t, in))
	if len(errs) != 1 || errs[0].Field != "log.level" || errs[0].Line != 3 || !errors.Is(errs[0], ErrType) {
		t.Errorf("Parse(%q) = %v; want one ErrType for log.level at line 3", in, errs)
	}
	c, err := Parse([]byte("log:\n  level: !!null ~\n  format: !!null NULL\n"))
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Errorf("empty values tagged !!null: %+v, %v; want the defaults", c, err)
	}
}

// TestFloatAt2Pow63 ensures a float integer outside int64 is a type error, not a wrapped negative value.
func TestFloatAt2Pow63(t *testing.T) {
	in := "store:\n  max_mapped_bytes: 9.223372036854775807e18\n" // rounds to 2^63
	errs := configErrors(t, mustFail(t, in))
	if len(errs) != 1 || errs[0].Field != "store.max_mapped_bytes" || !errors.Is(errs[0], ErrType) {
		t.Errorf("Parse(%q) = %v; want one ErrType for store.max_mapped_bytes", in, errs)
	}
	c, err := Parse([]byte("store:\n  max_mapped_bytes: 9.223372036854774784e18\n")) // the largest float below 2^63
	if err != nil || c.Store.MaxMappedBytes != 9223372036854774784 {
		t.Errorf("largest float below 2^63: %v; want it taken", err)
	}
	e := findError(t, mustFail(t, "memory_limit: -9.223372036854775808e18\n"), "memory_limit") // -2^63 fits
	if e == nil || !errors.Is(e, ErrInvalid) {
		t.Errorf("memory_limit -2^63: %v; want the >= 0 check, not a type error", e)
	}
}
