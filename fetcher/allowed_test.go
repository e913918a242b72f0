package fetcher

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
)

// startOn starts a server counting its requests on ip (any loopback address).
func startOn(t *testing.T, ip string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv, &calls
}

// AllowedPrefixes opens exactly the listed ranges: a server inside one is
// reached, a server on another loopback address still is not, and every
// other special-purpose range stays refused.
func TestAllowedPrefixes(t *testing.T) {
	allowed, allowedCalls := startOn(t, "127.0.1.161")
	private, privateCalls := startOn(t, "127.0.0.1")
	c := newGuardedClient(t, Options{Timeout: testTimeout, AllowedPrefixes: []netip.Prefix{
		netip.MustParsePrefix("127.0.1.160/29"),
		netip.MustParsePrefix("fd00:1::/64"),
		{}, // the zero Prefix matches nothing
	}})

	if resp := get(t, c, allowed.URL+"/"); resp.Status != 200 || allowedCalls.Load() != 1 {
		t.Errorf("allowed server: status %d, calls %d", resp.Status, allowedCalls.Load())
	}
	port := strconv.Itoa(private.Listener.Addr().(*net.TCPAddr).Port)
	for _, raw := range []string{
		private.URL + "/",
		"http://2130706433:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
	} {
		_, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, raw)})
		if fe := wantKind(t, err, KindBlocked); !errors.Is(fe, ErrBlockedAddress) {
			t.Errorf("%s: %v", raw, fe)
		}
	}
	if n := privateCalls.Load(); n != 0 {
		t.Errorf("private server got %d requests", n)
	}

	control := dialControl(false, netip.MustParsePrefix("127.0.1.160/29"), netip.MustParsePrefix("fd00:1::/64"),
		netip.MustParsePrefix("::ffff:10.9.0.0/120"))
	for _, tc := range []struct {
		network, addr string
		blocked       bool
	}{
		{"tcp4", "127.0.1.160:80", false},
		{"tcp4", "127.0.1.167:80", false},
		{"tcp4", "127.0.1.168:80", true}, // just outside the /29
		{"tcp4", "127.0.0.1:80", true},
		{"tcp4", "10.0.0.1:80", true},
		{"tcp4", "169.254.169.254:80", true},
		{"tcp6", "[fd00:1::5]:80", false},
		{"tcp6", "[fd00:2::5]:80", true},
		{"tcp6", "[::1]:80", true},
		{"tcp6", "[::ffff:10.9.0.7]:80", false}, // an IPv4-mapped prefix is an IPv6 prefix
		{"tcp6", "[::ffff:127.0.1.161]:80", true},
		{"tcp4", "8.8.8.8:53", false},
	} {
		err := control(tc.network, tc.addr, nil)
		if blocked := err != nil; blocked != tc.blocked {
			t.Errorf("%s %s: err %v, want blocked=%v", tc.network, tc.addr, err, tc.blocked)
		}
	}
	if dialControl(true, netip.MustParsePrefix("127.0.0.0/8")) != nil {
		t.Error("AllowPrivateAddresses must disable the guard whatever AllowedPrefixes says")
	}
}
