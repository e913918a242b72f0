package fetcher

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// countingServer counts handler calls and accepted connections.
type countingServer struct {
	*httptest.Server
	calls, conns atomic.Int32
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
	}))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(func() {
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

func TestFetchBlocksPrivateDestinations(t *testing.T) {
	srv := newCountingServer(t)
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	c := newGuardedClient(t, Options{Timeout: testTimeout})

	for _, raw := range []string{
		srv.URL + "/",                             // 127.0.0.1
		"http://localhost:" + port + "/",          // a name resolving to loopback
		"http://2130706433:" + port + "/",         // decimal 127.0.0.1
		"http://0x7f.1:" + port + "/",             // hex + short form
		"http://[::ffff:127.0.0.1]:" + port + "/", // IPv4-mapped IPv6
		"http://0.0.0.0:" + port + "/",            // unspecified, reaches local listeners
	} {
		resp, err := c.Fetch(context.Background(), &Request{URL: mustParse(t, raw)})
		fe := wantKind(t, err, KindBlocked)
		if !errors.Is(fe, ErrBlockedAddress) {
			t.Errorf("%s: %v does not wrap ErrBlockedAddress", raw, fe)
		}
		if resp != nil {
			t.Errorf("%s: response %+v", raw, resp)
		}
		if fe.URL != raw {
			t.Errorf("Error.URL = %q, want %q", fe.URL, raw)
		}
	}
	if n, m := srv.calls.Load(), srv.conns.Load(); n != 0 || m != 0 {
		t.Errorf("server saw %d requests on %d connections, want none", n, m)
	}
}

func TestFetchNumericHostReachesCanonicalAddress(t *testing.T) {
	// With the guard off, the decimal form really goes to 127.0.0.1, as in
	// a browser: the rewrite is what lets the guard see it.
	srv := newCountingServer(t)
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	raw := "http://2130706433:" + port + "/"
	resp := get(t, newClient(t, Options{}), raw)
	if resp.Status != 200 || srv.calls.Load() != 1 {
		t.Errorf("status %d, server calls %d", resp.Status, srv.calls.Load())
	}
	if resp.URL.String() != raw {
		t.Errorf("Response.URL = %v, want the requested %s", resp.URL, raw)
	}
}

func TestDialControl(t *testing.T) {
	if dialControl(true) != nil {
		t.Error("AllowPrivateAddresses must disable the guard")
	}
	control := dialControl(false)
	for _, tc := range []struct {
		network, addr string
		blocked       bool
	}{
		{"tcp4", "127.0.0.1:80", true},
		{"tcp4", "10.1.2.3:443", true},
		{"tcp4", "172.16.0.1:8080", true},
		{"tcp4", "192.168.1.1:80", true},
		{"tcp4", "169.254.169.254:80", true}, // cloud metadata
		{"tcp4", "100.64.0.1:80", true},      // CGNAT
		{"tcp4", "0.0.0.0:80", true},
		{"tcp4", "224.0.0.1:80", true},
		{"tcp6", "[::1]:80", true},
		{"tcp6", "[::]:80", true},
		{"tcp6", "[fe80::1]:80", true},
		{"tcp6", "[fc00::1]:80", true},
		{"tcp6", "[fd12:3456::1]:80", true},
		{"tcp6", "[::ffff:10.0.0.1]:80", true},
		{"tcp6", "[::ffff:127.0.0.1]:80", true},
		{"tcp4", "93.184.215.14:80", false},
		{"tcp4", "8.8.8.8:8080", false}, // any port
		{"tcp6", "[2606:4700::1111]:443", false},
	} {
		err := control(tc.network, tc.addr, nil)
		if blocked := err != nil; blocked != tc.blocked {
			t.Errorf("%s %s: err %v, want blocked=%v", tc.network, tc.addr, err, tc.blocked)
		}
		if err != nil && !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("%s: %v does not wrap ErrBlockedAddress", tc.addr, err)
		}
	}
}

func TestCanonicalIPv4(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"2130706433", "127.0.0.1", true},
		{"0x7f000001", "127.0.0.1", true},
		{"0x7f.1", "127.0.0.1", true},
		{"127.1", "127.0.0.1", true},
		{"017700000001", "127.0.0.1", true},
		{"10.0.0.1.", "10.0.0.1", true},
		{"127.0.0.1", "", false}, // already a literal
		{"::1", "", false},
		{"example.com", "", false},
		{"1.example.com", "", false},
		{"example.123", "", false}, // ends in a number but is not an IPv4 address
		{"4294967296", "", false},  // out of range
		{"", "", false},
	} {
		got, ok := canonicalIPv4(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("canonicalIPv4(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
