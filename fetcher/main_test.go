package fetcher

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout is the Timeout for tests that must never hit it; if one does,
// its assertions fail rather than the test hanging.
const testTimeout = 10 * time.Second

// newServer starts an httptest server that is torn down (client connections
// included) when the test ends.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

// newClient returns a client that may reach loopback, closed at test end.
func newClient(t *testing.T, opts Options) *Client {
	t.Helper()
	opts.AllowPrivateAddresses = true
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	return newGuardedClient(t, opts)
}

// newGuardedClient returns a client with opts as given, closed at test end.
func newGuardedClient(t *testing.T, opts Options) *Client {
	t.Helper()
	c := New(opts)
	t.Cleanup(c.Close)
	return c
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u
}

// get fetches raw and fails the test on error.
func get(t *testing.T, c *Client, raw string) *Response {
	t.Helper()
	resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, raw)})
	if err != nil {
		t.Fatalf("Fetch(%s): %v", raw, err)
	}
	return resp
}

// wantKind asserts err is an *Error of kind want and returns it.
func wantKind(t *testing.T, err error, want Kind) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want kind %s", want)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %T %v, want *Error", err, err)
	}
	if fe.Kind != want {
		t.Fatalf("kind = %s, want %s (err: %v)", fe.Kind, want, err)
	}
	return fe
}
