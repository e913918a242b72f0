package fetcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"
)

// startProxy starts a stand-in for an HTTP proxy: it answers every
// absolute-form request itself with the URL it was asked for, and counts
// them, remembering the last Proxy-Authorization.
func startProxy(t *testing.T) (u *url.URL, calls *atomic.Int32, auth *atomic.Value) {
	t.Helper()
	calls, auth = new(atomic.Int32), new(atomic.Value)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		auth.Store(r.Header.Get("Proxy-Authorization"))
		fmt.Fprint(w, "proxied "+r.URL.String())
	}))
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u, calls, auth
}

// With Options.Proxy every request goes to the proxy, with its
// credentials; the proxy's own address is not judged by the guard.
func TestFetchThroughProxy(t *testing.T) {
	proxy, calls, auth := startProxy(t)
	proxy.User = url.UserPassword("crawl", "s3cret")
	c := newClient(t, Options{Proxy: proxy})
	resp := get(t, c, "http://site.invalid/page?q=1")
	if string(resp.Body) != "proxied http://site.invalid/page?q=1" || calls.Load() != 1 {
		t.Errorf("body %q after %d proxy requests; want the proxy's answer", resp.Body, calls.Load())
	}
	if a, _ := auth.Load().(string); a != "Basic Y3Jhd2w6czNjcmV0" {
		t.Errorf("Proxy-Authorization = %q; want the proxy URL's credentials", a)
	}
}

// Through a proxy on a private address (allowed: the operator chose it),
// the guard judges each request's target before it is sent: an allowed
// range passes, a private address or a name resolving to one is blocked
// without a request.
func TestFetchThroughProxyGuardsTargets(t *testing.T) {
	proxy, calls, _ := startProxy(t)
	c := newGuardedClient(t, Options{Proxy: proxy, Timeout: testTimeout,
		AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.1.0/24")}})
	if resp := get(t, c, "http://127.0.1.50:9/ok"); string(resp.Body) != "proxied http://127.0.1.50:9/ok" {
		t.Errorf("allowed target: %q", resp.Body)
	}
	for _, raw := range []string{"http://127.0.0.1:9/", "http://[::1]:9/", "http://localhost:9/", "http://10.1.2.3/"} {
		_, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, raw)})
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != KindBlocked || !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("%s through the proxy: %v; want KindBlocked", raw, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the proxy got %d requests; want only the allowed one", n)
	}
}
