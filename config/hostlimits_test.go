package config

import (
	"strings"
	"testing"
)

// fetch.host_limits parses with a delay that may be zero or absent, is
// keyed by canonical host, and each bad entry is reported at its field
// and line.
func TestHostLimits(t *testing.T) {
	c, err := Parse([]byte("seeds: [http://a.test/]\nfetch:\n  host_limits:\n    - {host: A.Test, delay: 0s, concurrency: 1}\n    - {host: 'b.test:8080', concurrency: 4}\n"))
	if err != nil {
		t.Fatal(err)
	}
	set := c.Fetch.HostLimitSet()
	a, b := set["a.test"], set["b.test:8080"]
	if len(set) != 2 || a.Delay == nil || *a.Delay != 0 || a.Concurrency != 1 || b.Delay != nil || b.Concurrency != 4 || a.Host != "a.test" {
		t.Errorf("HostLimitSet = %+v; want a.test at delay 0 and concurrency 1, b.test:8080 at concurrency 4 with the default delay", set)
	}

	in := "fetch:\n  concurrency: 8\n  host_limits:\n" +
		"    - {host: 'https://a.test', delay: 1s}\n" + // line 4
		"    - {host: a.test, delay: 2s}\n" + // line 5
		"    - {host: A.TEST, concurrency: 9}\n" + // line 6
		"    - {host: 'b.test:443'}\n" // line 7
	errs := configErrors(t, mustFail(t, in))
	want := map[string]int{
		"fetch.host_limits[0].host":        4,
		"fetch.host_limits[2].host":        6, // the same host as [1]
		"fetch.host_limits[2].concurrency": 6,
		"fetch.host_limits[3].host":        7,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for _, e := range errs {
		if line, ok := want[e.Field]; !ok || e.Line != line {
			t.Errorf("unexpected error %v (field %q line %d)", e, e.Field, e.Line)
		}
	}
	var none Fetch
	if none.HostLimitSet() != nil {
		t.Error("no host limits: want a nil set")
	}
}

// fetch.politeness_key is host or domain; by domain, two host_limits
// entries of one registrable domain are one group named twice.
func TestPolitenessKey(t *testing.T) {
	errs := configErrors(t, mustFail(t, "fetch:\n  politeness_key: ip\n"))
	if len(errs) != 1 || errs[0].Field != "fetch.politeness_key" || errs[0].Line != 2 {
		t.Errorf("politeness_key: ip: %v; want one error at fetch.politeness_key, line 2", errs)
	}
	two := "  host_limits:\n    - {host: www.a.test, concurrency: 1}\n    - {host: 'docs.a.test:8080', concurrency: 2}\n"
	if _, err := Parse([]byte("fetch:\n" + two)); err != nil {
		t.Errorf("by host, two hosts of one domain: %v", err)
	}
	errs = configErrors(t, mustFail(t, "fetch:\n  politeness_key: domain\n"+two))
	if len(errs) != 1 || errs[0].Field != "fetch.host_limits[1].host" || !strings.Contains(errs[0].Error(), "a.test") {
		t.Errorf("by domain, two hosts of one domain: %v; want fetch.host_limits[1].host naming a.test", errs)
	}
}

// TestHostLimitDelayIsDuration ensures fetch.host_limits[].delay is checked as fetch.per_host_delay is.
func TestHostLimitDelayIsDuration(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"fetch:\n  host_limits:\n    - {host: a.test, delay: 10}\n", `bare number 10 is not a duration; write it with a unit, e.g. "10s"`},
		{"fetch:\n  host_limits:\n    - {host: a.test, delay: ten}\n", `invalid duration "ten"`},
		{"fetch:\n  host_limits:\n    - {host: a.test, delay: -1s}\n", "must not be negative, got -1s"},
	} {
		errs := configErrors(t, mustFail(t, tc.in))
		if len(errs) != 1 || errs[0].Field != "fetch.host_limits[0].delay" || errs[0].Line != 3 ||
			!strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("Parse(%q) = %v; want one error for fetch.host_limits[0].delay at line 3 saying %s", tc.in, errs, tc.want)
		}
	}
}
