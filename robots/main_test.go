package robots_test

import (
	"net/url"
	"testing"

	"go.uber.org/goleak"

	"crawler/robots"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// check is one expectation: is path (with query) allowed?
type check struct {
	path string
	want bool
}

// mustURL parses path relative to https://example.com.
func mustURL(t testing.TB, path string) *url.URL {
	t.Helper()
	u, err := url.Parse("https://example.com" + path)
	if err != nil {
		t.Fatalf("parse %q: %v", path, err)
	}
	return u
}

// expect asserts every check against r.
func expect(t *testing.T, r *robots.Rules, checks ...check) {
	t.Helper()
	for _, c := range checks {
		if got := r.Allowed(mustURL(t, c.path)); got != c.want {
			t.Errorf("Allowed(%q) = %v, want %v", c.path, got, c.want)
		}
	}
}
